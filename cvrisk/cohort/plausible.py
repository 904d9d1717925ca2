"""The plausibility tiers over the whole cohort (the vectorised twin of what
:class:`~cvrisk.rules.facts.Results` and ``FactSet.plausible_change`` do with
:mod:`cvrisk.plausibility`).

Values are screened by columns: a recorded result outside its typical range (at the
patient's age on its day), a derived BMI outside its typical range or limits, a change larger
than ``allowed_change`` (or within a hair of it) are the candidates; each candidate is then
judged by the core's own :func:`~cvrisk.plausibility.check` or
:func:`~cvrisk.plausibility.check_change`, and worded by the core's
:func:`~cvrisk.rules.facts.implausible_issues`. Only what the core rejects is left out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cvrisk import plausibility
from cvrisk.issues import DataIssue
from cvrisk.plausibility import ChangeVerdict, Verdict
from cvrisk.record import Observation
from cvrisk.rules.facts import (
    FactSet,
    ImplausibleDerived,
    Result,
    Results,
    Suspect,
    implausible_change_issue,
)
from cvrisk.rules.facts import implausible_issues as _implausible_issues
from cvrisk.rules.report import Evidence
from cvrisk.units import converter

EPOCH = dt.date(1970, 1, 1)


def ages_on(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Completed years on each day (:meth:`cvrisk.record.Patient.age_on`, over arrays)."""

    def parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        stamps = days.astype("datetime64[D]")
        year = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
        month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1
        of_month = (stamps - stamps.astype("datetime64[M]").astype("datetime64[D]")).astype(
            np.int64
        ) + 1
        return year, month * 100 + of_month

    def table_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # calendar fields of each distinct day once, then gathered (days span decades, the
        # arrays millions of rows: datetime64 calendar conversions per row are the cost)
        if not len(days):
            return parts(days)
        low, high = int(days.min()), int(days.max())
        if high - low > 200_000:
            return parts(days)
        year, md = parts(np.arange(low, high + 1, dtype=np.int64))
        offset = days.astype(np.int64) - low
        return year[offset], md[offset]

    born_year, born_md = table_parts(birth)
    year, md = table_parts(day)
    result: np.ndarray = (year - born_year - (md < born_md)).astype(np.float64)
    return result


def _typical_bounds(data: plausibility.Ranges, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the typical range that applies at its age (NaN bounds: none applies)."""
    low = np.full(len(ages), np.nan)
    high = np.full(len(ages), np.nan)
    if data.typical is None:
        return low, high
    applies = ages >= plausibility.ADULT_AGE if data.adults_only else np.ones(len(ages), bool)
    low[applies], high[applies] = data.typical
    return low, high


def _outside(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        result: np.ndarray = ~np.isnan(low) & ((values < low) | (values > high))
    return result


def suspects(
    analyte: str, unit: str, values: np.ndarray, ages: np.ndarray
) -> list[tuple[int, Verdict]]:
    """(row, verdict) of each value that :func:`cvrisk.plausibility.check` finds not usable
    (probably in another unit); ``values`` in ``unit``, ``ages`` on each result's day."""
    data = plausibility.ranges(analyte)
    if data is None or data.typical is None:
        return []
    with np.errstate(invalid="ignore", over="ignore"):
        canonical = np.asarray(converter(unit, data.unit, data.substance)(values), np.float64)
    low, high = _typical_bounds(data, ages)
    candidates = np.flatnonzero(_outside(canonical, low, high))
    found = []
    for row in candidates:
        verdict = plausibility.check(analyte, float(values[row]), unit, age=float(ages[row]))
        if not verdict.usable:
            found.append((int(row), verdict))
    return found


def derived_bmi_unusable(values: np.ndarray, ages: np.ndarray) -> list[tuple[int, Verdict]]:
    """(row, verdict) of each derived BMI that ``check(..., derived=True)`` rejects."""
    data = plausibility.ranges("bmi")
    if data is None:
        return []
    low, high = _typical_bounds(data, ages)
    candidates = _outside(values, low, high)
    if data.limits is not None:
        candidates |= (values < data.limits[0]) | (values > data.limits[1])
    found = []
    for row in np.flatnonzero(candidates):
        verdict = plausibility.check(
            "bmi", float(values[row]), "kg/m2", age=float(ages[row]), derived=True
        )
        if not verdict.usable:
            found.append((int(row), verdict))
    return found


def implausible_changes(
    analyte: str,
    earlier: tuple[np.ndarray, np.ndarray],
    later: tuple[np.ndarray, np.ndarray],
    age: np.ndarray,
) -> list[tuple[int, ChangeVerdict]]:
    """(row, verdict) of each change :func:`cvrisk.plausibility.check_change` rejects
    (``earlier``, ``later``: (day numbers, canonical values); ``age`` on the evaluation date).
    Rows clearly inside the limit are not checked one by one."""
    limit = plausibility._change_limit(analyte)
    if limit is None or not len(age):
        return []
    days = np.abs(later[0] - earlier[0]).astype(np.float64)
    allowed = float(limit["base"]) + float(limit["per_log_month"]) * np.log1p(
        np.maximum(days, 0.0) / plausibility.DAYS_PER_MONTH
    )
    change = np.abs(later[1] - earlier[1])
    margin = 1e-9 * np.maximum(1.0, np.abs(allowed))
    candidates = np.flatnonzero(change > allowed - margin)
    found = []
    for row in candidates:
        verdict = plausibility.check_change(
            analyte,
            (EPOCH + dt.timedelta(days=int(earlier[0][row])), float(earlier[1][row])),
            (EPOCH + dt.timedelta(days=int(later[0][row])), float(later[1][row])),
            age=float(age[row]),
        )
        if verdict is not None:
            found.append((int(row), verdict))
    return found


def suspect_issue(index: int, cells: dict[str, Any], verdict: Verdict, lang: str) -> DataIssue:
    """The core's ``implausible`` issue for a recorded result left out."""
    observation = Observation.model_validate(cells)
    results = Results({}, 0, [Suspect(index, observation, verdict)])
    return _implausible_issues(results, FactSet(patient={}), lang)[0]


def derived_issue(
    day: dt.date, value: float, weight: Evidence, height: Evidence, verdict: Verdict, lang: str
) -> DataIssue:
    """The core's ``implausible`` issue for a derived BMI left out."""
    result = Result(day, value, None, None, (weight, height))
    results = Results({}, 0, [], [ImplausibleDerived("bmi", result, verdict)])
    return _implausible_issues(results, FactSet(patient={}), lang)[0]


def change_issue(verdict: ChangeVerdict, lang: str) -> DataIssue:
    """The core's ``implausible`` issue for a change left out."""
    return implausible_change_issue(verdict, lang)
