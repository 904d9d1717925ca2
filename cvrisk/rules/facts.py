"""The facts about one record that alert rules are matched against.

Each fact is a flat JSON object (what durable-rules matches) with a type ``t``:

``latest``                 the latest result of an analyte: ``value`` (canonical unit),
                           and as reported: ``orig`` in unit ``u`` (for rule equivalents)
``coded``                  the latest coded result of an analyte: ``code``
``change_from_baseline``   per protocol episode: ``rise_abs``, ``rise_pct`` of the latest
                           result over the episode's baseline result
``change_within``          per look-back period ``within``: ``rise_abs``, ``rise_pct`` of the
                           latest result over the lowest result in the period ending with it
``score``                  a risk score: ``percent``

Only believable values become facts (:mod:`cvrisk.plausibility`): a result that is probably
in another unit than the one stated (``PatientRecord.verdicts``), a BMI derived from a weight
or height in the wrong unit, and a change larger than is plausible in the time between two
results are left out, each with an ``implausible`` warning issue, so they are never alerted
on as if real.

Every fact also carries the patient's ``sex``, ``eth`` (ethnicity, or ``unknown``), ``age``
(whole years), ``d_<drug> = 1`` for each active antipsychotic, and ``from_<drug>`` /
``on_<drug>`` when its result is dated from that drug's baseline window / during its current
course, so rule filters compile to plain conditions. Evidence (the results behind each fact)
is kept beside the facts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from cvrisk import plausibility, vocab
from cvrisk.issues import DataIssue
from cvrisk.plausibility import ChangeVerdict, Verdict
from cvrisk.record import Observation, PatientRecord
from cvrisk.rules.durations import parse_duration
from cvrisk.rules.engine import Needs
from cvrisk.rules.messages import phrase
from cvrisk.rules.report import Evidence
from cvrisk.rules.timeline import BASELINE_WINDOW_DAYS
from cvrisk.units import CACHE_SIZE, convert, display_unit, parse_unit


@lru_cache(maxsize=CACHE_SIZE)  # keyed by unit texts from records: bounded
def _unit_name(unit: str) -> str:
    """The parsed name of a unit (``%`` -> ``percent``), as rule equivalents are compiled."""
    return str(parse_unit(unit))


@lru_cache(maxsize=CACHE_SIZE)
def _affine(unit: str, analyte: str) -> tuple[float, float]:
    """(slope, offset) converting ``unit`` to the analyte's canonical unit.

    Every conversion cvrisk makes is affine (scale factors, and the HbA1c master equation),
    so two evaluations give it exactly; scalars then convert without numpy call overhead.
    """
    entry = vocab.analyte(analyte)
    assert entry.unit is not None
    offset = float(convert(0.0, unit, entry.unit, entry.substance))
    return float(convert(1.0, unit, entry.unit, entry.substance)) - offset, offset


class Result(NamedTuple):
    """One usable result: day, value in the analyte's canonical unit (or code), source.

    ``observation`` is the recorded result; a derived result (BMI from weight and height)
    has none and lists the results it was derived from in ``derived_from``.

    A named tuple, immutable as a frozen dataclass would be, and made in a third of its time:
    an evaluation makes one per result of the record.
    """

    day: dt.date
    value: float | None
    code: str | None
    observation: Observation | None
    derived_from: tuple[Evidence, ...] = ()

    def evidence(self, analyte: str, role: str) -> list[Evidence]:
        if self.observation is None:
            derived = Evidence(
                analyte=analyte,
                date=self.day,
                value=round(self.value, 2) if self.value is not None else None,
                unit=vocab.analyte(analyte).unit,
                role=f"{role} (derived)",
            )
            return [derived, *self.derived_from]
        obs = self.observation
        return [
            Evidence(
                analyte=analyte,
                date=self.day,
                value=obs.value,
                unit=obs.unit,
                coded=obs.coded,
                role=role,
                resource=obs.id,
            )
        ]


def derived_bmi(weights: list[Result], heights: list[Result]) -> list[Result]:
    """BMI (kg/m2) for each weight, with the latest height measured on or before it (or the
    first height when none precedes it): BMI = weight / height^2 (a definition).

    Semantics the callers rely on: ``weights`` and ``heights`` are usable results (canonical
    units kg and cm), oldest first, ``heights`` not empty; one BMI per weight with a positive
    height, dated on the weight's day, in the order of ``weights``. It does not judge the
    result: :meth:`Results.from_record` drops a derived BMI outside the plausible range (a
    height in inches read as cm gives about 170) and reports it. Each weight's height is
    found by bisection: n weights and m heights cost O(n log m), not O(n m).
    """
    out = []
    height_days = [h.day for h in heights]
    for weight in weights:
        before = bisect.bisect_right(height_days, weight.day)
        height = heights[before - 1] if before else heights[0]
        if weight.value is None or height.value is None or height.value <= 0:
            continue
        metres = height.value / 100.0  # canonical height unit is cm (analytes.toml)
        out.append(
            Result(
                weight.day,
                weight.value / (metres * metres),
                None,
                None,
                (*weight.evidence("weight", "source"), *height.evidence("height", "source")),
            )
        )
    return out


def _order(result: Result) -> tuple[Any, ...]:
    """Total order of an analyte's results: date, time of day, then value (then code, unit
    and id), so simultaneous results sort the same whatever the order of the input."""
    obs = result.observation
    return (
        result.day,
        obs.time_of_day if obs is not None else dt.time.min,
        -math.inf if result.value is None else result.value,
        result.code or "",
        (obs.unit or "") if obs is not None else "",
        (obs.id or "") if obs is not None else "",
    )


def reading(value: float | None, code: str | None) -> str:
    """What a result says (its canonical value to 9 digits, or its code): equal readings at
    one time are duplicates, different ones conflict."""
    return (code or "") if value is None else f"{value:.9g}"


def _reading(result: Result) -> str:
    return reading(result.value, result.code)


def _distinct(results: list[Result]) -> list[Result]:
    """One result per distinct reading, in order."""
    seen: set[str] = set()
    out = []
    for result in results:
        if (reading := _reading(result)) not in seen:
            seen.add(reading)
            out.append(result)
    return out


def derived_non_hdl(totals: list[Result], hdls: list[Result]) -> list[Result]:
    """Non-HDL cholesterol (mmol/L) for each total cholesterol with an HDL cholesterol of the
    same day (the last of that day): non-HDL = total - HDL (a definition, NICE CG181).

    ``totals`` and ``hdls``: usable results in mmol/L (the canonical unit), oldest first. One
    result per total cholesterol with a same-day HDL, dated on its day; it does not judge the
    result: :meth:`Results.from_record` drops one that is implausible (not above 0) and
    reports it."""
    hdl_of_day = {h.day: h for h in hdls if h.value is not None}
    out = []
    for total in totals:
        hdl = hdl_of_day.get(total.day)
        if total.value is None or hdl is None or hdl.value is None:
            continue
        out.append(
            Result(
                total.day,
                total.value - hdl.value,
                None,
                None,
                (
                    *total.evidence("total_cholesterol", "source"),
                    *hdl.evidence("hdl_cholesterol", "source"),
                ),
            )
        )
    return out


#: Analytes cvrisk derives from others, with the function and the analytes it reads.
_DERIVED_LIPIDS = (
    ("non_hdl_cholesterol", derived_non_hdl, "total_cholesterol", "hdl_cholesterol"),
)


@dataclass(frozen=True)
class Suspect:
    """A recorded result not used because it is probably in another unit."""

    index: int
    observation: Observation
    verdict: Verdict


@dataclass(frozen=True)
class ImplausibleDerived:
    """A derived result (BMI) not used because it is implausible, and what it came from."""

    analyte: str
    result: Result
    verdict: Verdict


@dataclass
class Results:
    """A record's results by analyte, on or before the evaluation date, in :func:`_order`.

    Results of one analyte at the same date and time (a date without a time is the start of
    its day) are simultaneous; when they disagree they *conflict*: :meth:`latest_candidates`
    gives each distinct latest one (rules about the latest result are checked against each),
    and where one result must be chosen the order by value decides (the highest is latest),
    never the order of the input. ``conflicts`` lists each analyte's conflicting groups.

    ``suspect`` lists the results left out as probable unit errors, ``implausible_derived``
    the derived results left out (:mod:`cvrisk.plausibility`).
    """

    by_analyte: dict[str, list[Result]]
    excluded_future: int
    suspect: list[Suspect] = field(default_factory=list)
    implausible_derived: list[ImplausibleDerived] = field(default_factory=list)
    conflicts: dict[str, list[list[Result]]] = field(default_factory=dict)
    _test_days: dict[str, list[dt.date]] = field(default_factory=dict, repr=False)
    _days: dict[str, list[dt.date]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_record(cls, record: PatientRecord, as_of: dt.date) -> Results:
        by_analyte: dict[str, list[Result]] = defaultdict(list)
        future = 0
        suspect: list[Suspect] = []
        verdicts = record.verdicts
        for index, obs in enumerate(record.observations):
            day = obs.day
            if day > as_of:
                future += 1
                continue
            verdict = verdicts[index]
            if verdict is not None and not verdict.usable:
                suspect.append(Suspect(index, obs, verdict))
                continue
            analyte = obs.analyte_id
            value = None
            if obs.value is not None and obs.unit is not None:
                slope, offset = _affine(obs.unit, analyte)
                value = obs.value * slope + offset
            by_analyte[analyte].append(Result(day, value, obs.coded, obs))
        for results in by_analyte.values():
            results.sort(key=_order)
        conflicts = {
            analyte: groups
            for analyte, results in by_analyte.items()
            if (groups := _groups(results))
        }
        implausible: list[ImplausibleDerived] = []
        if by_analyte.get("weight") and by_analyte.get("height"):
            recorded = {r.day for r in by_analyte.get("bmi", ())}
            derived = []
            for result in derived_bmi(by_analyte["weight"], by_analyte["height"]):
                if result.day in recorded or result.value is None:
                    continue
                verdict = plausibility.check(
                    "bmi", result.value, "kg/m2", age=record.age_on(result.day), derived=True
                )
                if verdict.usable:
                    derived.append(result)
                else:
                    implausible.append(ImplausibleDerived("bmi", result, verdict))
            by_analyte["bmi"] = sorted([*by_analyte.get("bmi", ()), *derived], key=_order)
        for analyte, derive, first, second in _DERIVED_LIPIDS:
            if not (by_analyte.get(first) and by_analyte.get(second)):
                continue
            recorded = {r.day for r in by_analyte.get(analyte, ())}
            usable = []
            for result in derive(by_analyte[first], by_analyte[second]):
                if result.day in recorded or result.value is None:
                    continue
                unit = vocab.analyte(analyte).unit
                assert unit is not None
                verdict = plausibility.check(analyte, result.value, unit, derived=True)
                if verdict.usable:
                    usable.append(result)
                else:
                    implausible.append(ImplausibleDerived(analyte, result, verdict))
            if usable:
                merged = [*by_analyte.get(analyte, ()), *usable]
                by_analyte[analyte] = sorted(merged, key=_order)
        return cls(dict(by_analyte), future, suspect, implausible, conflicts)

    def days_for_test(self, test_id: str) -> list[dt.date]:
        """Days with a recorded result of any analyte that satisfies ``test_id`` (computed
        once per test: every schedule item of every protocol asks). A result left out as a
        probable unit error still counts: the test was done (its value is reported as
        suspect, not as missing)."""
        found = self._test_days.get(test_id)
        if found is None:
            days: set[dt.date] = set()
            analytes = vocab.test_analytes(test_id)
            for analyte in analytes:
                days.update(
                    r.day for r in self.by_analyte.get(analyte, ()) if r.observation is not None
                )
            days.update(
                s.observation.day for s in self.suspect if s.observation.analyte_id in analytes
            )
            found = self._test_days[test_id] = sorted(days)
        return found

    def days(self, analyte: str) -> list[dt.date]:
        """The days of ``analyte``'s results, in order (for bisection)."""
        found = self._days.get(analyte)
        if found is None:
            found = self._days[analyte] = [r.day for r in self.by_analyte.get(analyte, ())]
        return found

    def between(self, analyte: str, start: dt.date, end: dt.date) -> list[Result]:
        """``analyte``'s results dated ``start`` to ``end`` inclusive, in order (bisection)."""
        days = self.days(analyte)
        low, high = bisect.bisect_left(days, start), bisect.bisect_right(days, end)
        return self.by_analyte.get(analyte, [])[low:high]

    def latest(self, analyte: str) -> Result | None:
        results = self.by_analyte.get(analyte)
        return results[-1] if results else None

    def latest_candidates(self, analyte: str) -> list[Result]:
        """The latest result, or each distinct one when simultaneous latest results conflict
        (in order, so the last is :meth:`latest`)."""
        results = self.by_analyte.get(analyte)
        if not results:
            return []
        return _distinct(_with_last(results))


