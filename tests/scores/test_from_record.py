"""Tests of cvrisk.scores.from_record: patient record -> score inputs, sources, caveats, risk."""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cvrisk.scores as scores
from cvrisk import vocab
from cvrisk.errors import CvriskError, OptionError, RecordError, UnknownModelError
from cvrisk.scores.from_record import (
    ScoreInputs,
    ScoreResult,
    config,
    score_inputs,
    score_record,
    tables,
)

AS_OF = dt.date(2024, 6, 1)
MG_PER_MMOL = 38.67  # cholesterol, cvrisk/data/units.toml (386.7 g/mol)


def obs(
    analyte: str, value: float | str, unit: str | None, date: str, **extra: Any
) -> dict[str, Any]:
    """One observation in native JSON (coded when ``unit`` is None)."""
    if unit is None:
        return {"analyte": analyte, "coded": value, "date": date, **extra}
    return {"analyte": analyte, "value": value, "unit": unit, "date": date, **extra}


def base_record(**patient: Any) -> dict[str, Any]:
    """A 54-year-old white man with a full, recent set of measurements and nothing coded."""
    person = {"birth_date": "1970-05-01", "sex": "male", "race": "white", "ethnicity": "white"}
    person.update(patient)
    return {
        "patient": person,
        "conditions": [],
        "medications": [],
        "observations": [
            obs("total_cholesterol", 5.5, "mmol/L", "2023-03-01"),
            obs("hdl_cholesterol", 1.1, "mmol/L", "2023-03-01"),
            obs("sbp", 135, "mm[Hg]", "2024-01-10"),
            obs("weight", 90, "kg", "2024-01-10"),
            obs("height", 180, "cm", "2010-01-10"),
            obs("smoking_status", "never", None, "2024-01-10"),
        ],
    }


