"""Tests of the shared score machinery (cvrisk/scores/base.py, columns.py, registry).

Input shapes, units and quantities, options, validation and ``errors=`` are exercised
through the public ``cvrisk.score`` on the Pooled Cohort Equations (and, where a feature is
another model's, on that model): every model uses the same code path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk.errors import (
    InvalidInputError,
    MissingInputError,
    OptionError,
    UnitError,
    UnknownModelError,
)
from cvrisk.scores import base
from cvrisk.scores.problems import Bounds
from cvrisk.scores.registry import MODEL_MODULES, get_model
from cvrisk.units import convert, ureg

MG = {"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}
ROW: dict[str, Any] = {
    "age": 55,
    "sex": "female",
    "race": "white",
    "total_cholesterol": 213.0,
    "hdl_cholesterol": 50.0,
    "sbp": 120.0,
    "bp_treated": False,
    "smoker": False,
    "diabetes": False,
}
WHITE_WOMAN = float(cvrisk.score("pce", ROW, units=MG)[0])


def _rows(n: int = 3) -> list[dict[str, Any]]:
    return [dict(ROW, age=50 + 5 * i, sex=("female", "male")[i % 2]) for i in range(n)]


def _expected(rows: list[dict[str, Any]]) -> np.ndarray[Any, Any]:
    return np.array([cvrisk.score("pce", r, units=MG)[0] for r in rows])


# -- registry ----------------------------------------------------------------------------------


def test_models_lists_every_registered_model_with_metadata() -> None:
    info = cvrisk.models()
    assert set(info) == set(MODEL_MODULES)
    for model_id, meta in info.items():
        assert meta.id == model_id and meta.source and meta.inputs
        as_dict = meta.as_dict()
        assert as_dict["id"] == model_id and isinstance(as_dict["inputs"], dict)


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match=r"available: .*pce"):
        cvrisk.score("nope", ROW)


# -- input shapes ------------------------------------------------------------------------------


def test_dataframe_mapping_and_list_of_rows_agree() -> None:
    rows = _rows()
    expected = _expected(rows)
    frame = pd.DataFrame(rows)
    np.testing.assert_array_equal(cvrisk.score("pce", frame, units=MG), expected)
    np.testing.assert_array_equal(cvrisk.score("pce", rows, units=MG), expected)
    mapping = {k: [r[k] for r in rows] for k in ROW}
    np.testing.assert_array_equal(cvrisk.score("pce", mapping, units=MG), expected)
    arrays = {k: np.asarray(v) for k, v in mapping.items()}
    np.testing.assert_array_equal(cvrisk.score("pce", arrays, units=MG), expected)


def test_mapping_with_scalars_broadcasts() -> None:
    data = dict(ROW, age=[50, 60, 70])
    risk = cvrisk.score("pce", data, units=MG)
    np.testing.assert_array_equal(risk, _expected([dict(ROW, age=a) for a in (50, 60, 70)]))
    assert cvrisk.score("pce", ROW, units=MG).shape == (1,)


def test_pandas_categorical_and_nullable_dtypes() -> None:
    rows = _rows(4)
    frame = pd.DataFrame(rows)
    frame["sex"] = frame["sex"].astype("category")
    frame["race"] = pd.Categorical(frame["race"], categories=["black", "white", "x"])
    frame["age"] = frame["age"].astype("Int64")
    frame["sbp"] = frame["sbp"].astype("Float64")
    frame["smoker"] = frame["smoker"].astype("boolean")
    frame["diabetes"] = frame["diabetes"].astype("Int8")
    frame["bp_treated"] = frame["bp_treated"].astype("string")  # strings are not booleans
    with pytest.raises(InvalidInputError, match=r"bp_treated.*not a boolean"):
        cvrisk.score("pce", frame, units=MG)
    frame["bp_treated"] = False
    np.testing.assert_array_equal(cvrisk.score("pce", frame, units=MG), _expected(rows))
    frame["sex"] = frame["sex"].astype("string")
    np.testing.assert_array_equal(cvrisk.score("pce", frame, units=MG), _expected(rows))


def test_nullable_missing_values_are_missing() -> None:
    frame = pd.DataFrame(_rows(2))
    frame["sbp"] = pd.array([None, 120.0], dtype="Float64")
    frame["smoker"] = pd.array([False, None], dtype="boolean")
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", frame, units=MG)
    assert {(p.row, p.column, p.reason) for p in info.value.problems} == {
        (0, "sbp", "missing value"),
        (1, "smoker", "missing value"),
    }
    assert np.isnan(cvrisk.score("pce", frame, units=MG, errors="coerce")).all()


def test_empty_input_gives_an_empty_result() -> None:
    frame = pd.DataFrame(_rows(2)).iloc[:0]
    assert cvrisk.score("pce", frame, units=MG).shape == (0,)


def test_columns_of_different_lengths() -> None:
    with pytest.raises(InvalidInputError, match="different lengths"):
        cvrisk.score("pce", dict(ROW, age=[50, 60], sbp=[120, 130, 140]), units=MG)


def test_unreadable_input() -> None:
    with pytest.raises(cvrisk.CvriskError, match="DataFrame"):
        cvrisk.score("pce", 42)


# -- units and quantities ----------------------------------------------------------------------


def test_pint_quantities_from_the_library_registry() -> None:
    row = dict(
        ROW,
        total_cholesterol=ureg.Quantity(213, "mg/dL"),
        hdl_cholesterol=ureg.Quantity(50, "mg/dL"),
        sbp=ureg.Quantity(120, "mmHg"),
    )
    assert cvrisk.score("pce", row)[0] == pytest.approx(WHITE_WOMAN, rel=1e-12)
    column = {k: [v, v] for k, v in row.items()}
    column["total_cholesterol"] = ureg.Quantity(np.array([213.0, 213.0]), "mg/dL")
    assert cvrisk.score("pce", column) == pytest.approx([WHITE_WOMAN] * 2, rel=1e-12)


def test_pint_quantities_from_a_foreign_registry() -> None:
    other = pint.UnitRegistry()
    row = dict(
        ROW,
        total_cholesterol=other.Quantity(2.13, "g/L"),
        hdl_cholesterol=other.Quantity(0.5, "g/L"),
        sbp=other.Quantity(120 * 0.133322387415, "kPa"),
    )
    assert cvrisk.score("pce", row)[0] == pytest.approx(WHITE_WOMAN, rel=1e-9)


def test_units_declared_for_plain_columns() -> None:
    mmol = dict(
        ROW,
        total_cholesterol=float(convert(213, "mg/dL", "mmol/L", "cholesterol")),
        hdl_cholesterol=float(convert(50, "mg/dL", "mmol/L", "cholesterol")),
    )
    assert cvrisk.score("pce", mmol)[0] == pytest.approx(WHITE_WOMAN, rel=1e-12)
    declared = cvrisk.score("pce", ROW, units={**MG, "sbp": "mm[Hg]", "age": "year"})
    assert declared[0] == WHITE_WOMAN


def test_conflicting_unit_declarations() -> None:
    row = dict(ROW, total_cholesterol=ureg.Quantity(213, "mg/dL"))
    with pytest.raises(OptionError, match=r"carries unit .* and units= declares"):
        cvrisk.score("pce", row, units=MG)


def test_unknown_units_key_and_unknown_unit() -> None:
    with pytest.raises(OptionError, match="units= names \\['ldl'\\]"):
        cvrisk.score("pce", ROW, units={**MG, "ldl": "mg/dL"})
    with pytest.raises(UnitError):
        cvrisk.score("pce", ROW, units={"total_cholesterol": "furlongs"})
    with pytest.raises(UnitError):
        cvrisk.score("pce", ROW, units={"total_cholesterol": "mmHg"})


def test_list_column_mixing_quantities_and_plain_numbers() -> None:
    rows = [dict(ROW, total_cholesterol=ureg.Quantity(213, "mg/dL")), dict(ROW)]
    with pytest.raises(InvalidInputError, match="plain number among quantities"):
        cvrisk.score("pce", rows)


# -- options -----------------------------------------------------------------------------------


def test_unknown_option_lists_the_accepted_ones() -> None:
    with pytest.raises(
        OptionError, match="unknown option 'region'; accepted options: \\['race'\\]"
    ):
        cvrisk.score("pce", ROW, units=MG, region="high")
    with pytest.raises(OptionError, match="not one of"):
        cvrisk.score("prevent", {}, horizon=20)


def test_errors_mode_must_be_known() -> None:
    with pytest.raises(OptionError, match="'raise' or 'coerce'"):
        cvrisk.score("pce", ROW, units=MG, errors="ignore")


# -- missing inputs and invalid values ---------------------------------------------------------


@pytest.mark.parametrize("name", ["age", "sex", "total_cholesterol", "sbp", "bp_treated"])
def test_missing_required_column_names_it(name: str) -> None:
    row = {k: v for k, v in ROW.items() if k != name}
    with pytest.raises(MissingInputError, match=f"'{name}'"):
        cvrisk.score("pce", row, units={k: v for k, v in MG.items() if k != name})


def test_errors_coerce_gives_nan_for_invalid_rows_only() -> None:
    rows = [*_rows(2), dict(ROW, age=30), dict(ROW, sex="unknown"), dict(ROW, sbp=None)]
    risk = cvrisk.score("pce", rows, units=MG, errors="coerce")
    np.testing.assert_array_equal(risk[:2], _expected(_rows(2)))
    assert np.isnan(risk[2:]).all()
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", rows, units=MG)
    error = info.value
    assert error.invalid_rows == 3 and error.count == 3
    assert [(p.row, p.column) for p in error.problems] == [(2, "age"), (4, "sbp"), (3, "sex")] or {
        (p.row, p.column) for p in error.problems
    } == {(2, "age"), (3, "sex"), (4, "sbp")}
    assert "errors='coerce'" in str(error)


def test_error_lists_at_most_five_problems_and_counts_all() -> None:
    rows = [dict(ROW, age=30 + i * 0.1) for i in range(8)]
    with pytest.raises(InvalidInputError, match="and 3 more") as info:
        cvrisk.score("pce", rows, units=MG)
    assert len(info.value.problems) == 5 and info.value.count == 8


def test_invalid_categories() -> None:
    with pytest.raises(InvalidInputError, match="sex='F': not one of: female, male"):
        cvrisk.score("pce", dict(ROW, sex="F"), units=MG)
    with pytest.raises(InvalidInputError, match="missing value"):
        cvrisk.score("pce", [dict(ROW, sex=None)], units=MG)


def test_booleans_as_0_1_and_other_numbers_rejected() -> None:
    as_bool = cvrisk.score("pce", dict(ROW, smoker=True, diabetes=False), units=MG)
    as_int = cvrisk.score("pce", dict(ROW, smoker=1, diabetes=0), units=MG)
    as_float = cvrisk.score("pce", dict(ROW, smoker=[1.0], diabetes=[0.0]), units=MG)
    assert as_bool[0] == as_int[0] == as_float[0]
    with pytest.raises(InvalidInputError, match="smoker=2: not a boolean"):
        cvrisk.score("pce", dict(ROW, smoker=2), units=MG)
    with pytest.raises(InvalidInputError, match="not a boolean"):
        cvrisk.score("pce", dict(ROW, smoker="yes"), units=MG)


def test_strings_and_booleans_rejected_for_numbers() -> None:
    with pytest.raises(InvalidInputError, match=r"age='55': not a number \(str\)"):
        cvrisk.score("pce", dict(ROW, age="55"), units=MG)
    with pytest.raises(InvalidInputError, match="a boolean, expected a number"):
        cvrisk.score("pce", dict(ROW, age=[True]), units=MG)
    rows = [dict(ROW), dict(ROW, sbp="120")]
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", rows, units=MG)
    assert [(p.row, p.column) for p in info.value.problems] == [(1, "sbp")]  # reported once


# -- plausibility and unit suggestions ---------------------------------------------------------


def test_plain_cholesterol_213_is_probably_mg_dl() -> None:
    """Framingham has no published cholesterol range: plausibility catches the unit error."""
    row = {k: v for k, v in ROW.items() if k != "race"}
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("framingham", row)
    reasons = {p.column: p.reason for p in info.value.problems}
    assert "implausible in mmol/L" in reasons["total_cholesterol"]
    assert "did you mean 213 mg/dL?" in reasons["total_cholesterol"]
    assert "did you mean 50 mg/dL?" in reasons["hdl_cholesterol"]
    assert np.isfinite(cvrisk.score("framingham", row, units=MG)).all()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("sbp", 0.0, r"implausible in mm\[Hg\]"),
        ("sbp", -120.0, "implausible"),
        ("total_cholesterol", 0.0, "implausible"),
        ("hdl_cholesterol", -1.0, "implausible"),
    ],
)
def test_non_positive_values_are_invalid_not_zero_risk(
    column: str, value: float, reason: str
) -> None:
    row = {k: v for k, v in ROW.items() if k != "race"}
    row = dict(row, **{column: value})
    with pytest.raises(InvalidInputError, match=reason):
        cvrisk.score("framingham", row, units=MG)
    assert np.isnan(cvrisk.score("framingham", row, units=MG, errors="coerce")).all()


def test_bmi_implausible_and_sbp_in_kpa_suggested() -> None:
    row = {
        k: v for k, v in ROW.items() if k not in ("race", "total_cholesterol", "hdl_cholesterol")
    }
    with pytest.raises(InvalidInputError, match=r"bmi=0.0: implausible"):
        cvrisk.score("framingham-bmi", dict(row, bmi=0.0))
    with pytest.raises(InvalidInputError, match="did you mean 16 kPa"):
        cvrisk.score("framingham-bmi", dict(row, bmi=25.0, sbp=16.0))


def test_out_of_range_value_suggests_a_unit_only_when_one_fits() -> None:
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", dict(ROW, total_cholesterol=400.0), units=MG)
    assert "did you mean" not in info.value.problems[0].reason
    with pytest.raises(InvalidInputError, match="outside the validated range 130-320 mg/dL"):
        cvrisk.score("pce", dict(ROW, total_cholesterol=400.0), units=MG)


def test_hba1c_in_mmol_per_mol_given_as_percent() -> None:
    """PREVENT's HbA1c is in %; 48 is implausible as % and valid as mmol/mol."""
    model = get_model("prevent")
    reason = base._number_reason(
        model.inputs["hba1c"], "%", model._ranges["hba1c"], model._plausible["hba1c"]
    )(48.0)
    assert "did you mean 48 mmol/mol?" in reason


