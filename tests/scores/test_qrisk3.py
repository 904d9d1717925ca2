"""Tests of the QRISK3-2017 model (``qrisk3``): ClinRisk's C code, term for term."""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvrisk.scores as scores
from cvrisk.errors import InvalidInputError, MissingInputError
from cvrisk.units import ureg

MODEL = "qrisk3"
ETHNICITIES = [
    "white",
    "not_stated",
    "indian",
    "pakistani",
    "bangladeshi",
    "other_asian",
    "black_caribbean",
    "black_african",
    "chinese",
    "other",
]
SMOKING = ["non", "ex", "light", "moderate", "heavy"]
FLAGS = [
    "atrial_fibrillation",
    "atypical_antipsychotic",
    "corticosteroids",
    "erectile_dysfunction",
    "migraine",
    "rheumatoid_arthritis",
    "ckd",
    "severe_mental_illness",
    "sle",
    "bp_treated",
    "family_history_chd",
]


def _data() -> dict[str, Any]:
    path = resources.files("cvrisk.scores").joinpath("data", "qrisk3.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _patient(**changes: Any) -> dict[str, Any]:
    """A valid one-row input (a 55-year-old man), with ``changes`` applied."""
    row: dict[str, Any] = {
        "age": 55,
        "sex": "male",
        "ethnicity": "white",
        "smoking": "non",
        "bmi": 27.0,
        "total_cholesterol": 5.2,
        "hdl_cholesterol": 1.3,
        "sbp": 135.0,
        "sbp_sd": 8.0,
        "townsend": 0.5,
        "diabetes_type": "none",
    }
    row.update(dict.fromkeys(FLAGS, False))
    row.update(changes)
    return row


def _risk(**changes: Any) -> float:
    return float(scores.score(MODEL, _patient(**changes))[0])


def _cloglog(risk: float) -> float:
    """ln(-ln(1 - risk)): linear in the Cox linear predictor, so differences are betas."""
    return math.log(-math.log1p(-risk))


# -- published and independent-implementation examples ------------------------------------


@pytest.mark.parametrize(
    "example", [pytest.param(e, id=f"example-{i}") for i, e in enumerate(_data()["examples"])]
)
def test_examples_reproduced(example: dict[str, Any]) -> None:
    risk = scores.score(MODEL, example["inputs"], **example["options"])
    assert risk.shape == (1,)
    assert abs(risk[0] - example["expected"]) <= example["tolerance"], example["source"]


def test_examples_cover_both_sexes_smi_and_independent_sources() -> None:
    examples = _data()["examples"]
    inputs = [e["inputs"] for e in examples]
    assert {i["sex"] for i in inputs} == {"female", "male"}
    assert any(i.get("severe_mental_illness") for i in inputs)
    assert any(i.get("atypical_antipsychotic") for i in inputs)
    assert {i["ethnicity"] for i in inputs} >= set(ETHNICITIES) - {"white"}
    sources = " ".join(e["source"] for e in examples)
    for origin in ("QRISK3_valid", "clinrisk-js", "ep-qrisk3", "cvd-risk"):
        assert origin in sources
    assert all(e["tolerance"] <= 0.0005 for e in examples)


def test_examples_all_tables_sourced() -> None:
    data = _data()
    for sex in ("female", "male"):
        table = data["coefficients"][sex]
        assert table["source"]
        for section in (
            "means",
            "ethnicity",
            "smoking",
            "continuous",
            "flags",
            "interaction_age_1",
            "interaction_age_2",
        ):
            assert table[section]["source"], (sex, section)
    for name, spec in data["inputs"].items():
        assert spec.get("source"), name
        if "when_absent" in spec:
            assert "ClinRisk" in spec["when_absent_source"], name


def test_sex_specific_terms_as_in_the_c_code() -> None:
    """Men have erectile dysfunction terms and no age x SLE term; women the reverse."""
    data = _data()["coefficients"]
    assert "erectile_dysfunction" not in data["female"]["flags"]
    assert "erectile_dysfunction" in data["male"]["flags"]
    assert "sle" in data["female"]["interaction_age_1"]
    assert "sle" not in data["male"]["interaction_age_1"]
    assert data["female"]["age_powers"] == [-2, 1]
    assert data["male"]["age_powers"] == [-1, 3]


# -- the SMI-relevant terms, checked against literal C-code values --------------------------


@pytest.mark.parametrize(
    ("sex", "term", "beta"),
    [
        # cvd_female_raw / cvd_male_raw, 'Sum from boolean values' (no age interactions)
        ("female", "severe_mental_illness", 0.1255530805882017800),
        ("male", "severe_mental_illness", 0.1213303988204716400),
        ("female", "atypical_antipsychotic", 0.2523764207011555700),
        ("male", "atypical_antipsychotic", 0.1304687985517351300),
        ("female", "rheumatoid_arthritis", 0.2136480343518194200),
        ("male", "rheumatoid_arthritis", 0.2097065801395656700),
    ],
)
@pytest.mark.parametrize("age", [25, 47, 84])
def test_terms_without_interaction_shift_the_linear_predictor(
    sex: str, term: str, beta: float, age: int
) -> None:
    without = _risk(sex=sex, age=age)
    with_term = _risk(sex=sex, age=age, **{term: True})
    assert _cloglog(with_term) - _cloglog(without) == pytest.approx(beta, abs=1e-12)


def test_erectile_dysfunction_ignored_for_women() -> None:
    assert _risk(sex="female", erectile_dysfunction=True) == _risk(sex="female")
    assert _risk(sex="male", erectile_dysfunction=True) > _risk(sex="male")


def test_white_and_not_stated_share_the_reference() -> None:
    for sex in ("female", "male"):
        assert _risk(sex=sex, ethnicity="not_stated") == _risk(sex=sex, ethnicity="white")
        assert _risk(sex=sex, ethnicity="pakistani") > _risk(sex=sex, ethnicity="white")


def test_ethnicity_as_option() -> None:
    row = _patient()
    del row["ethnicity"]
    assert scores.score(MODEL, row, ethnicity="indian")[0] == _risk(ethnicity="indian")


# -- conventions -------------------------------------------------------------------------------


def test_age_floored_to_completed_years_by_default() -> None:
    assert _risk(age=64.9) == _risk(age=64)
    exact = scores.score(MODEL, _patient(age=64.9), age_rounding="exact")[0]
    assert exact != _risk(age=64)
    assert _risk(age=65) > exact > _risk(age=64)


def test_missing_townsend_and_sbp_sd_use_clinrisk_zero() -> None:
    row = _patient()
    del row["townsend"], row["sbp_sd"]
    absent = scores.score(MODEL, row)[0]
    assert absent == _risk(townsend=0.0, sbp_sd=0.0)
    rows = pd.DataFrame([_patient(townsend=np.nan, sbp_sd=np.nan), _patient()])
    risk = scores.score(MODEL, rows)
    assert risk[0] == absent
    assert risk[1] == _risk()


def test_missing_required_inputs_raise() -> None:
    for name in ("smoking", "ethnicity", "diabetes_type", "severe_mental_illness", "bmi"):
        row = _patient()
        del row[name]
        with pytest.raises(MissingInputError, match=name):
            scores.score(MODEL, row)


def test_plain_diabetes_flag_is_not_enough() -> None:
    row = _patient(diabetes=True)
    del row["diabetes_type"]
    with pytest.raises(MissingInputError, match="diabetes_type"):
        scores.score(MODEL, row)


def test_erectile_dysfunction_needed_for_men_only() -> None:
    women = pd.DataFrame([_patient(sex="female"), _patient(sex="female", age=70)])
    women = women.drop(columns="erectile_dysfunction")
    assert np.isfinite(scores.score(MODEL, women)).all()
    mixed = pd.DataFrame([_patient(sex="female"), _patient()]).drop(columns="erectile_dysfunction")
    with pytest.raises(MissingInputError, match="erectile_dysfunction"):
        scores.score(MODEL, mixed)
    coerced = scores.score(MODEL, mixed, errors="coerce")
    assert np.isfinite(coerced[0]) and np.isnan(coerced[1])


def test_bmi_from_height_and_weight() -> None:
    row = _patient()
    del row["bmi"]
    row.update(height=178.0, weight=80.0)
    assert scores.score(MODEL, row)[0] == pytest.approx(_risk(bmi=80 / 1.78**2), abs=1e-15)


def test_pint_quantities_and_declared_units() -> None:
    mg = 38.67  # 1 mmol/L cholesterol in mg/dL (cvrisk/data/units.toml molar mass)
    as_quantities = _patient(
        total_cholesterol=ureg.Quantity(5.2 * mg, "mg/dL"),
        hdl_cholesterol=ureg.Quantity(1.3 * mg, "mg/dL"),
    )
    declared = scores.score(
        MODEL,
        _patient(total_cholesterol=5.2 * mg, hdl_cholesterol=1.3 * mg),
        units={"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"},
    )[0]
    assert scores.score(MODEL, as_quantities)[0] == pytest.approx(_risk(), rel=1e-12)
    assert declared == pytest.approx(_risk(), rel=1e-12)


def test_listed_with_metadata() -> None:
    info = scores.models()[MODEL]
    assert info.smi_term is True
    assert info.horizon_years == 10
    assert info.doi == "10.1136/bmj.j2099"
    assert info.options["age_rounding"]["default"] == "floor"


# -- validated ranges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"age": 24},
        {"age": 85},
        {"bmi": 19.9},
        {"bmi": 40.1},
        {"sbp": 69},
        {"sbp": 211},
        {"sbp_sd": 41},
        {"sbp_sd": -1},
        {"townsend": -8.5},
        {"townsend": 12.5},
        {"total_cholesterol": 13.0, "hdl_cholesterol": 1.0},  # ratio 13
        {"total_cholesterol": 1.8, "hdl_cholesterol": 2.0},  # ratio 0.9
        {"smoking": "current"},
        {"ethnicity": "south_asian"},
        {"severe_mental_illness": 2},
    ],
)
def test_out_of_range_raise_and_coerce(change: dict[str, Any]) -> None:
    rows = [_patient(), _patient(**change), _patient(sex="female")]
    with pytest.raises(InvalidInputError) as caught:
        scores.score(MODEL, rows)
    assert caught.value.invalid_rows == 1
    assert caught.value.problems[0].row == 1
    risk = scores.score(MODEL, rows, errors="coerce")
    assert np.isnan(risk[1])
    assert risk[0] == _risk()
    assert risk[2] == _risk(sex="female")


