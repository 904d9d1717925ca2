"""Text values -> category codes, exactly and in a few vectorized passes.

A category input (``sex``, ``ethnicity``, ``smoking``...) arrives as numpy unicode arrays
(from lists of rows, or arrays the caller built), object arrays, or pandas columns. The
obvious decoding, one ``values == category`` pass per category, costs QRISK3's ten
ethnicities ten passes of string comparisons. :class:`CategoryDecoder` does it in one:

1. each value's characters are packed, one byte per character, into ``ceil(w / 8)`` 64-bit
   words, ``w`` the longest category (exact for ASCII text; a value longer than every
   category, or holding a non-ASCII character, cannot be a category and gets code -1);
2. a hash of the words picks the only category the value can be (a perfect hash of the
   categories, chosen when the decoder is built);
3. the value's words are compared with that category's words: equal words are equal text,
   so a value gets a category's code only if it is exactly that category.

Every category list of cvrisk is short ASCII identifiers; a list with other characters is
decoded by comparisons (exact too, just slower).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

CodeArray = npt.NDArray[np.int8]

#: Rows decoded per block (keeps the packed words and hashes in cache).
_BLOCK_ROWS = 1 << 16
#: Odd 64-bit multipliers mixing the second and later words into the hash.
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)
_ASCII_LIMIT = 128


def _pack(
    values: npt.NDArray[np.str_], width: int, words: int
) -> tuple[list[npt.NDArray[np.uint64]], npt.NDArray[np.bool_]]:
    """``words`` uint64 arrays (word j of every row) packing the text of the first ``width``
    characters, and a mask of rows that can be a category (ASCII, no character beyond
    ``width``).

    The characters are written one byte each, row after row, into a flat buffer; word ``j``
    of a row is read from bytes ``8j .. 8j + 7`` of the row, and its bytes past the row's
    end (the next row's first characters) are masked off.
    """
    n = values.shape[0]
    chars = values.dtype.itemsize // 4
    points = values.view(np.uint32).reshape(n, chars)
    used = min(chars, width)
    possible = np.ones(n, dtype=bool)
    if chars > width:  # characters past the longest category: not a category
        possible &= ~points[:, width:].any(axis=1)
    head = points[:, :used]
    if used and int(head.max()) >= _ASCII_LIMIT:
        possible &= (head < _ASCII_LIMIT).all(axis=1)
    flat = np.zeros(n * used + 8, dtype=np.uint8)  # + 8: the last row's last word
    flat[: n * used].reshape(n, used)[...] = head  # one byte per character
    packed: list[npt.NDArray[np.uint64]] = []
    for j in range(words):
        inside = used - 8 * j  # characters of the row in word j
        if inside <= 0:  # text shorter than the categories: zero words
            packed.append(np.zeros(n, dtype=np.uint64))
            continue
        word = np.ndarray((n,), dtype=np.uint64, buffer=flat, offset=8 * j, strides=(used,))
        if inside < 8:
            word = word & np.uint64((1 << (8 * inside)) - 1)
        packed.append(np.asarray(word, dtype=np.uint64))
    return packed, possible


def _hash(words: list[npt.NDArray[np.uint64]]) -> npt.NDArray[np.uint64]:
    mixed = words[0].copy()
    for j, word in enumerate(words[1:]):
        mixed ^= word * np.uint64(_MIX[j % len(_MIX)])
    return mixed


class CategoryDecoder:
    """Exact code (index in ``categories``) of text values; -1 for anything else."""

    def __init__(self, categories: tuple[str, ...]) -> None:
        if len(categories) >= 127:
            raise ValueError("at most 126 categories (codes are int8)")
        self.categories = categories
        self.index = {c: i for i, c in enumerate(categories)}
        self.packable = bool(categories) and all(
            c.isascii() and c and "\0" not in c for c in categories
        )
        if not self.packable:
            return
        self.width = max(len(c) for c in categories)
        self.words = -(-self.width // 8)
        as_array = np.array(categories)
        words, _ = _pack(as_array, self.width, self.words)
        # one extra row that no text can equal (0xFF bytes are not ASCII): the code of
        # hash slots that hold no category
        never = np.uint64(np.iinfo(np.uint64).max)
        self.category_words = [np.append(word, never) for word in words]
        # a perfect hash of the categories: slot = (hash * multiplier) >> (64 - bits), with
        # the first (bits, multiplier) that sends every category to its own slot
        found = self._perfect_hash(_hash(words))
        if found is None:  # pragma: no cover - no such hash: compare instead
            self.packable = False
            return
        bits, self.multiplier, slots = found
        self.shift = np.uint64(64 - bits)
        self.table = np.full(1 << bits, len(categories), dtype=np.int8)
        self.table[slots.astype(np.intp)] = np.arange(len(categories), dtype=np.int8)

    def _perfect_hash(self, hashes: Any) -> tuple[int, np.uint64, Any] | None:
        for bits in range(len(self.categories).bit_length() + 1, 13):
            for multiplier in _MIX:
                slots = (hashes * np.uint64(multiplier)) >> np.uint64(64 - bits)
                if len(set(slots.tolist())) == len(self.categories):
                    return bits, np.uint64(multiplier), slots
        return None

    def unicode(self, values: npt.NDArray[np.str_]) -> CodeArray:
        """Codes of a 1-d numpy unicode array."""
        if not values.dtype.isnative:
            values = values.astype(values.dtype.newbyteorder("="))
        n = values.shape[0]
        if not self.packable or values.dtype.itemsize == 0:
            return self._compare(values)
        codes = np.empty(n, dtype=np.int8)
        for start in range(0, n, _BLOCK_ROWS):
            block = values[start : start + _BLOCK_ROWS]
            words, possible = _pack(block, self.width, self.words)
            slots = (_hash(words) * self.multiplier) >> self.shift
            candidate = self.table.take(slots.astype(np.intp))
            for word, category_word in zip(words, self.category_words, strict=True):
                possible &= word == category_word.take(candidate)
            codes[start : start + block.shape[0]] = np.where(possible, candidate, -1)
        return codes

    def objects(self, values: npt.NDArray[Any]) -> CodeArray:
        """Codes of a 1-d object array (text values only; anything else, including missing
        values and unhashable objects, gets -1)."""
        index = self.index
        return np.fromiter(
            (index.get(v, -1) if isinstance(v, str) else -1 for v in values.tolist()),
            dtype=np.int8,
            count=values.shape[0],
        )

    def _compare(self, values: npt.NDArray[np.str_]) -> CodeArray:
        codes = np.full(values.shape, -1, dtype=np.int8)
        for index, category in enumerate(self.categories):
            codes[values == category] = index
        return codes


@cache
def decoder(categories: tuple[str, ...]) -> CategoryDecoder:
    """The (shared) decoder of a category list."""
    return CategoryDecoder(categories)
