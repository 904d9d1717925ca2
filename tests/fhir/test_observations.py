"""Observation resources: codes, values and units, blood pressure, dates, statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cvrisk.errors import RecordError
from cvrisk.record import Observation
from tests.fhir.helpers import (
    ICD10,
    LOINC,
    SNOMED,
    bp_panel,
    condition,
    observation,
    quantity,
    read,
    request,
    validate_r4b,
)


def _one(resource: dict[str, Any]) -> tuple[list[Observation], list[Any]]:
    validate_r4b(resource)
    result = read(resource)
    return result.record.observations, result.issues


def test_the_known_loinc_coding_is_picked_among_several() -> None:
    resource = observation(
        "tc",
        [
            {
                "system": "http://acme.example.org/lab-codes",
                "code": "CHOL",
                "display": "Cholesterol",
            },
            {"system": SNOMED, "code": "77068002"},
            {
                "system": LOINC,
                "code": "2093-3",
                "display": "Cholesterol [Mass/volume] in Serum or Plasma",
            },
        ],
        quantity(212, "mg/dL"),
    )
    results, issues = _one(resource)
    assert [(r.analyte_id, r.value, r.unit, r.id) for r in results] == [
        ("total_cholesterol", 212, "mg/dL", "Observation/tc")
    ]
    assert not issues


def test_codings_naming_two_analytes_are_a_conflict() -> None:
    resource = observation(
        "x",
        [{"system": LOINC, "code": "2093-3"}, {"system": LOINC, "code": "2085-9"}],
        quantity(5, "mmol/L"),
    )
    results, issues = _one(resource)
    assert results == [] and issues[0].kind == "conflict"


def test_the_ucum_code_wins_over_the_display_unit() -> None:
    results, _ = _one(
        observation(
            "g",
            "1558-6",
            {
                "value": 5.4,
                "unit": "mmol/l (fasting)",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L",
            },
        )
    )
    assert results[0].unit == "mmol/L"
    # a non-UCUM code is not a unit: the display unit is read
    results, _ = _one(
        observation(
            "g2",
            "1558-6",
            {
                "value": 97,
                "unit": "mg/dL",
                "system": "http://acme.example.org/units",
                "code": "MGDL",
            },
        )
    )
    assert (results[0].unit, results[0].value_in()) == ("mg/dL", pytest.approx(5.38, abs=0.01))


def test_a_value_without_a_unit_is_invalid_never_guessed() -> None:
    resource = observation("w", "29463-7", {"value": 80})
    results, issues = _one(resource)
    assert results == [] and issues[0].kind == "invalid" and "no unit" in issues[0].message
    with pytest.raises(RecordError, match="Observation/w"):
        read(resource, on_invalid="raise")


def test_an_implausible_value_is_an_issue_naming_the_resource_with_the_record_rules() -> None:
    resource = observation("tc9", "2093-3", quantity(213, "mmol/L"))
    results, issues = _one(resource)
    assert results == []
    (issue,) = issues
    assert (issue.kind, issue.severity, issue.resource) == (
        "implausible",
        "warning",
        "Observation/tc9",
    )
    # the same words as the native record's own validation
    with pytest.raises(ValueError) as native:
        Observation.model_validate(
            {"analyte": "total_cholesterol", "value": 213, "unit": "mmol/L", "date": "2024-03-01"}
        )
    assert "did you mean 213 mg/dL?" in issue.message and "did you mean 213 mg/dL?" in str(
        native.value
    )
    with pytest.raises(RecordError, match=r"Observation/tc9.*implausible"):
        read(resource, on_invalid="raise")


def test_blood_pressure_panel_and_standalone_results() -> None:
    results, issues = _one(bp_panel("bp1", 138, 86))
    assert sorted((r.analyte_id, r.value, r.id) for r in results) == [
        ("dbp", 86, "Observation/bp1"),
        ("sbp", 138, "Observation/bp1"),
    ]
    assert not issues
    results, _ = _one(observation("s", "8480-6", quantity(141, "mm[Hg]", "mmHg")))
    assert [(r.analyte_id, r.value) for r in results] == [("sbp", 141)]


def test_a_panel_component_cvrisk_does_not_read_is_reported() -> None:
    panel = bp_panel("bp2", 120, 80)
    panel["component"].append(
        {
            "code": {
                "coding": [{"system": LOINC, "code": "8478-0", "display": "Mean blood pressure"}]
            },
            "valueQuantity": quantity(93, "mm[Hg]"),
        }
    )
    results, issues = _one(panel)
    assert len(results) == 2
    assert any("8478-0" in i.message and i.resource == "Observation/bp2" for i in issues)


@pytest.mark.parametrize(
    ("fields", "day", "assumed"),
    [
        ({"effectiveDateTime": "2024-03-01T23:30:00-05:00"}, dt.date(2024, 3, 1), False),
        ({"effectiveInstant": "2024-03-02T08:00:00Z"}, dt.date(2024, 3, 2), False),
        (
            {"effectivePeriod": {"start": "2024-03-03T08:00:00Z", "end": "2024-03-04T08:00:00Z"}},
            dt.date(2024, 3, 3),
            False,
        ),
        ({"effectivePeriod": {"end": "2024-03-04T08:00:00Z"}}, dt.date(2024, 3, 4), False),
        ({"issued": "2024-03-05T17:02:11.233+00:00"}, dt.date(2024, 3, 5), True),
        ({"effectiveDateTime": "2024-03"}, dt.date(2024, 3, 15), True),
    ],
)
def test_effective_time_forms(fields: dict[str, Any], day: dt.date, assumed: bool) -> None:
    resource = observation("d", "29463-7", quantity(70, "kg"), when="", **fields)
    results, issues = _one(resource)
    assert results[0].day == day
    assert any(i.kind == "assumed" for i in issues) == assumed


def test_an_undated_result_is_not_used_and_said() -> None:
    results, issues = _one(observation("nd", "29463-7", quantity(70, "kg"), when=""))
    assert results == [] and issues[0].severity == "warning" and "no effective" in issues[0].message


def test_a_bad_date_is_an_invalid_resource() -> None:
    resource = observation("bd", "29463-7", quantity(70, "kg"), when="2024-02-30T10:00:00Z")
    result = read(resource)
    assert result.record.observations == [] and result.issues[0].kind == "invalid"


@pytest.mark.parametrize(
    ("status", "read_as", "severity"),
    [
        ("final", "final", None),
        ("amended", "amended", None),
        ("corrected", "corrected", None),
        ("preliminary", "preliminary", None),
        ("entered-in-error", None, "info"),
        ("cancelled", None, "info"),
        ("registered", None, "info"),
        ("unknown", None, "warning"),
    ],
)
def test_statuses(status: str, read_as: str | None, severity: str | None) -> None:
    resource = observation("st", "29463-7", quantity(70, "kg"), status=status)
    results, issues = _one(resource)
    assert [r.status for r in results] == ([read_as] if read_as else [])
    assert [i.severity for i in issues] == ([severity] if severity else [])
    if severity:
        assert issues[0].kind == "ignored" and issues[0].resource == "Observation/st"


def test_data_absent_reason_is_a_missing_value_never_a_zero() -> None:
    absent = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "asked-declined",
                "display": "Asked But Declined",
            }
        ]
    }
    results, issues = _one(observation("da", "29463-7", None, dataAbsentReason=absent))
    assert results == [] and issues[0].kind == "missing" and "not a zero" in issues[0].message
    panel = bp_panel("bp3", 130, 85)
    del panel["component"][1]["valueQuantity"]
    panel["component"][1]["dataAbsentReason"] = absent
    results, issues = _one(panel)
    assert [r.analyte_id for r in results] == ["sbp"] and issues[0].kind == "missing"


def test_a_comparator_is_a_bound_not_a_value() -> None:
    resource = observation(
        "anc",
        "751-8",
        {
            "value": 0.1,
            "comparator": "<",
            "unit": "10^9/L",
            "system": "http://unitsofmeasure.org",
            "code": "10*9/L",
        },
    )
    results, issues = _one(resource)
    assert results == [] and issues[0].severity == "warning" and "<0.1" in issues[0].message


def test_a_string_value_for_a_quantity_is_an_invalid_resource() -> None:
    resource = observation("sv", "29463-7", {"value": "70", "unit": "kg"})
    result = read(resource)
    assert result.record.observations == []
    assert result.issues[0].kind == "invalid" and "valueQuantity.value" in result.issues[0].message


@pytest.mark.parametrize(
    ("answer", "coded"),
    [
        ("449868002", "current"),
        ("428041000124106", "current"),
        ("428071000124103", "current"),
        ("428061000124105", "current"),
        ("8517006", "former"),
        ("266919005", "never"),
        ("77176002", None),
        ("266927001", None),
        ("394871007", None),
    ],
)
def test_smoking_status_answers(answer: str, coded: str | None) -> None:
    resource = observation(
        "sm",
        "72166-2",
        None,
        valueCodeableConcept={"coding": [{"system": SNOMED, "code": answer}], "text": "smoking"},
    )
    results, issues = _one(resource)
    assert [r.coded for r in results] == ([coded] if coded else [])
    if coded is None:
        assert issues[0].kind == "missing" and "smoking" in issues[0].message


def test_unknown_codes_are_reported_once_per_code_naming_the_resources() -> None:
    sodium = [
        observation(
            f"na{i}",
            [{"system": LOINC, "code": "2951-2", "display": "Sodium"}],
            quantity(140, "mmol/L"),
        )
        for i in range(7)
    ]
    local = observation(
        "loc", [{"system": "http://acme.example.org/lab", "code": "XYZ"}], quantity(1, "1")
    )
    result = read(*sodium, local)
    assert result.record.observations == []
    by_code = {i.field: i for i in result.issues}
    assert (
        "7 Observation(s)" in by_code["2951-2"].message
        and "Observation/na0" in by_code["2951-2"].message
    )
    assert "and 2 more" in by_code["2951-2"].message and by_code["2951-2"].severity == "info"
    assert by_code["XYZ"].resource == "Observation/loc"


def test_results_dated_before_birth_are_invalid() -> None:
    result = read(observation("old", "29463-7", quantity(3, "kg"), when="1979-01-01"))
    assert result.record.observations == [] and "before the birth date" in result.issues[0].message


def test_entries_dated_before_birth_are_named_conditions_then_medications_then_results() -> None:
    """The birth-date check of every kind of entry: its own date field, the order of its
    issues (conditions, medications, results, whatever the order in the Bundle), the entries
    dated after birth kept, and under on_invalid="raise" the first one refused."""
    resources = [
        observation("old", "29463-7", quantity(3, "kg"), when="1979-01-01"),
        observation("new", "29463-7", quantity(70, "kg"), when="2020-01-01"),
        request("rx-old", authoredOn="1979-05-01"),
        request("rx-new"),
        condition("dx-old", [{"system": ICD10, "code": "F20.0"}], onsetDateTime="1979-02-01"),
        condition("dx-new", [{"system": ICD10, "code": "F20.0"}]),
    ]
    result = read(*resources)
    before = [i for i in result.issues if "before the birth date" in i.message]
    assert [(i.resource, i.field) for i in before] == [
        ("Condition/dx-old", "onset"),
        ("MedicationRequest/rx-old", "start"),
        ("Observation/old", "date"),
    ]
    assert before[0].message == (
        "Condition/dx-old was skipped: onset 1979-02-01 is before the birth date 1980-04-02"
    )
    record = result.record
    assert [c.id for c in record.conditions] == ["Condition/dx-new"]
    assert [m.id for m in record.medications] == ["MedicationRequest/rx-new"]
    assert [o.id for o in record.observations] == ["Observation/new"]
    with pytest.raises(RecordError, match="Condition/dx-old: onset 1979-02-01 is before"):
        read(*resources, on_invalid="raise")


def test_one_invalid_resource_does_not_cost_the_others() -> None:
    good = [observation(f"w{i}", "29463-7", quantity(70 + i, "kg")) for i in range(5)]
    bad = observation("bad", "29463-7", quantity(7000, "kg"))
    result = read(*good[:2], bad, *good[2:])
    assert [o.id for o in result.record.observations] == [f"Observation/w{i}" for i in range(5)]
    assert [i.resource for i in result.issues] == ["Observation/bad"]


def test_observations_contained_in_a_diagnostic_report_are_read() -> None:
    hba1c = observation("a1c", "4548-4", quantity(6.1, "%"))
    del hba1c["subject"]
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": {"text": "HbA1c"},
        "subject": {"reference": "Patient/p1"},
        "contained": [hba1c],
        "result": [{"reference": "#a1c"}],
    }
    validate_r4b(report)
    result = read(report)
    assert [(o.id, o.analyte_id) for o in result.record.observations] == [
        ("DiagnosticReport/dr1#a1c", "hba1c")
    ]
    assert "contain are read" in result.issues[0].message
