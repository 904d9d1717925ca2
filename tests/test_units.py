"""Tests for cvrisk.units: UCUM parsing, substance and HbA1c conversions, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cvrisk.errors import CvriskError, UnitError
from cvrisk.units import (
    SUGGESTED_UNITS,
    Unit,
    convert,
    converter,
    is_convertible,
    parse_unit,
    quantity_parts,
    ureg,
)

# Every UCUM code FHIR sends for the analytes cvrisk reads (FHIR R4 valueQuantity.code).
FHIR_UCUM = [
    "mg/dL",
    "mmol/L",
    "mm[Hg]",
    "kg",
    "[lb_av]",
    "cm",
    "[in_i]",
    "%",
    "mmol/mol",
    "10*9/L",
    "10*3/uL",
    "ms",
    "/min",
    "mL/min/{1.73_m2}",
    "mg/g",
    "kg/m2",
]
ORDINARY = [
    "mmHg",
    "lb",
    "in",
    "umol/L",
    "µmol/L",
    "μmol/L",
    "ng/mL",
    "ng/L",
    "mg/L",
    "g/L",
    "kPa",
    "bpm",
    "beats/min",
    "10^9/L",
    "G/L",
    "mL/min/1.73m2",
    "mL/min/1.73 m²",
    "/uL",
    "{beats}/min",
    "%{HbA1c}",
]

# (substance, mass unit, molar unit, expected molar value for 1 mass unit)
SUBSTANCES = [
    # 1 mg/dL cholesterol = 10 mg/L / 386.7 g/mol = 0.025860 mmol/L (factor 38.67)
    ("cholesterol", "mg/dL", "mmol/L", 10 / 386.7),
    # 1 mg/dL triglycerides = 1 / 88.57 mmol/L
    ("triglycerides", "mg/dL", "mmol/L", 10 / 885.7),
    # 1 mg/dL glucose = 1 / 18.016 mmol/L
    ("glucose", "mg/dL", "mmol/L", 10 / 180.16),
    # 1 mg/dL creatinine = 10 000 umol / 113.12 = 88.40 umol/L
    ("creatinine", "mg/dL", "umol/L", 10_000 / 113.12),
]

finite = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("code", FHIR_UCUM)
def test_every_fhir_ucum_code_parses(code: str) -> None:
    assert isinstance(parse_unit(code), Unit)


@pytest.mark.parametrize("spelling", ORDINARY)
def test_ordinary_spellings_parse(spelling: str) -> None:
    assert isinstance(parse_unit(spelling), Unit)


@pytest.mark.parametrize(
    ("ucum", "ordinary"),
    [
        ("mm[Hg]", "mmHg"),
        ("[lb_av]", "lb"),
        ("[in_i]", "inch"),
        ("10*9/L", "10^9/L"),
        ("10*9/L", "G/L"),
        ("/min", "bpm"),
        ("mL/min/{1.73_m2}", "mL/min/1.73m2"),
        ("%", "percent"),
        ("µmol/L", "umol/L"),
    ],
)
def test_ucum_and_ordinary_spellings_agree(ucum: str, ordinary: str) -> None:
    assert convert(1.0, ucum, ordinary) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1500, "/uL", "10*9/L", 1.5),
        (1, "10*3/uL", "10*9/L", 1.0),
        (4.5, "G/L", "10*9/L", 4.5),
        (1, "[lb_av]", "kg", 0.45359237),  # international avoirdupois pound, exact
        (1, "[in_i]", "cm", 2.54),  # international inch, exact
        (1, "kPa", "mm[Hg]", 1000 / 133.322387415),  # conventional 1 mmHg = 133.322387415 Pa
        (0.45, "s", "ms", 450),
        (1.75, "m", "cm", 175),
        (1, "mg/g", "mg/mmol", None),  # different quantity kinds: checked below
    ],
)
def test_known_scale_points(value: float, source: str, target: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(UnitError):
            convert(value, source, target)
        return
    assert float(convert(value, source, target)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("substance", "mass", "molar", "per_mass"), SUBSTANCES)
def test_substance_factor_matches_molar_mass(
    substance: str, mass: str, molar: str, per_mass: float
) -> None:
    assert float(convert(1.0, mass, molar, substance)) == pytest.approx(per_mass, rel=1e-12)


def test_conventional_clinical_factors() -> None:
    # Conversion factors printed by laboratories (see units.toml sources).
    assert float(convert(1, "mmol/L", "mg/dL", "cholesterol")) == pytest.approx(38.67)
    assert float(convert(1, "mmol/L", "mg/dL", "triglycerides")) == pytest.approx(88.57)
    assert float(convert(1, "mmol/L", "mg/dL", "glucose")) == pytest.approx(18.016)
    assert float(convert(1, "mg/dL", "umol/L", "creatinine")) == pytest.approx(88.4, abs=0.01)
    # 200 mg/dL cholesterol = 5.17 mmol/L; 126 mg/dL glucose = 7.0 mmol/L
    assert float(convert(200, "mg/dL", "mmol/L", "cholesterol")) == pytest.approx(5.172, abs=1e-3)
    assert float(convert(126, "mg/dL", "mmol/L", "glucose")) == pytest.approx(6.99, abs=0.01)


@pytest.mark.parametrize(("substance", "mass", "molar", "_"), SUBSTANCES)
@given(value=finite)
def test_substance_round_trip(
    substance: str, mass: str, molar: str, _: float, value: float
) -> None:
    there = convert(value, mass, molar, substance)
    back = float(convert(there, molar, mass, substance))
    assert math.isclose(back, value, rel_tol=1e-9)
    there = convert(value, molar, mass, substance)
    back = float(convert(there, mass, molar, substance))
    assert math.isclose(back, value, rel_tol=1e-9)


def test_hba1c_known_points() -> None:
    # IFCC = 10.929 x (NGSP - 2.15): 6.5 % -> 47.54 mmol/mol; 48 mmol/mol -> 6.54 %
    assert float(convert(6.5, "%", "mmol/mol", "hba1c")) == pytest.approx(47.54, abs=0.005)
    assert round(float(convert(6.5, "%", "mmol/mol", "hba1c"))) == 48
    assert float(convert(48, "mmol/mol", "%", "hba1c")) == pytest.approx(6.54, abs=0.005)
    assert float(convert(2.15, "%", "mmol/mol", "hba1c")) == pytest.approx(0.0, abs=1e-12)
    # a fraction of 1 is the same NGSP quantity as a percentage
    assert float(convert(0.065, "1", "mmol/mol", "hba1c")) == pytest.approx(47.54, abs=0.005)
    # same-scale conversions stay linear
    assert float(convert(48, "mmol/mol", "mmol/mol", "hba1c")) == 48
    assert float(convert(6.5, "%", "1", "hba1c")) == pytest.approx(0.065)


@given(value=st.floats(min_value=2.5, max_value=25, allow_nan=False))
def test_hba1c_round_trip_ngsp(value: float) -> None:
    ifcc = convert(value, "%", "mmol/mol", "hba1c")
    assert math.isclose(float(convert(ifcc, "mmol/mol", "%", "hba1c")), value, rel_tol=1e-9)


@given(value=st.floats(min_value=5, max_value=250, allow_nan=False))
def test_hba1c_round_trip_ifcc(value: float) -> None:
    ngsp = convert(value, "mmol/mol", "%", "hba1c")
    assert math.isclose(float(convert(ngsp, "%", "mmol/mol", "hba1c")), value, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("source", "target", "substance"),
    [
        ("mg/dL", "mmol/L", "cholesterol"),
        ("mmol/L", "mg/dL", "triglycerides"),
        ("mg/dL", "umol/L", "creatinine"),
        ("%", "mmol/mol", "hba1c"),
        ("mmol/mol", "%", "hba1c"),
        ("[lb_av]", "kg", None),
        ("/uL", "10*9/L", None),
        ("kg", "kg", None),
    ],
)
@given(values=hnp.arrays(np.float64, st.integers(0, 50), elements=finite))
def test_array_conversion_equals_scalar_conversion(
    source: str, target: str, substance: str | None, values: np.ndarray
) -> None:
    converted = np.asarray(convert(values, source, target, substance))
    assert converted.shape == values.shape
    scalars = [float(convert(float(v), source, target, substance)) for v in values]
    assert converted.tolist() == scalars  # bit-identical: same float operations


def test_conversion_returns_new_numpy_floats() -> None:
    values = [1, 2, 3]
    out = convert(values, "kg", "kg")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    array = np.array([1.0, 2.0])
    assert convert(array, "kg", "kg") is not array


def test_nan_propagates() -> None:
    out = convert(np.array([np.nan, 200.0]), "mg/dL", "mmol/L", "cholesterol")
    assert np.isnan(out[0]) and out[1] == pytest.approx(5.172, abs=1e-3)


@pytest.mark.parametrize(
    ("source", "target", "substance", "words"),
    [
        ("kg", "mm[Hg]", None, ["'kg'", "'mm[Hg]'", "different kinds"]),
        ("cm", "kg", None, ["'cm'", "'kg'"]),
        ("mg/dL", "mmol/L", None, ["molar mass", "substance="]),
        ("mg/dL", "mmol/L", "vitamin_q", ["unknown substance", "cholesterol"]),
        ("mmol/L", "%", "hba1c", ["HbA1c", "mmol/mol"]),
        ("mg/g", "mmol/mol", "hba1c", ["'mg/g'", "HbA1c"]),
        ("ms", "/min", None, ["'ms'", "'/min'"]),
    ],
)
def test_incompatible_units_raise_helpful_unit_error(
    source: str, target: str, substance: str | None, words: list[str]
) -> None:
    with pytest.raises(UnitError) as info:
        converter(source, target, substance)
    for word in words:
        assert word in str(info.value)
    assert not is_convertible(source, target, substance)


@pytest.mark.parametrize(
    "unit", ["wombats", "mg/dL/xyz", "stone_x", "[lb_zz]", "mmol/", "10*", "mg/dL)"]
)
def test_unknown_units_raise_unit_error(unit: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_unit(unit)
    assert repr(unit) in str(info.value)
    assert "UCUM" in str(info.value)


@pytest.mark.parametrize("unit", ["", "   "])
def test_empty_unit_raises(unit: str) -> None:
    with pytest.raises(UnitError, match="empty"):
        parse_unit(unit)


def test_unit_error_is_a_value_error_and_cvrisk_error() -> None:
    with pytest.raises(ValueError):
        parse_unit("wombats")
    with pytest.raises(CvriskError):
        convert(1, "kg", "mm[Hg]")


def test_suggested_units_all_parse() -> None:
    for canonical, candidates in SUGGESTED_UNITS.items():
        parse_unit(canonical)
        for candidate in candidates:
            parse_unit(candidate)


def test_quantity_parts() -> None:
    magnitude, unit = quantity_parts(ureg.Quantity(5.0, "mmol/L")) or (None, "")
    assert magnitude == 5.0 and parse_unit(unit) == parse_unit("mmol/L")
    assert quantity_parts(5.0) is None
