"""Is a measurement believable in its unit? Two tiers, as data (analytes.toml).

* **impossible**: outside the analyte's ``plausible`` range (physiological limits) the value
  cannot be a real result. Reading it is an error (:func:`cvrisk.record.check_plausible`
  raises; lenient reading skips the entry with an ``invalid`` issue).
* **unusual**: outside the analyte's ``typical`` range *and*, read in another of the
  analyte's ``units``, inside it: the value was probably sent in that other unit (HbA1c
  19 "%" is surely 19 mmol/mol; HDL 0.45 "mmol/L" surely 0.45 g/L). The result is kept in
  the record but not used for alerts or scores, and a warning data issue names the probable
  unit and what the value would be in it. Where the typical ranges of two units overlap
  (``typical_overlap``), a value there is typical either way and is not flagged.

A value outside the typical range that no other unit explains (glucose 35 mmol/L) is rare
but real: it is used, without a warning. Anthropometric ranges (``typical_for = "adults"``)
apply from age 18 only, and not at all when the age is unknown.

The same tiers apply to values cvrisk derives (a BMI from weight and height: outside its
typical range it is not used, whatever the units) and to changes between two results
(``[<analyte>.change]``: a weight gain of 100 kg in 3 months is a data error, not an alert).

API (used by the record, the facts of the rules engine and score inputs)::

    check(analyte, value, unit, *, age=None, derived=False) -> Verdict
    check_change(analyte, earlier, later, *, age=None) -> ChangeVerdict | None
    unusual_rows(analyte, values, unit, *, age=None) -> list[UnusualRows]
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from cvrisk import vocab
from cvrisk.data import load_data
from cvrisk.errors import UnitError
from cvrisk.units import CACHE_SIZE, converter, display_unit, parse_unit

Tier = Literal["plausible", "unusual", "impossible"]

#: Age (years) from which ranges marked ``typical_for = "adults"`` apply.
ADULT_AGE = 18.0
#: Days per month in change limits expressed per month (365.25 / 12).
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Ranges:
    """An analyte's plausibility data (analytes.toml), in its canonical unit."""

    analyte: str
    unit: str
    substance: str | None
    limits: tuple[float, float] | None
    typical: tuple[float, float] | None
    adults_only: bool
    units: tuple[str, ...]
    overlap: str

    def typical_at(self, age: float | None) -> tuple[float, float] | None:
        """The typical range that applies at ``age`` (None: no unusual tier there)."""
        if self.typical is None or (self.adults_only and (age is None or age < ADULT_AGE)):
            return None
        return self.typical