def with_items(record: dict[str, Any], **items: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    for key, values in items.items():
        out[key] = out[key] + values
    return out


def missing_names(result: ScoreInputs | ScoreResult) -> set[str]:
    return {m.name for m in result.missing}


def caveat_ids(result: ScoreInputs | ScoreResult) -> list[str]:
    return [c.id for c in result.caveats]


SCHIZOPHRENIA = {"code": "F20.0", "system": "icd10", "onset": "2001-02-03"}
OLANZAPINE = {"drug": "olanzapine", "start": "2020-01-01"}
BISOPROLOL = {"code": "C07AB07", "system": "atc", "start": "2021-01-01"}
ATORVASTATIN = {"code": "C10AA05", "system": "atc", "start": "2022-01-01"}


# -- rows ------------------------------------------------------------------------------------


def test_pce_row_values_and_risk() -> None:
    record = with_items(base_record(), medications=[BISOPROLOL])
    result = score_record(record, "pce", as_of=AS_OF, given={"diabetes": False})
    row = result.inputs.row
    assert row == {
        "age": 54.0,
        "sex": "male",
        "race": "white",
        "total_cholesterol": 5.5,
        "hdl_cholesterol": 1.1,
        "sbp": 135.0,
        "bp_treated": True,
        "smoker": False,
        "diabetes": False,
    }
    expected = float(scores.score("pce", [dict(row)])[0])
    assert result.risk == pytest.approx(expected, rel=0, abs=0)
    assert 0.0 < expected < 1.0


def test_sources_name_the_record_items_and_dates() -> None:
    record = with_items(base_record(), medications=[BISOPROLOL])
    result = score_inputs(record, "pce", as_of=AS_OF, given={"diabetes": False})
    (tc,) = result.sources["total_cholesterol"]
    assert (tc.kind, tc.index, tc.date) == ("observation", 0, dt.date(2023, 3, 1))
    (bp,) = result.sources["bp_treated"]
    assert (bp.kind, bp.index, bp.date) == ("medication", 0, dt.date(2021, 1, 1))
    assert "C07AB07" in bp.detail
    (diabetes,) = result.sources["diabetes"]
    assert diabetes.kind == "given"
    (age,) = result.sources["age"]
    assert age.date == dt.date(1970, 5, 1)


def test_cholesterol_in_mg_dl_is_converted_to_the_default_unit() -> None:
    record = base_record()
    record["observations"][0] = obs("total_cholesterol", 213, "mg/dL", "2023-03-01")
    record["observations"][1] = obs("hdl_cholesterol", 50, "mg/dL", "2023-03-01")
    result = score_inputs(record, "framingham", as_of=AS_OF)
    assert result.row["total_cholesterol"] == pytest.approx(213 / MG_PER_MMOL, rel=1e-12)
    assert result.row["hdl_cholesterol"] == pytest.approx(50 / MG_PER_MMOL, rel=1e-12)


def test_age_is_whole_years_on_as_of() -> None:
    record = base_record(birth_date="1970-06-02")
    assert score_inputs(record, "pce", as_of=dt.date(2024, 6, 1)).row["age"] == 53.0
    assert score_inputs(record, "pce", as_of=dt.date(2024, 6, 2)).row["age"] == 54.0


def test_bmi_from_weight_and_adult_height() -> None:
    result = score_inputs(base_record(), "framingham-bmi", as_of=AS_OF)
    assert result.row["bmi"] == pytest.approx(90 / 1.8**2, rel=1e-12)
    assert {e.index for e in result.sources["bmi"]} == {3, 4}


def test_recorded_bmi_newer_than_weight_wins() -> None:
    record = with_items(base_record(), observations=[obs("bmi", 31.2, "kg/m2", "2024-03-01")])
    result = score_inputs(record, "framingham-bmi", as_of=AS_OF)
    assert result.row["bmi"] == 31.2


def test_height_measured_in_childhood_is_not_used() -> None:
    record = base_record()
    record["observations"][4] = obs("height", 160, "cm", "1985-01-10")  # aged 14
    result = score_inputs(record, "framingham-bmi", as_of=AS_OF)
    assert "bmi" not in result.row
    assert "bmi" in missing_names(result)


# -- missing values are reported, not defaulted ------------------------------------------------


def test_missing_lipids_are_reported_not_defaulted() -> None:
    record = base_record()
    del record["observations"][0:2]
    result = score_record(record, "pce", as_of=AS_OF, given={"diabetes": False})
    assert result.risk is None
    assert {"total_cholesterol", "hdl_cholesterol"} <= missing_names(result)
    assert "total_cholesterol" not in result.inputs.row


def test_unrecorded_diagnosis_is_missing_unless_the_record_is_complete() -> None:
    result = score_record(base_record(), "pce", as_of=AS_OF)
    assert result.risk is None
    assert missing_names(result) == {"diabetes", "bp_treated"}
    reason = next(m.reason for m in result.missing if m.name == "diabetes")
    assert "record_complete=True" in reason and "given" in reason

    complete = score_record(base_record(), "pce", as_of=AS_OF, record_complete=True)
    assert complete.missing == ()
    assert complete.inputs.row["diabetes"] is False
    assert complete.inputs.row["bp_treated"] is False
    assert complete.risk is not None
    assert "unrecorded_as_absent" in caveat_ids(complete)


def test_unclassifiable_prescription_keeps_drug_flags_missing_even_when_complete() -> None:
    rxnorm_drug = {"code": "29046", "system": "rxnorm", "start": "2020-01-01"}  # lisinopril
    record = with_items(base_record(), medications=[rxnorm_drug])
    result = score_record(record, "pce", as_of=AS_OF, record_complete=True)
    assert "bp_treated" in missing_names(result)
    assert result.risk is None
    assert "unclassified_medications" in caveat_ids(result)


def test_family_history_is_never_found_in_a_record() -> None:
    result = score_inputs(base_record(), "qrisk3", as_of=AS_OF, record_complete=True)
    assert "family_history_chd" in missing_names(result)


def test_qrisk3_needs_the_amount_smoked_from_current_smokers() -> None:
    record = base_record()
    record["observations"][5] = obs("smoking_status", "current", None, "2024-01-10")
    result = score_inputs(record, "qrisk3", as_of=AS_OF, record_complete=True)
    assert "smoking" in missing_names(result)
    assert score_inputs(record, "pce", as_of=AS_OF).row["smoker"] is True


@pytest.mark.parametrize(("status", "expected"), [("never", "non"), ("former", "ex")])
def test_qrisk3_smoking_categories(status: str, expected: str) -> None:
    record = base_record()
    record["observations"][5] = obs("smoking_status", status, None, "2024-01-10")
    assert score_inputs(record, "qrisk3", as_of=AS_OF).row["smoking"] == expected
    assert score_inputs(record, "pce", as_of=AS_OF).row["smoker"] is False


def test_qrisk3_full_record_gives_the_same_risk_as_the_row() -> None:
    record = with_items(base_record(), conditions=[SCHIZOPHRENIA], medications=[OLANZAPINE])
    result = score_record(
        record, "qrisk3", as_of=AS_OF, record_complete=True, given={"family_history_chd": False}
    )
    row = result.inputs.row
    assert row["severe_mental_illness"] is True
    assert row["atypical_antipsychotic"] is True
    assert row["diabetes_type"] == "none"
    assert row["erectile_dysfunction"] is False
    assert "townsend" not in row and "sbp_sd" not in row  # left to the model's convention
    assert result.risk == float(scores.score("qrisk3", [dict(row)])[0])
    assert caveat_ids(result).count("model_default_used") == 2
    assert "smi_no_term" not in caveat_ids(result)


def test_erectile_dysfunction_is_asked_of_men_only() -> None:
    woman = score_inputs(base_record(sex="female"), "qrisk3", as_of=AS_OF)
    man = score_inputs(base_record(), "qrisk3", as_of=AS_OF)
    assert "erectile_dysfunction" not in missing_names(woman)
    assert "erectile_dysfunction" not in woman.row
    assert "erectile_dysfunction" in missing_names(man)


def test_ethnicity_not_recorded_is_missing() -> None:
    record = base_record()
    del record["patient"]["ethnicity"]
    assert "ethnicity" in missing_names(score_inputs(record, "qrisk3", as_of=AS_OF))


def test_region_comes_from_the_options() -> None:
    without = score_record(base_record(), "score2", as_of=AS_OF)
    assert missing_names(without) == {"region"}
    with_region = score_record(base_record(), "score2", as_of=AS_OF, region="high")
    assert with_region.missing == ()
    assert with_region.risk is not None
    assert "region" not in with_region.inputs.row


# -- conditions and drugs -----------------------------------------------------------------------


def test_diabetes_type_from_conditions() -> None:
    type2 = with_items(base_record(), conditions=[{"code": "E11.9", "system": "icd10"}])
    assert score_inputs(type2, "qrisk3", as_of=AS_OF).row["diabetes_type"] == "type2"
    assert score_inputs(type2, "pce", as_of=AS_OF).row["diabetes"] is True
    both = with_items(type2, conditions=[{"code": "E10", "system": "icd10"}])
    result = score_inputs(both, "qrisk3", as_of=AS_OF, record_complete=True)
    assert "diabetes_type" in missing_names(result)


def test_condition_with_onset_after_as_of_is_ignored() -> None:
    later = {"code": "E11", "system": "icd10", "onset": "2025-01-01"}
    record = with_items(base_record(), conditions=[later])
    assert "diabetes" in missing_names(score_inputs(record, "pce", as_of=AS_OF))


def test_qrisk3_condition_flags() -> None:
    codes = [
        ("I48.0", "atrial_fibrillation"),
        ("M06.9", "rheumatoid_arthritis"),
        ("M32.1", "sle"),
        ("G43.1", "migraine"),
        ("N18.4", "ckd"),
        ("N48.4", "erectile_dysfunction"),
        ("F31.2", "severe_mental_illness"),
    ]
    for code, flag in codes:
        record = with_items(base_record(), conditions=[{"code": code, "system": "icd10"}])
        result = score_inputs(record, "qrisk3", as_of=AS_OF)
        assert result.row.get(flag) is True, (code, flag)


def test_stopped_or_first_generation_antipsychotic_is_not_atypical() -> None:
    stopped = {"drug": "olanzapine", "start": "2019-01-01", "stop": "2023-12-31"}
    haloperidol = {"drug": "haloperidol", "start": "2020-01-01"}
    record = with_items(base_record(), medications=[stopped, haloperidol])
    result = score_inputs(record, "qrisk3", as_of=AS_OF)
    assert "atypical_antipsychotic" in missing_names(result)
    complete = score_inputs(record, "qrisk3", as_of=AS_OF, record_complete=True)
    assert complete.row["atypical_antipsychotic"] is False
    by_code = {"code": "N05AX08", "system": "atc", "start": "2024-01-01"}  # risperidone
    coded = with_items(base_record(), medications=[by_code])
    assert score_inputs(coded, "qrisk3", as_of=AS_OF).row["atypical_antipsychotic"] is True


def test_antihypertensive_sets_bp_treated_with_an_indication_caveat() -> None:
    record = with_items(base_record(), medications=[BISOPROLOL])
    result = score_inputs(record, "framingham", as_of=AS_OF)
    assert result.row["bp_treated"] is True
    assert "bp_treated_indication" in caveat_ids(result)


def test_statin_for_prevent_and_the_qrisk3_statin_caveat() -> None:
    record = with_items(base_record(), medications=[ATORVASTATIN])
    assert score_inputs(record, "prevent", as_of=AS_OF).row["statin"] is True
    assert "statin_qrisk3" in caveat_ids(score_inputs(record, "qrisk3", as_of=AS_OF))
    assert "statin_qrisk3" not in caveat_ids(score_inputs(base_record(), "qrisk3", as_of=AS_OF))


def test_corticosteroid_route_filter() -> None:
    oral = {"code": "H02AB06", "system": "atc", "start": "2024-01-01", "route": "oral"}
    injected = {
        "code": "H02AB06",
        "system": "atc",
        "start": "2024-01-01",
        "route": "intra-articular",
    }
    yes = score_inputs(with_items(base_record(), medications=[oral]), "qrisk3", as_of=AS_OF)
    assert yes.row["corticosteroids"] is True
    no = score_inputs(with_items(base_record(), medications=[injected]), "qrisk3", as_of=AS_OF)
    assert "corticosteroids" in missing_names(no)


# -- look-back windows --------------------------------------------------------------------------


def test_old_lipids_are_excluded() -> None:
    record = base_record()
    record["observations"][0]["date"] = record["observations"][1]["date"] = "2019-05-31"
    result = score_inputs(record, "pce", as_of=AS_OF)
    assert {"total_cholesterol", "hdl_cholesterol"} <= missing_names(result)
    reason = next(m.reason for m in result.missing if m.name == "total_cholesterol")
    assert "outside the window" in reason and "2019-05-31" in reason


def test_window_includes_its_first_day() -> None:
    record = base_record()
    record["observations"][0]["date"] = record["observations"][1]["date"] = "2019-06-01"
    result = score_inputs(record, "pce", as_of=AS_OF)
    assert result.row["total_cholesterol"] == 5.5


def test_latest_value_inside_the_window_wins_and_later_values_are_ignored() -> None:
    record = with_items(
        base_record(),
        observations=[
            obs("sbp", 150, "mm[Hg]", "2024-02-01T08:00:00"),
            obs("sbp", 142, "mm[Hg]", "2024-02-01T09:30:00"),
            obs("sbp", 170, "mm[Hg]", "2024-07-01"),  # after as_of
            obs("sbp", 180, "mm[Hg]", "2024-05-01", status="preliminary"),
        ],
    )
    result = score_inputs(record, "pce", as_of=AS_OF)
    assert result.row["sbp"] == 142.0


def test_lipids_come_from_the_same_day() -> None:
    record = with_items(
        base_record(), observations=[obs("total_cholesterol", 6.5, "mmol/L", "2024-02-01")]
    )
    result = score_inputs(record, "pce", as_of=AS_OF)
    assert result.row["total_cholesterol"] == 5.5  # the 2023-03-01 pair, not the lone 2024 value
    record["observations"][1]["date"] = "2023-03-02"  # HDL no longer on a total-cholesterol day
    result = score_inputs(record, "pce", as_of=AS_OF)
    assert {"total_cholesterol", "hdl_cholesterol"} <= missing_names(result)


def test_old_smoking_status_is_excluded() -> None:
    record = base_record()
    record["observations"][5]["date"] = "2015-01-01"
    assert "smoker" in missing_names(score_inputs(record, "pce", as_of=AS_OF))


# -- the severe-mental-illness caveat --------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    ["pce", "prevent", "score2", "score2-op", "score2-diabetes", "framingham", "framingham-bmi"],
)
def test_smi_caveat_for_models_without_an_smi_term(model: str) -> None:
    assert not scores.models()[model].smi_term
    record = with_items(base_record(), conditions=[SCHIZOPHRENIA])
    options: dict[str, Any] = {"region": "low"} if model.startswith("score2") else {}
    result = score_record(record, model, as_of=AS_OF, **options)
    caveat = next(c for c in result.caveats if c.id == "smi_no_term")
    assert "1.29" in caveat.text and "1.64" in caveat.text and "QRISK3" in caveat.text
    assert "e0221521" in caveat.source
    assert "smi_no_term" not in caveat_ids(
        score_record(base_record(), model, as_of=AS_OF, **options)
    )