def _time(result: Result) -> dt.time | None:
    """A result's time of day; None for a date without a time (and for a derived result,
    dated by day): such a result cannot be ordered against the others of its day."""
    obs = result.observation
    if obs is None or not isinstance(obs.date, dt.datetime):
        return None
    return obs.time_of_day


def _with_last(results: list[Result]) -> list[Result]:
    """The results that may be as late as the last one (``results`` in :func:`_order`): of
    its day, those at its time of day and those without a time, which cannot be ordered
    against any result of that day (all of the day when the last one has no time). A value
    recorded with a date only is never hidden by another recorded with a time that day."""
    last = results[-1]
    first = len(results) - 1
    while first > 0 and results[first - 1].day == last.day:
        first -= 1
    day = results[first:]
    time = _time(last)
    if time is None:
        return day
    return [r for r in day if (t := _time(r)) is None or t == time]


def _groups(results: list[Result]) -> list[list[Result]]:
    """Groups of results that cannot be ordered (simultaneous) and disagree, in order: the
    results of one day and time; or a whole day's results when some of that day have no
    time of day and others do (:func:`_with_last`)."""
    groups: list[list[Result]] = []
    first = 0
    for index in range(1, len(results) + 1):
        if index < len(results) and results[index].day == results[first].day:
            continue
        day = results[first:index]
        first = index
        if len(day) < 2:
            continue
        times = [_time(r) for r in day]
        if None in times and any(t is not None for t in times):
            runs = [day]  # a result without a time is unordered against every other
        else:
            runs, start = [], 0
            for at in range(1, len(day) + 1):
                if at == len(day) or times[at] != times[start]:
                    runs.append(day[start:at])
                    start = at
        for run in runs:
            if len(run) > 1 and len(distinct := _distinct(run)) > 1:
                groups.append(distinct)
    return groups


