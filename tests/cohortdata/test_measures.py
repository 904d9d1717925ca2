"""Quality measures: hand-made patients with known answers for every criterion, the Wilson
interval against published values, group rates, and a row-by-row reference implementation
agreeing with the vectorised one on a synthetic cohort."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvrisk import vocab
from cvrisk.cohort.synth import synthesize
from cvrisk.errors import OptionError
from cvrisk.measures import definitions, measure, rates_by, wilson

Y = 2025


def _tables(patients, conditions=(), medications=(), observations=()):
    return {
        "patients": pd.DataFrame(
            patients, columns=["patient_id", "birth_date", "sex", "ethnicity", "race"]
        ),
        "conditions": pd.DataFrame(
            list(conditions), columns=["patient_id", "id", "code", "system", "onset", "abatement"]
        ),
        "medications": pd.DataFrame(
            list(medications),
            columns=[
                "patient_id",
                "id",
                "drug",
                "code",
                "system",
                "formulation",
                "start",
                "stop",
                "route",
            ],
        ),
        "observations": pd.DataFrame(
            list(observations),
            columns=[
                "patient_id",
                "id",
                "analyte",
                "code",
                "system",
                "value",
                "unit",
                "coded",
                "date",
                "status",
            ],
        ),
    }


def _p(pid, born, sex="female"):
    return (pid, pd.Timestamp(born), sex, None, None)


def _dx(pid, code, system="icd10", onset="2010-01-01", abatement=None):
    return (
        pid,
        None,
        code,
        system,
        pd.Timestamp(onset),
        pd.Timestamp(abatement) if abatement else pd.NaT,
    )


def _rx(pid, drug, start, stop=None, code=None, system=None):
    return (
        pid,
        None,
        drug,
        code,
        system,
        None,
        pd.Timestamp(start),
        pd.Timestamp(stop) if stop else pd.NaT,
        None,
    )


def _obs(pid, date, analyte=None, code=None, value=5.0, unit="mmol/L"):
    return (
        pid,
        None,
        analyte,
        code,
        "loinc" if code else None,
        value,
        unit,
        None,
        pd.Timestamp(date),
        "final",
    )


@pytest.fixture(scope="module")
def known():
    patients = [
        _p("ssd-yes", "1985-04-01"),  # schizophrenia, olanzapine 2025, HbA1c 2025
        _p("ssd-no-test", "1985-04-01"),  # bipolar (SNOMED), quetiapine 2025, no test
        _p("ssd-diabetic", "1985-04-01"),  # schizoaffective + type 2 diabetes
        _p("ssd-old", "1955-06-01"),  # 70 on 31 December
        _p("ssd-no-drug", "1985-04-01"),  # schizophrenia, course started in 2024
        _p("ssd-abated", "1985-04-01"),  # bipolar resolved in 2020
        _p("smd-both", "1970-01-01", "male"),  # schizophrenia + diabetes, HbA1c and LDL
        _p("smd-hba1c-only", "1970-01-01", "male"),
        _p("smc-yes", "1962-12-31", "male"),  # 63, schizophrenia + MI, LDL by LOINC
        _p("apm-young", "2017-03-01"),  # 8: two prescriptions 2025, glucose only
        _p("apm-teen", "2010-07-01"),  # 15: two prescriptions, both tests
        _p("apm-one-rx", "2010-07-01"),  # one prescription only
    ]
    conditions = [
        _dx("ssd-yes", "F20.0"),
        _dx("ssd-no-test", "13746004", "snomed"),
        _dx("ssd-diabetic", "F25.9"),
        _dx("ssd-diabetic", "E11.9"),
        _dx("ssd-old", "F20.9"),
        _dx("ssd-no-drug", "F20.9"),
        _dx("ssd-abated", "F31.9", abatement="2020-01-01"),
        _dx("smd-both", "F20.9"),
        _dx("smd-both", "44054006", "snomed"),
        _dx("smd-hba1c-only", "F20.9"),
        _dx("smd-hba1c-only", "E11.9"),
        _dx("smc-yes", "F20.9"),
        _dx("smc-yes", "I21.9"),
    ]
    medications = [
        _rx("ssd-yes", "olanzapine", "2025-02-01", "2025-04-30"),
        _rx("ssd-no-test", "Seroquel", "2025-06-01"),
        _rx("ssd-diabetic", "risperidone", "2025-01-10"),
        _rx("ssd-old", "haloperidol", "2025-03-01"),
        _rx("ssd-no-drug", "aripiprazole", "2024-11-01"),
        _rx("ssd-abated", "olanzapine", "2025-01-05"),
        _rx("apm-young", "risperidone", "2025-01-15", "2025-04-14"),
        _rx("apm-young", "risperidone", "2025-04-15"),
        _rx("apm-teen", "aripiprazole", "2025-02-01", "2025-04-30", code="89013", system="rxnorm"),
        _rx("apm-teen", "Abilify", "2025-05-01"),
        _rx("apm-one-rx", "aripiprazole", "2025-02-01"),
        _rx("apm-one-rx", "lithium", "2025-05-01"),  # not an antipsychotic
    ]
    observations = [
        _obs("ssd-yes", "2025-03-02", analyte="hba1c", value=40, unit="mmol/mol"),
        _obs(
            "ssd-no-test", "2024-12-30", analyte="hba1c", value=40, unit="mmol/mol"
        ),  # the year before
        _obs("ssd-no-test", "2025-05-01", analyte="total_cholesterol"),  # not a glucose test
        _obs("ssd-old", "2025-03-02", code="2345-7", value=100, unit="mg/dL"),
        _obs("smd-both", "2025-01-10", code="4548-4", value=7.1, unit="%"),
        _obs("smd-both", "2025-11-20", code="13457-7", value=110, unit="mg/dL"),
        _obs("smd-hba1c-only", "2025-01-10", code="4548-4", value=7.1, unit="%"),
        _obs("smd-hba1c-only", "2025-01-10", analyte="total_cholesterol"),
        _obs("smc-yes", "2025-06-06", code="39469-2", value=2.9),
        _obs("apm-young", "2025-05-01", analyte="fasting_glucose"),
        _obs("apm-teen", "2025-05-01", analyte="hba1c", value=35, unit="mmol/mol"),
        _obs("apm-teen", "2025-05-01", analyte="total_cholesterol"),
    ]
    result = measure(_tables(patients, conditions, medications, observations), Y)
    return result.patients.set_index(["measure", "rate", "patient_id"])


def _row(known, measure_id, rate, pid):
    return known.loc[(measure_id, rate, pid)]


def test_ssd(known):
    yes = _row(known, "ssd", "screening", "ssd-yes")
    assert (yes.denominator, yes.numerator, yes.excluded) == (True, True, False)
    assert yes.evidence == "hba1c 2025-03-02"
    no = _row(known, "ssd", "screening", "ssd-no-test")
    assert (no.denominator, no.numerator) == (True, False)
    assert no.reason == "in the denominator, not the numerator: no glucose or HbA1c test in 2025"
    assert no.evidence == "13746004"
    diabetic = _row(known, "ssd", "screening", "ssd-diabetic")
    assert (diabetic.denominator, diabetic.excluded) == (False, True)
    assert diabetic.reason.startswith("excluded: type 1 diabetes or type 2 diabetes")
    assert diabetic.evidence == "E11.9"
    assert (
        _row(known, "ssd", "screening", "ssd-old").reason
        == "not in the population: not aged 18-64 on 2025-12-31"
    )
    assert _row(known, "ssd", "screening", "ssd-no-drug").reason == (
        "not in the population: fewer than 1 antipsychotic prescription starting in 2025"
    )
    assert _row(known, "ssd", "screening", "ssd-abated").reason.startswith(
        "not in the population: no schizophrenia"
    )
    assert not _row(known, "ssd", "screening", "apm-young").denominator


def test_smd_and_smc(known):
    assert _row(known, "smd", "monitoring", "smd-both").numerator
    only = _row(known, "smd", "monitoring", "smd-hba1c-only")
    assert only.denominator and not only.numerator
    assert only.reason == "in the denominator, not the numerator: no LDL-C test in 2025"
    assert not _row(known, "smd", "monitoring", "ssd-yes").denominator  # no diabetes
    assert _row(known, "smd", "monitoring", "ssd-yes").reason.endswith(
        "no type 1 diabetes or type 2 diabetes diagnosis"
    )
    smc = _row(known, "smc", "monitoring", "smc-yes")
    assert smc.denominator and smc.numerator and smc.age == 63
    assert not _row(known, "smc", "monitoring", "smd-both").denominator


def test_apm_rates_and_strata(known):
    young = {
        rate: _row(known, "apm", rate, "apm-young") for rate in ("glucose", "cholesterol", "both")
    }
    assert (
        young["glucose"].numerator
        and not young["cholesterol"].numerator
        and not young["both"].numerator
    )
    assert {r.stratum for r in young.values()} == {"1-11"}
    assert (
        young["both"].reason
        == "in the denominator, not the numerator: no LDL-C or cholesterol test in 2025"
    )
    teen = {
        rate: _row(known, "apm", rate, "apm-teen") for rate in ("glucose", "cholesterol", "both")
    }
    assert all(r.numerator for r in teen.values()) and teen["both"].stratum == "12-17"
    one = _row(known, "apm", "glucose", "apm-one-rx")
    assert (
        one.reason
        == "not in the population: fewer than 2 antipsychotic prescriptions starting in 2025"
    )
    assert (
        _row(known, "apm", "glucose", "ssd-yes").reason
        == "not in the population: not aged 1-17 on 2025-12-31"
    )


def test_summary_counts(known):
    result = measure(_tables([_p("a", "1990-01-01")]), Y, measures=["ssd"])
    summary = result.summary()
    assert summary[["denominator", "numerator"]].values.tolist() == [[0, 0]]
    assert np.isnan(summary["proportion"].iloc[0])


def test_wilson_matches_published_values():
    # 95 % Wilson intervals: 0/10 -> [0, 0.2775], 5/10 -> [0.2366, 0.7634], 10/10 -> [0.7225, 1]
    _, low, high = wilson([0, 5, 10, 81], [10, 10, 10, 263])
    assert np.allclose(low[:3], [0.0, 0.2366, 0.7225], atol=5e-5)
    assert np.allclose(high[:3], [0.2775, 0.7634, 1.0], atol=5e-5)
    # 81/263 (Newcombe 1998, Stat Med 17:857, Table I): 0.2553 to 0.3662
    assert (round(float(low[3]), 4), round(float(high[3]), 4)) == (0.2553, 0.3662)
    with pytest.raises(OptionError):
        wilson([3], [2])


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_wilson_brackets_the_proportion(pairs):
    total = np.array([max(a, b) for a, b in pairs])
    successes = np.array([min(a, b) for a, b in pairs])
    rate, low, high = wilson(successes, total)
    ok = total > 0
    assert np.all(low[ok] <= rate[ok] + 1e-12) and np.all(rate[ok] <= high[ok] + 1e-12)
    assert np.all((low[ok] >= 0) & (high[ok] <= 1))
    assert np.all(np.isnan(rate[~ok]))


@pytest.fixture(scope="module")
def synthetic():
    return synthesize(3000, seed=5)


def test_group_rates_add_up(synthetic):
    result = measure(synthetic.tables(), Y)
    total = result.summary().set_index(["measure", "rate", "stratum"])
    by_site = rates_by(result, by=["site"], groups=synthetic.sites)
    summed = by_site.groupby(["measure", "rate", "stratum"])[
        ["denominator", "numerator", "excluded"]
    ].sum()
    pd.testing.assert_frame_equal(
        summed.sort_index(), total[["denominator", "numerator", "excluded"]].sort_index()
    )
    by_band = rates_by(result, by=["age_band", "sex"])
    ssd = by_band[by_band["measure"] == "ssd"]
    assert set(ssd.loc[ssd["denominator"] > 0, "age_band"].astype(str)) <= {
        "18-34",
        "35-49",
        "50-64",
    }
    assert (by_band["low"].fillna(0) <= by_band["proportion"].fillna(0)).all()
    # a patient in two protocol groups counts in each
    protocols = pd.concat(
        [
            synthetic.sites[["patient_id"]].assign(protocol="a"),
            synthetic.sites[["patient_id"]].iloc[:10].assign(protocol="b"),
        ]
    )
    by_protocol = rates_by(result, by=["protocol"], groups=protocols)
    assert set(by_protocol["protocol"]) == {"a", "b"}
    with pytest.raises(OptionError, match="groups="):
        rates_by(result, by=["site"])


def test_vectorised_measures_equal_a_row_by_row_reference(synthetic):
    """The reference reads each patient's rows one by one with the record's own models."""
    from tests.cohortdata.helpers import records

    result = measure(synthetic.tables(), Y).patients
    ids = synthetic.patients["patient_id"].astype(str).sample(400, random_state=3).tolist()
    start, end = dt.date(Y, 1, 1), dt.date(Y, 12, 31)
    spec = definitions()
    for pid, read in records(synthetic.tables(), ids).items():
        rec = read.record
        age = Y - rec.patient.birth_date.year

        def has(sets, rec=rec):
            return any(
                set(vocab.conditions_matching(c.code, c.system)) & set(sets)
                and (c.onset is None or c.onset <= end)
                and (c.abatement is None or c.abatement >= start)
                for c in rec.conditions
            )

        events = sum(
            1
            for m in rec.medications
            if m.match and m.match.category == "antipsychotic" and start <= m.start <= end
        )

        def done(test, rec=rec):
            analytes = spec["tests"][test]["analytes"]
            return any(o.analyte_id in analytes and start <= o.day <= end for o in rec.observations)

        for measure_id, m in spec["measures"].items():
            lo, hi = m["age"]
            population = lo <= age <= hi and (not m["diagnoses"] or has(m["diagnoses"]))
            population &= not m.get("with_diagnoses") or has(m["with_diagnoses"])
            population &= events >= m.get("antipsychotic_events", 0)
            excluded = population and bool(m.get("exclude")) and has(m["exclude"])
            for rate, r in m["rates"].items():
                row = result[
                    (result["patient_id"] == pid)
                    & (result["measure"] == measure_id)
                    & (result["rate"] == rate)
                ]
                assert len(row) == 1
                assert bool(row["denominator"].iloc[0]) == (population and not excluded), (
                    pid,
                    measure_id,
                )
                assert bool(row["excluded"].iloc[0]) == excluded
                numerator = population and not excluded and all(done(t) for t in r["tests"])
                assert bool(row["numerator"].iloc[0]) == numerator, (pid, measure_id, rate)


def test_every_criterion_cites_its_public_source():
    spec = definitions()
    sources = set(spec["sources"])
    for measure_id, m in spec["measures"].items():
        assert set(m["source"].split("+")) <= sources, measure_id
        for key, value in m.items():
            if key.endswith("_status"):
                assert value in ("confirmed", "unconfirmed"), (measure_id, key)
        for rate, r in m["rates"].items():
            assert r["status"] in ("confirmed", "unconfirmed") and r["source"], (measure_id, rate)
            for test in r["tests"]:
                for analyte in spec["tests"][test]["analytes"]:
                    vocab.analyte(analyte)
        for set_id in [
            *m.get("diagnoses", []),
            *m.get("with_diagnoses", []),
            *m.get("exclude", []),
        ]:
            assert set_id in vocab.condition_sets(), set_id


def test_arguments_are_checked(synthetic):
    with pytest.raises(OptionError):
        measure(synthetic.tables(), "2025")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="unknown measure"):
        measure(synthetic.tables(), Y, measures=["ssd", "hba1c"])
    with pytest.raises(OptionError, match="no 'observations' table"):
        measure({k: v for k, v in synthetic.tables().items() if k != "observations"}, Y)