@pytest.mark.parametrize(
    "change",
    [
        {"age": 25},
        {"age": 84},
        {"bmi": 20},
        {"bmi": 40},
        {"sbp": 70},
        {"sbp": 210},
        {"sbp_sd": 0},
        {"sbp_sd": 40},
        {"townsend": -8},
        {"townsend": 12},
        {"total_cholesterol": 12.0, "hdl_cholesterol": 1.0},
        {"total_cholesterol": 2.0, "hdl_cholesterol": 2.0},
    ],
)
def test_range_limits_are_inclusive(change: dict[str, Any]) -> None:
    assert 0.0 < _risk(**change) < 1.0


def test_ratio_problem_reported_with_the_column_pair() -> None:
    with pytest.raises(InvalidInputError, match="cholesterol ratio"):
        scores.score(MODEL, _patient(total_cholesterol=14.0, hdl_cholesterol=1.0))


# -- properties -----------------------------------------------------------------------------

#: Plausible total cholesterol, mmol/L (cvrisk/data/analytes.toml): outside, rows are invalid.
TC_PLAUSIBLE = (1.0, 30.0)

patients = st.fixed_dictionaries(
    {
        "age": st.integers(25, 84),
        "sex": st.sampled_from(["female", "male"]),
        "ethnicity": st.sampled_from(ETHNICITIES),
        "smoking": st.sampled_from(SMOKING),
        "bmi": st.floats(20, 40),
        "hdl_cholesterol": st.floats(0.5, 3.0),
        "ratio": st.floats(1, 12),
        "sbp": st.floats(70, 210),
        "sbp_sd": st.floats(0, 40),
        "townsend": st.floats(-8, 12),
        "diabetes_type": st.sampled_from(["none", "type1", "type2"]),
        **{flag: st.booleans() for flag in FLAGS},
    }
)


