"""Sorting cohort rows by several integer keys, fast.

``numpy.lexsort`` over millions of rows and four to six keys is one of the costliest steps of
a cohort pass (1.8 s for 3 M results and four keys, against 0.1 s to sort one int64 key).
:func:`lexsort` packs the keys into one int64 when their ranges fit in 63 bits, and sorts
that with a stable sort: the same order as ``numpy.lexsort`` (which is stable too), by
construction. Keys that do not fit (or are not integers) fall back to ``numpy.lexsort``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Bits the packed key may use (the sign bit stays clear).
_BITS = 63


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """The indices sorting by ``keys``, the last key primary (``numpy.lexsort``'s
    convention), ties kept in input order."""
    n = len(keys[0]) if len(keys) else 0
    if n == 0 or any(k.dtype.kind not in "iub" for k in keys):
        return np.lexsort(tuple(keys))
    packed = np.zeros(n, dtype=np.int64)
    used = 0
    spans = []
    for key in keys:  # least significant first
        low, high = int(key.min()), int(key.max())
        bits = max(1, (high - low).bit_length())
        spans.append((key, low, bits))
        used += bits
    if used > _BITS:
        return np.lexsort(tuple(keys))
    shift = 0
    for key, low, bits in spans:
        packed |= (key.astype(np.int64) - np.int64(low)) << np.int64(shift)
        shift += bits
    order: np.ndarray = np.argsort(packed, kind="stable")
    return order