def test_qrisk3_is_the_only_model_with_an_smi_term() -> None:
    assert [m for m, info in scores.models().items() if info.smi_term] == ["qrisk3"]


def test_no_smi_caveat_for_qrisk3() -> None:
    record = with_items(base_record(), conditions=[SCHIZOPHRENIA])
    assert "smi_no_term" not in caveat_ids(score_record(record, "qrisk3", as_of=AS_OF))


def test_smi_caveat_in_french_and_from_given() -> None:
    result = score_record(base_record(), "pce", as_of=AS_OF, lang="fr", given={"diabetes": False})
    assert "smi_no_term" not in caveat_ids(result)
    record = with_items(base_record(), conditions=[SCHIZOPHRENIA])
    french = score_record(record, "pce", as_of=AS_OF, lang="fr")
    text = next(c.text for c in french.caveats if c.id == "smi_no_term")
    assert "1,29" in text and "sous-estimer" in text


# -- errors and invalid values -----------------------------------------------------------------


def test_out_of_range_value_gives_no_risk_and_names_the_problem() -> None:
    record = base_record(birth_date="1990-01-01")  # 34: below the PCE range 40-79
    result = score_record(record, "pce", as_of=AS_OF, record_complete=True)
    assert result.risk is None
    assert result.missing == ()
    assert [p.column for p in result.invalid] == ["age"]