def conflict_issues(results: Results, lang: str) -> list[DataIssue]:
    """A ``conflict`` warning per analyte whose simultaneous results disagree, naming the
    latest such values and how many other times conflict."""
    issues = []
    for analyte, groups in sorted(results.conflicts.items()):
        latest = groups[-1]
        first = latest[0]
        assert first.observation is not None
        times = [_time(r) for r in latest]
        unordered = None in times and any(t is not None for t in times)  # a day, not a time
        when = first.day.isoformat() if unordered else first.observation.date.isoformat()
        values = ", ".join(_as_reported(r) for r in latest)
        if len(groups) > 1:
            values += phrase("issue.conflict_more", lang, count=len(groups) - 1)
        ids = [r.observation.id for r in latest if r.observation is not None and r.observation.id]
        key = "issue.conflict_day" if unordered else "issue.conflict"
        issues.append(
            DataIssue(
                kind="conflict",
                severity="warning",
                field=analyte,
                resource=", ".join(ids) or None,
                message=phrase(key, lang, analyte=analyte, when=when, values=values),
            )
        )
    return issues


def _as_reported(result: Result) -> str:
    obs = result.observation
    assert obs is not None
    if obs.value is None:
        return str(obs.coded)
    return f"{obs.value:g} {display_unit(obs.unit or '')}"