# -- the range tolerance -----------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.floats(130, 320), st.sampled_from(["mg/dL", "mmol/L", "g/L", "mg/L"]))
def test_range_limits_survive_unit_round_trips(value_mg: float, unit: str) -> None:
    """A value inside 130-320 mg/dL stays valid after conversion to any unit and back."""
    converted = float(convert(value_mg, "mg/dL", unit, "cholesterol"))
    risk = cvrisk.score(
        "pce",
        dict(ROW, total_cholesterol=converted),
        units={"total_cholesterol": unit, "hdl_cholesterol": "mg/dL"},
    )
    assert np.isfinite(risk).all()


def test_bounds_tolerance_is_relative_and_tiny() -> None:
    bounds = Bounds.widened(130.0, 320.0)
    assert bounds.contains(320.00000000000006) and bounds.contains(129.99999999999997)
    assert not bounds.contains(320.001) and not bounds.contains(129.999)
    assert Bounds.widened(0.0, 40.0).low == 0.0
    assert np.array_equal(
        bounds.outside(np.array([np.nan, 129.0, 130.0, 320.0, 321.0])),
        [True, True, False, False, True],
    )


# -- derived inputs ----------------------------------------------------------------------------


def test_bmi_derived_from_weight_and_height() -> None:
    row = {
        k: v for k, v in ROW.items() if k not in ("race", "total_cholesterol", "hdl_cholesterol")
    }
    direct = cvrisk.score("framingham-bmi", dict(row, bmi=80 / 1.75**2))[0]
    derived = cvrisk.score("framingham-bmi", dict(row, weight=80.0, height=175.0))[0]
    assert derived == pytest.approx(direct, rel=1e-12)
    quantities = dict(row, weight=ureg.Quantity(80_000, "g"), height=ureg.Quantity(1.75, "m"))
    assert cvrisk.score("framingham-bmi", quantities)[0] == pytest.approx(direct, rel=1e-12)
    declared = cvrisk.score(
        "framingham-bmi", dict(row, weight=80.0, height=1.75), units={"height": "m"}
    )[0]
    assert declared == pytest.approx(direct, rel=1e-12)


