"""Rates with Wilson 95 % intervals, overall and by group (age band, sex, site, protocol...).

:func:`wilson` is the Wilson score interval (Wilson EB, J Am Stat Assoc 1927;22:209-212),
with z from ``cvrisk/data/measures.toml``; it stays inside [0, 1] and is defined for 0 and n
successes, unlike the normal approximation. :func:`rates_by` counts a
:class:`~cvrisk.measures.hedis.MeasureResult` per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.errors import OptionError

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.measures.hedis import MeasureResult

SUMMARY_COLUMNS = ["denominator", "numerator", "excluded", "proportion", "low", "high"]


def wilson(
    successes: Any, total: Any, z: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proportion and Wilson score interval (vectorised); NaN where ``total`` is 0.

    Returns:
        (rate, low, high) arrays.
    """
    if z is None:
        from cvrisk.measures.hedis import definitions

        z = float(definitions()["groups"]["wilson_z"])
    k = np.asarray(successes, dtype=float)
    n = np.asarray(total, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise OptionError("successes must lie between 0 and the total")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    empty = n == 0
    rate = np.where(empty, np.nan, p)
    low = np.where(empty, np.nan, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(centre + half, 0.0, 1.0))
    return rate, low, high


def age_band(age: Any) -> Any:
    """The age band label of each age (bands of measures.toml ``[groups]``), as a categorical."""
    import pandas as pd

    from cvrisk.measures.hedis import definitions

    bands = definitions()["groups"]["age_bands"]
    labels = [f"{lo}-{hi}" if hi < 200 else f"{lo}+" for lo, hi in bands]
    values = np.asarray(age, dtype=float)
    code = np.full(values.size, -1)
    for i, (lo, hi) in enumerate(bands):
        code[(values >= lo) & (values <= hi)] = i
    return pd.Categorical.from_codes(code, categories=labels)


def rates_by(
    result: MeasureResult,
    by: Sequence[str] = (),
    groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Denominator, numerator, exclusions, rate and Wilson interval per measure, rate, stratum
    and group.

    Args:
        result: what :func:`cvrisk.measures.measure` returned.
        by: grouping columns: ``age_band``, ``sex`` (from the result), or columns of
            ``groups`` (e.g. ``site``, ``protocol``).
        groups: a table with ``patient_id`` and the extra grouping columns; a patient with
            several rows (several protocols) counts in each of their groups.

    The stratum ``total`` is every patient of the rate; a measure with age strata (APM) also
    gets one row per stratum.
    """
    import pandas as pd

    frame = result.patients
    by = list(by)
    if "age_band" in by:
        frame = frame.assign(age_band=age_band(frame["age"]))
    extra = [c for c in by if c not in frame.columns]
    if extra:
        if (
            groups is None
            or "patient_id" not in groups.columns
            or any(c not in groups.columns for c in extra)
        ):
            raise OptionError(
                f"grouping by {extra} needs groups=: a table with patient_id and {', '.join(extra)}"
            )
        frame = frame.merge(groups[["patient_id", *extra]], on="patient_id", how="left")
    total = frame.assign(stratum="total")
    strata = frame[frame["stratum"].astype(str) != "total"]
    both = pd.concat([total, strata], ignore_index=True)
    keys = [*by, "measure", "rate", "stratum"]
    counts = (
        both.assign(
            d=both["denominator"].astype(np.int64),
            k=(both["numerator"] & both["denominator"]).astype(np.int64),
            x=both["excluded"].astype(np.int64),
        )
        .groupby(keys, observed=True, dropna=False)[["d", "k", "x"]]
        .sum()
        .reset_index()
    )
    rate, low, high = wilson(counts["k"], counts["d"])
    out = counts.rename(columns={"d": "denominator", "k": "numerator", "x": "excluded"})
    out["proportion"], out["low"], out["high"] = rate, low, high
    return out[[*keys, *SUMMARY_COLUMNS]]