def _row(p: dict[str, Any]) -> dict[str, Any]:
    row = dict(p)
    ratio = row.pop("ratio")
    hdl = row["hdl_cholesterol"]
    # ratio * hdl / hdl can round outside [1, 12] at the ends: stay inside; and keep total
    # cholesterol inside its plausible range (1-30 mmol/L, cvrisk/data/analytes.toml)
    low = max((1.0 + 1e-9) * hdl, TC_PLAUSIBLE[0])
    high = min((12.0 - 1e-9) * hdl, TC_PLAUSIBLE[1])
    row["total_cholesterol"] = min(max(ratio * hdl, low), high)
    return row


@settings(max_examples=200, deadline=None)
@given(st.lists(patients, min_size=1, max_size=8))
def test_risk_in_unit_interval_and_vectorized_equals_rows(batch: list[dict[str, Any]]) -> None:
    rows = [_row(p) for p in batch]
    together = scores.score(MODEL, pd.DataFrame(rows))
    assert together.dtype == np.float64
    assert ((together >= 0.0) & (together <= 1.0)).all()
    one_by_one = np.array([scores.score(MODEL, row)[0] for row in rows])
    np.testing.assert_array_equal(together, one_by_one)
    as_list = scores.score(MODEL, rows)
    np.testing.assert_array_equal(together, as_list)