def test_given_replaces_the_record_value() -> None:
    result = score_inputs(base_record(), "pce", as_of=AS_OF, given={"sbp": 120})
    assert result.row["sbp"] == 120
    assert result.sources["sbp"][0].kind == "given"


def test_bad_arguments_raise_typed_errors() -> None:
    with pytest.raises(OptionError, match="given="):
        score_inputs(base_record(), "pce", as_of=AS_OF, given={"townsend": 1.0})
    with pytest.raises(OptionError, match="unknown option"):
        score_inputs(base_record(), "pce", as_of=AS_OF, colour="blue")
    with pytest.raises(OptionError, match="lang"):
        score_inputs(base_record(), "pce", as_of=AS_OF, lang="de")
    with pytest.raises(UnknownModelError):
        score_inputs(base_record(), "qrisk9", as_of=AS_OF)
    with pytest.raises(RecordError, match="after the evaluation date"):
        score_inputs(base_record(), "pce", as_of=dt.date(1960, 1, 1))


def test_result_serialises_to_plain_json_types() -> None:
    import json

    record = with_items(base_record(), conditions=[SCHIZOPHRENIA])
    result = score_record(record, "pce", as_of=AS_OF, record_complete=True)
    text = json.dumps(result.as_dict())
    assert '"smi_no_term"' in text


