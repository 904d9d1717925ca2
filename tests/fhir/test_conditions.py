"""Condition resources: code systems, clinical and verification status, onset and abatement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import cvrisk
from tests.fhir.helpers import (
    ICD10,
    ICD10CM,
    SNOMED,
    bundle,
    condition,
    patient,
    read,
    request,
    status,
    validate_r4b,
)


def _one(resource: dict[str, Any]) -> Any:
    validate_r4b(resource)
    return read(resource)


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([{"system": ICD10, "code": "F20.0"}], ("icd10", "F20.0")),
        ([{"system": ICD10CM, "code": "E11.9"}], ("icd10", "E11.9")),
        (
            [{"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}],
            ("snomed", "44054006"),
        ),
    ],
)
def test_code_systems(codings: list[dict[str, Any]], expected: tuple[str, str]) -> None:
    result = _one(condition("c", codings))
    (entry,) = result.record.conditions
    assert (entry.system, entry.code, entry.id) == (*expected, "Condition/c")
    assert entry.onset == dt.date(2015, 6, 1) and entry.abatement is None


def test_codings_of_different_condition_sets_each_count() -> None:
    codings = [
        {"system": ICD10, "code": "E11.9"},
        {"system": SNOMED, "code": "49436004"},
        {"system": SNOMED, "code": "44054006"},
    ]
    result = _one(condition("c", codings))
    assert sorted(c.code for c in result.record.conditions) == ["49436004", "E11.9"]


def test_a_condition_in_no_supported_system_is_a_warning() -> None:
    result = _one(
        condition("c9", [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "250.00"}])
    )
    assert result.record.conditions == []
    assert result.issues[0].severity == "warning" and "ICD-10" in result.issues[0].message


@pytest.mark.parametrize(
    ("verification", "counted"),
    [
        ("confirmed", True),
        (None, True),
        ("provisional", False),
        ("differential", False),
        ("unconfirmed", False),
        ("refuted", False),
        ("entered-in-error", False),
    ],
)
def test_verification_status(verification: str | None, counted: bool) -> None:
    fields: dict[str, Any] = {
        "verificationStatus": status("condition-ver-status", verification) if verification else None
    }
    result = _one(condition("v", [{"system": ICD10, "code": "E11.9"}], **fields))
    assert bool(result.record.conditions) == counted
    assert bool(result.issues) != counted


@pytest.mark.parametrize(
    ("fields", "abatement", "assumed"),
    [
        (
            {
                "clinicalStatus": status("condition-clinical", "resolved"),
                "abatementDateTime": "2020-02-01",
            },
            dt.date(2020, 2, 1),
            False,
        ),
        (
            {
                "clinicalStatus": status("condition-clinical", "remission"),
                "abatementPeriod": {"start": "2020-01-01", "end": "2020-03-01"},
            },
            dt.date(2020, 3, 1),
            False,
        ),
        ({"clinicalStatus": status("condition-clinical", "inactive")}, dt.date(2015, 6, 1), True),
        (
            {
                "clinicalStatus": status("condition-clinical", "inactive"),
                "onsetDateTime": None,
                "recordedDate": "2019-09-09",
            },
            dt.date(2019, 9, 9),
            True,
        ),
        ({"clinicalStatus": None, "abatementDateTime": "2021-05-05"}, dt.date(2021, 5, 5), False),
        (
            {
                "clinicalStatus": status("condition-clinical", "recurrence"),
                "abatementDateTime": "2018-01-01",
            },
            None,
            True,
        ),
        (
            {
                "clinicalStatus": status("condition-clinical", "active"),
                "abatementAge": {
                    "value": 40,
                    "unit": "a",
                    "system": "http://unitsofmeasure.org",
                    "code": "a",
                },
            },
            None,
            True,
        ),
    ],
)
def test_clinical_status_and_abatement(
    fields: dict[str, Any], abatement: dt.date | None, assumed: bool
) -> None:
    result = _one(condition("a", [{"system": ICD10, "code": "E11.9"}], **fields))
    assert [c.abatement for c in result.record.conditions] == [abatement]
    assert any(i.kind == "assumed" for i in result.issues) == assumed


def test_an_abated_diagnosis_that_cannot_be_placed_is_left_out() -> None:
    resource = condition(
        "z",
        [{"system": ICD10, "code": "E11.9"}],
        onsetDateTime=None,
        clinicalStatus=status("condition-clinical", "resolved"),
    )
    result = _one(resource)
    assert result.record.conditions == [] and result.issues[0].severity == "warning"


@pytest.mark.parametrize(
    ("fields", "onset", "issue"),
    [
        ({"onsetPeriod": {"start": "2012-04-01", "end": "2012-06-01"}}, dt.date(2012, 4, 1), None),
        (
            {
                "onsetAge": {
                    "value": 30,
                    "unit": "years",
                    "system": "http://unitsofmeasure.org",
                    "code": "a",
                }
            },
            dt.date(2010, 4, 2),
            "assumed",
        ),
        ({"onsetString": "in her twenties"}, None, "missing"),
        (
            {
                "onsetRange": {
                    "low": {"value": 20, "code": "a", "system": "http://unitsofmeasure.org"},
                    "high": {"value": 25, "code": "a", "system": "http://unitsofmeasure.org"},
                }
            },
            None,
            "missing",
        ),
        ({"onsetDateTime": "2014"}, dt.date(2014, 7, 1), "assumed"),
    ],
)
def test_onset_forms(fields: dict[str, Any], onset: dt.date | None, issue: str | None) -> None:
    result = _one(
        condition("o", [{"system": ICD10, "code": "F20.0"}], **{"onsetDateTime": None, **fields})
    )
    assert [c.onset for c in result.record.conditions] == [onset]
    assert [i.kind for i in result.issues] == ([issue] if issue else [])


def test_abatement_before_onset_is_invalid_as_in_native_records() -> None:
    resource = condition(
        "bad",
        [{"system": ICD10, "code": "E11.9"}],
        clinicalStatus=status("condition-clinical", "resolved"),
        abatementDateTime="2010-01-01",
    )
    result = _one(resource)
    assert result.record.conditions == [] and result.issues[0].kind == "invalid"
    assert "abatement 2010-01-01 is before onset" in result.issues[0].message


def test_a_resolved_diabetes_does_not_silence_the_glucose_alerts() -> None:
    """Protocol filters read current diagnoses: a resolved diabetes is history only."""
    resolved = condition(
        "dm",
        [{"system": ICD10, "code": "E11.9"}],
        onsetDateTime="2015-01-01",
        clinicalStatus=status("condition-clinical", "resolved"),
        abatementDateTime="2019-01-01",
    )
    active = condition("dm", [{"system": ICD10, "code": "E11.9"}], onsetDateTime="2015-01-01")
    glucose = {
        "resourceType": "Observation",
        "id": "g",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1558-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01",
        "valueQuantity": {
            "value": 6.2,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
    }

    def codes(diagnosis: dict[str, Any]) -> set[str]:
        report = cvrisk.evaluate(
            bundle(patient(), request("m1"), glucose, diagnosis),
            as_of="2024-06-01",
            protocols=["nice-cg178"],
        )
        return {a.code for a in report.alerts}

    assert "nice-cg178/fpg-high-risk" in codes(resolved)
    assert "nice-cg178/fpg-high-risk" not in codes(active)