@dataclass
class FactSet:
    """Facts to assert, and the evidence behind each (by fact id)."""

    patient: dict[str, Any]
    #: start of the current course of each active antipsychotic
    drug_starts: dict[str, dt.date] = field(default_factory=dict)
    facts: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: changes left out because they are larger than is plausible (never alerted on)
    implausible_changes: list[ChangeVerdict] = field(default_factory=list)

    def plausible_change(self, analyte: str, earlier: Result, later: Result) -> bool:
        """False (and the change noted in :attr:`implausible_changes`) when going from
        ``earlier`` to ``later`` is more change than is plausible in the time between
        (:func:`cvrisk.plausibility.check_change`, at the patient's age on the evaluation
        date)."""
        assert earlier.value is not None and later.value is not None
        verdict = plausibility.check_change(
            analyte,
            (earlier.day, earlier.value),
            (later.day, later.value),
            age=self.patient.get("age"),
        )
        if verdict is None:
            return True
        if verdict not in self.implausible_changes:
            self.implausible_changes.append(verdict)
        return False

    def add(
        self, kind: str, evidence: list[Evidence], shown: dict[str, Any], **fields: Any
    ) -> None:
        """Add a fact. ``from_<drug> = 1`` marks a result dated from the baseline window of
        that drug's current course on, ``on_<drug> = 1`` one dated during it: drug-specific
        rules (``drugs``) read one or the other (``results``)."""
        fact_id = f"f{len(self.facts)}"
        day = shown.get("date")
        during: dict[str, int] = {}
        if isinstance(day, dt.date):
            for drug, start in self.drug_starts.items():
                if day >= start - dt.timedelta(days=BASELINE_WINDOW_DAYS[0]):
                    during[f"from_{drug}"] = 1  # from the baseline window of the drug on
                if day >= start:
                    during[f"on_{drug}"] = 1  # during treatment
        self.facts.append({"id": fact_id, "t": kind, **self.patient, **during, **fields})
        self.evidence[fact_id] = evidence
        self.values[fact_id] = shown