# -- the data file ------------------------------------------------------------------------------


def _data() -> dict[str, Any]:
    path = resources.files("cvrisk.scores").joinpath("data", "record_inputs.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def test_every_window_has_a_source_and_status() -> None:
    for analyte, window in _data()["windows"].items():
        vocab.analyte(analyte)
        assert window["source"], analyte
        assert window["status"] in ("sourced", "convention"), analyte


def test_flags_refer_to_known_sets_and_classes() -> None:
    data = _data()
    for name, flag in data["flags"].items():
        assert flag["source"] and flag["definition"], name
        for set_id in flag.get("conditions", ()):
            assert set_id in vocab.condition_sets(), (name, set_id)
        if "medication_class" in flag:
            assert flag["medication_class"] in data["medication_classes"], name
    for measurement, analyte in data["measurements"].items():
        vocab.analyte(analyte)
        assert any(measurement in m.inputs for m in scores.models().values()), measurement


def test_every_caveat_has_both_languages_and_a_source() -> None:
    for caveat_id, caveat in _data()["caveats"].items():
        assert caveat["en"] and caveat["fr"] and caveat["source"], caveat_id
        fields = {
            "model": "m",
            "title": "T",
            "inputs": "x",
            "value": 0,
            "source": "s",
            "count": 1,
            "codes": "I21.9",
            "date": "2020-01-01",
            "name": "n",
        }
        assert caveat["en"].format(**fields) and caveat["fr"].format(**fields)


def test_config_is_the_packaged_file() -> None:
    assert config() == _data()


# -- property: any record gives a result or a typed error ---------------------------------------

_AS_OF = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31))
_CODES = st.sampled_from(
    ["F20", "F25.1", "F31", "E10", "E11.9", "I48", "M05", "M32", "G43", "N18.3", "N48.4", "Z00"]
)
_ANALYTES = {
    "total_cholesterol": ("mmol/L", 1.0, 30.0),
    "hdl_cholesterol": ("mmol/L", 0.1, 6.0),
    "sbp": ("mm[Hg]", 50.0, 300.0),
    "weight": ("kg", 2.0, 400.0),
    "height": ("cm", 40.0, 250.0),
    "bmi": ("kg/m2", 8.0, 120.0),
    "egfr": ("mL/min/{1.73_m2}", 1.0, 200.0),
    "hba1c": ("mmol/mol", 10.0, 200.0),
    "uacr": ("mg/g", 0.0, 30000.0),
}


def _near(draw: st.DrawFn, as_of: dt.date, birth: dt.date) -> dt.date:
    """A date from about 8 years before to 1 year after ``as_of``, not before ``birth``."""
    return max(birth, as_of + dt.timedelta(days=draw(st.integers(-3000, 365))))


def _value(draw: st.DrawFn, analyte: str) -> float:
    _, low, high = _ANALYTES[analyte]
    if draw(st.integers(0, 29)) == 0:  # now and then an implausible value
        return draw(st.floats(min_value=high, max_value=high * 10, allow_nan=False))
    return draw(st.floats(min_value=low, max_value=high, allow_nan=False))


@st.composite
def _observations(draw: st.DrawFn, as_of: dt.date, birth: dt.date) -> list[dict[str, Any]]:
    day = _near(draw, as_of, birth).isoformat()
    kind = draw(st.sampled_from(["lipids", "smoking", "sbp", "other"]))
    if kind == "lipids":  # a lipid profile: total and HDL cholesterol on one day
        return [
            obs(name, _value(draw, name), "mmol/L", day)
            for name in ("total_cholesterol", "hdl_cholesterol")
        ]
    if kind == "smoking":
        status = draw(st.sampled_from(["never", "former", "current"]))
        return [obs("smoking_status", status, None, day)]
    analyte = "sbp" if kind == "sbp" else draw(st.sampled_from(sorted(_ANALYTES)))
    status = draw(st.sampled_from(["final", "final", "preliminary"]))
    return [obs(analyte, _value(draw, analyte), _ANALYTES[analyte][0], day, status=status)]


