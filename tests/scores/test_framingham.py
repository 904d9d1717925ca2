"""Tests of the Framingham 2008 general CVD models: ``framingham`` and ``framingham-bmi``."""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk.scores as scores
from cvrisk.errors import InvalidInputError, MissingInputError
from cvrisk.units import ureg

LIPID = "framingham"
BMI = "framingham-bmi"
FILES = {LIPID: "framingham.toml", BMI: "framingham_bmi.toml"}
MG_DL = {"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}


def _data(model: str) -> dict[str, Any]:
    path = resources.files("cvrisk.scores").joinpath("data", FILES[model])
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _examples() -> list[Any]:
    return [
        pytest.param(model, example, id=f"{model}-{i}")
        for model in FILES
        for i, example in enumerate(_data(model)["examples"])
    ]


# -- published and independent-implementation examples ------------------------------------


@pytest.mark.parametrize(("model", "example"), _examples())
def test_examples_reproduced(model: str, example: dict[str, Any]) -> None:
    risk = scores.score(model, example["inputs"], units=example.get("units"), **example["options"])
    assert risk.shape == (1,)
    assert abs(risk[0] - example["expected"]) <= example["tolerance"], example["source"]


def test_examples_cover_both_sexes_and_treatment() -> None:
    for model in FILES:
        inputs = [e["inputs"] for e in _data(model)["examples"]]
        assert {i["sex"] for i in inputs} == {"female", "male"}
        assert {i["bp_treated"] for i in inputs} == {True, False}


def test_paper_worked_examples_by_hand() -> None:
    """The 61-year-old woman of the paper, evaluated term by term from Table 2 values."""
    linear = (
        2.32888 * math.log(61)
        + 1.20904 * math.log(180)
        - 0.70833 * math.log(47)
        + 2.76157 * math.log(124)
        + 0.52873
    )
    expected = 1 - 0.95012 ** math.exp(linear - 26.1931)
    row = {
        "age": 61,
        "sex": "female",
        "total_cholesterol": 180,
        "hdl_cholesterol": 47,
        "sbp": 124,
        "bp_treated": False,
        "smoker": True,
        "diabetes": False,
    }
    assert scores.score(LIPID, row, units=MG_DL)[0] == pytest.approx(expected, abs=1e-12)
    assert round(expected, 4) == 0.1048


# -- data files ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(FILES))
def test_every_coefficient_table_has_a_source(model: str) -> None:
    data = _data(model)
    assert set(data["coefficients"]) == {"female", "male"}
    for table in data["coefficients"].values():
        assert table["source"]
        assert 0 < table["baseline_survival"] < 1
    for spec in data["inputs"].values():
        assert "source" in spec
    assert data["model"]["smi_term"] is False


def test_bmi_coefficients_marked_unconfirmed() -> None:
    for table in _data(BMI)["coefficients"].values():
        assert table["status"] == "unconfirmed"


@pytest.mark.parametrize("model", list(FILES))
def test_models_listed_with_metadata(model: str) -> None:
    info = scores.models()[model]
    assert info.horizon_years == 10
    assert info.inputs["age"].minimum == 30
    assert info.inputs["age"].maximum == 74
    assert info.doi == "10.1161/CIRCULATIONAHA.107.699579"


# -- properties ---------------------------------------------------------------------------------

sexes = st.sampled_from(["female", "male"])
ages = st.floats(30, 74)
tcs = st.floats(100, 400)  # mg/dL
hdls = st.floats(20, 120)  # mg/dL
sbps = st.floats(80, 220)
bmis = st.floats(15, 60)
flags = st.booleans()


@st.composite
def lipid_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "age": draw(ages),
        "sex": draw(sexes),
        "total_cholesterol": draw(tcs),
        "hdl_cholesterol": draw(hdls),
        "sbp": draw(sbps),
        "bp_treated": draw(flags),
        "smoker": draw(flags),
        "diabetes": draw(flags),
    }