def patient_fields(
    record: PatientRecord,
    as_of: dt.date,
    drugs: Iterable[str],
    condition_sets: Iterable[str] = (),
) -> dict[str, Any]:
    """The patient-level fields every fact carries (for sex/ethnicity/age/drug/condition
    filters). Each condition set in ``condition_sets`` is flagged 1 when a diagnosis of the
    record belongs to it (onset on or before ``as_of`` and not abated), else 0."""
    fields: dict[str, Any] = {
        "sex": record.patient.sex,
        "eth": record.patient.ethnicity or "unknown",
        "age": record.age_on(as_of),
    }
    fields.update({f"d_{drug}": 1 for drug in drugs})
    present = active_condition_sets(record, as_of)
    fields.update({f"c_{name}": int(name in present) for name in condition_sets})
    return fields


def active_condition_sets(record: PatientRecord, as_of: dt.date) -> set[str]:
    """Condition sets (conditions.toml) the record's diagnoses place the patient in."""
    present: set[str] = set()
    for condition in record.conditions:
        if condition.onset is not None and condition.onset > as_of:
            continue
        if condition.abatement is not None and condition.abatement <= as_of:
            continue
        present.update(vocab.conditions_matching(condition.code, condition.system))
    return present


def add_latest(facts: FactSet, results: Results, analytes: Iterable[str]) -> None:
    """``latest`` and ``coded`` facts for each analyte with a result (one for each distinct
    value when simultaneous latest results conflict: an alert any of them raises is raised)."""
    for analyte in sorted(set(analytes)):
        for latest in results.latest_candidates(analyte):
            _add_latest(facts, analyte, latest)


def _add_latest(facts: FactSet, analyte: str, latest: Result) -> None:
    evidence = latest.evidence(analyte, "latest")
    if latest.value is not None:
        obs = latest.observation
        reported = (
            {"u": _unit_name(obs.unit), "orig": obs.value}
            if obs is not None and obs.unit is not None and obs.value is not None
            else {"u": "derived", "orig": latest.value}
        )
        facts.add(
            "latest",
            evidence,
            {"value": latest.value, "date": latest.day, **reported},
            analyte=analyte,
            value=latest.value,
            **reported,
        )
    elif latest.code is not None:
        facts.add("coded", evidence, {"date": latest.day}, analyte=analyte, code=latest.code)


def baseline_result(results: Results, analyte: str, anchor: dt.date) -> Result | None:
    """The episode's baseline result: the latest one inside the baseline window."""
    found = baseline_candidates(results, analyte, anchor)
    return found[-1] if found else None


def baseline_candidates(results: Results, analyte: str, anchor: dt.date) -> list[Result]:
    """The baseline result, or each distinct one when simultaneous baseline results conflict."""
    before, after = BASELINE_WINDOW_DAYS
    start, end = anchor - dt.timedelta(days=before), anchor + dt.timedelta(days=after)
    inside = [r for r in results.between(analyte, start, end) if r.value is not None]
    if not inside:
        return []
    return _distinct(_with_last(inside))