@st.composite
def _medication(draw: st.DrawFn, as_of: dt.date, birth: dt.date) -> dict[str, Any]:
    start = _near(draw, as_of, birth)
    out: dict[str, Any] = {"start": start.isoformat()}
    if draw(st.booleans()):
        out["drug"] = draw(st.sampled_from([*sorted(vocab.antipsychotics()), "aspirin"]))
    else:
        out["code"] = draw(st.sampled_from(["C07AB07", "C10AA05", "H02AB06", "N05AH03", "123"]))
        out["system"] = draw(st.sampled_from(["atc", "rxnorm", "http://www.whocc.no/atc"]))
    if draw(st.booleans()):
        out["stop"] = (start + dt.timedelta(days=draw(st.integers(0, 4000)))).isoformat()
    if draw(st.booleans()):
        out["route"] = draw(st.sampled_from(["oral", "intramuscular"]))
    return out


@st.composite
def _cases(draw: st.DrawFn) -> tuple[dict[str, Any], dt.date]:
    """A record and an evaluation date (now and then before the birth date)."""
    as_of = draw(_AS_OF)
    wide = draw(st.integers(0, 9)) == 0  # now and then any age, even a negative one
    days = draw(st.integers(-100, 95 * 365) if wide else st.integers(30 * 365, 80 * 365))
    birth = as_of - dt.timedelta(days=days)
    if birth > as_of:  # an evaluation date before birth: a RecordError
        return {"patient": {"birth_date": birth.isoformat(), "sex": "male"}}, as_of
    patient: dict[str, Any] = {
        "birth_date": birth.isoformat(),
        "sex": draw(st.sampled_from(["female", "male"])),
    }
    if draw(st.integers(0, 3)):
        patient["ethnicity"] = draw(st.sampled_from(list(vocab.ETHNICITIES)))
    if draw(st.integers(0, 3)):
        patient["race"] = draw(st.sampled_from(["white", "black", "other"]))
    conditions = []
    for code in draw(st.lists(_CODES, max_size=4)):
        onset = _near(draw, as_of, birth).isoformat() if draw(st.booleans()) else None
        conditions.append({"code": code, "system": "icd10", "onset": onset})
    groups = draw(st.lists(_observations(as_of, birth), min_size=2, max_size=14))
    observations = [o for group in groups for o in group]
    if draw(st.booleans()):  # a recent full set, so that many cases reach a risk
        day = max(birth, as_of - dt.timedelta(days=draw(st.integers(0, 365)))).isoformat()
        observations += [
            obs("total_cholesterol", draw(st.floats(3.5, 8.0)), "mmol/L", day),
            obs("hdl_cholesterol", draw(st.floats(0.8, 2.5)), "mmol/L", day),
            obs("sbp", draw(st.floats(95.0, 190.0)), "mm[Hg]", day),
            obs("weight", draw(st.floats(50.0, 120.0)), "kg", day),
            obs("height", draw(st.floats(150.0, 195.0)), "cm", day),
            obs("egfr", draw(st.floats(20.0, 130.0)), "mL/min/{1.73_m2}", day),
            obs("smoking_status", draw(st.sampled_from(["never", "former"])), None, day),
        ]
    record = {
        "patient": patient,
        "conditions": conditions,
        "medications": draw(st.lists(_medication(as_of, birth), max_size=4)),
        "observations": observations,
    }
    return record, as_of


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=_cases(),
    model=st.sampled_from(sorted(scores.models())),
    complete=st.sampled_from([True, True, False]),
)
def test_any_record_gives_a_result_or_a_typed_error(
    case: tuple[dict[str, Any], dt.date], model: str, complete: bool
) -> None:
    record, as_of = case
    options: dict[str, Any] = {"region": "moderate"} if model.startswith("score2") else {}
    given_values = {"family_history_chd": False} if model == "qrisk3" else {}
    try:
        result = score_record(
            record, model, as_of=as_of, record_complete=complete, given=given_values, **options
        )
    except CvriskError:
        return
    assert isinstance(result, ScoreResult)
    if result.risk is not None:
        assert not result.missing and not result.invalid
        assert 0.0 <= result.risk <= 1.0 and not math.isnan(result.risk)
    else:
        assert result.missing or result.invalid
    for name in result.inputs.row:
        assert name in scores.models()[model].inputs
    for name, value in result.inputs.row.items():
        assert isinstance(value, bool | float | str), (name, value)


def test_prevent_reads_egfr_and_converts_hba1c_to_percent() -> None:
    record = with_items(
        base_record(),
        observations=[
            obs("egfr", 85, "mL/min/{1.73_m2}", "2024-02-01"),
            obs("hba1c", 48, "mmol/mol", "2024-02-01"),
            obs("uacr", 12, "mg/g", "2022-02-01"),  # older than its one-year window
        ],
        medications=[ATORVASTATIN, BISOPROLOL],
    )
    result = score_record(record, "prevent", as_of=AS_OF, record_complete=True)
    row = result.inputs.row
    assert row["egfr"] == 85.0
    # master equation as in cvrisk/data/units.toml: IFCC = 10.929 * (NGSP - 2.15)
    assert row["hba1c"] == pytest.approx(48 / 10.929 + 2.15, rel=1e-12)
    assert "uacr" not in row and "uacr" not in missing_names(result)  # optional input
    assert row["statin"] is True and row["bp_treated"] is True
    assert result.risk == float(scores.score("prevent", [dict(row)])[0])


