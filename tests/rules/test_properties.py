"""Properties of evaluate() that hold for every record (hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cvrisk.errors import CvriskError
from cvrisk.rules.evaluate import evaluate
from cvrisk.rules.report import Report
from tests.rules.strategies import ANALYTES, DRUGS, END, dates, record, shift

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEVERITY = {"upcoming": 0, "conditional": 0, "due": 1, "overdue": 2}
#: 400 Gregorian years: the calendar repeats exactly, so every date rule must too.
GREGORIAN_CYCLE_DAYS = 146097


def _run(rec: dict[str, Any], as_of: dt.date) -> Report:
    return evaluate(rec, as_of=as_of, scores=[])


def _dump(report: Report) -> dict[str, Any]:
    return report.model_dump(mode="json", exclude={"cvrisk_version"})


@SETTINGS
@given(record(), dates)
def test_deterministic(rec: dict[str, Any], as_of: dt.date) -> None:
    assume(dt.date.fromisoformat(rec["patient"]["birth_date"]) < as_of)
    assert _dump(_run(rec, as_of)) == _dump(_run(rec, as_of))


@SETTINGS
@given(record(min_medications=1), st.data())
def test_adding_a_result_never_makes_a_test_more_overdue(
    rec: dict[str, Any], data: st.DataObject
) -> None:
    # as_of on or after the first start, so that something is required (drawing it
    # freely and filtering left too few examples: hypothesis's filter_too_much check)
    first_start = min(dt.date.fromisoformat(m["start"]) for m in rec["medications"])
    as_of = data.draw(st.dates(min_value=first_start, max_value=END))
    before = _run(rec, as_of)
    assume(before.tests)
    test = data.draw(st.sampled_from(before.tests))
    entry = data.draw(st.sampled_from(test.requested_by))
    from cvrisk import vocab

    analytes = [a for a in vocab.test_analytes(test.test) if a in ANALYTES]
    assume(analytes)
    analyte = data.draw(st.sampled_from(analytes))
    unit, low, high = ANALYTES[analyte]
    day = data.draw(st.dates(min_value=dt.date(2019, 1, 1), max_value=as_of))
    added = {
        **rec,
        "observations": [
            *rec["observations"],
            {"analyte": analyte, "value": (low + high) / 2, "unit": unit, "date": day.isoformat()},
        ],
    }
    after = {(r.protocol, r.rule): r for t in _run(added, as_of).tests for r in t.requested_by}
    new = after.get((entry.protocol, entry.rule))
    if new is None:
        return  # satisfied for good
    assert SEVERITY[new.status] <= SEVERITY[entry.status] or (
        new.status == entry.status == "overdue"
    ), (entry, new)
    if new.status == "overdue":
        assert new.due_date >= entry.due_date, (entry, new)


@SETTINGS
@given(record(), dates)
def test_no_due_date_before_the_first_start(rec: dict[str, Any], as_of: dt.date) -> None:
    assume(dt.date.fromisoformat(rec["patient"]["birth_date"]) < as_of)
    report = _run(rec, as_of)
    starts = [dt.date.fromisoformat(m["start"]) for m in rec["medications"]]
    for test in report.tests:
        assert starts and test.due_date >= min(starts), test


@SETTINGS
@given(record(), dates)
def test_no_output_without_an_antipsychotic(rec: dict[str, Any], as_of: dt.date) -> None:
    assume(dt.date.fromisoformat(rec["patient"]["birth_date"]) < as_of)
    report = _run({**rec, "medications": []}, as_of)
    assert report.protocols == [] and report.tests == [] and report.alerts == []


@SETTINGS
@given(record(), dates)
def test_stopped_drugs_produce_nothing(rec: dict[str, Any], as_of: dt.date) -> None:
    assume(dt.date.fromisoformat(rec["patient"]["birth_date"]) < as_of)
    stopped = [
        {**m, "stop": min(m.get("stop", m["start"]), m["start"])}
        for m in rec["medications"]
        if dt.date.fromisoformat(m["start"]) < as_of
    ]
    report = _run({**rec, "medications": stopped}, as_of)
    assert report.tests == [] and report.alerts == []


@SETTINGS
@given(record(), dates)
def test_shifting_by_whole_gregorian_cycles_shifts_everything(
    rec: dict[str, Any], as_of: dt.date
) -> None:
    assume(dt.date.fromisoformat(rec["patient"]["birth_date"]) < as_of)
    base = _run(rec, as_of)
    moved = _run(shift(rec, GREGORIAN_CYCLE_DAYS), as_of + dt.timedelta(GREGORIAN_CYCLE_DAYS))
    delta = dt.timedelta(days=GREGORIAN_CYCLE_DAYS)
    assert [(t.rule, t.status, t.due_date + delta) for t in base.tests] == [
        (t.rule, t.status, t.due_date) for t in moved.tests
    ]
    assert [a.code for a in base.alerts] == [a.code for a in moved.alerts]


@SETTINGS
@given(record(), dates, st.integers(min_value=-60, max_value=60))
def test_shifting_dates_shifts_day_and_week_based_due_dates(
    rec: dict[str, Any], as_of: dt.date, days: int
) -> None:
    birth = dt.date.fromisoformat(rec["patient"]["birth_date"])
    assume(birth < as_of)
    base = {(r.protocol, r.rule): (r, t) for t in _run(rec, as_of).tests for r in t.requested_by}
    moved = {
        (r.protocol, r.rule): r
        for t in _run(shift(rec, days), as_of + dt.timedelta(days=days)).tests
        for r in t.requested_by
    }
    for key, (entry, test) in base.items():
        label = entry.occurrence
        calendar_free = label == "baseline" or label.endswith(("D", "W"))
        if key in moved and calendar_free and test.last_result is None:
            assert moved[key].due_date == entry.due_date + dt.timedelta(days=days), (
                entry,
                moved[key],
            )


messy_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "patient": st.fixed_dictionaries(
                {
                    "birth_date": st.one_of(dates.map(str), st.text(max_size=10)),
                    "sex": st.sampled_from(["female", "male", "F", ""]),
                }
            ),
            "medications": st.lists(
                st.fixed_dictionaries(
                    {
                        "drug": st.sampled_from([*DRUGS, "aspirin", ""]),
                        "start": st.one_of(dates.map(str), st.text(max_size=10)),
                    }
                ),
                max_size=2,
            ),
            "observations": st.lists(
                st.fixed_dictionaries(
                    {
                        "analyte": st.sampled_from([*ANALYTES, "bogus"]),
                        "value": messy_values,
                        "unit": st.sampled_from(["kg", "mmol/L", "mg/dL", "%", "furlong", ""]),
                        "date": st.one_of(dates.map(str), st.text(max_size=10)),
                    }
                ),
                max_size=4,
            ),
        }
    ),
    dates,
)
def test_any_record_evaluates_or_raises_a_typed_error(rec: dict[str, Any], as_of: dt.date) -> None:
    try:
        report = _run(rec, as_of)
    except CvriskError:
        return
    for test in report.tests:
        assert isinstance(test.due_date, dt.date)
    for alert in report.alerts:
        assert alert.message and alert.source
    for issue in report.data_issues:
        assert issue.message