@st.composite
def bmi_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "age": draw(ages),
        "sex": draw(sexes),
        "bmi": draw(bmis),
        "sbp": draw(sbps),
        "bp_treated": draw(flags),
        "smoker": draw(flags),
        "diabetes": draw(flags),
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(lipid_rows(), min_size=1, max_size=20))
def test_lipid_in_unit_interval_rowwise_equals_vectorized(rows: list[dict[str, Any]]) -> None:
    together = scores.score(LIPID, rows, units=MG_DL)
    alone = np.array([scores.score(LIPID, [r], units=MG_DL)[0] for r in rows])
    assert together.dtype == np.float64
    assert np.all((together >= 0) & (together <= 1))
    np.testing.assert_array_equal(together, alone)


@settings(max_examples=60, deadline=None)
@given(st.lists(bmi_rows(), min_size=1, max_size=20))
def test_bmi_in_unit_interval_rowwise_equals_vectorized(rows: list[dict[str, Any]]) -> None:
    together = scores.score(BMI, rows)
    alone = np.array([scores.score(BMI, [r])[0] for r in rows])
    assert np.all((together >= 0) & (together <= 1))
    np.testing.assert_array_equal(together, alone)


@settings(max_examples=60, deadline=None)
@given(lipid_rows())
def test_cholesterol_unit_invariance(row: dict[str, Any]) -> None:
    mg = scores.score(LIPID, row, units=MG_DL)[0]
    mmol_row = dict(row)
    factor = 38.67  # cvrisk/data/units.toml: cholesterol 386.7 g/mol
    mmol_row["total_cholesterol"] = row["total_cholesterol"] / factor
    mmol_row["hdl_cholesterol"] = row["hdl_cholesterol"] / factor
    assert scores.score(LIPID, mmol_row)[0] == pytest.approx(mg, rel=1e-12, abs=1e-15)
    quantity_row = dict(row)
    quantity_row["total_cholesterol"] = ureg.Quantity(row["total_cholesterol"], "mg/dL")
    quantity_row["hdl_cholesterol"] = ureg.Quantity(row["hdl_cholesterol"], "mg/dL")
    assert scores.score(LIPID, quantity_row)[0] == pytest.approx(mg, rel=1e-12, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(bmi_rows(), st.floats(150, 200))
def test_bmi_from_height_and_weight(row: dict[str, Any], height_cm: float) -> None:
    direct = scores.score(BMI, row)[0]
    derived_row = {k: v for k, v in row.items() if k != "bmi"}
    derived_row["height"] = height_cm
    derived_row["weight"] = row["bmi"] * (height_cm / 100) ** 2
    assert scores.score(BMI, derived_row)[0] == pytest.approx(direct, rel=1e-12, abs=1e-15)


def _bump(model: str, row: dict[str, Any], column: str, new: Any) -> tuple[float, float]:
    units = MG_DL if model == LIPID else None
    changed = dict(row)
    changed[column] = new
    return scores.score(model, row, units=units)[0], scores.score(model, changed, units=units)[0]


@settings(max_examples=80, deadline=None)
@given(lipid_rows(), st.floats(0.5, 30))
def test_lipid_monotone(row: dict[str, Any], step: float) -> None:
    for column, top in (("age", 74), ("total_cholesterol", 1e9), ("sbp", 1e9)):
        before, after = _bump(LIPID, row, column, min(row[column] + step, top))
        assert after >= before, column
    before, after = _bump(LIPID, row, "hdl_cholesterol", row["hdl_cholesterol"] + step)
    assert after <= before
    for flag in ("smoker", "diabetes", "bp_treated"):
        low, high = _bump(LIPID, {**row, flag: False}, flag, True)
        assert high >= low, flag


@settings(max_examples=80, deadline=None)
@given(bmi_rows(), st.floats(0.5, 30))
def test_bmi_monotone(row: dict[str, Any], step: float) -> None:
    for column, top in (("age", 74), ("bmi", 1e9), ("sbp", 1e9)):
        before, after = _bump(BMI, row, column, min(row[column] + step, top))
        assert after >= before, column
    for flag in ("smoker", "diabetes", "bp_treated"):
        low, high = _bump(BMI, {**row, flag: False}, flag, True)
        assert high >= low, flag


def test_strictly_increasing_in_age_for_a_fixed_profile() -> None:
    ages_ = np.arange(30, 75)
    data = {
        "age": ages_,
        "sex": "male",
        "total_cholesterol": 5.2,
        "hdl_cholesterol": 1.2,
        "sbp": 130,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    risk = scores.score(LIPID, data)
    assert np.all(np.diff(risk) > 0)


# -- inputs: shapes, derivations, errors --------------------------------------------------------


def test_dataframe_and_mapping_inputs_agree() -> None:
    frame = pd.DataFrame(
        {
            "age": [61, 53],
            "sex": ["female", "male"],
            "total_cholesterol": [180, 161],
            "hdl_cholesterol": [47, 55],
            "sbp": [124, 125],
            "bp_treated": [False, True],
            "smoker": [1, 0],
            "diabetes": [0, 1],
        }
    )
    from_frame = scores.score(LIPID, frame, units=MG_DL)
    from_mapping = scores.score(LIPID, frame.to_dict(orient="list"), units=MG_DL)
    np.testing.assert_array_equal(from_frame, from_mapping)
    np.testing.assert_allclose(from_frame, [0.1048, 0.1562], atol=5e-5)


def test_derived_diabetes_and_smoker_columns() -> None:
    base = {"age": 53, "sex": "male", "bmi": 27, "sbp": 125, "bp_treated": True}
    explicit = scores.score(BMI, {**base, "diabetes": True, "smoker": False})
    derived = scores.score(BMI, {**base, "diabetes_type": "type2", "smoking": "ex"})
    np.testing.assert_array_equal(explicit, derived)


@pytest.mark.parametrize("age", [29.9, 75, 18, 90])
@pytest.mark.parametrize("model", list(FILES))
def test_age_outside_validated_range(model: str, age: float) -> None:
    good = {
        "age": 50,
        "sex": "female",
        "total_cholesterol": 5.0,
        "hdl_cholesterol": 1.3,
        "bmi": 25,
        "sbp": 120,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    row = {k: v for k, v in good.items() if k in scores.models()[model].inputs}
    rows = [row, {**row, "age": age}]
    with pytest.raises(InvalidInputError) as caught:
        scores.score(model, rows)
    assert caught.value.invalid_rows == 1
    assert caught.value.problems[0].row == 1
    assert caught.value.problems[0].column == "age"
    risk = scores.score(model, rows, errors="coerce")
    assert np.isfinite(risk[0]) and np.isnan(risk[1])


@pytest.mark.parametrize("age", [30, 74])
def test_range_bounds_inclusive(age: int) -> None:
    row = {
        "age": age,
        "sex": "male",
        "bmi": 25,
        "sbp": 120,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    assert np.isfinite(scores.score(BMI, row)[0])


def test_unknown_sex_rejected() -> None:
    row = {
        "age": 50,
        "sex": "unknown",
        "bmi": 25,
        "sbp": 120,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    with pytest.raises(InvalidInputError, match="sex"):
        scores.score(BMI, row)
    assert np.isnan(scores.score(BMI, row, errors="coerce")[0])


def test_missing_cholesterol_column_raises() -> None:
    row = {
        "age": 50,
        "sex": "male",
        "hdl_cholesterol": 1.3,
        "sbp": 120,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    with pytest.raises(MissingInputError, match="total_cholesterol"):
        scores.score(LIPID, row)


def test_missing_value_rejected() -> None:
    rows = {
        "age": [50, 50],
        "sex": "male",
        "total_cholesterol": [5.0, float("nan")],
        "hdl_cholesterol": 1.3,
        "sbp": 120,
        "bp_treated": False,
        "smoker": False,
        "diabetes": False,
    }
    with pytest.raises(InvalidInputError, match="total_cholesterol"):
        scores.score(LIPID, rows)
    risk = scores.score(LIPID, rows, errors="coerce")
    assert np.isfinite(risk[0]) and np.isnan(risk[1])