def test_no_indication_caveat_when_a_hypertension_set_exists_and_matches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = vocab.condition_sets()
    extended = {**original, "hypertension": {"label": {"en": "Hypertension"}, "icd10": ["I10"]}}
    monkeypatch.setattr(vocab, "condition_sets", lambda: extended)
    record = with_items(base_record(), medications=[BISOPROLOL])
    assert "bp_treated_indication" in caveat_ids(score_inputs(record, "pce", as_of=AS_OF))
    diagnosed = with_items(record, conditions=[{"code": "I10", "system": "icd10"}])
    assert "bp_treated_indication" not in caveat_ids(score_inputs(diagnosed, "pce", as_of=AS_OF))


def test_record_helpers_are_exported_from_cvrisk_scores() -> None:
    import cvrisk.scores
    from cvrisk.scores import from_record

    assert cvrisk.scores.score_record is from_record.score_record
    assert cvrisk.scores.score_inputs is from_record.score_inputs


# -- ordering of results, and the look-back arithmetic ------------------------------------------


def latest_sbp(*readings: tuple[float, str]) -> Any:
    """The sbp that PCE reads from the base record plus ``readings`` (value, date), in order."""
    extra = [obs("sbp", value, "mm[Hg]", date) for value, date in readings]
    return score_inputs(with_items(base_record(), observations=extra), "pce", as_of=AS_OF).row[
        "sbp"
    ]


def test_equal_date_and_time_the_highest_wins_whatever_the_order() -> None:
    # simultaneous conflicting results: the record's order must not decide (docs/limits.md)
    first, second = (150, "2024-02-01T08:00:00"), (142, "2024-02-01T08:00:00")
    assert latest_sbp(first, second) == 150.0
    assert latest_sbp(second, first) == 150.0


def test_a_date_without_a_time_counts_as_the_start_of_its_day() -> None:
    # listed last, but a date without a time is earlier than 00:30 on that day
    assert latest_sbp((150, "2024-02-01T00:30:00"), (142, "2024-02-01")) == 150.0


def test_a_recorded_bmi_wins_over_a_computed_one_on_the_same_day() -> None:
    record = with_items(base_record(), observations=[obs("bmi", 31.5, "kg/m2", "2024-01-10")])
    result = score_inputs(record, "framingham-bmi", as_of=AS_OF)
    assert result.row["bmi"] == 31.5
    assert [e.index for e in result.sources["bmi"]] == [6]


@pytest.mark.parametrize(
    ("day", "years", "months", "expected"),
    [
        (dt.date(2024, 6, 1), 5, 0, dt.date(2019, 6, 1)),
        (dt.date(2024, 2, 29), 1, 0, dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 31), 0, 1, dt.date(2024, 2, 29)),
        (dt.date(2023, 3, 31), 0, 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 1, 15), 0, 13, dt.date(2022, 12, 15)),
        (dt.date(3, 1, 1), 5, 0, dt.date.min),
        (dt.date(100, 1, 1), 0, 1189, dt.date.min),  # found by the property below
        (dt.date(101, 1, 1), 0, 1200, dt.date(1, 1, 1)),
    ],
)
def test_look_back_is_calendar_arithmetic(
    day: dt.date, years: int, months: int, expected: dt.date
) -> None:
    assert tables.shift_back(day, years=years, months=months) == expected


# from 101-01-01, 1,200 months back stays within year 1; before it, shift_back clamps to
# date.min (the parametrized case above), which this property does not describe
@given(day=st.dates(min_value=dt.date(101, 1, 1)), months=st.integers(0, 1200))
def test_look_back_keeps_the_day_of_month_when_it_exists(day: dt.date, months: int) -> None:
    start = tables.shift_back(day, months=months)
    assert start <= day
    assert (day.year * 12 + day.month) - (start.year * 12 + start.month) == months
    following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    assert start.day == min(day.day, (following - dt.timedelta(days=1)).day)


def test_windows_are_read_from_the_data_file() -> None:
    data = _data()["windows"]
    assert tables.window("sbp") == tables.Window(years=data["sbp"]["years"])
    # height: no look-back limit, an age limit instead
    assert tables.window("height").start(AS_OF) is None
    assert tables.window("height").min_age_years == data["height"]["min_age_years"]
    assert tables.window("no_such_analyte") == tables.Window()
    assert (
        tables.Window().describe() == "the record"
        and tables.Window(months=6).describe() == "the last 6 month(s)"
    )


