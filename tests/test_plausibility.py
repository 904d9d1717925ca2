"""Two-tier plausibility (cvrisk.plausibility): impossible values are errors, values unusual
in their unit but typical in another are warnings naming the probable unit; the data
(analytes.toml) is complete, sourced and consistent; score inputs warn."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk import plausibility, vocab
from cvrisk.data import load_data
from cvrisk.errors import ProbableUnitWarning, RecordError
from cvrisk.plausibility import check, check_change, ranges
from cvrisk.record import PatientRecord, check_plausible
from cvrisk.units import convert, is_convertible

ADULT = 45.0
WITH_TYPICAL = sorted(a for a in vocab.analytes() if (r := ranges(a)) and r.typical)


# -- the cases the tier exists for (each was silently read as given before) -----------------


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "probable", "reading"),
    [
        ("hba1c", 11, "mmol/mol", "%", 96.7),  # 11 % = 97 mmol/mol, not 11 mmol/mol (3.2 %)
        ("hba1c", 19, "%", "mmol/mol", 19),  # was read as 184 mmol/mol
        ("fasting_glucose", 20, "mg/dL", "mmol/L", 20),
        ("fasting_glucose", 45, "mmol/L", "mg/dL", 2.50),
        ("random_glucose", 1.26, "mmol/L", "g/L", 6.99),  # French g/L
        ("total_cholesterol", 2.4, "mmol/L", "g/L", 6.21),
        ("hdl_cholesterol", 0.45, "mmol/L", "g/L", 1.16),  # raised a false low-HDL alert
        ("triglycerides", 90, "mmol/L", "mg/dL", 1.02),
        ("weight", 400, "kg", "[lb_av]", 181.4),  # above Chan & Raffa's 340 kg limit
        ("height", 68, "cm", "[in_i]", 172.7),  # gave a BMI of 173
        ("waist", 36, "cm", "[in_i]", 91.4),
        ("neutrophils", 60, "10*9/L", "/uL", 0.06),
        ("wbc", 150, "10*9/L", "/uL", 0.15),
    ],
)
def test_unusual_in_its_unit_typical_in_another(
    analyte: str, value: float, unit: str, probable: str, reading: float
) -> None:
    verdict = check(analyte, value, unit, age=ADULT)
    assert verdict.tier == "unusual" and not verdict.usable
    assert verdict.probable_unit == probable
    assert verdict.probable_value == pytest.approx(reading, rel=0.01)
    assert "probably" in verdict.message
    check_plausible(analyte, value, unit)  # a warning tier: reading the record still works


@pytest.mark.parametrize(
    ("analyte", "value", "unit"),
    [
        ("hba1c", 6.5, "%"),
        ("hba1c", 48, "mmol/mol"),
        ("hba1c", 16, "%"),  # overlap 15-18: typical in % and in mmol/mol
        ("hba1c", 16, "mmol/mol"),
        ("fasting_glucose", 35, "mmol/L"),  # rare but no other unit explains it
        ("fasting_glucose", 3, "g/L"),  # overlap 2.2-6.0 with mmol/L
        ("fasting_glucose", 126, "mg/dL"),
        ("total_cholesterol", 5.2, "mmol/L"),
        ("total_cholesterol", 2.4, "g/L"),
        ("hdl_cholesterol", 0.9, "mmol/L"),  # overlap 0.5-1.35 with g/L: not flagged
        ("triglycerides", 1.5, "g/L"),
        ("weight", 150, "kg"),  # overlap 50-340 kg/lb
        ("weight", 300, "kg"),  # extreme but real (Chan & Raffa keep weights up to 340 kg)
        ("weight", 154, "[lb_av]"),
        ("height", 175, "cm"),
        ("neutrophils", 0, "/uL"),  # a count of zero is zero in any unit
        ("neutrophils", 20, "/uL"),  # overlap 0-50: typical as /uL and as 10^9/L
        # a real agranulocytosis reported in cells/uL (WBC 400/uL x 1 %) is never discarded
        # as a unit error; a 10^9/L count sent as /uL is then a false alarm, never a missed one
        ("neutrophils", 4, "/uL"),
        ("neutrophils", 4.5, "/uL"),
        ("wbc", 6.2, "/uL"),
        ("neutrophils", 1500, "/uL"),
        ("neutrophils", 1.5, "10*9/L"),
    ],
)
def test_plausible_values_and_documented_overlaps_are_not_flagged(
    analyte: str, value: float, unit: str
) -> None:
    assert check(analyte, value, unit, age=ADULT).tier == "plausible"


def test_anthropometric_ranges_are_for_adults_only() -> None:
    assert check("height", 68, "cm", age=1).usable  # a one-year-old
    assert check("height", 68, "cm", age=None).usable  # age unknown: no unusual tier
    assert not check("height", 68, "cm", age=18).usable
    assert not check("weight", 400, "kg", age=30).usable
    assert check("weight", 400, "kg", age=12).usable


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "suggestion"),
    [
        ("total_cholesterol", 213, "mmol/L", "mg/dL"),
        ("hba1c", 48, "%", "mmol/mol"),
        ("weight", 70000, "kg", "g"),
        ("height", 1.75, "cm", "m"),
        ("neutrophils", 1500, "10*9/L", "/uL"),
        ("sbp", 5000, "mm[Hg]", None),
    ],
)
def test_impossible_values_are_errors_naming_field_and_value(
    analyte: str, value: float, unit: str, suggestion: str | None
) -> None:
    verdict = check(analyte, value, unit)
    assert verdict.tier == "impossible" and verdict.probable_unit == suggestion
    record = {
        "patient": {"birth_date": "1970-01-01", "sex": "female"},
        "observations": [{"analyte": analyte, "value": value, "unit": unit, "date": "2024-01-01"}],
    }
    with pytest.raises(RecordError) as info:
        PatientRecord.from_json(record)
    (problem,) = info.value.problems
    assert (problem.column, problem.value) == ("observations[0].value", value)


def test_derived_values_outside_the_typical_range_are_unusual_whatever_the_unit() -> None:
    assert check("bmi", 173, "kg/m2", age=ADULT).usable  # recorded: no other unit explains it
    derived = check("bmi", 173, "kg/m2", age=ADULT, derived=True)
    assert derived.tier == "unusual" and derived.probable_unit is None
    assert check("bmi", 31, "kg/m2", age=ADULT, derived=True).usable


# -- properties ---------------------------------------------------------------------------------


@st.composite
def readings(draw: st.DrawFn) -> tuple[str, float, str, float | None]:
    analyte = draw(st.sampled_from(WITH_TYPICAL))
    data = ranges(analyte)
    assert data is not None
    unit = draw(st.sampled_from(plausibility.candidate_units(analyte)))
    exponent = draw(st.floats(-3, 4))
    age = draw(st.sampled_from([None, 5.0, ADULT]))
    return analyte, round(10**exponent, 3), unit, age


@settings(max_examples=400, deadline=None)
@given(reading=readings())
def test_every_suggested_unit_makes_the_value_plausible(
    reading: tuple[str, float, str, float | None],
) -> None:
    analyte, value, unit, age = reading
    if not is_convertible(unit, vocab.analyte(analyte).unit or "", ranges(analyte).substance):  # type: ignore[union-attr]
        return
    verdict = check(analyte, value, unit, age=age)
    if verdict.probable_unit is not None:
        assert verdict.probable_unit != unit
        assert check(analyte, value, verdict.probable_unit, age=age).tier == "plausible"
    suggested = plausibility.suggest(analyte, value, unit, age=age)
    if suggested is not None:
        assert check(analyte, value, suggested, age=age).tier == "plausible"
    if verdict.tier == "plausible":
        assert verdict.probable_unit is None


@settings(max_examples=200, deadline=None)
@given(
    analyte=st.sampled_from(WITH_TYPICAL),
    fraction=st.floats(0, 1),
)
def test_values_inside_the_typical_range_are_plausible(analyte: str, fraction: float) -> None:
    data = ranges(analyte)
    assert data is not None and data.typical is not None
    low, high = data.typical
    value = low + (high - low) * fraction
    assert check(analyte, value, data.unit, age=ADULT).tier == "plausible"


# -- the data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("analyte", sorted(a for a in vocab.analytes() if ranges(a)))
def test_every_range_has_a_source_and_a_status(analyte: str) -> None:
    table = load_data("analytes.toml")[analyte]
    assert table.get("plausible_source") and table["plausible_status"] in (
        "confirmed",
        "unconfirmed",
    )
    if "typical" in table:
        assert table["typical_source"] and table["typical_status"] in ("confirmed", "unconfirmed")
        assert table["units"][0] == table["unit"]


@pytest.mark.parametrize("analyte", WITH_TYPICAL)
def test_typical_ranges_lie_inside_the_limits_and_units_convert(analyte: str) -> None:
    data = ranges(analyte)
    assert data is not None and data.typical is not None and data.limits is not None
    assert data.limits[0] <= data.typical[0] < data.typical[1] <= data.limits[1]
    for unit in data.units:
        assert is_convertible(unit, data.unit, data.substance), (analyte, unit)


def _numbers_typical_in(analyte: str, unit: str) -> tuple[float, float]:
    data = ranges(analyte)
    assert data is not None and data.typical is not None
    ends = [float(convert(end, data.unit, unit, data.substance)) for end in data.typical]
    return min(ends), max(ends)


@pytest.mark.parametrize("analyte", WITH_TYPICAL)
def test_overlapping_typical_ranges_are_documented(analyte: str) -> None:
    """Where the numbers typical in two units overlap a mix-up cannot be told apart: the
    data must say so (typical_overlap), and values there must not be flagged."""
    data = ranges(analyte)
    assert data is not None
    overlaps = []
    for i, first in enumerate(data.units):
        for second in data.units[i + 1 :]:
            a, b = _numbers_typical_in(analyte, first), _numbers_typical_in(analyte, second)
            low, high = max(a[0], b[0]), min(a[1], b[1])
            if low < high:
                overlaps.append((first, second, low, high))
                middle = (low + high) / 2
                assert check(analyte, middle, first, age=ADULT).tier == "plausible"
                assert check(analyte, middle, second, age=ADULT).tier == "plausible"
    if overlaps:
        assert data.overlap and not data.overlap.startswith("none"), (analyte, overlaps)


# -- changes ------------------------------------------------------------------------------------


def test_weight_change_limit_is_growthcleanrs_allowance() -> None:
    assert plausibility.allowed_change("weight", 0) == pytest.approx(4)
    three_months = 3 * plausibility.DAYS_PER_MONTH
    assert plausibility.allowed_change("weight", three_months) == pytest.approx(
        4 + 18 * math.log(4)
    )
    assert plausibility.allowed_change("qtc", 30) is None  # no change limit for QTc


def test_weight_gain_of_100_kg_in_3_months_is_implausible() -> None:
    start, end = dt.date(2025, 1, 1), dt.date(2025, 4, 1)
    change = check_change("weight", (start, 70.0), (end, 170.0), age=ADULT)
    assert change is not None and change.change == 100 and change.allowed < 30
    assert check_change("weight", (start, 70.0), (end, 80.0), age=ADULT) is None
    assert check_change("weight", (start, 70.0), (end, 170.0), age=10) is None  # adults only
    assert check_change("weight", (start, 170.0), (end, 70.0), age=ADULT) is not None  # loss


# -- score inputs -------------------------------------------------------------------------------

SCORE2_ROW = {
    "age": 50,
    "sex": "male",
    "smoking": False,
    "sbp": 140,
    "total_cholesterol": 5.0,
    "hdl_cholesterol": 1.3,
    "region": "low",
}


def test_plain_score_input_typical_of_another_unit_warns() -> None:
    rows = [SCORE2_ROW, dict(SCORE2_ROW, total_cholesterol=2.0), SCORE2_ROW]
    with pytest.warns(ProbableUnitWarning) as caught:
        risk = cvrisk.score("score2", rows)
    (warning,) = [w.message for w in caught if isinstance(w.message, ProbableUnitWarning)]
    assert (warning.column, warning.unit, warning.probable_unit, warning.rows) == (
        "total_cholesterol",
        "mmol/L",
        "g/L",
        [1],
    )
    assert "units={'total_cholesterol': 'g/L'}" in str(warning)
    assert np.isfinite(risk).all()  # used as given: a warning, not an error


def test_declared_unit_makes_the_warning_go_away() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProbableUnitWarning)
        cvrisk.score(
            "score2", dict(SCORE2_ROW, total_cholesterol=2.0), units={"total_cholesterol": "g/L"}
        )
        cvrisk.score("score2", SCORE2_ROW)


def test_hdl_in_g_per_litre_read_as_mmol_warns() -> None:
    with pytest.warns(ProbableUnitWarning, match="hdl_cholesterol.*g/L"):
        cvrisk.score("score2", dict(SCORE2_ROW, hdl_cholesterol=0.45))


def test_unusual_rows_is_vectorized_over_converted_values() -> None:
    given = np.array([5.0, 2.0, np.nan, 1.9, 213.0, 2.2])  # mmol/L as given; 213 is impossible
    in_model_unit = np.asarray(convert(given, "mmol/L", "mg/dL", "cholesterol"))
    skip = np.array([False, False, False, False, False, True])
    (found,) = plausibility.unusual_rows(
        "total_cholesterol", in_model_unit, "mg/dL", given="mmol/L", skip=skip
    )
    assert (found.unit, found.probable_unit, found.rows) == ("mmol/L", "g/L", (1, 3))
    assert found.example.value == pytest.approx(2.0)
    assert plausibility.unusual_rows("sbp", [120.0, 5.0], "mm[Hg]") == []  # no typical tier
