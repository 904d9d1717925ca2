"""Same-time conflicting results and the order of the input (docs/limits.md, "Conflicting
results"): the report never depends on the order in which a record lists its entries, and a
conflict is a warning naming the values."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk.rules.report import Report
from tests.rules.strategies import ANALYTES, dates, record

AS_OF = dt.date(2025, 6, 1)
PATIENT = {"id": "w", "birth_date": "1980-01-01", "sex": "male", "ethnicity": "white"}
OLANZAPINE = {"drug": "olanzapine", "start": "2024-01-01"}


def _weight(value: float, date: str, **extra: Any) -> dict[str, Any]:
    return {"analyte": "weight", "value": value, "unit": "kg", "date": date, **extra}


def _weight_gain_alerts(weights: list[dict[str, Any]]) -> list[str]:
    rec = {"patient": PATIENT, "medications": [OLANZAPINE], "observations": weights}
    report = cvrisk.evaluate(rec, as_of=AS_OF, jurisdiction="GB", scores=[])
    return [a.code for a in report.alerts if "weight" in a.code]


def test_same_day_weights_raise_the_same_alerts_in_either_order() -> None:
    # was: 80 then 90 kg raised the NICE weight-gain alert, 90 then 80 raised none
    before = _weight(84, "2025-03-01")
    low, high = _weight(80, "2025-05-01"), _weight(90, "2025-05-01")
    one = _weight_gain_alerts([before, low, high])
    other = _weight_gain_alerts([before, high, low])
    assert one == other
    assert one  # a rise to 90 kg (6 kg in 2 months) is not hidden by the 80 kg reading


def _conflicts(report: Report) -> list[Any]:
    return [i for i in report.data_issues if i.kind == "conflict"]


def test_a_conflict_is_a_warning_naming_the_values() -> None:
    rec = {
        "patient": PATIENT,
        "medications": [OLANZAPINE],
        "observations": [
            _weight(80, "2025-05-01", id="Observation/a"),
            _weight(90, "2025-05-01", id="Observation/b"),
        ],
    }
    (issue,) = _conflicts(cvrisk.evaluate(rec, as_of=AS_OF, scores=[]))
    assert issue.severity == "warning" and issue.field == "weight"
    assert "80 kg" in issue.message and "90 kg" in issue.message
    assert issue.resource == "Observation/a, Observation/b"


def test_duplicates_and_different_times_are_not_conflicts() -> None:
    rec = {
        "patient": PATIENT,
        "medications": [OLANZAPINE],
        "observations": [
            _weight(79, "2025-04-01"),
            _weight(79, "2025-04-01"),  # the same result sent twice
            _weight(80, "2025-05-01T07:00:00"),
            _weight(80, "2025-05-01T07:00:00"),  # the same, with its time
            _weight(82, "2025-05-01T08:00:00"),
            _weight(83, "2025-05-01T18:00:00"),  # later the same day: the latest, no conflict
        ],
    }
    assert _conflicts(cvrisk.evaluate(rec, as_of=AS_OF, scores=[])) == []


def test_a_result_without_a_time_is_not_hidden_by_one_with_a_time() -> None:
    """A QTc of 520 ms given with a date only and one of 430 ms at 09:00 the same day: the
    date alone does not say it came first, so both are the latest (the 520 ms alerts) and
    the day is reported as a conflict. Before, the date-only value counted as 00:00 and
    vanished without an alert or an issue (QA)."""
    rec = {
        "patient": PATIENT,
        "medications": [OLANZAPINE],
        "observations": [
            {"analyte": "qtc", "value": 400, "unit": "ms", "date": "2023-12-20"},
            {"analyte": "qtc", "value": 430, "unit": "ms", "date": "2025-04-01T09:00:00"},
            {"analyte": "qtc", "value": 520, "unit": "ms", "date": "2025-04-01"},
        ],
    }
    for order in (rec["observations"], rec["observations"][::-1]):
        report = cvrisk.evaluate({**rec, "observations": order}, as_of=AS_OF, scores=[])
        assert "ecg-qtc/qtc-over-500" in {a.code for a in report.alerts}
        (issue,) = _conflicts(report)
        assert "cannot be ordered (2025-04-01" in issue.message
        assert "520 ms" in issue.message and "430 ms" in issue.message
    # at the baseline too: a date-only baseline value is checked beside a timed one
    with_baseline = {
        **rec,
        "observations": [
            {"analyte": "qtc", "value": 380, "unit": "ms", "date": "2023-12-20"},
            {"analyte": "qtc", "value": 440, "unit": "ms", "date": "2023-12-20T10:00:00"},
            {"analyte": "qtc", "value": 450, "unit": "ms", "date": "2025-04-01T09:00:00"},
        ],
    }
    report = cvrisk.evaluate(with_baseline, as_of=AS_OF, scores=[])
    assert "ecg-qtc/qtc-increase-over-60" in {a.code for a in report.alerts}


def test_the_later_time_of_one_day_is_the_latest() -> None:
    morning, evening = _weight(95, "2025-05-01T08:00:00"), _weight(84, "2025-05-01T18:00:00")
    before = _weight(84, "2025-03-01")
    assert _weight_gain_alerts([before, evening, morning]) == []
    assert _weight_gain_alerts([before, morning, evening]) == []


# -- the property: shuffling a record's entries changes nothing ------------------------------


def _with_conflicts(rec: dict[str, Any], values: list[float]) -> dict[str, Any]:
    """The record with a same-day twin (another value) of some of its observations."""
    twins = []
    for obs, bump in zip(rec["observations"], values, strict=False):
        if "value" in obs:
            _, low, high = ANALYTES[obs["analyte"]]  # stay plausible
            twins.append({**obs, "value": round(min(high, max(low, obs["value"] * bump)), 2)})
    return {**rec, "observations": [*rec["observations"], *twins]}


def _field(path: str | None) -> str | None:
    """A field path without entry indices (they follow the input order)."""
    return re.sub(r"\[\d+\]", "[]", path) if path else path


def _summary(report: Report) -> dict[str, Any]:
    return {
        "protocols": report.protocols,
        "tests": [t.model_dump() for t in report.tests],
        "alerts": [a.model_dump() for a in report.alerts],
        "scores": [s.model_dump() for s in report.scores],
        "issues": sorted(
            (i.kind, i.severity, i.message, i.protocol, i.rule, _field(i.field), i.resource)
            for i in report.data_issues
        ),
    }


CONDITIONS = [
    {"code": "F20.0", "system": "icd10", "onset": "2010-01-01"},
    {"code": "E11.9", "system": "icd10", "onset": "2015-01-01"},
    {"code": "I10", "system": "icd10", "onset": "2016-01-01", "abatement": "2018-01-01"},
]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    record(max_observations=15),
    st.lists(st.sampled_from([0.5, 0.9, 1.05, 1.5]), min_size=1, max_size=8),
    dates,
    st.randoms(use_true_random=False),
)
def test_the_report_does_not_depend_on_the_order_of_entries(
    rec: dict[str, Any], bumps: list[float], as_of: dt.date, rng: Any
) -> None:
    rec = _with_conflicts({**rec, "conditions": CONDITIONS}, bumps)
    birth = dt.date.fromisoformat(rec["patient"]["birth_date"])
    if birth >= as_of:
        return
    shuffled = {
        **rec,
        **{key: rng.sample(rec[key], len(rec[key])) for key in ("observations", "medications")},
        "conditions": rng.sample(CONDITIONS, len(CONDITIONS)),
    }
    one = cvrisk.evaluate(rec, as_of=as_of, jurisdiction="GB")
    other = cvrisk.evaluate(shuffled, as_of=as_of, jurisdiction="GB")
    assert _summary(one) == _summary(other)
