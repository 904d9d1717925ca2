"""Scoring a Dask DataFrame partition by partition, without collecting it.

:func:`score_partitions` is what :func:`cvrisk.score` does with a Dask DataFrame: it checks
the call once on the frame's (empty) metadata, so that a missing column, an unknown option
or a bad unit is an error now rather than at compute time, then maps the model over every
partition (``map_partitions``). Every kernel is row-wise, so the partitions' results are
exactly the in-memory results. The result is lazy: a Dask Series named after the model (or,
with ``reasons=True``, a Dask DataFrame with ``risk`` and ``problems``), on the frame's
index. With ``errors="raise"`` an invalid row raises
:class:`~cvrisk.errors.InvalidInputError` when that partition is computed, naming the row by
its index label.

Dask is imported only here, and this module only when a Dask object is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cvrisk.scores.base import RiskModel


def _score_partition(
    part: Any,
    model: RiskModel,
    errors: str,
    units: Mapping[str, str] | None,
    reasons: bool,
    options: Mapping[str, Any],
) -> Any:
    return model.score(part, errors=errors, units=units, reasons=reasons, **options)


def score_partitions(
    model: RiskModel,
    frame: Any,
    *,
    errors: str,
    units: Mapping[str, str] | None,
    reasons: bool,
    **options: Any,
) -> Any:
    """Lazy risks of ``model`` for every row of the Dask DataFrame ``frame``."""
    import pandas as pd

    if not hasattr(frame, "columns"):
        from cvrisk.errors import CvriskError

        raise CvriskError(
            f"cannot score a Dask {type(frame).__name__}: pass a Dask DataFrame with one "
            "column per input"
        )
    # the same checks as in memory (columns present, options, units), on zero rows
    model.score(frame._meta, errors=errors, units=units, reasons=reasons, **options)
    if reasons:
        meta: Any = pd.DataFrame(
            {
                "risk": pd.Series(dtype=np.float64),
                "problems": pd.Series(dtype=object),
            },
            index=frame._meta.index,
        )
    else:
        meta = pd.Series(dtype=np.float64, name=model.id, index=frame._meta.index)
    return frame.map_partitions(
        _score_partition,
        model,
        errors,
        units,
        reasons,
        dict(options),
        meta=meta,
        align_dataframes=False,
    )