def test_height_in_metres_given_as_cm_is_caught() -> None:
    row = {
        k: v for k, v in ROW.items() if k not in ("race", "total_cholesterol", "hdl_cholesterol")
    }
    with pytest.raises(InvalidInputError, match=r"height=1.75: implausible.*did you mean 1.75 m"):
        cvrisk.score("framingham-bmi", dict(row, weight=80.0, height=1.75))


def test_diabetes_from_diabetes_type_and_smoker_from_smoking() -> None:
    rows = [
        dict(ROW, diabetes=True, smoker=True),
        dict(ROW, diabetes=False, smoker=False),
        dict(ROW, diabetes=True, smoker=False),
    ]
    expected = _expected(rows)
    derived = [{k: v for k, v in r.items() if k not in ("diabetes", "smoker")} for r in rows]
    for r, (dtype, smoking) in zip(
        derived, [("type1", "heavy"), ("none", "ex"), ("type2", "non")], strict=True
    ):
        r.update(diabetes_type=dtype, smoking=smoking)
    np.testing.assert_array_equal(cvrisk.score("pce", derived, units=MG), expected)
    frame = pd.DataFrame(derived)
    np.testing.assert_array_equal(cvrisk.score("pce", frame, units=MG), expected)
    frame["smoking"] = frame["smoking"].astype("category")
    np.testing.assert_array_equal(cvrisk.score("pce", frame, units=MG), expected)
    scalar = dict(derived[0])
    assert cvrisk.score("pce", scalar, units=MG)[0] == expected[0]
    with pytest.raises(InvalidInputError, match="smoker='sometimes'"):
        cvrisk.score("pce", dict(scalar, smoking="sometimes"), units=MG)


