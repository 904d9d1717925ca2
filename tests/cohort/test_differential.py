"""The arbiter: cohort monitoring equals evaluate() on every patient's record, exactly.

Status rows (with merged requests), alerts with their evidence and data issues of
``cvrisk.cohort.monitor`` are compared with ``evaluate(record, scores=[],
on_invalid="report")`` for each patient of hypothesis-generated cohorts (tests/cohort/
strategies.py: switches, restarts, concurrent drugs, missing baselines, mixed units and codes,
children and adults, invalid rows), under several jurisdictions. Thousands of patients are
batched into a few cohort calls.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvrisk.cohort import monitor
from tests.cohort.reference import actual, differences, expected, to_tables
from tests.cohort.strategies import AS_OF, patient

#: Patients compared in CI (the brief asks for at least 2,000).
PATIENTS = 2000
#: CVRISK_COHORT_RANDOM=1 draws new cohorts on every run (bench/cohort_hunt.py sets it);
#: unset, CI draws the same ones every time, so a landing never depends on luck. Random
#: runs found the same-day conflict and the BMI-without-BMI-rules divergences (fixed,
#: with handcrafted tests below).
RANDOM = os.environ.get("CVRISK_COHORT_RANDOM")
JURISDICTIONS = [None, "GB", "FR", "US"]


def _cohort(records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    for number, rec in enumerate(records):
        rec["patient"]["id"] = f"{prefix}{number}"
    return records


def _compare(records: list[dict[str, Any]], **options: Any) -> list[str]:
    tables = to_tables(records)
    result = monitor(tables, **options)
    return differences(actual(result), expected(tables, **options))


def _show(found: list[str]) -> str:
    return f"{len(found)} differences; first:\n" + "\n".join(found[:3])


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    """At least PATIENTS generated patients (hypothesis draws them; shrinking is left to
    test_small_cohorts)."""
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=PATIENTS // 20 + 10,
        deadline=None,
        database=None,
        derandomize=RANDOM is None,  # CI draws the same cohort; bench/cohort_hunt.py explores
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(patient(), min_size=20, max_size=20))
    def draw(records: list[dict[str, Any]]) -> None:
        found.extend(records)

    draw()
    assert len(found) >= PATIENTS
    return found[:PATIENTS]


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_cohort_equals_evaluate(generated: list[dict[str, Any]], jurisdiction: str | None) -> None:
    share = len(generated) // len(JURISDICTIONS)
    index = JURISDICTIONS.index(jurisdiction)
    records = _cohort(
        [dict(r) for r in generated[index * share : (index + 1) * share]], f"j{index}-"
    )
    found = _compare(records, as_of=AS_OF, jurisdiction=jurisdiction)
    assert not found, _show(found)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=RANDOM is None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.lists(patient(), min_size=1, max_size=8),
    st.sampled_from(JURISDICTIONS),
    st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2026, 1, 1)),
    st.sampled_from(["en", "fr"]),
)
def test_small_cohorts(
    records: list[dict[str, Any]], jurisdiction: str | None, as_of: dt.date, lang: str
) -> None:
    """Any date and language; hypothesis shrinks a failure to a minimal cohort."""
    found = _compare(_cohort(records, "s"), as_of=as_of, jurisdiction=jurisdiction, lang=lang)
    assert not found, _show(found)


def test_named_protocols() -> None:
    """Protocols named explicitly (no jurisdiction filter), including a local file."""
    from cvrisk.rules.catalog import protocol_dir

    @settings(
        max_examples=5,
        deadline=None,
        derandomize=RANDOM is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(patient(), min_size=20, max_size=20))
    def check(records: list[dict[str, Any]]) -> None:
        protocols = ["nice-cg178", "clozapine-uk", str(protocol_dir() / "ecg-qtc.toml")]
        found = _compare(_cohort(records, "n"), as_of=AS_OF, protocols=protocols)
        assert not found, _show(found)

    check()


def test_generated_cohorts_exercise_every_stage(generated: list[dict[str, Any]]) -> None:
    """The generated patients are not degenerate: they reach every stage being compared."""
    tables = to_tables(_cohort([dict(r) for r in generated], "c"))
    result = monitor(tables, as_of=AS_OF, jurisdiction="GB")
    kinds = set(result.issues["kind"])
    assert {"invalid", "unknown_drug", "not_covered", "missing", "excluded", "implausible"} <= kinds
    assert {"overdue", "due", "upcoming", "conditional"} <= set(result.status["status"])
    assert (result.status["requests"] > 1).any()
    assert result.alerts["code"].nunique() >= 8
    with_drugs = sum(1 for r in generated if r["medications"])
    assert with_drugs > len(generated) / 3  # about half: hypothesis draws many bare records


def _case(pid: str, meds: list[dict[str, Any]], obs: list[tuple[str, float, str, str]]) -> dict:
    return {
        "patient": {"id": pid, "birth_date": "1980-05-01", "sex": "female"},
        "conditions": [],
        "medications": meds,
        "observations": [{"analyte": a, "value": v, "unit": u, "date": d} for a, v, u, d in obs],
    }


def test_period_limits_after_stop_and_derived_lipids() -> None:
    """Handcrafted patients for what generated cohorts rarely reach: an item limited to a
    period (troponin, CRP: applies_for), monitoring after stopping clozapine ([after_stop],
    both jurisdictions), a 10-day clozapine baseline window, non-HDL cholesterol derived from
    a same-day total and HDL (and an impossible pair), a triglyceride range including its
    upper bound."""
    clozapine = [{"drug": "clozapine", "start": "2024-01-01"}]
    stopped = [{"drug": "clozapine", "start": "2024-01-01", "stop": "2025-05-20"}]
    olanzapine = [{"drug": "olanzapine", "start": "2024-01-01"}]
    day = "2025-05-01"
    records = [
        _case("lapsed", clozapine, [("troponin", 5, "ng/L", "2024-01-08")]),
        _case("stopped", stopped, [("neutrophils", 3.0, "10*9/L", "2025-05-15")]),
        _case(
            "window",
            [{"drug": "clozapine", "start": "2025-05-30"}],
            [("wbc", 6.0, "10*9/L", "2025-03-01"), ("neutrophils", 1.2, "10*9/L", "2025-05-25")],
        ),
        _case(
            "lipids",
            olanzapine,
            [
                ("total_cholesterol", 8.5, "mmol/L", day),
                ("hdl_cholesterol", 0.6, "mmol/L", day),
                ("triglycerides", 20, "mmol/L", day),
            ],
        ),
        _case(
            "impossible",
            olanzapine,
            [("total_cholesterol", 3.0, "mmol/L", day), ("hdl_cholesterol", 3.2, "mmol/L", day)],
        ),
        _case(
            "mgdl",
            olanzapine,
            [
                ("total_cholesterol", 340, "mg/dL", day),
                ("hdl_cholesterol", 40, "mg/dL", day),
                ("hdl_cholesterol", 45, "mg/dL", day),
            ],
        ),
    ]
    for jurisdiction in (None, "GB", "US"):
        for lang in ("en", "fr"):
            found = _compare(
                [dict(r) for r in records],
                as_of=dt.date(2025, 6, 1),
                jurisdiction=jurisdiction,
                lang=lang,
            )
            assert not found, _show(found)
    result = monitor(to_tables([dict(r) for r in records]), as_of=dt.date(2025, 6, 1))
    assert {"clozapine-uk", "clozapine-fda"} <= set(
        result.issues[result.issues["kind"] == "protocol_ended"]["protocol"]
    )
    assert {"nice-cg178/non-hdl", "nice-cg178/tg-10-20"} <= set(result.alerts["code"])


def test_several_results_of_one_day_follow_evaluate() -> None:
    """Results of one analyte on one day: evaluate orders them by time, then value, never by
    input order, and checks each conflicting value; so does the cohort
    (cvrisk.cohort.sameday). The later neutrophil count (09:00, 1.2) comes first in
    the input and must still be the latest; simultaneous conflicting QTc values each count."""
    clozapine = [{"drug": "clozapine", "start": "2025-01-01"}]
    records = [
        _case(
            "times",
            clozapine,
            [
                ("neutrophils", 1.2, "10*9/L", "2025-05-01T09:00:00"),
                ("neutrophils", 3.5, "10*9/L", "2025-05-01T08:00:00"),
            ],
        ),
        _case(
            "conflict",
            clozapine,
            [("qtc", 520, "ms", "2025-05-01"), ("qtc", 430, "ms", "2025-05-01")],
        ),
        _case("plain", clozapine, [("neutrophils", 3.0, "10*9/L", "2025-05-01")]),
    ]
    for jurisdiction in (None, "GB", "US"):
        found = _compare(
            [dict(r) for r in records], as_of=dt.date(2025, 6, 1), jurisdiction=jurisdiction
        )
        assert not found, _show(found)
    result = monitor(to_tables([dict(r) for r in records]), as_of=dt.date(2025, 6, 1))
    assert list(dict.fromkeys(result.status["patient_id"])) == ["times", "conflict", "plain"]
    times = result.alerts[result.alerts["patient_id"] == "times"]
    assert any("1.2" in m for m in times["message"]), times["message"].tolist()
    conflicts = result.issues[result.issues["kind"] == "conflict"]
    assert set(conflicts["patient_id"]) == {"conflict"}  # different times do not conflict


def test_an_impossible_bmi_is_reported_where_no_protocol_alerts_on_bmi() -> None:
    """Under FR (Afssaps: no thresholds) evaluate still derives BMI and reports an
    impossible one (weight 180 kg, height 1 m); the cohort derived BMI only for protocols
    alerting on it (found by the generated FR cohort in CI)."""
    olanzapine = [{"drug": "olanzapine", "start": "2021-01-01"}]
    records = [
        _case(
            "tall",
            olanzapine,
            [("weight", 180, "kg", "2022-04-01"), ("height", 1, "m", "2022-04-01")],
        )
    ]
    for jurisdiction in ("FR", "GB", None):
        found = _compare(
            [dict(r) for r in records], as_of=dt.date(2025, 6, 1), jurisdiction=jurisdiction
        )
        assert not found, _show(found)


def _crowded_days(seed: int, patients: int) -> list[dict[str, Any]]:
    """Patients whose results crowd onto few days: most analytes have two or three results
    on some day (often at one time, sometimes at different times, sometimes equal values),
    at every place in their history (the latest, a baseline window, a look-back period, the
    middle), in mixed units, around one or two drug courses. Every other patient has a last
    result of each analyte alone on a later day, so that its groups are earlier ones."""
    import numpy as np

    rng = np.random.default_rng(seed)
    drugs = ["olanzapine", "clozapine", "risperidone", "quetiapine"]
    analytes = [
        ("weight", "kg", 55.0, 120.0),
        ("height", "cm", 150.0, 190.0),
        ("bmi", "kg/m2", 19.0, 40.0),
        ("sbp", "mm[Hg]", 100.0, 170.0),
        ("hba1c", "mmol/mol", 35.0, 70.0),
        ("fasting_glucose", "mg/dL", 80.0, 150.0),
        ("total_cholesterol", "mmol/L", 3.5, 8.0),
        ("hdl_cholesterol", "mmol/L", 0.7, 2.0),
        ("triglycerides", "mmol/L", 0.8, 12.0),
        ("qtc", "ms", 400.0, 520.0),
        ("neutrophils", "10*9/L", 0.4, 4.0),
        ("wbc", "10*9/L", 2.0, 9.0),
    ]
    records = []
    for number in range(patients):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        meds = [{"drug": str(rng.choice(drugs)), "start": start.isoformat()}]
        if rng.random() < 0.4:
            stop = start + dt.timedelta(days=int(rng.integers(20, 200)))
            meds[0]["stop"] = stop.isoformat()
            later = stop + dt.timedelta(days=int(rng.integers(1, 60)))
            meds.append({"drug": str(rng.choice(drugs)), "start": later.isoformat()})
        days = [start + dt.timedelta(days=int(d)) for d in rng.integers(-95, 480, 5)]
        obs = []
        for analyte, unit, low, high in analytes:
            for _ in range(int(rng.integers(1, 6))):
                day = days[int(rng.integers(0, len(days)))]
                value = round(float(low + (high - low) * rng.random()), 1)
                if obs and rng.random() < 0.15 and obs[-1]["analyte"] == analyte:
                    value = obs[-1]["value"]  # a duplicate of the previous reading
                when = day.isoformat()
                if rng.random() < 0.2:
                    when += f"T{int(rng.integers(7, 10)):02d}:00:00"
                entry = {"analyte": analyte, "value": value, "unit": unit, "date": when}
                if rng.random() < 0.5:
                    entry["id"] = f"o{number}-{len(obs)}"
                obs.append(entry)
            if number % 2:  # a last result alone on its day: the groups are earlier
                last = max(days) + dt.timedelta(days=int(rng.integers(1, 30)))
                value = round(float(low + (high - low) * rng.random()), 1)
                obs.append({"analyte": analyte, "value": value, "unit": unit, "date": str(last)})
        order = rng.permutation(len(obs))
        records.append(
            {
                "patient": {
                    "id": f"crowd{number}",
                    "birth_date": f"{int(rng.integers(1950, 2000))}-03-01",
                    "sex": str(rng.choice(["female", "male"])),
                },
                "conditions": [],
                "medications": meds,
                "observations": [obs[int(i)] for i in order],
            }
        )
    return records


@pytest.mark.parametrize("jurisdiction", [None, "GB", "US"])
def test_crowded_days_follow_evaluate(jurisdiction: str | None) -> None:
    """Same-day results everywhere: the vectorised order, the conflict warnings and the
    candidates of the latest and baseline results (cvrisk.cohort.sameday) give evaluate's
    reports, and the cohort really meets conflicts at the latest result."""
    records = _crowded_days(20261202, 150)
    as_of = dt.date(2025, 6, 1)
    found = _compare([dict(r) for r in records], as_of=as_of, jurisdiction=jurisdiction)
    assert not found, _show(found)
    issues = monitor(to_tables(records), as_of=as_of, jurisdiction=jurisdiction).issues
    conflicts = issues[issues["kind"] == "conflict"]
    assert conflicts["patient_id"].nunique() > len(records) / 3


def test_simultaneous_duplicates_in_a_look_back_period_follow_evaluate() -> None:
    """Two equal weights at one time (ids b and a) are the lowest of the 3-month look-back
    of NICE's weight-gain rule (GB): evaluate takes the first of them in its order (id a) as
    the reference, and so must the cohort."""
    olanzapine = [{"drug": "olanzapine", "start": "2024-01-01"}]
    record = _case(
        "lookback",
        olanzapine,
        [
            ("weight", 80.0, "kg", "2025-03-01"),
            ("weight", 80.0, "kg", "2025-03-01"),
            ("weight", 90.0, "kg", "2025-05-20"),
        ],
    )
    record["observations"][0]["id"] = "b"
    record["observations"][1]["id"] = "a"
    found = _compare([record], as_of=dt.date(2025, 6, 1), jurisdiction="GB")
    assert not found, _show(found)
    alerts = monitor(to_tables([record]), as_of=dt.date(2025, 6, 1), jurisdiction="GB").alerts
    gain = alerts[alerts["rule"] == "weight-gain-5kg-3m"]
    assert len(gain) == 1 and '"resource": "a"' in gain["evidence"].iloc[0]
