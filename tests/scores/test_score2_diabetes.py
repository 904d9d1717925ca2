"""Tests of SCORE2-Diabetes (cvrisk/scores/score2_diabetes.py, data/score2_diabetes.toml).

The reference function below is a literal scalar transcription of two independent sources, kept
in the test on purpose (a second reading of the equations to check the data file and the
vectorized kernel against):
- "published": dvicencio/RiskScorescvd R/15_SCORE2-Diabetes_func.R (4-decimal table);
- "full": the authors' Stata program, github skkceu/stata score2dmrisk.ado (fulladj = 1): the
  SCORE2 terms plus the program's re-estimation terms, added here term by term.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk.scores as cs
from cvrisk.errors import InvalidInputError, MissingInputError, OptionError
from cvrisk.scores.registry import get_model
from cvrisk.units import convert

MODEL = "score2-diabetes"
REGIONS = ("low", "moderate", "high", "very_high")
MMOL = {"hba1c": "mmol/mol"}

# fmt: off
# age, smoker, sbp, diabetes, tc, hdl, age*smoker, age*sbp, age*diabetes, age*tc, age*hdl,
# agediab, hba1c, egfr, egfr^2, age*hba1c, age*egfr, S0
_PUBLISHED = {
    "male": (0.5368, 0.4774, 0.1322, 0.6457, 0.1102, -0.1087, -0.0672, -0.0268, -0.0983,
             -0.0181, 0.0095, -0.0998, 0.0955, -0.0591, 0.0058, -0.0134, 0.0115, 0.9605),
    "female": (0.6624, 0.6139, 0.1421, 0.8096, 0.1127, -0.1568, -0.1122, -0.0167, -0.1272,
               -0.0200, 0.0186, -0.118, 0.1173, -0.0640, 0.0062, -0.0196, 0.0169, 0.9776),
}
# score2dmrisk.ado: the SCORE2 linear predictor, then the "fulladj" terms (same order as the
# first 11 above; diabetes terms have no adjustment)
_STATA_SCORE2 = {
    "male": (0.3742, 0.6012, 0.2777, 0.6457, 0.1458, -0.2698, -0.0755, -0.0255, -0.0983,
             -0.0281, 0.0426),
    "female": (0.4648, 0.7744, 0.3131, 0.8096, 0.1002, -0.2606, -0.1088, -0.0277, -0.1272,
               -0.0226, 0.0613),
}
_STATA_ADJ = {
    "male": (0.1626, -0.1238, -0.1454, 0.0, -0.0356, 0.1611, 0.0083, -0.0013, 0.0,
             0.0100, -0.0331),
    "female": (0.1976, -0.1605, -0.1709, 0.0, 0.0126, 0.1038, -0.0033, 0.0111, 0.0,
               0.0026, -0.0426),
}
_SCALES = {
    "published": {
        "male": {"low": (-0.5699, 0.7476), "moderate": (-0.1565, 0.8009),
                 "high": (0.3207, 0.9360), "very_high": (0.5836, 0.8294)},
        "female": {"low": (-0.7380, 0.7019), "moderate": (-0.3143, 0.7701),
                   "high": (0.5710, 0.9369), "very_high": (0.9412, 0.8329)},
    },
    "full": {
        "male": {"low": (-0.569857, 0.747593), "moderate": (-0.156481, 0.800869),
                 "high": (0.320717, 0.936004), "very_high": (0.583578, 0.829368)},
        "female": {"low": (-0.737966, 0.701868), "moderate": (-0.314269, 0.770149),
                   "high": (0.570963, 0.936893), "very_high": (0.941177, 0.832923)},
    },
}
# fmt: on


def reference(row: dict[str, Any], precision: str = "published") -> float:
    """Scalar two-step formula (HbA1c in mmol/mol), as the R function / Stata program write it."""
    sex = row["sex"]
    published = _PUBLISHED[sex]
    if precision == "published":
        b = list(published)
    else:  # Stata: SCORE2 + fulladj, diabetes-specific terms as printed
        b = [s + a for s, a in zip(_STATA_SCORE2[sex], _STATA_ADJ[sex], strict=True)]
        b += list(published[11:])
    scale1, scale2 = _SCALES[precision][sex][row["region"]]
    age = (row["age"] - 60) / 5
    sbp = (row["sbp"] - 120) / 20
    tc = (row["total_cholesterol"] - 6) / 1
    hdl = (row["hdl_cholesterol"] - 1.3) / 0.5
    smk = float(row["smoker"])
    dm = 1.0
    agediab = dm * (row["age_at_diabetes_diagnosis"] - 50) / 5
    a1c = (row["hba1c"] - 31) / 9.34
    egfr = (math.log(row["egfr"]) - 4.5) / 0.15
    lp = (
        b[0] * age
        + b[1] * smk
        + b[2] * sbp
        + b[3] * dm
        + b[4] * tc
        + b[5] * hdl
        + b[6] * age * smk
        + b[7] * age * sbp
        + b[8] * age * dm
        + b[9] * age * tc
        + b[10] * age * hdl
        + b[11] * agediab
        + b[12] * a1c
        + b[13] * egfr
        + b[14] * egfr * egfr
        + b[15] * a1c * age
        + b[16] * egfr * age
    )
    # the published steps are risk0 = 1 - S0 ** exp(lp), then
    # 1 - exp(-exp(scale1 + scale2 * ln(-ln(1 - risk0)))); ln(-ln(1 - risk0)) is exactly
    # lp + ln(-ln(S0)), written so here: through 1 - (1 - S0 ** exp(lp)) in floating point
    # the reference itself lost digits near risk 1 (1.4e-10 at 0.98) and hit ln(0) beyond
    log_cumulative_hazard = lp + math.log(-math.log(b[17]))
    return -math.expm1(-math.exp(scale1 + scale2 * log_cumulative_hazard))


def _load() -> dict[str, Any]:
    path = resources.files("cvrisk.scores").joinpath("data", "score2_diabetes.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    age = draw(st.floats(40, 69))
    return {
        "age": age,
        "sex": draw(st.sampled_from(["female", "male"])),
        "smoker": draw(st.booleans()),
        "sbp": draw(st.floats(90, 200)),
        "total_cholesterol": draw(st.floats(2.5, 10)),
        "hdl_cholesterol": draw(st.floats(0.5, 3)),
        "age_at_diabetes_diagnosis": draw(st.floats(15, age)),
        "hba1c": draw(st.floats(25, 150)),
        "egfr": draw(st.floats(10, 180)),
        "region": draw(st.sampled_from(REGIONS)),
    }


cohorts = st.lists(patients(), min_size=1, max_size=20)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {key: [r[key] for r in rows] for key in rows[0]}


# -- the equation ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cohorts, st.sampled_from(["published", "full"]))
def test_matches_scalar_reference(rows: list[dict[str, Any]], precision: str) -> None:
    risk = cs.score(MODEL, rows, units=MMOL, precision=precision)
    expected = [reference(r, precision) for r in rows]
    np.testing.assert_allclose(risk, expected, rtol=1e-10, atol=1e-13)


def test_abstract_example_whole_percent() -> None:
    """Abstract: moderate region, man 60, 'average' risk factors: 11 % and 17 %."""
    base = {
        "age": 60,
        "sex": "male",
        "smoker": False,
        "sbp": 140,
        "total_cholesterol": 5.5,
        "hdl_cholesterol": 1.3,
    }
    rows = [
        {**base, "age_at_diabetes_diagnosis": 60, "hba1c": 50, "egfr": 90},
        {**base, "age_at_diabetes_diagnosis": 50, "hba1c": 70, "egfr": 60},
    ]
    risk = cs.score(MODEL, rows, units=MMOL, region="moderate")
    assert [round(100 * r) for r in risk] == [11, 17]


def test_full_precision_differs_little_from_published() -> None:
    rng = np.random.default_rng(2023)
    n = 2000
    age = rng.uniform(40, 69, n)
    data = {
        "age": age,
        "sex": rng.choice(["female", "male"], n),
        "smoker": rng.integers(0, 2, n),
        "sbp": rng.uniform(90, 200, n),
        "total_cholesterol": rng.uniform(3, 9, n),
        "hdl_cholesterol": rng.uniform(0.6, 2.6, n),
        "age_at_diabetes_diagnosis": age - rng.uniform(0, 20, n),
        "hba1c": rng.uniform(30, 120, n),
        "egfr": rng.uniform(15, 150, n),
        "region": rng.choice(REGIONS, n),
    }
    published = cs.score(MODEL, data, units=MMOL)
    full = cs.score(MODEL, data, units=MMOL, precision="full")
    gap = np.max(np.abs(published - full))
    assert 0 < gap < 0.001  # under 0.1 percentage point over this wide grid


# -- properties -----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(cohorts)
def test_risk_is_a_probability_and_rows_are_independent(rows: list[dict[str, Any]]) -> None:
    together = cs.score(MODEL, _columns(rows), units=MMOL)
    assert together.dtype == np.float64 and together.shape == (len(rows),)
    assert np.all((together >= 0) & (together <= 1))
    one_by_one = np.array([cs.score(MODEL, [r], units=MMOL)[0] for r in rows])
    np.testing.assert_array_equal(together, one_by_one)


@settings(max_examples=100, deadline=None)
@given(cohorts)
def test_unit_invariance(rows: list[dict[str, Any]]) -> None:
    reference_risk = cs.score(MODEL, _columns(rows), units=MMOL)
    converted = _columns(rows)
    converted["hba1c"] = convert(np.array(converted["hba1c"]), "mmol/mol", "%", "hba1c")
    for key in ("total_cholesterol", "hdl_cholesterol"):
        converted[key] = convert(np.array(converted[key]), "mmol/L", "mg/dL", "cholesterol")
    units = {"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}  # hba1c: plain % default
    np.testing.assert_allclose(
        cs.score(MODEL, converted, units=units), reference_risk, rtol=1e-9, atol=1e-15
    )


@pytest.mark.parametrize(
    ("key", "delta", "direction"),
    [
        ("sbp", 5.0, 1),
        ("total_cholesterol", 0.3, 1),
        ("hdl_cholesterol", 0.2, -1),
        ("hba1c", 5.0, 1),
        ("age_at_diabetes_diagnosis", -3.0, 1),  # diagnosed earlier: higher risk
    ],
)
@settings(max_examples=60, deadline=None)
@given(row=patients())
def test_monotone_in_risk_factors(
    key: str, delta: float, direction: int, row: dict[str, Any]
) -> None:
    if key == "age_at_diabetes_diagnosis":
        row[key] = max(row[key], 3.0)
    bumped = {**row, key: row[key] + delta}
    base, after = cs.score(MODEL, [row, bumped], units=MMOL)
    assert direction * (after - base) >= 0


@settings(max_examples=60, deadline=None)
@given(row=patients(), low=st.floats(15, 89))
def test_lower_egfr_means_higher_risk_up_to_90(row: dict[str, Any], low: float) -> None:
    # d lp / d cegfr = b_egfr + 2*b_egfr2*cegfr + b_age_egfr*cage < 0 for eGFR <= 90, age 40-69
    # (the squared term makes the published curve U-shaped above that)
    reduced, normal = cs.score(MODEL, [{**row, "egfr": low}, {**row, "egfr": 90.0}], units=MMOL)
    assert reduced >= normal


def test_smoking_raises_risk() -> None:
    row = {
        "age": 50,
        "sex": "female",
        "smoker": False,
        "sbp": 130,
        "total_cholesterol": 5.0,
        "hdl_cholesterol": 1.4,
        "age_at_diabetes_diagnosis": 45,
        "hba1c": 55,
        "egfr": 85,
        "region": "high",
    }
    never, current = cs.score(MODEL, [row, {**row, "smoker": True}], units=MMOL)
    assert current > never


# -- inputs, units, population and errors ----------------------------------------------------------

ROW = {
    "sex": "male",
    "smoker": False,
    "sbp": 135,
    "total_cholesterol": 5.2,
    "hdl_cholesterol": 1.2,
    "age_at_diabetes_diagnosis": 50,
    "hba1c": 7.0,  # % (NGSP): the column's default unit
    "egfr": 80,
    "region": "low",
}


@pytest.mark.parametrize("bad_age", [39, 70])
def test_out_of_range_age_raises_and_coerces(bad_age: float) -> None:
    data = {**ROW, "age": [40, bad_age, 69], "age_at_diabetes_diagnosis": 38}
    with pytest.raises(InvalidInputError) as info:
        cs.score(MODEL, data)
    assert info.value.invalid_rows == 1
    assert info.value.problems[0].row == 1 and info.value.problems[0].column == "age"
    risk = cs.score(MODEL, data, errors="coerce")
    assert np.isnan(risk[1]) and np.isfinite(risk[[0, 2]]).all()


def test_hba1c_plain_numbers_are_percent_and_mmol_mol_is_suggested() -> None:
    percent = cs.score(MODEL, [{**ROW, "age": 55, "hba1c": 7.0}])[0]
    mmol = cs.score(MODEL, [{**ROW, "age": 55, "hba1c": 53.0}], units=MMOL)[0]
    assert percent == pytest.approx(mmol, abs=2e-4)  # 7.0 % = 53.0 mmol/mol
    with pytest.raises(InvalidInputError, match="mmol/mol") as info:
        cs.score(MODEL, [{**ROW, "age": 55, "hba1c": 53.0}])  # 53 % is implausible
    assert info.value.problems[0].column == "hba1c"


def test_age_at_diagnosis_after_the_current_age_is_invalid() -> None:
    data = {**ROW, "age": [55, 55, 55], "age_at_diabetes_diagnosis": [55, 56, -1]}
    risk = cs.score(MODEL, data, errors="coerce")
    assert np.isfinite(risk[0]) and np.isnan(risk[1:]).all()
    with pytest.raises(InvalidInputError) as info:
        cs.score(MODEL, data)
    assert {p.column for p in info.value.problems} == {"age_at_diabetes_diagnosis"}


@pytest.mark.parametrize(
    ("column", "value"),
    [("diabetes", False), ("diabetes_type", "type1"), ("diabetes_type", "none")],
)
def test_rows_without_type2_diabetes_are_invalid(column: str, value: Any) -> None:
    data = {**ROW, "age": [55, 60], column: [value, value]}
    with pytest.raises(InvalidInputError, match="type 2 diabetes") as info:
        cs.score(MODEL, data)
    # diabetes_type "none" also derives diabetes = False, which is reported first
    assert info.value.problems[0].column in {column, "diabetes"}
    ok = "type2" if column == "diabetes_type" else True
    assert np.isfinite(cs.score(MODEL, {**data, column: [ok, ok]})).all()


def test_diabetes_columns_do_not_change_the_risk() -> None:
    row = {**ROW, "age": 58}
    plain = cs.score(MODEL, [row])[0]
    assert cs.score(MODEL, [{**row, "diabetes": True}])[0] == plain
    assert cs.score(MODEL, [{**row, "diabetes_type": "type2"}])[0] == plain


@pytest.mark.parametrize("name", ["age_at_diabetes_diagnosis", "hba1c", "egfr"])
def test_diabetes_specific_inputs_are_required(name: str) -> None:
    row = {k: v for k, v in {**ROW, "age": 55}.items() if k != name}
    with pytest.raises(MissingInputError, match=name):
        cs.score(MODEL, [row])


def test_implausible_egfr_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match="egfr"):
        cs.score(MODEL, [{**ROW, "age": 55, "egfr": 0.5}])


def test_region_is_required_and_checked() -> None:
    row = {k: v for k, v in {**ROW, "age": 55}.items() if k != "region"}
    with pytest.raises(MissingInputError):
        cs.score(MODEL, [row])
    with pytest.raises(InvalidInputError):
        cs.score(MODEL, [row], region="medium")
    risks = cs.score(MODEL, [{**row, "region": r} for r in REGIONS])
    assert np.all(np.diff(risks) > 0)


def test_precision_option_is_checked() -> None:
    with pytest.raises(OptionError):
        cs.score(MODEL, [{**ROW, "age": 55}], precision="rounded")


def test_metadata() -> None:
    info = get_model(MODEL).info
    assert info.smi_term is False and info.horizon_years == 10
    assert info.doi == "10.1093/eurheartj/ehad260"
    assert set(info.inputs) == {
        "age",
        "sex",
        "smoker",
        "sbp",
        "total_cholesterol",
        "hdl_cholesterol",
        "age_at_diabetes_diagnosis",
        "hba1c",
        "egfr",
        "diabetes",
        "diabetes_type",
        "region",
    }
    assert info.inputs["hba1c"].model_unit == "mmol/mol"
    assert MODEL in cs.models()


def test_every_data_table_has_a_source_and_a_status() -> None:
    data = _load()
    assert data["transform"]["source"] and data["transform"]["status"] == "confirmed"
    for name, spec in data["inputs"].items():
        assert spec.get("source"), name
    for group in ("coefficients", "recalibration"):
        for precision in ("published", "full"):
            for sex in ("female", "male"):
                table = data[group][precision][sex]
                assert table["source"] and table["status"] in ("confirmed", "unconfirmed")
                for term in table.get("unconfirmed", ()):
                    assert term in table, (group, precision, sex, term)
    for example in data["examples"]:
        assert example["source"]


def test_published_and_full_tables_differ_only_where_documented() -> None:
    data = _load()["coefficients"]
    for sex in ("female", "male"):
        published, full = data["published"][sex], data["full"][sex]
        differ = {
            k
            for k, v in published.items()
            if isinstance(v, float) and not math.isclose(v, full[k], abs_tol=1e-12)
        }
        assert differ == set(published["unconfirmed"]), sex
        assert all(abs(published[k] - full[k]) <= 1.0001e-4 for k in differ)


# -- independent implementation --------------------------------------------------------------------


def test_matches_cvd_risk_package_if_installed() -> None:
    """Optional cross-check against PyPI cvd-risk's SCORE2-DM (not a dependency; skipped if
    absent). It rounds the risk to 0.1 %, so the linear predictor and the uncalibrated risk are
    compared exactly and the risk to that rounding."""
    module = pytest.importorskip("cvd_risk.models.score2dm")
    patient_data = pytest.importorskip("cvd_risk.core.validation").PatientData
    impl = module.SCORE2DM()
    model = get_model(MODEL)
    rng = np.random.default_rng(20230529)
    for _ in range(200):
        age = int(rng.integers(40, 70))
        row = {
            "age": age,
            "sex": str(rng.choice(["female", "male"])),
            "smoker": bool(rng.integers(0, 2)),
            "sbp": float(rng.uniform(95, 195)),
            "total_cholesterol": float(rng.uniform(3.0, 9.0)),
            "hdl_cholesterol": float(rng.uniform(0.6, 2.6)),
            "age_at_diabetes_diagnosis": int(rng.integers(18, age + 1)),
            "hba1c": float(rng.uniform(25, 130)),
            "egfr": float(rng.uniform(15, 150)),
            "region": str(rng.choice(REGIONS)),
        }
        theirs = impl.calculate(
            patient_data(
                age=row["age"],
                sex=row["sex"],
                smoking=row["smoker"],
                systolic_bp=row["sbp"],
                total_cholesterol=row["total_cholesterol"],
                hdl_cholesterol=row["hdl_cholesterol"],
                region=row["region"],
                diabetes=True,
                diabetes_age=row["age_at_diabetes_diagnosis"],
                hba1c=row["hba1c"],
                egfr=row["egfr"],
            )
        )
        x, options, _ = model.prepare([row], units=MMOL)
        lp, _, _ = model.linear_predictor(x, options)  # type: ignore[attr-defined]
        assert lp[0] == pytest.approx(theirs.calculation_metadata["linear_predictor"], abs=1e-12)
        uncalibrated = model.uncalibrated_risk(x, options)[0]  # type: ignore[attr-defined]
        assert uncalibrated == pytest.approx(
            theirs.calculation_metadata["raw_uncalibrated"], abs=1e-12
        )
        ours = 100 * cs.score(MODEL, [row], units=MMOL)[0]
        assert abs(ours - theirs.risk_score) <= 0.05 + 1e-9
