"""The synthetic cohort: contract shape, determinism, every row a valid record entry, and the
distributions it claims (cvrisk/data/synth.toml)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cvrisk import vocab
from cvrisk.cohort.synth import DEFAULT_SEED, parameters, synthesize
from cvrisk.errors import OptionError
from tests.cohortdata.helpers import records

CONTRACT = {
    "patients": ["patient_id", "birth_date", "sex", "ethnicity", "race"],
    "conditions": ["patient_id", "id", "code", "system", "onset", "abatement"],
    "medications": [
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
    "observations": [
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
}


@pytest.fixture(scope="module")
def cohort():
    return synthesize(20_000)


def test_tables_follow_the_contract(cohort):
    for name, columns in CONTRACT.items():
        frame = cohort.tables()[name]
        assert list(frame.columns) == columns, name
        if name != "patients":
            assert frame["id"].is_unique, name
            assert set(frame["patient_id"].astype(str)) <= set(
                cohort.patients["patient_id"].astype(str)
            )
    assert cohort.patients["patient_id"].is_unique
    assert len(cohort) == 20_000
    assert list(cohort.sites.columns) == ["patient_id", "site", "country"]
    for column in ("birth_date",):
        assert cohort.patients[column].dtype == "datetime64[ns]"
    assert cohort.observations["date"].dtype == "datetime64[ns]"


def test_the_same_seed_gives_the_same_cohort_and_another_seed_another():
    a, b, c = synthesize(500), synthesize(500, seed=DEFAULT_SEED), synthesize(500, seed=7)
    for name in CONTRACT:
        pd.testing.assert_frame_equal(a.tables()[name], b.tables()[name])
    assert not a.observations["value"].equals(c.observations["value"])


def test_arguments_are_checked():
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(OptionError):
            synthesize(bad)  # type: ignore[arg-type]
    with pytest.raises(OptionError):
        synthesize(10, seed=-1)


def test_every_entry_of_a_sample_is_a_valid_record_entry(cohort):
    """The native reader, strict (on_invalid='raise'), accepts every record: codes, systems,
    units, plausible values, dates after birth, names that resolve without conflict."""
    sample = cohort.patients["patient_id"].astype(str).sample(300, random_state=1)
    read = records(cohort.tables(), sample)
    assert len(read) == 300
    for result in read.values():
        assert result.issues == []
        record = result.record
        for med in record.medications:
            match = med.match
            assert match is not None and match.catalogued, med
        for obs in record.observations:
            if obs.value is not None:
                obs.value_in()  # converts: the unit can express the analyte


def test_diagnosis_mix_sex_and_comorbidity_follow_the_sources(cohort):
    p = parameters()
    truth = cohort.truth
    coded = truth[truth["coded_diagnosis"]]
    shares = coded["diagnosis"].value_counts(normalize=True)
    for group, share in p["diagnosis"]["share"].items():
        assert shares[group] == pytest.approx(share, abs=0.02), group
    sex = cohort.patients.set_index("patient_id")["sex"]
    schizophrenia = truth.loc[truth["diagnosis"] == "schizophrenia", "patient_id"]
    male = (sex.loc[schizophrenia].astype(str) == "male").mean()
    assert male == pytest.approx(p["sex"]["male_share"]["schizophrenia"], abs=0.02)
    adults = truth[~truth["child"]]
    t2 = cohort.conditions[cohort.conditions["code"].astype(str).isin(["E11.9", "44054006"])]
    share_t2 = t2["patient_id"].nunique() / len(adults)
    assert share_t2 == pytest.approx(p["comorbidity"]["diabetes_type2"], abs=0.01)
    assert adults["cvd"].mean() == pytest.approx(p["comorbidity"]["cvd"], abs=0.01)
    assert truth["child"].mean() == pytest.approx(p["age"]["child_share"], abs=0.005)


def test_children_are_few_and_aged_4_to_17(cohort):
    children = cohort.truth["child"].to_numpy()
    end = pd.Timestamp(cohort.window[1])
    age = (end - cohort.patients["birth_date"]).dt.days / 365.25
    assert age[children].between(4, 18).all()
    assert age[~children].between(18, 90.1).all()


def test_units_are_mixed_by_site(cohort):
    obs = cohort.observations.merge(cohort.sites, on="patient_id")
    lipids = obs[
        obs["code"].astype(str).isin(["2093-3", "14647-2"])
        | (obs["analyte"].astype(str) == "total_cholesterol")
    ]
    by_country = lipids.groupby("country", observed=True)["unit"].agg(lambda u: set(u.astype(str)))
    assert by_country["GB"] == {"mmol/L"}
    assert by_country["US"] == {"mg/dL"}
    assert by_country["FR"] == {"g/L", "mmol/L"}
    weights = obs[obs["code"].astype(str) == "29463-7"]
    assert set(weights.loc[weights["country"] == "US", "unit"].astype(str)) == {"kg", "[lb_av]"}
    # the French site writes part of its results by analyte id, without LOINC
    fr = obs[obs["country"] == "FR"]
    assert fr["analyte"].notna().any() and fr["code"].notna().any()
    assert (fr["analyte"].isna() ^ fr["code"].isna()).all()


def test_olanzapine_and_clozapine_put_on_more_weight_than_aripiprazole(cohort):
    """Weight 9-15 months after a first course started inside the window, minus the weight
    within 30 days of the start, by drug (synth.toml [weight_gain])."""
    meds = cohort.medications
    first = meds.sort_values("start").groupby("patient_id", observed=True).first().reset_index()
    first = first[first["start"] >= pd.Timestamp(cohort.window[0]) + pd.Timedelta(days=30)]
    first["ingredient"] = [vocab.resolve_drug(name=str(d)).ingredient for d in first["drug"]]
    w = cohort.observations[cohort.observations["code"].astype(str) == "29463-7"]
    w = w[w["unit"].astype(str) == "kg"].merge(
        first[["patient_id", "start", "ingredient"]], on="patient_id"
    )
    days = (w["date"] - w["start"]).dt.days
    before = w[days.between(-30, 0)].groupby("patient_id", observed=True)["value"].mean()
    after = w[days.between(270, 450)].groupby("patient_id", observed=True)["value"].mean()
    change = (after - before).dropna().rename("change").reset_index()
    change = change.merge(first[["patient_id", "ingredient"]], on="patient_id")
    mean = change.groupby("ingredient")["change"].mean()
    assert mean["olanzapine"] > mean["aripiprazole"] + 3
    assert mean["olanzapine"] > 3


def test_courses_switch_stop_and_run_on(cohort):
    meds = cohort.medications
    per_patient = meds.groupby("patient_id", observed=True)["drug"].agg(
        lambda d: len({vocab.resolve_drug(name=str(x)).ingredient for x in set(d)})
    )
    assert (per_patient >= 2).mean() > 0.3  # switches
    assert meds["stop"].isna().any()  # still running at the window end
    end = pd.Timestamp(cohort.window[1])
    stopped = meds.groupby("patient_id", observed=True)["stop"].max()
    assert (stopped < end - pd.Timedelta(days=90)).any()  # stopped for good
    assert set(meds["route"].astype(str)) == {"oral", "depot"}
    depot = meds[meds["route"].astype(str) == "depot"]
    assert {vocab.resolve_drug(name=str(d)).ingredient for d in set(depot["drug"])} <= {
        "paliperidone",
        "haloperidol",
    }


def test_brands_and_codes_name_the_drug_they_stand_for(cohort):
    for country, table in parameters()["antipsychotics"]["brands"].items():
        for ingredient, brands in table.items():
            for brand in brands:
                match = vocab.resolve_drug(name=brand)
                assert match is not None and match.ingredient == ingredient, brand
                entries = [e for e in vocab.drug_names() if e["name"] == brand]
                assert entries and country in entries[0]["countries"], brand
                assert entries[0]["status"] == "confirmed"
    us = cohort.medications[cohort.medications["code"].notna()]
    for drug, code in set(zip(us["drug"].astype(str), us["code"].astype(str), strict=True)):
        assert (
            vocab.resolve_drug(name=drug, code=code, system="rxnorm").ingredient
            == vocab.resolve_drug(name=drug).ingredient
        )


def test_testing_has_gaps_and_missed_checks(cohort):
    obs = cohort.observations
    glucose = obs[
        obs["code"]
        .astype(str)
        .isin(["4548-4", "59261-8", "1558-6", "14771-0", "2345-7", "14749-6"])
        | obs["analyte"].astype(str).isin(["hba1c", "fasting_glucose", "random_glucose"])
    ]
    tested_2025 = glucose[glucose["date"].dt.year == 2025]["patient_id"].nunique()
    assert 0.5 < tested_2025 / len(cohort) < 0.95  # realistic gaps: not everyone, not no one
    fbc = obs[obs["code"].astype(str) == "751-8"].sort_values(["patient_id", "date"])
    gaps = fbc.groupby("patient_id", observed=True)["date"].diff().dt.days.dropna()
    assert (gaps.between(5, 9)).any()  # weekly checks
    assert (gaps.between(12, 16)).any()  # fortnightly, or a weekly check missed


def test_every_number_in_synth_toml_says_where_it_comes_from():
    p = parameters()
    allowed = {"sourced", "derived", "invented"}
    for name, table in p.items():
        statuses = {k: v for k, v in table.items() if k.endswith("status")}
        assert statuses, f"[{name}] has no status"
        assert set(statuses.values()) <= allowed, name
        for key, value in statuses.items():
            if value in ("sourced", "derived"):
                prefix = key.removesuffix("status")
                assert table.get(f"{prefix}source") or table.get("source"), f"[{name}] {key}"


def test_window_and_dates(cohort):
    start, end = (pd.Timestamp(d) for d in cohort.window)
    assert cohort.window == (dt.date(2021, 1, 1), dt.date(2025, 12, 31))
    obs = cohort.observations
    assert obs["date"].between(start, end).all()
    born = cohort.patients.set_index("patient_id")["birth_date"]
    assert (obs["date"].to_numpy() >= born.loc[obs["patient_id"]].to_numpy()).all()
    meds = cohort.medications
    assert (meds["stop"].isna() | (meds["stop"] >= meds["start"])).all()
    assert np.all(meds["start"] <= end)


def test_cli_writes_every_format(tmp_path):
    from cvrisk.cli import main
    from cvrisk.cohort.bulk import read_bulk
    from cvrisk.cohort.omop import read_omop

    out = tmp_path / "cohort"
    import io

    text = io.StringIO()
    assert (
        main(
            ["synth", "--patients", "40", "--seed", "9", "-o", str(out), "--omop", "duckdb"],
            out=text,
        )
        == 0
    )
    assert "synthetic cohort, seed 9" in text.getvalue()
    native = pd.read_parquet(out / "native" / "patients.parquet")
    assert len(native) == 40
    assert len(read_omop(out / "omop" / "omop.duckdb").tables["patients"]) == 40
    assert len(read_bulk(out / "fhir").tables["patients"]) == 40
    assert (
        main(
            [
                "synth",
                "--patients",
                "5",
                "-o",
                str(tmp_path / "csv"),
                "--format",
                "native",
                "--tables",
                "csv",
            ],
            out=io.StringIO(),
        )
        == 0
    )
    assert (tmp_path / "csv" / "native" / "observations.csv").is_file()
    assert not (tmp_path / "csv" / "fhir").exists()