@settings(max_examples=100, deadline=None)
@given(patients)
def test_cholesterol_unit_invariance(p: dict[str, Any]) -> None:
    row = _row(p)
    mmol = scores.score(MODEL, row)[0]
    mg = dict(row)
    mg["total_cholesterol"] = row["total_cholesterol"] * 38.67
    mg["hdl_cholesterol"] = row["hdl_cholesterol"] * 38.67
    in_mg = scores.score(
        MODEL, mg, units={"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}
    )[0]
    assert in_mg == pytest.approx(mmol, rel=1e-9, abs=1e-15)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patients, st.floats(0.01, 3.0))
def test_monotone_in_ratio_and_sbp_variability(p: dict[str, Any], step: float) -> None:
    """Ratio and SBP sd have positive coefficients and no interactions in either sex."""
    row = _row(p)
    base = scores.score(MODEL, row)[0]
    higher_ratio = dict(row, total_cholesterol=row["total_cholesterol"] * 1.05)
    if (
        higher_ratio["total_cholesterol"] / row["hdl_cholesterol"] <= 12
        and higher_ratio["total_cholesterol"] <= TC_PLAUSIBLE[1]
    ):
        assert scores.score(MODEL, higher_ratio)[0] >= base
    if row["sbp_sd"] + step <= 40:
        assert scores.score(MODEL, dict(row, sbp_sd=row["sbp_sd"] + step))[0] >= base


@settings(max_examples=100, deadline=None)
@given(patients, st.floats(0.5, 20.0))
def test_monotone_in_sbp(p: dict[str, Any], step: float) -> None:
    """SBP interacts with age, but its net slope stays positive on 25-84 (both sexes)."""
    row = _row(p)
    if row["sbp"] + step <= 210:
        assert (
            scores.score(MODEL, dict(row, sbp=row["sbp"] + step))[0] >= scores.score(MODEL, row)[0]
        )