def test_given_column_wins_over_derivation() -> None:
    row = dict(ROW, diabetes=False, diabetes_type="type2")
    assert cvrisk.score("pce", row, units=MG)[0] == WHITE_WOMAN


# -- row checks --------------------------------------------------------------------------------


def test_row_checks_report_only_rows_valid_so_far() -> None:
    rows = [{"age": 65}, {"age": 85}, {"age": 50}]
    full = [
        dict(
            r,
            sex="female",
            total_cholesterol=200.0,
            hdl_cholesterol=50.0,
            sbp=120.0,
            bp_treated=False,
            smoker=False,
            diabetes=False,
            bmi=25.0,
            egfr=90.0,
            statin=False,
        )
        for r in rows
    ]
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("prevent", full, units=MG, horizon=30)
    assert [(p.row, p.reason.split(":")[0]) for p in info.value.problems] == [
        (1, "outside the validated range 30-79 year (value in year)"),
        (0, "older than 59 years"),
    ]
    assert info.value.invalid_rows == 2


# -- block computation -------------------------------------------------------------------------


def test_large_cohorts_are_computed_in_blocks_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    n = 1000
    data = {
        "age": rng.uniform(40, 79, n),
        "sex": rng.choice(["female", "male"], n),
        "race": rng.choice(["white", "black", "other"], n),
        "total_cholesterol": rng.uniform(130, 320, n),
        "hdl_cholesterol": rng.uniform(20, 100, n),
        "sbp": rng.uniform(90, 200, n),
        "bp_treated": rng.random(n) < 0.3,
        "smoker": rng.random(n) < 0.2,
        "diabetes": rng.random(n) < 0.1,
    }
    data["age"][7] = 20.0  # one invalid row
    whole = cvrisk.score("pce", data, units=MG, errors="coerce")
    monkeypatch.setattr(base, "CHUNK_ROWS", 64)
    blocks = cvrisk.score("pce", data, units=MG, errors="coerce")
    np.testing.assert_array_equal(whole, blocks)
    assert np.isnan(blocks[7]) and np.isfinite(np.delete(blocks, 7)).all()