def _rise(latest: float, reference: float) -> dict[str, float]:
    rise = latest - reference
    return {
        "rise_abs": rise,
        "rise_pct": 100.0 * rise / reference if reference > 0 else 0.0,
    }


def add_change_from_baseline(
    facts: FactSet, results: Results, protocol: str, analyte: str, anchor: dt.date
) -> bool:
    """A ``change_from_baseline`` fact (one per pair of conflicting baseline and latest
    values); False when there is no baseline or no later result."""
    bases = baseline_candidates(results, analyte, anchor)
    candidates = results.latest_candidates(analyte)
    if not bases or not candidates:
        return False
    for base in bases:
        for latest in candidates:
            if latest.value is None or base.value is None or latest.day <= base.day:
                continue  # nothing measured since baseline: no change to assess, not a gap
            if not facts.plausible_change(analyte, base, latest):
                continue  # a baseline exists; the change is reported as implausible instead
            rise = _rise(latest.value, base.value)
            facts.add(
                "change_from_baseline",
                [*base.evidence(analyte, "baseline"), *latest.evidence(analyte, "latest")],
                {"value": latest.value, "date": latest.day, **rise},
                analyte=analyte,
                protocol=protocol,
                **rise,
            )
    return any(latest.value is not None for latest in candidates)


def add_change_within(facts: FactSet, results: Results, analyte: str, within: str) -> None:
    """A ``change_within`` fact: latest result over the lowest in the period ending with it
    (one per conflicting latest value)."""
    for latest in results.latest_candidates(analyte):
        if latest.value is None:
            continue
        start = parse_duration(within).subtract_from(latest.day)
        earlier = [
            r
            for r in results.between(analyte, start, latest.day - dt.timedelta(days=1))
            if r.value is not None
        ]
        if not earlier:
            continue
        lowest = min(earlier, key=lambda r: (r.value, r.day))
        assert lowest.value is not None
        if not facts.plausible_change(analyte, lowest, latest):
            continue
        rise = _rise(latest.value, lowest.value)
        facts.add(
            "change_within",
            [*lowest.evidence(analyte, "reference"), *latest.evidence(analyte, "latest")],
            {"value": latest.value, "date": latest.day, **rise},
            analyte=analyte,
            within=within,
            **rise,
        )


def add_score(facts: FactSet, model: str, risk: float) -> None:
    """A ``score`` fact (percent)."""
    percent = 100.0 * risk
    facts.add(
        "score",
        [Evidence(analyte=model, value=round(percent, 4), unit="%", role="score")],
        {"value": percent},
        model=model,
        percent=percent,
    )


def collect_facts(
    record: PatientRecord,
    results: Results,
    needs: Needs,
    anchors: dict[str, dt.date],
    drugs: Iterable[str],
    drug_starts: dict[str, dt.date],
    as_of: dt.date,
    lang: str,
) -> tuple[FactSet, list[DataIssue]]:
    """Stage 4 of an evaluation: the facts the compiled rules can match (``needs``), and a
    ``missing`` issue for each change-from-baseline rule whose baseline is not recorded.

    ``anchors``: the episode anchor of each applicable protocol; ``drugs``: the active
    antipsychotics; ``drug_starts``: the start of each one's current course.
    """
    facts = FactSet(patient_fields(record, as_of, drugs, needs.conditions), drug_starts=drug_starts)
    issues: list[DataIssue] = []
    add_latest(facts, results, needs.latest)
    for protocol_id, analyte in sorted(needs.baseline):
        anchor = anchors[protocol_id]
        has_baseline = add_change_from_baseline(facts, results, protocol_id, analyte, anchor)
        if not has_baseline and results.latest(analyte) is not None:
            issues.append(_no_baseline(protocol_id, analyte, anchor, lang))
    for analyte, within in sorted(needs.within):
        add_change_within(facts, results, analyte, within)
    issues.extend(implausible_issues(results, facts, lang))
    return facts, issues