@cache
def ranges(analyte: str) -> Ranges | None:
    """The plausibility data of ``analyte`` (None for coded analytes)."""
    entry = vocab.analyte(analyte)
    if entry.unit is None:
        return None
    table = load_data("analytes.toml")[analyte]
    typical = table.get("typical")
    return Ranges(
        analyte=analyte,
        unit=entry.unit,
        substance=entry.substance,
        limits=entry.plausible,
        typical=(float(typical[0]), float(typical[1])) if typical else None,
        adults_only=table.get("typical_for") == "adults",
        units=tuple(table.get("units", (entry.unit,))),
        overlap=str(table.get("typical_overlap", "")),
    )


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` concluded about one value.

    Attributes:
        analyte, value, unit: the value as given.
        tier: ``plausible``, ``unusual`` (probably another unit) or ``impossible``.
        canonical: the value in the analyte's canonical unit (``canonical_unit``), as given.
        probable_unit: the unit the value was probably meant in (unusual, or impossible when
            one explains it), else None.
        probable_value: the value read in ``probable_unit``, in the canonical unit.
        range: the range the value falls outside of (canonical unit), else None.
        message: one sentence saying all of the above.
    """

    analyte: str
    value: float
    unit: str
    tier: Tier
    canonical: float
    canonical_unit: str
    probable_unit: str | None = None
    probable_value: float | None = None
    range: tuple[float, float] | None = None
    message: str = ""

    @property
    def usable(self) -> bool:
        """True when the value may be used as real (alerts, scores, derived values)."""
        return self.tier == "plausible"


def _to_canonical(ranges: Ranges, unit: str) -> Any:
    return converter(unit, ranges.unit, ranges.substance)


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


@cache
def candidate_units(analyte: str) -> tuple[str, ...]:
    """Units tried, in order, to explain a value: the analyte's ``units`` (analytes.toml),
    then units.toml ``[suggest]`` for its canonical unit (``g`` for a weight, ``s`` for QTc)."""
    data = ranges(analyte)
    if data is None:
        return ()
    extra = load_data("units.toml")["suggest"].get(data.unit, ())
    return tuple(dict.fromkeys([*data.units, *extra]))


def _explained_by(
    ranges: Ranges, value: float, unit: str, bounds: tuple[float, float]
) -> tuple[str, float] | None:
    """The first other unit of the analyte in which ``value`` falls inside ``bounds``."""
    given = parse_unit(unit)
    for candidate in candidate_units(ranges.analyte):
        if parse_unit(candidate) == given:
            continue
        try:
            reading = float(_to_canonical(ranges, candidate)(value))
        except UnitError:
            continue
        if _inside(reading, bounds):
            return candidate, reading
    return None


def suggest(analyte: str, value: float, unit: str, *, age: float | None = None) -> str | None:
    """The unit in which ``value`` would be a plausible ``analyte`` result (inside its
    typical range at ``age``, or its limits when it has none), other than ``unit``; None
    when no candidate unit (:func:`candidate_units`) does."""
    data = ranges(analyte)
    if data is None:
        return None
    bounds = data.typical_at(age) or data.limits
    if bounds is None:
        return None
    explained = _explained_by(data, float(value), unit, bounds)
    return explained[0] if explained is not None else None


def _fmt(number: float) -> str:
    return f"{number:.3g}" if abs(number) < 1000 else f"{number:.0f}"


def check(
    analyte: str, value: float, unit: str, *, age: float | None = None, derived: bool = False
) -> Verdict:
    """The plausibility of ``value`` ``unit`` as a result of ``analyte`` (see the module).

    ``age``: the patient's age in years when measured (anthropometric typical ranges apply
    to adults only). ``derived``: the value was computed by cvrisk (a BMI): then outside the
    typical range is unusual whatever the units, since no unit was typed.

    Raises:
        UnitError: ``unit`` cannot express the analyte. VocabularyError: unknown analyte.
    """
    # Only adulthood matters to the ranges (typical_for = "adults"): cache on that, not the age.
    adult = None if age is None else (ADULT_AGE if age >= ADULT_AGE else 0.0)
    return _check(analyte, float(value), unit, adult, derived)


@lru_cache(maxsize=CACHE_SIZE)
def _check(analyte: str, value: float, unit: str, age: float | None, derived: bool) -> Verdict:
    data = ranges(analyte)
    if data is None:
        raise UnitError(f"{analyte} is a coded analyte: it has no value or unit to check")
    canonical = float(_to_canonical(data, unit)(value))
    shown_unit = display_unit(data.unit)
    verdict = Verdict(analyte, value, unit, "plausible", canonical, data.unit)
    head = f"{vocab.analyte(analyte).label.get('en', analyte)} {value:g} {display_unit(unit)}"
    if unit != data.unit:
        head += f" ({_fmt(canonical)} {shown_unit})"
    if data.limits is not None and not _inside(canonical, data.limits):
        bounds = data.typical_at(age) or data.limits
        explained = _explained_by(data, value, unit, bounds)
        low, high = data.limits
        text = f"{head} is impossible (limits {low:g}-{high:g} {shown_unit})"
        if explained is not None:
            text += f"; {value:g} {display_unit(explained[0])} would be plausible"
        probable, reading = explained if explained is not None else (None, None)
        return Verdict(
            analyte, value, unit, "impossible", canonical, data.unit, probable, reading,
            data.limits, text,
        )  # fmt: skip
    typical = data.typical_at(age)
    if typical is None or _inside(canonical, typical):
        return verdict
    low, high = typical
    if derived:
        return Verdict(
            analyte, value, unit, "unusual", canonical, data.unit, None, None, typical,
            f"{head}, derived from other results, is outside the plausible range "
            f"{low:g}-{high:g} {shown_unit}: one of the results it comes from is probably "
            "in the wrong unit",
        )  # fmt: skip
    explained = _explained_by(data, value, unit, typical)
    if explained is None:
        return verdict  # rare but real: no other unit explains it
    probable, reading = explained
    return Verdict(
        analyte, value, unit, "unusual", canonical, data.unit, probable, reading, typical,
        f"{head} is unusual (typical {low:g}-{high:g} {shown_unit}); as {value:g} "
        f"{display_unit(probable)} it would be {_fmt(reading)} {shown_unit}, which is typical: "
        f"the unit was probably {display_unit(probable)!r}",
    )  # fmt: skip


@dataclass(frozen=True)
class ChangeVerdict:
    """An implausible change between two results of one analyte (canonical unit)."""

    analyte: str
    earlier: tuple[dt.date, float]
    later: tuple[dt.date, float]
    change: float
    allowed: float
    unit: str
    source: str


@lru_cache(maxsize=CACHE_SIZE)
def _change_limit(analyte: str) -> dict[str, Any] | None:
    table = load_data("analytes.toml").get(analyte, {})
    limit = table.get("change")
    return dict(limit) if isinstance(limit, dict) else None


def allowed_change(analyte: str, days: float) -> float | None:
    """The largest plausible absolute change (canonical unit) between two results ``days``
    apart, or None when the analyte has no change limit (``[<analyte>.change]``)."""
    limit = _change_limit(analyte)
    if limit is None:
        return None
    months = max(days, 0.0) / DAYS_PER_MONTH
    return float(limit["base"]) + float(limit["per_log_month"]) * math.log1p(months)


def check_change(
    analyte: str,
    earlier: tuple[dt.date, float],
    later: tuple[dt.date, float],
    *,
    age: float | None = None,
) -> ChangeVerdict | None:
    """A :class:`ChangeVerdict` when going from ``earlier`` to ``later`` ((day, value in the
    canonical unit) each) is more change than is plausible in the time between; else None.
    Limits marked ``typical_for = "adults"`` apply from age 18 only."""
    limit = _change_limit(analyte)
    if limit is None:
        return None
    if limit.get("typical_for") == "adults" and (age is None or age < ADULT_AGE):
        return None
    days = float(abs((later[0] - earlier[0]).days))
    allowed = allowed_change(analyte, days)
    change = later[1] - earlier[1]
    if allowed is None or abs(change) <= allowed:
        return None
    unit = vocab.analyte(analyte).unit or ""
    return ChangeVerdict(analyte, earlier, later, change, allowed, unit, str(limit["source"]))


@dataclass(frozen=True)
class UnusualRows:
    """Rows of a column whose values are unusual in their unit, all explained by one unit."""

    analyte: str
    unit: str
    probable_unit: str
    rows: tuple[int, ...]
    example: Verdict


def unusual_rows(
    analyte: str,
    values: Any,
    unit: str,
    *,
    age: float | None = ADULT_AGE,
    given: str | None = None,
    skip: Any = None,
) -> list[UnusualRows]:
    """The rows of ``values`` (numbers in ``unit``; NaN skipped) that :func:`check` finds
    unusual, grouped by probable unit; vectorized for whole columns.

    ``given``: the unit the values were given in, when ``values`` were converted from it to
    ``unit`` (the probable unit is judged against ``given``). ``skip``: a bool mask of rows
    not to report (already invalid). Score inputs are adults' (``age`` default 18).
    """
    import numpy as np

    data = ranges(analyte)
    typical = data.typical_at(age) if data is not None else None
    if data is None or typical is None:
        return []
    numbers = np.asarray(values, dtype=np.float64).ravel()
    canonical = numbers
    if parse_unit(unit) != parse_unit(data.unit):
        canonical = np.asarray(_to_canonical(data, unit)(numbers), dtype=np.float64)
    outside = canonical < typical[0]
    outside |= canonical > typical[1]  # NaN compares False: never outside
    if skip is not None:
        outside &= ~np.asarray(skip, dtype=bool)
    rows = np.flatnonzero(outside)
    if data.limits is not None and rows.size:
        inside_limits = (canonical[rows] >= data.limits[0]) & (canonical[rows] <= data.limits[1])
        rows = rows[inside_limits]  # impossible values are another tier's business
    if not rows.size:
        return []
    as_given = given or unit
    subset = numbers[rows]
    if parse_unit(as_given) != parse_unit(unit):
        subset = np.asarray(converter(unit, as_given, data.substance)(subset), dtype=np.float64)
    remaining = np.ones(rows.size, dtype=bool)
    found = []
    for candidate in candidate_units(analyte):  # one conversion of the subset per candidate
        if parse_unit(candidate) == parse_unit(as_given) or not remaining.any():
            continue
        try:
            reading = np.asarray(_to_canonical(data, candidate)(subset), dtype=np.float64)
        except UnitError:
            continue
        explained = remaining & (reading >= typical[0]) & (reading <= typical[1])
        if explained.any():
            remaining &= ~explained
            first = int(np.flatnonzero(explained)[0])
            example = check(analyte, float(subset[first]), as_given, age=age)
            hits = tuple(int(r) for r in rows[explained])
            found.append(UnusualRows(analyte, as_given, candidate, hits, example))
    return found
