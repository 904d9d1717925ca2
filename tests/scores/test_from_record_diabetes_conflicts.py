"""Per-patient SCORE2-Diabetes, given values that contradict the record, invalid given values,
and French labels (cvrisk.scores.from_record; data in record_inputs.toml)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

import cvrisk
import cvrisk.scores as scores
from cvrisk.errors import OptionError
from cvrisk.scores.from_record import config, score_inputs, score_record
from cvrisk.scores.registry import get_model

AS_OF = dt.date(2024, 6, 1)
T2D = {"code": "E11.9", "system": "icd10", "onset": "2014-05-01"}
T2D_SNOMED_UNDATED = {"code": "44054006", "system": "snomed"}
T1D = {"code": "E10.9", "system": "icd10", "onset": "2000-01-01"}


def diabetic(**changes: Any) -> dict[str, Any]:
    """A 60-year-old man (born 1964-03-10) with type 2 diabetes diagnosed on 2014-05-01 (aged
    50), a recent lipid profile, SBP, HbA1c 50 mmol/mol, eGFR 90 and current smoking."""
    record: dict[str, Any] = {
        "patient": {"birth_date": "1964-03-10", "sex": "male"},
        "conditions": [T2D],
        "medications": [],
        "observations": [
            {"analyte": "total_cholesterol", "value": 5.5, "unit": "mmol/L", "date": "2024-01-05"},
            {"analyte": "hdl_cholesterol", "value": 1.3, "unit": "mmol/L", "date": "2024-01-05"},
            {"analyte": "sbp", "value": 140, "unit": "mm[Hg]", "date": "2024-01-05"},
            {"analyte": "smoking_status", "coded": "never", "date": "2024-01-05"},
            {"analyte": "hba1c", "value": 50, "unit": "mmol/mol", "date": "2024-01-05"},
            {"analyte": "egfr", "value": 90, "unit": "mL/min/{1.73_m2}", "date": "2024-01-05"},
        ],
    }
    record.update(copy.deepcopy(changes))
    return record


def ids(items: Any) -> list[str]:
    return [item.id for item in items]


# -- SCORE2-Diabetes from a record --------------------------------------------------------------


def test_vignette_equals_the_score_of_the_same_row() -> None:
    result = score_record(diabetic(), "score2-diabetes", as_of=AS_OF, region="moderate")
    row = result.inputs.row
    assert row["age"] == 60 and row["age_at_diabetes_diagnosis"] == 50
    assert row["diabetes_type"] == "type2" and row["diabetes"] is True
    assert row["hba1c"] == pytest.approx(cvrisk.units.convert(50, "mmol/mol", "%", "hba1c"))
    expected = cvrisk.score(
        "score2-diabetes",
        {
            "age": 60,
            "sex": "male",
            "smoker": False,
            "sbp": 140,
            "total_cholesterol": 5.5,
            "hdl_cholesterol": 1.3,
            "age_at_diabetes_diagnosis": 50,
            "hba1c": 50,
            "egfr": 90,
        },
        units={"hba1c": "mmol/mol"},
        region="moderate",
    )[0]
    assert result.risk == pytest.approx(expected, rel=1e-12)
    onset = result.inputs.sources["age_at_diabetes_diagnosis"][0]
    assert onset.kind == "condition" and onset.date == dt.date(2014, 5, 1)
    assert "smi_no_term" not in ids(result.caveats) and not result.conflicts


def test_age_at_diagnosis_is_the_earliest_onset() -> None:
    later = {"code": "44054006", "system": "snomed", "onset": "2019-02-01"}
    record = diabetic(conditions=[later, T2D])
    found = score_inputs(record, "score2-diabetes", as_of=AS_OF, region="low")
    assert found.row["age_at_diabetes_diagnosis"] == 50  # 2014, not 2019
    assert "onset_undated" not in ids(found.caveats)


def test_undated_entries_next_to_a_dated_one_give_a_caveat() -> None:
    record = diabetic(conditions=[T2D, T2D_SNOMED_UNDATED])
    for lang, word in (("en", "underestimated"), ("fr", "sous-estimé")):
        found = score_inputs(record, "score2-diabetes", as_of=AS_OF, region="low", lang=lang)
        assert found.row["age_at_diabetes_diagnosis"] == 50
        (caveat,) = [c for c in found.caveats if c.id == "onset_undated"]
        assert word in caveat.text and "2014-05-01" in caveat.text and "50" in caveat.text


def test_a_diagnosis_without_onset_leaves_the_age_at_diagnosis_missing() -> None:
    record = diabetic(conditions=[T2D_SNOMED_UNDATED])
    result = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    assert result.risk is None
    (gap,) = result.missing
    assert gap.name == "age_at_diabetes_diagnosis" and "no onset date" in gap.reason
    assert "given=" in gap.reason
    given = score_record(
        record,
        "score2-diabetes",
        as_of=AS_OF,
        region="low",
        given={"age_at_diabetes_diagnosis": 50},
    )
    assert given.risk == pytest.approx(
        score_record(diabetic(), "score2-diabetes", as_of=AS_OF, region="low").risk
    )


def test_onset_after_as_of_does_not_count() -> None:
    future = {"code": "E11.9", "system": "icd10", "onset": "2024-09-01"}
    result = score_record(diabetic(conditions=[future]), "score2-diabetes", as_of=AS_OF)
    assert result.risk is None and "score2_diabetes_needs_type2" in ids(result.caveats)


def test_without_type2_diabetes_the_score_is_not_computed() -> None:
    record = diabetic(conditions=[])
    result = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    assert result.risk is None and not result.missing
    assert ids(result.caveats)[-1] == "score2_diabetes_needs_type2"
    assert [p.value for p in result.invalid] == ["score2_diabetes_needs_type2"]
    # the caller knows better: given type 2 diabetes and its age at diagnosis
    told = score_record(
        record,
        "score2-diabetes",
        as_of=AS_OF,
        region="low",
        given={"diabetes_type": "type2", "age_at_diabetes_diagnosis": 50},
    )
    assert told.risk is not None and not told.conflicts  # absence of a code is no evidence


def test_type1_diabetes_is_excluded() -> None:
    result = score_record(diabetic(conditions=[T1D]), "score2-diabetes", as_of=AS_OF)
    assert result.risk is None
    (excluded,) = [c for c in result.caveats if c.id == "score2_diabetes_type1"]
    assert "E10.9" in excluded.text
    french = score_record(diabetic(conditions=[T1D]), "score2-diabetes", as_of=AS_OF, lang="fr")
    assert "diabète de type 1" in french.caveats[-1].text
    assert "40 à 69 ans" in french.caveats[-1].text  # the French title


def test_both_types_coded_is_excluded_as_type1() -> None:
    result = score_record(diabetic(conditions=[T1D, T2D]), "score2-diabetes", as_of=AS_OF)
    assert result.risk is None and "score2_diabetes_type1" in ids(result.caveats)


def test_an_old_hba1c_is_missing_not_used() -> None:
    record = diabetic()
    record["observations"][4]["date"] = "2022-12-31"  # the window is one year
    result = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    assert result.risk is None and [m.name for m in result.missing] == ["hba1c"]
    assert "2022-12-31" in result.missing[0].reason


def test_an_mdrd_egfr_gives_a_caveat() -> None:
    record = diabetic()
    egfr = record["observations"][5]
    egfr.update({"code": "33914-3", "system": "loinc"})
    del egfr["analyte"]
    result = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    assert result.risk is not None and "egfr_equation" in ids(result.caveats)
    assert "egfr_equation" not in ids(
        score_record(diabetic(), "score2-diabetes", as_of=AS_OF, region="low").caveats
    )


def test_score2_still_refuses_diabetes_unless_the_caller_denies_it() -> None:
    record = diabetic()
    refused = score_record(record, "score2", as_of=AS_OF, region="low")
    assert refused.risk is None and "score2_diabetes" in ids(refused.caveats)
    denied = score_record(record, "score2", as_of=AS_OF, region="low", given={"diabetes": False})
    assert denied.risk is not None
    (conflict,) = denied.conflicts
    assert conflict.kind == "conflict" and conflict.severity == "warning"
    assert conflict.field == "score2.diabetes" and "E11.9" in conflict.message


def test_score2_op_and_other_models_ignore_the_new_exclusions() -> None:
    old = diabetic(patient={"birth_date": "1950-01-01", "sex": "male"})
    result = score_record(old, "score2-op", as_of=AS_OF, region="low")
    assert result.risk is not None


# -- contradictions -------------------------------------------------------------------------------


def conflicts_of(record: dict[str, Any], model: str, given: dict[str, Any], **kw: Any) -> Any:
    return score_inputs(record, model, as_of=AS_OF, given=given, **kw).conflicts


def smoker_record(status: str) -> dict[str, Any]:
    record = diabetic()
    record["observations"][3]["coded"] = status
    return record


@pytest.mark.parametrize(
    ("status", "given", "conflict"),
    [
        ("current", False, True),
        ("never", True, True),
        ("former", True, True),
        ("current", True, False),
        ("former", False, False),
    ],
)
def test_smoker_given_against_the_recorded_status(status: str, given: bool, conflict: bool) -> None:
    found = conflicts_of(smoker_record(status), "score2-diabetes", {"smoker": given}, region="low")
    assert bool(found) is conflict
    if conflict:
        assert found[0].field == "score2-diabetes.smoker" and status in found[0].message


@pytest.mark.parametrize(
    ("status", "given", "conflict"),
    [
        ("current", "non", True),
        ("current", "ex", True),
        ("current", "light", False),
        ("never", "moderate", True),
        ("never", "ex", True),
        ("former", "ex", False),
        ("never", "non", False),
    ],
)
def test_qrisk3_smoking_category_against_the_recorded_status(
    status: str, given: str, conflict: bool
) -> None:
    found = conflicts_of(smoker_record(status), "qrisk3", {"smoking": given})
    assert bool(found) is conflict


def test_diabetes_flags_and_type() -> None:
    record = diabetic()
    assert conflicts_of(record, "pce", {"diabetes": False})
    assert not conflicts_of(record, "pce", {"diabetes": True})
    assert conflicts_of(record, "qrisk3", {"diabetes_type": "none"})
    assert conflicts_of(record, "qrisk3", {"diabetes_type": "type1"})
    assert not conflicts_of(record, "qrisk3", {"diabetes_type": "type2"})
    both = diabetic(conditions=[T1D, T2D])
    assert not conflicts_of(both, "qrisk3", {"diabetes_type": "type1"})
    assert conflicts_of(both, "qrisk3", {"diabetes_type": "none"})
    healthy = diabetic(conditions=[])
    assert not conflicts_of(healthy, "pce", {"diabetes": True})  # absence is no evidence
    assert not conflicts_of(healthy, "qrisk3", {"diabetes_type": "type2"})


def test_prescription_flags_but_not_blood_pressure_treatment() -> None:
    statin = {"code": "C10AA05", "system": "atc", "start": "2022-01-01"}
    bisoprolol = {"code": "C07AB07", "system": "atc", "start": "2021-01-01"}
    record = diabetic(medications=[statin, bisoprolol])
    (found,) = conflicts_of(record, "prevent", {"statin": False, "bp_treated": False})
    assert found.field == "prevent.statin"


def test_patient_fields_and_ages() -> None:
    record = diabetic()
    assert conflicts_of(record, "score2-diabetes", {"sex": "female"}, region="low")
    assert not conflicts_of(record, "score2-diabetes", {"age": 60.7}, region="low")
    assert conflicts_of(record, "score2-diabetes", {"age": 62}, region="low")
    assert not conflicts_of(
        record, "score2-diabetes", {"age_at_diabetes_diagnosis": 50.2}, region="low"
    )
    (found,) = conflicts_of(
        record, "score2-diabetes", {"age_at_diabetes_diagnosis": 45}, region="low"
    )
    assert "45" in found.message and "50" in found.message and "2014-05-01" in found.message


def test_the_given_value_is_used_despite_the_conflict() -> None:
    record = smoker_record("current")
    recorded = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    told = score_record(
        record, "score2-diabetes", as_of=AS_OF, region="low", given={"smoker": False}
    )
    assert told.inputs.row["smoker"] is False and told.risk is not None
    assert recorded.risk is not None and told.risk < recorded.risk
    assert told.conflicts and told.as_dict()["conflicts"][0]["kind"] == "conflict"


def test_conflict_messages_in_french() -> None:
    (found,) = conflicts_of(
        smoker_record("current"), "score2-diabetes", {"smoker": False}, region="low", lang="fr"
    )
    assert "contredit le dossier" in found.message and "non" in found.message


def test_every_listed_conflict_input_is_read_by_some_model() -> None:
    inputs = set().union(*(m.inputs for m in scores.models().values()))
    assert set(config()["conflicts"]["inputs"]) <= inputs
    assert "bp_treated" not in config()["conflicts"]["inputs"]


# -- invalid given values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "given", "words"),
    [
        ("qrisk3", {"smoking": "heavyish"}, ["smoking", "heavyish", "'non'", "'heavy'"]),
        ("pce", {"diabetes": "yes"}, ["diabetes", "True or False"]),
        ("pce", {"sbp": "140"}, ["sbp", "number", "mm[Hg]"]),
        ("pce", {"sbp": float("nan")}, ["sbp", "number"]),
        ("score2-diabetes", {"region": "medium"}, ["region", "'very_high'"]),
        ("pce", {"smoker": None}, ["smoker", "leave the input out"]),
    ],
)
def test_an_invalid_given_value_is_an_option_error(
    model: str, given: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(OptionError) as info:
        score_record(diabetic(), model, as_of=AS_OF, given=given)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("value", [True, False, 1, 0, 1.0])
def test_flags_accept_booleans_and_zero_one(value: Any) -> None:
    found = score_inputs(diabetic(), "pce", as_of=AS_OF, given={"diabetes": value})
    assert found.row["diabetes"] == value


def test_numbers_accept_pint_quantities() -> None:
    quantity = cvrisk.units.ureg.Quantity(18.7, "kPa")
    result = score_record(
        diabetic(), "score2-diabetes", as_of=AS_OF, region="low", given={"sbp": quantity}
    )
    assert result.risk is not None


# -- labels ---------------------------------------------------------------------------------------


def test_every_input_of_every_model_has_an_english_and_french_label() -> None:
    labels = config()["labels"]
    for model in scores.models().values():
        for name in model.inputs:
            assert labels[name]["en"] and labels[name]["fr"], name


def test_missing_inputs_carry_a_label_in_the_requested_language() -> None:
    record = diabetic(observations=[])
    english = score_record(record, "score2-diabetes", as_of=AS_OF, region="low")
    french = score_record(record, "score2-diabetes", as_of=AS_OF, region="low", lang="fr")
    assert {m.name for m in english.missing} == {m.name for m in french.missing}
    labels = {m.name: m.label for m in french.missing}
    assert labels["hba1c"] == "HbA1c" and labels["egfr"] == "DFG estimé"
    assert labels["sbp"] == "pression artérielle systolique"
    assert english.as_dict()["missing"][0]["label"]


def test_every_model_has_a_french_title() -> None:
    for model_id in scores.models():
        assert get_model(model_id).data["model"]["title_fr"], model_id