def implausible_issues(results: Results, facts: FactSet, lang: str) -> list[DataIssue]:
    """An ``implausible`` warning for each result, derived result and change left out."""
    issues = []
    for suspect in results.suspect:
        obs, verdict = suspect.observation, suspect.verdict
        assert verdict.range is not None and verdict.probable_value is not None
        issues.append(
            DataIssue(
                kind="implausible",
                severity="warning",
                field=f"observations[{suspect.index}]",
                resource=obs.id,
                message=phrase(
                    "issue.implausible_value",
                    lang,
                    analyte=_label(obs.analyte_id, lang),
                    value=f"{verdict.value:g}",
                    unit=display_unit(verdict.unit),
                    date=obs.day,
                    low=f"{verdict.range[0]:g}",
                    high=f"{verdict.range[1]:g}",
                    canonical=display_unit(verdict.canonical_unit),
                    probable=display_unit(verdict.probable_unit or ""),
                    probable_value=f"{verdict.probable_value:.3g}",
                ),
            )
        )
    for derived in results.implausible_derived:
        sources = {e.analyte: e for e in derived.result.derived_from}
        if derived.analyte != "bmi":
            assert derived.verdict.range is not None
            issues.append(
                DataIssue(
                    kind="implausible",
                    severity="warning",
                    field=derived.analyte,
                    message=phrase(
                        "issue.implausible_derived",
                        lang,
                        analyte=_label(derived.analyte, lang),
                        value=f"{derived.verdict.value:.3g}",
                        unit=display_unit(derived.verdict.unit),
                        date=derived.result.day,
                        sources=", ".join(
                            f"{_label(e.analyte, lang)} {_shown(e)}" for e in sources.values()
                        ),
                        low=f"{derived.verdict.range[0]:g}",
                        high=f"{derived.verdict.range[1]:g}",
                    ),
                )
            )
            continue
        weight, height = sources.get("weight"), sources.get("height")
        assert derived.verdict.range is not None
        issues.append(
            DataIssue(
                kind="implausible",
                severity="warning",
                field=derived.analyte,
                message=phrase(
                    "issue.implausible_bmi",
                    lang,
                    bmi=f"{derived.verdict.value:.0f}",
                    date=derived.result.day,
                    weight=_shown(weight),
                    height=_shown(height),
                    low=f"{derived.verdict.range[0]:g}",
                    high=f"{derived.verdict.range[1]:g}",
                ),
            )
        )
    issues.extend(implausible_change_issue(c, lang) for c in facts.implausible_changes)
    return issues


def implausible_change_issue(change: ChangeVerdict, lang: str) -> DataIssue:
    """The ``implausible`` warning for a change left out."""
    return DataIssue(
        kind="implausible",
        severity="warning",
        field=change.analyte,
        message=phrase(
            "issue.implausible_change",
            lang,
            analyte=_label(change.analyte, lang),
            change=f"{change.change:+.3g}",
            unit=display_unit(change.unit),
            start=change.earlier[0],
            end=change.later[0],
            first=f"{change.earlier[1]:.3g}",
            last=f"{change.later[1]:.3g}",
            allowed=f"{change.allowed:.0f}",
        ),
    )


def _label(analyte: str, lang: str) -> str:
    label = vocab.analyte(analyte).label
    return label.get(lang) or label.get("en") or analyte


def _shown(evidence: Evidence | None) -> str:
    if evidence is None or evidence.value is None:
        return "?"
    return f"{evidence.value:g} {display_unit(evidence.unit or '')}"


def _no_baseline(protocol_id: str, analyte: str, anchor: dt.date, lang: str) -> DataIssue:
    before, after = BASELINE_WINDOW_DAYS
    return DataIssue(
        kind="missing",
        protocol=protocol_id,
        field=analyte,
        message=phrase(
            "issue.no_baseline",
            lang,
            analyte=analyte,
            start=anchor - dt.timedelta(days=before),
            end=anchor + dt.timedelta(days=after),
            anchor=anchor,
        ),
    )


def future_results_issue(results: Results, as_of: dt.date, lang: str) -> list[DataIssue]:
    """An ``excluded`` issue when results dated after ``as_of`` were left out."""
    if not results.excluded_future:
        return []
    text = phrase("issue.future_results", lang, count=results.excluded_future, as_of=as_of)
    return [DataIssue(kind="excluded", message=text)]