def _distinct_days_per_analyte(record: dict[str, Any]) -> bool:
    seen = set()
    for item in record.get("observations", []):
        key = (item["analyte"], item["date"][:10])
        if key in seen:
            return False
        seen.add(key)
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_cases(), model=st.sampled_from(sorted(scores.models())), seed=st.randoms())
def test_the_order_of_the_record_lists_does_not_change_the_inputs(
    case: tuple[dict[str, Any], dt.date], model: str, seed: Any
) -> None:
    # the latest result wins by date, not by position; ties (same analyte, same day) are
    # decided by record order, so they are left out of this property
    record, as_of = case
    assume(_distinct_days_per_analyte(record))
    shuffled = copy.deepcopy(record)
    for key in ("conditions", "medications", "observations"):
        seed.shuffle(shuffled.get(key, []))
    options: dict[str, Any] = {"region": "moderate"} if model.startswith("score2") else {}

    def outcome(data: dict[str, Any]) -> Any:
        try:
            found = score_inputs(data, model, as_of=as_of, record_complete=True, **options)
        except CvriskError as exc:
            return type(exc)
        return found.row, found.missing, [c.id for c in found.caveats]

    assert outcome(shuffled) == outcome(record)


def _adult(**extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "patient": {"id": "x", "birth_date": "1960-01-01", "sex": "male", "ethnicity": "white"},
        "observations": [
            {"analyte": "total_cholesterol", "value": 5.5, "unit": "mmol/L", "date": "2025-01-01"},
            {"analyte": "hdl_cholesterol", "value": 1.2, "unit": "mmol/L", "date": "2025-01-01"},
            {"analyte": "sbp", "value": 140, "unit": "mm[Hg]", "date": "2025-01-01"},
            {"analyte": "bmi", "value": 27, "unit": "kg/m2", "date": "2025-01-01"},
            {"analyte": "smoking_status", "coded": "never", "date": "2025-01-01"},
        ],
    }
    record.update(extra)
    return record


@pytest.mark.parametrize("code", ["I21.9", "I63.9", "G45.9", "I25.1"])
@pytest.mark.parametrize("model", ["qrisk3", "pce"])
def test_no_primary_prevention_score_with_established_cvd(code: str, model: str) -> None:
    given = {"qrisk3": {"family_history_chd": False}, "pce": {"race": "white"}}[model]
    args = {"as_of": dt.date(2025, 6, 1), "record_complete": True}
    healthy = score_record(_adult(), model, given=given, **args)
    assert healthy.risk is not None
    ill = _adult(conditions=[{"code": code, "system": "icd10", "onset": "2020-01-01"}])
    result = score_record(ill, model, given=given, **args)
    assert result.risk is None
    assert any(c.id == "established_cvd" and code in c.text for c in result.caveats)


def test_a_child_is_told_the_age_is_outside_the_range_not_what_is_missing() -> None:
    child = {"patient": {"birth_date": "2013-01-01", "sex": "female"}, "observations": []}
    result = score_record(child, "qrisk3", as_of=dt.date(2025, 6, 1))
    assert result.risk is None and not result.missing
    assert [p.column for p in result.invalid] == ["age"]
    assert "25-84" in result.invalid[0].reason


@pytest.mark.parametrize("code", ["22298006", "230690007", "266257000", "414545008"])
def test_established_cvd_coded_in_snomed_is_recognised(code: str) -> None:
    ill = _adult(conditions=[{"code": code, "system": "snomed", "onset": "2020-01-01"}])
    result = score_record(
        ill,
        "qrisk3",
        as_of=dt.date(2025, 6, 1),
        record_complete=True,
        given={"family_history_chd": False},
    )
    assert result.risk is None and any(c.id == "established_cvd" for c in result.caveats)


def test_qrisk3_counts_treated_hypertension_only_with_the_diagnosis() -> None:
    propranolol = {"code": "C07AA05", "system": "atc", "start": "2024-01-01"}  # akathisia?
    record = with_items(base_record(), medications=[propranolol])
    assert "bp_treated" in missing_names(score_inputs(record, "qrisk3", as_of=AS_OF))
    complete = score_inputs(record, "qrisk3", as_of=AS_OF, record_complete=True)
    assert complete.row["bp_treated"] is False
    assert score_inputs(record, "pce", as_of=AS_OF).row["bp_treated"] is True  # its definition
    hypertensive = with_items(record, conditions=[{"code": "I10", "system": "icd10"}])
    assert score_inputs(hypertensive, "qrisk3", as_of=AS_OF).row["bp_treated"] is True


def test_score2_is_not_computed_for_people_with_diabetes() -> None:
    record = _adult(conditions=[{"code": "E11.9", "system": "icd10", "onset": "2015-01-01"}])
    result = score_record(record, "score2", as_of=dt.date(2025, 6, 1), region="low")
    assert result.risk is None
    assert [c.id for c in result.caveats].count("score2_diabetes") == 1
    healthy = score_record(_adult(), "score2", as_of=dt.date(2025, 6, 1), region="low")
    assert healthy.risk is not None