def test_sbp_slope_positive_over_the_age_range() -> None:
    """The claim behind test_monotone_in_sbp, from the coefficients themselves."""
    data = _data()["coefficients"]
    for sex in ("female", "male"):
        c = data[sex]
        p1, p2 = c["age_powers"]
        for age in range(25, 85):
            age_1 = (age / 10) ** p1 - c["means"]["age_1"]
            age_2 = (age / 10) ** p2 - c["means"]["age_2"]
            slope = (
                c["continuous"]["sbp"]
                + age_1 * c["interaction_age_1"]["sbp"]
                + age_2 * c["interaction_age_2"]["sbp"]
            )
            assert slope > 0, (sex, age)


def test_smi_and_antipsychotic_raise_risk() -> None:
    for sex in ("female", "male"):
        base = _risk(sex=sex)
        assert _risk(sex=sex, severe_mental_illness=True) > base
        assert _risk(sex=sex, atypical_antipsychotic=True) > base
        assert _risk(sex=sex, severe_mental_illness=True, atypical_antipsychotic=True) > _risk(
            sex=sex, severe_mental_illness=True
        )


def test_kernel_missing_erectile_dysfunction_matters_for_men_only() -> None:
    """A NaN erectile_dysfunction (the base passes one through) is fine for women only."""
    from cvrisk.scores.registry import get_model

    model = get_model(MODEL)
    rows = [_patient(sex="female"), _patient()]
    x: dict[str, Any] = {}
    for name, spec in model.inputs.items():
        values = [row[name] for row in rows]
        if spec.kind == "category":
            x[name] = np.array([model.code(name, v) for v in values], dtype=np.int8)
        else:  # numbers in their default (model) units; flags as 0/1
            x[name] = np.array(values, dtype=np.float64)
    x["erectile_dysfunction"] = np.array([np.nan, np.nan])
    options = {"age_rounding": "floor"}
    checks = {c.column: c for c in model.row_checks(x, options)}
    assert checks["erectile_dysfunction"].bad.tolist() == [False, True]
    assert not checks["erectile_dysfunction"].missing_input
    assert not checks["total_cholesterol/hdl_cholesterol"].bad.any()
    assert model.compute(x, options)[0] == _risk(sex="female")
    x["erectile_dysfunction"] = np.array([np.nan, 0.0])
    checks = {c.column: c for c in model.row_checks(x, options)}
    assert not checks["erectile_dysfunction"].bad.any()
    risk = model.compute(x, options)
    assert risk[0] == _risk(sex="female")
    assert risk[1] == _risk()
    del x["erectile_dysfunction"]
    checks = {c.column: c for c in model.row_checks(x, options)}
    assert checks["erectile_dysfunction"].missing_input
    assert checks["erectile_dysfunction"].bad.tolist() == [False, True]


def test_woman_without_erectile_dysfunction_in_a_list_of_rows() -> None:
    """allow_missing flags: a woman's row may omit the key (or give None) next to men's rows."""
    woman = _patient(sex="female")
    del woman["erectile_dysfunction"]
    rows = [woman, _patient(), _patient(sex="female", erectile_dysfunction=None)]
    risk = scores.score(MODEL, rows)
    assert risk[0] == _risk(sex="female") == risk[2]
    assert risk[1] == _risk()
    man = _patient(erectile_dysfunction=None)
    with pytest.raises(InvalidInputError, match="missing value for a man"):
        scores.score(MODEL, [woman, man])
    coerced = scores.score(MODEL, [woman, man], errors="coerce")
    assert coerced[0] == _risk(sex="female") and np.isnan(coerced[1])
    nullable = pd.DataFrame([_patient(sex="female"), _patient()])
    nullable["erectile_dysfunction"] = pd.array([None, False], dtype="boolean")
    np.testing.assert_array_equal(scores.score(MODEL, nullable), [_risk(sex="female"), _risk()])
