"""Tests for cvrisk.record: validation errors name the field and value; JSON round-trips."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvrisk import vocab
from cvrisk.errors import CvriskError, RecordError
from cvrisk.record import (
    FieldError,
    Medication,
    Observation,
    Patient,
    PatientRecord,
    check_plausible,
    day_of,
    dumps_schema,
    load_record,
    record_json_schema,
    suggest_unit,
)

BASE: dict[str, Any] = {"patient": {"birth_date": "1980-05-01", "sex": "female"}}
DAY = "2024-01-15"


def with_entries(**entries: Any) -> dict[str, Any]:
    record = copy.deepcopy(BASE)
    record.update(entries)
    return record


def obs(**fields: Any) -> dict[str, Any]:
    return {"date": DAY, **fields}


def rejected(data: dict[str, Any] | str) -> RecordError:
    with pytest.raises(RecordError) as info:
        PatientRecord.from_json(data)
    return info.value


# ---------------------------------------------------------------------------------------------
# Bad input: every kind names the field path and the value


BAD_INPUTS = [
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70, unit="stone_x")]),
        "observations[0].unit",
        "stone_x",
        ["not understood", "UCUM"],
        id="unknown-unit",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70, unit="mm[Hg]")]),
        "observations[0].unit",
        "mm[Hg]",
        ["cannot express", "'kg'"],
        id="wrong-dimension",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="total_cholesterol", value=213, unit="mmol/L")]),
        "observations[0].value",
        213,
        ["implausible", "did you mean 213 mg/dL?"],
        id="cholesterol-213-mmol",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="hba1c", value=48, unit="%")]),
        "observations[0].value",
        48,
        ["implausible", "did you mean 48 mmol/mol?"],
        id="hba1c-48-percent",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70000, unit="kg")]),
        "observations[0].value",
        70000,
        ["implausible", "did you mean 70000 g?"],
        id="weight-70000-kg",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="height", value=1.75, unit="cm")]),
        "observations[0].value",
        1.75,
        ["implausible", "did you mean 1.75 m?"],
        id="height-1.75-cm",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="qtc", value=0.45, unit="ms")]),
        "observations[0].value",
        0.45,
        ["implausible", "did you mean 0.45 s?"],
        id="qtc-0.45-ms",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="sbp", value=5000, unit="mm[Hg]")]),
        "observations[0].value",
        5000,
        ["implausible", "check the value and unit"],
        id="no-suggestion",
    ),
    pytest.param(
        with_entries(medications=[{"drug": "olanzapine", "start": DAY, "stop": "2023-01-01"}]),
        "medications[0].stop",
        "2023-01-01",
        ["before start"],
        id="stop-before-start",
    ),
    pytest.param(
        with_entries(
            conditions=[{"code": "F20", "system": "icd10", "onset": DAY, "abatement": "2020-01-01"}]
        ),
        "conditions[0].abatement",
        "2020-01-01",
        ["before onset"],
        id="abatement-before-onset",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="cholestrol", value=5, unit="mmol/L")]),
        "observations[0].analyte",
        "cholestrol",
        ["unknown analyte", "total_cholesterol"],
        id="unknown-analyte",
    ),
    pytest.param(
        with_entries(conditions=[{"code": "F20", "system": "icd9"}]),
        "conditions[0].system",
        "icd9",
        ["unknown code system", "icd10"],
        id="unknown-code-system-condition",
    ),
    pytest.param(
        with_entries(conditions=[{"code": "2093-3", "system": "loinc"}]),
        "conditions[0].system",
        "loinc",
        ["cannot code a diagnosis"],
        id="wrong-code-system-condition",
    ),
    pytest.param(
        with_entries(medications=[{"code": "N05AH03", "system": "whocc", "start": DAY}]),
        "medications[0].system",
        "whocc",
        ["unknown code system"],
        id="unknown-code-system-medication",
    ),
    pytest.param(
        with_entries(observations=[obs(code="2093-3", system="snomed", value=5, unit="mmol/L")]),
        "observations[0].system",
        "snomed",
        ["cannot code an observation"],
        id="wrong-code-system-observation",
    ),
    pytest.param(
        with_entries(observations=[obs(code="0000-0", system="loinc", value=5, unit="mmol/L")]),
        "observations[0].code",
        "0000-0",
        ["not a known analyte"],
        id="unknown-loinc",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70)]),
        "observations[0].unit",
        None,
        ["no unit", "never guessed"],
        id="missing-unit",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", unit="kg")]),
        "observations[0].value",
        None,
        ["needs a numeric 'value'"],
        id="missing-value",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="smoking_status", coded="sometimes")]),
        "observations[0].coded",
        "sometimes",
        ["not one of", "current"],
        id="coded-value-not-in-list",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="smoking_status", value=1, unit="1")]),
        "observations[0].value",
        1,
        ["is coded"],
        id="coded-analyte-given-number",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", coded="heavy")]),
        "observations[0].coded",
        "heavy",
        ["is a quantity"],
        id="quantity-analyte-given-code",
    ),
    pytest.param(
        with_entries(
            observations=[
                obs(
                    analyte="hdl_cholesterol", code="2093-3", system="loinc", value=5, unit="mmol/L"
                )
            ]
        ),
        "observations[0].code",
        "2093-3",
        ["total_cholesterol", "hdl_cholesterol"],
        id="analyte-and-code-disagree",
    ),
    pytest.param(
        with_entries(surname="Doe"),
        "surname",
        "Doe",
        ["Extra inputs are not permitted"],
        id="extra-top-level-field",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70, unit="kg", units="kg")]),
        "observations[0].units",
        "kg",
        ["Extra inputs are not permitted"],
        id="extra-nested-field",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value="70", unit="kg")]),
        "observations[0].value",
        "70",
        ["valid number"],
        id="number-as-text",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=float("nan"), unit="kg")]),
        "observations[0].value",
        None,  # NaN != NaN: checked separately
        ["finite"],
        id="nan-value",
    ),
    pytest.param(
        {"patient": {"birth_date": "1980-02-30", "sex": "female"}},
        "patient.birth_date",
        "1980-02-30",
        ["ISO 8601"],
        id="impossible-date",
    ),
    pytest.param(
        {"patient": {"birth_date": 315532800, "sex": "female"}},
        "patient.birth_date",
        315532800,
        ["is a number, not a date"],
        id="epoch-seconds-date",
    ),
    pytest.param(
        {"patient": {"birth_date": "1980-05-01", "sex": "F"}},
        "patient.sex",
        "F",
        ["'female' or 'male'"],
        id="sex-not-in-list",
    ),
    pytest.param(
        with_entries(observations=[obs(analyte="weight", value=70, unit="kg", date="1970-01-01")]),
        "observations[0].date",
        "1970-01-01",
        ["before patient.birth_date"],
        id="observation-before-birth",
    ),
    pytest.param(
        with_entries(medications=[{"drug": "olanzapine", "start": "1979-01-01"}]),
        "medications[0].start",
        "1979-01-01",
        ["before patient.birth_date"],
        id="prescription-before-birth",
    ),
    pytest.param(
        with_entries(
            medications=[{"drug": "olanzapine", "start": DAY, "dose": {"value": 10, "unit": "mgs"}}]
        ),
        "medications[0].dose.unit",
        "mgs",
        ["not understood"],
        id="dose-unknown-unit",
    ),
    pytest.param(
        with_entries(
            medications=[{"drug": "olanzapine", "start": DAY, "dose": {"value": 0, "unit": "mg"}}]
        ),
        "medications[0].dose.value",
        0,
        ["greater than 0"],
        id="dose-zero",
    ),
]


@pytest.mark.parametrize(("data", "path", "value", "words"), BAD_INPUTS)
def test_bad_input_names_field_and_value(
    data: dict[str, Any], path: str, value: Any, words: list[str]
) -> None:
    for form in (data, json.dumps(data)):
        error = rejected(form)
        assert isinstance(error, ValueError) and isinstance(error, CvriskError)
        paths = [problem.column for problem in error.problems]
        assert path in paths, paths
        problem = error.problems[paths.index(path)]
        if value is not None:
            assert problem.value == value
        message = str(error)
        assert path in message
        if value is not None:
            assert repr(value) in message or str(value) in message
        for word in words:
            assert word in message, message


def test_nan_reported_as_given() -> None:
    error = rejected(
        with_entries(observations=[obs(analyte="weight", value=float("nan"), unit="kg")])
    )
    assert error.problems[0].value != error.problems[0].value  # NaN


def test_several_problems_are_all_listed() -> None:
    data = with_entries(
        observations=[obs(analyte="weight", value=70000, unit="kg") for _ in range(7)]
    )
    error = rejected(data)
    assert len(error.problems) == 7
    assert "(and 2 more)" in str(error)
    assert [p.column for p in error.problems] == [f"observations[{i}].value" for i in range(7)]


def test_missing_required_field() -> None:
    error = rejected({"patient": {"sex": "male"}})
    assert error.problems[0].column == "patient.birth_date"
    assert "Field required" in str(error)


def test_invalid_json_text() -> None:
    error = rejected('{"patient": ')
    assert "not valid JSON" in str(error)


def test_medication_needs_drug_or_code() -> None:
    error = rejected(with_entries(medications=[{"start": DAY}]))
    assert error.problems[0].column == "medications[0]"
    assert "give 'drug'" in str(error)


# ---------------------------------------------------------------------------------------------
# Suggestions and plausibility directly


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "suggestion"),
    [
        ("total_cholesterol", 213, "mmol/L", "mg/dL"),
        ("hba1c", 48, "%", "mmol/mol"),
        ("weight", 70000, "kg", "g"),
        ("weight", 70, "kg", None),  # plausible as given: nothing to suggest but itself
        ("height", 1.75, "cm", "m"),
        ("qtc", 0.45, "ms", "s"),
        ("neutrophils", 1500, "10*9/L", "/uL"),
        ("sbp", 5000, "mm[Hg]", None),
    ],
)
def test_suggest_unit(analyte: str, value: float, unit: str, suggestion: str | None) -> None:
    found = suggest_unit(analyte, value, unit)
    if suggestion is None and analyte == "weight":
        assert found is None or found != unit
    else:
        assert found == suggestion


def test_check_plausible_accepts_every_unit_in_range() -> None:
    check_plausible("total_cholesterol", 200, "mg/dL")
    check_plausible("total_cholesterol", 5.2, "mmol/L")
    check_plausible("hba1c", 6.5, "%")
    check_plausible("weight", 154, "[lb_av]")
    check_plausible("neutrophils", 1500, "/uL")
    check_plausible("smoking_status", 1, "1")  # coded analytes have no unit to check


def test_check_plausible_raises_field_error() -> None:
    with pytest.raises(FieldError) as info:
        check_plausible("total_cholesterol", 213, "mmol/L")
    assert info.value.field == "value" and info.value.value == 213
    with pytest.raises(ValueError):
        check_plausible("weight", 70, "mm[Hg]")


@pytest.mark.parametrize("analyte_id", sorted(vocab.analytes()))
def test_plausible_range_midpoint_accepted(analyte_id: str) -> None:
    entry = vocab.analyte(analyte_id)
    if entry.plausible is None or entry.unit is None:
        pytest.skip("coded analyte")
    low, high = entry.plausible
    check_plausible(analyte_id, (low + high) / 2, entry.unit)
    with pytest.raises(FieldError):
        check_plausible(analyte_id, high * 1.01 + 1, entry.unit)


# ---------------------------------------------------------------------------------------------
# Reading: LOINC codes, conversions, dates


def test_loinc_coded_observations_resolve_to_analytes() -> None:
    record = PatientRecord.from_json(
        with_entries(
            observations=[
                obs(code="2093-3", system="http://loinc.org", value=200, unit="mg/dL"),
                obs(code="4548-4", system="loinc", value=6.5, unit="%"),
                obs(code="72166-2", system="http://loinc.org", coded="current"),
            ]
        )
    )
    assert [o.analyte_id for o in record.observations] == [
        "total_cholesterol",
        "hba1c",
        "smoking_status",
    ]
    for observation in record.observations:
        entry = vocab.analyte(observation.analyte_id)
        assert observation.code in entry.loinc


def test_every_listed_loinc_code_resolves() -> None:
    for analyte_id, entry in vocab.analytes().items():
        for code in entry.loinc:
            assert vocab.analyte_for_code(code, "http://loinc.org") == analyte_id


def test_value_in_converts() -> None:
    chol = Observation(
        analyte="total_cholesterol", value=200, unit="mg/dL", date=dt.date(2024, 1, 1)
    )
    assert chol.value_in() == pytest.approx(200 / 38.67)
    assert chol.value_in("mmol/L") == pytest.approx(5.172, abs=1e-3)
    assert chol.value_in("mg/dL") == pytest.approx(200)
    a1c = Observation(analyte="hba1c", value=6.5, unit="%", date=dt.date(2024, 1, 1))
    assert a1c.value_in() == pytest.approx(47.54, abs=0.005)
    weight = Observation(analyte="weight", value=154, unit="[lb_av]", date=dt.date(2024, 1, 1))
    assert weight.value_in() == pytest.approx(154 * 0.45359237)
    smoking = Observation(analyte="smoking_status", coded="never", date=dt.date(2024, 1, 1))
    with pytest.raises(RecordError, match="coded"):
        smoking.value_in()


def test_observation_dates_keep_their_kind() -> None:
    record = PatientRecord.from_json(
        with_entries(
            observations=[
                obs(analyte="weight", value=70, unit="kg", date="2024-01-15"),
                obs(analyte="weight", value=70, unit="kg", date="2024-01-15T00:00:00"),
                obs(analyte="weight", value=70, unit="kg", date="2024-01-15T23:30:00+01:00"),
            ]
        )
    )
    kinds = [type(o.date) for o in record.observations]
    assert kinds == [dt.date, dt.datetime, dt.datetime]
    assert {o.day for o in record.observations} == {dt.date(2024, 1, 15)}
    assert day_of(dt.datetime(2024, 1, 15, 23, 59)) == dt.date(2024, 1, 15)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        ("1980-05-01", "2024-04-30", 43),
        ("1980-05-01", "2024-05-01", 44),
        ("1980-05-01", "1980-05-01", 0),
        ("2000-02-29", "2023-02-28", 22),  # leap-day birthday counts from 1 March
        ("2000-02-29", "2023-03-01", 23),
        ("2000-02-29", "2024-02-29", 24),
    ],
)
def test_age_on(birth: str, day: str, age: int) -> None:
    patient = Patient(birth_date=birth, sex="male")
    assert patient.age_on(dt.date.fromisoformat(day)) == age
    record = PatientRecord(patient=patient)
    assert record.age_on(dt.date.fromisoformat(day)) == age


def test_age_before_birth_raises() -> None:
    patient = Patient(birth_date=dt.date(1980, 5, 1), sex="male")
    with pytest.raises(RecordError, match=r"before patient\.birth_date"):
        patient.age_on(dt.date(1980, 4, 30))


def test_check_dates() -> None:
    record = PatientRecord.from_json(BASE)
    record.check_dates(dt.date(1980, 5, 1))
    record.check_dates(dt.date(2024, 1, 1))
    with pytest.raises(RecordError) as info:
        record.check_dates(dt.date(1980, 4, 30))
    assert "birth_date" in str(info.value) and "1980-04-30" in str(info.value)
    assert info.value.problems[0].column == "patient.birth_date"


def test_medication_ingredient_and_active_on() -> None:
    by_code = Medication(
        code="N05AH03", system="http://www.whocc.no/atc", start=dt.date(2024, 1, 1)
    )
    assert by_code.ingredient == "olanzapine"
    by_name = Medication(drug="Clozapine", start=dt.date(2024, 1, 1), stop=dt.date(2024, 3, 1))
    assert by_name.ingredient == "clozapine"
    assert by_name.active_on(dt.date(2024, 1, 1)) and by_name.active_on(dt.date(2024, 3, 1))
    assert not by_name.active_on(dt.date(2024, 3, 2))
    assert not by_name.active_on(dt.date(2023, 12, 31))
    other = Medication(code="860975", system="rxnorm", start=dt.date(2024, 1, 1))
    assert other.ingredient is None


def test_records_are_immutable() -> None:
    record = PatientRecord.from_json(BASE)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        record.patient.sex = "male"  # type: ignore[misc]


def test_load_record_accepts_every_form(tmp_path: Path) -> None:
    text = json.dumps(BASE)
    path = tmp_path / "record.json"
    path.write_text(text)
    expected = PatientRecord.from_json(BASE)
    assert load_record(expected) is expected
    for source in (BASE, text, path, str(path)):
        assert load_record(source) == expected
    assert PatientRecord.from_file(path) == expected


# ---------------------------------------------------------------------------------------------
# JSON round trip over generated valid records

DRUGS = sorted(vocab.antipsychotics())
ATC = sorted((entry["atc"], "atc") for entry in vocab.antipsychotics().values() if entry.get("atc"))
QUANTITIES = sorted(a.id for a in vocab.analytes().values() if not a.coded and a.plausible)
SYSTEM_SPELLINGS = {
    "icd10": ["icd10", "http://hl7.org/fhir/sid/icd-10"],
    "snomed": ["snomed", "http://snomed.info/sct"],
}
text = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=12)


@st.composite
def day_after(draw: st.DrawFn, start: dt.date) -> dt.date:
    return start + dt.timedelta(days=draw(st.integers(0, 365 * 40)))


@st.composite
def conditions(draw: st.DrawFn, born: dt.date) -> dict[str, Any]:
    system = draw(st.sampled_from(sorted(SYSTEM_SPELLINGS)))
    code = draw(
        st.sampled_from(
            ["F20", "F20.0", "F31", "E11"] if system == "icd10" else ["58214004", "44054006"]
        )
    )
    entry: dict[str, Any] = {
        "code": code,
        "system": draw(st.sampled_from(SYSTEM_SPELLINGS[system])),
    }
    if draw(st.booleans()):
        onset = draw(day_after(born))
        entry["onset"] = onset.isoformat()
        if draw(st.booleans()):
            entry["abatement"] = draw(day_after(onset)).isoformat()
    return entry


@st.composite
def medications(draw: st.DrawFn, born: dt.date) -> dict[str, Any]:
    start = draw(day_after(born))
    entry: dict[str, Any] = {"start": start.isoformat()}
    if draw(st.booleans()):
        entry["drug"] = draw(st.sampled_from(DRUGS))
    else:
        entry["code"], entry["system"] = draw(st.sampled_from(ATC))
    if draw(st.booleans()):
        entry["stop"] = draw(day_after(start)).isoformat()
    if draw(st.booleans()):
        entry["dose"] = {
            "value": draw(st.floats(0.1, 1000)),
            "unit": draw(st.sampled_from(["mg", "ug"])),
        }
    if draw(st.booleans()):
        entry["route"] = draw(st.sampled_from(["oral", "depot"]))
    return entry


@st.composite
def observations(draw: st.DrawFn, born: dt.date) -> dict[str, Any]:
    day = draw(day_after(born))
    when: str = day.isoformat()
    if draw(st.booleans()):
        moment = dt.datetime.combine(
            day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        )
        if draw(st.booleans()):
            moment = moment.replace(
                tzinfo=dt.timezone(dt.timedelta(hours=draw(st.integers(-12, 12))))
            )
        when = moment.isoformat()
    if draw(st.integers(0, 9)) == 0:
        return {
            "analyte": "smoking_status",
            "coded": draw(st.sampled_from(["never", "former", "current"])),
            "date": when,
        }
    analyte_id = draw(st.sampled_from(QUANTITIES))
    entry = vocab.analyte(analyte_id)
    assert entry.plausible is not None
    low, high = entry.plausible
    out: dict[str, Any] = {"value": draw(st.floats(low, high)), "unit": entry.unit, "date": when}
    if draw(st.booleans()) and entry.loinc:
        out.update(code=draw(st.sampled_from(entry.loinc)), system="http://loinc.org")
    else:
        out["analyte"] = analyte_id
    if draw(st.booleans()):
        out["status"] = draw(st.sampled_from(["final", "amended", "corrected", "preliminary"]))
    return out


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    born = draw(st.dates(dt.date(1920, 1, 1), dt.date(2010, 12, 31)))
    patient: dict[str, Any] = {
        "birth_date": born.isoformat(),
        "sex": draw(st.sampled_from(["female", "male"])),
    }
    if draw(st.booleans()):
        patient["id"] = draw(text)
    if draw(st.booleans()):
        patient["ethnicity"] = draw(st.sampled_from(list(vocab.ETHNICITIES)))
    if draw(st.booleans()):
        patient["race"] = draw(st.sampled_from(["white", "black", "other"]))
    return {
        "patient": patient,
        "conditions": draw(st.lists(conditions(born), max_size=3)),
        "medications": draw(st.lists(medications(born), max_size=3)),
        "observations": draw(st.lists(observations(born), max_size=6)),
    }


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=records())
def test_json_round_trip(data: dict[str, Any]) -> None:
    record = PatientRecord.from_json(data)
    text = record.to_json()
    again = PatientRecord.from_json(text)
    assert again == record
    assert again.to_json() == text
    assert PatientRecord.from_json(json.loads(text)) == record  # dict path reads the same
    assert PatientRecord.from_json(json.dumps(data)) == record  # text path reads the same


def test_schema_accepts_the_documented_example() -> None:
    schema = record_json_schema()
    assert schema["title"] == "cvrisk patient record"
    assert set(schema["properties"]) == {"patient", "conditions", "medications", "observations"}
    assert schema["additionalProperties"] is False
    assert dumps_schema(schema).endswith("}\n")


def test_a_copy_with_other_fields_does_not_keep_the_values_cached_from_the_first() -> None:
    """The day of an observation and the record's plausibility verdicts are computed once
    and kept on the instance; a copy given other fields computes them again (pydantic's own
    copy would carry them over)."""
    record = PatientRecord.from_json(
        json.loads((Path(__file__).parent.parent / "examples" / "patient.json").read_text())
    )
    assert len(record.verdicts) == len(record.observations) > 1
    fewer = record.model_copy(update={"observations": record.observations[:1]})
    assert len(fewer.verdicts) == 1
    observation = record.observations[0]
    assert observation.day != dt.date(1999, 1, 1)
    assert observation.model_copy(update={"date": dt.date(1999, 1, 1)}).day == dt.date(1999, 1, 1)
    # a plain copy keeps them: the fields are the same
    assert record.model_copy().verdicts is record.verdicts
