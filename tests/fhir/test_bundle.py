"""FHIR input shapes: Bundle types, resource lists, NDJSON, references, duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cvrisk
from cvrisk.errors import RecordError
from cvrisk.fhir import read_fhir
from cvrisk.sources import read_record
from tests.fhir.helpers import bundle, observation, patient, quantity, request, validate_r4b

WEIGHT = observation("w1", "29463-7", quantity(80, "kg"))


@pytest.mark.parametrize("kind", ["collection", "searchset", "document", "message"])
def test_every_readable_bundle_type_is_read(kind: str) -> None:
    result = read_fhir(bundle(patient(), WEIGHT, kind=kind), on_invalid="raise", strict=False)
    assert [o.id for o in result.record.observations] == ["Observation/w1"]
    assert result.kind == "fhir-bundle"


def test_transaction_entries_with_requests() -> None:
    """PUT entries without resource.id take the id of their URL; POST entries are named by
    their fullUrl (urn:uuid), which references resolve; GET, DELETE and PATCH are issues."""
    data: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9d1f1b6e-8d1a-4c36-9f3c-6f0c2b6a1a01",
                "resource": {k: v for k, v in patient().items() if k != "id"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {k: v for k, v in WEIGHT.items() if k != "id"}
                | {"subject": {"reference": "urn:uuid:9d1f1b6e-8d1a-4c36-9f3c-6f0c2b6a1a01"}},
                "request": {"method": "PUT", "url": "Observation/w-put"},
            },
            {
                "fullUrl": "urn:uuid:5b8b3a34-4c1e-4f2d-8f0e-1a2b3c4d5e6f",
                "resource": request(
                    "ignored-id",
                    subject={"reference": "urn:uuid:9d1f1b6e-8d1a-4c36-9f3c-6f0c2b6a1a01"},
                ),
                "request": {"method": "POST", "url": "MedicationRequest"},
            },
            {"request": {"method": "GET", "url": "Observation?code=4548-4"}},
            {"request": {"method": "DELETE", "url": "Observation/old"}},
            {
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/json-patch+json",
                },
                "request": {"method": "PATCH", "url": "Observation/w1"},
            },
        ],
    }
    validate_r4b(data)
    result = read_fhir(data, on_invalid="raise", strict=False)
    assert result.record.patient.id == "urn:uuid:9d1f1b6e-8d1a-4c36-9f3c-6f0c2b6a1a01"
    assert [o.id for o in result.record.observations] == ["Observation/w-put"]
    assert [m.id for m in result.record.medications] == ["MedicationRequest/ignored-id"]
    texts = " | ".join(i.message for i in result.issues)
    assert "GET Observation?code=4548-4" in texts and "DELETE Observation/old" in texts
    patch = [i for i in result.issues if "PATCH" in i.message]
    assert patch and patch[0].severity == "warning"


def test_batch_bundle() -> None:
    data = bundle(patient(), WEIGHT, kind="batch")
    for entry in data["entry"]:
        entry["request"] = {
            "method": "PUT",
            "url": f"{entry['resource']['resourceType']}/{entry['resource']['id']}",
        }
    validate_r4b(data)
    assert len(read_fhir(data, on_invalid="raise", strict=False).record.observations) == 1


@pytest.mark.parametrize("kind", ["history", "transaction-response", "batch-response"])
def test_bundles_that_are_not_a_record_are_refused(kind: str) -> None:
    with pytest.raises(RecordError, match=kind):
        read_fhir(bundle(patient(), WEIGHT, kind=kind), on_invalid="raise", strict=False)


def test_a_searchset_page_says_the_rest_was_not_read() -> None:
    data = bundle(
        patient(),
        WEIGHT,
        kind="searchset",
        link=[
            {"relation": "self", "url": "https://ehr.example.org/fhir/Observation?patient=p1"},
            {
                "relation": "next",
                "url": "https://ehr.example.org/fhir/Observation?patient=p1&page=2",
            },
        ],
    )
    for entry in data["entry"]:
        entry["search"] = {"mode": "match"}
    data["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "warning",
                        "code": "incomplete",
                        "diagnostics": "some results were suppressed",
                    }
                ],
            },
            "search": {"mode": "outcome"},
        }
    )
    validate_r4b(data)
    result = read_fhir(data, on_invalid="raise", strict=False)
    paging = [i for i in result.issues if "next" in i.message]
    assert paging and paging[0].severity == "warning" and paging[0].kind == "missing"
    assert any("some results were suppressed" in i.message for i in result.issues)


def test_a_list_of_resources_and_ndjson_read_like_a_bundle(tmp_path: Path) -> None:
    resources = [patient(), WEIGHT, request("m1")]
    from_bundle = read_fhir(bundle(*resources), on_invalid="raise", strict=False).record
    assert read_record(resources).record == from_bundle
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    result = read_record(path)
    assert result.record == from_bundle and result.kind == "fhir-resources"
    # the CLI reads the same file
    report = cvrisk.evaluate(path, as_of="2024-06-01")
    assert report.patient_id == "Patient/p1"


def test_nested_bundles_are_read() -> None:
    inner = bundle(WEIGHT)
    inner["id"] = "labs"
    data = bundle(patient(), inner)
    result = read_fhir(data, on_invalid="raise", strict=False)
    assert [o.id for o in result.record.observations] == ["Observation/w1"]


def test_duplicates_are_read_once_and_said() -> None:
    changed = observation("w1", "29463-7", quantity(81, "kg"))
    result = read_fhir(bundle(patient(), WEIGHT, WEIGHT, changed), on_invalid="raise", strict=False)
    assert [o.value for o in result.record.observations] == [80]
    kinds = sorted((i.kind, i.severity) for i in result.issues if i.resource == "Observation/w1")
    assert kinds == [("conflict", "warning"), ("ignored", "info")]


def test_unreadable_entries_are_warnings_naming_their_place() -> None:
    data = bundle(patient(), WEIGHT)
    data["entry"] += [{"fullUrl": "urn:uuid:x"}, "not an object", {"resource": {"id": "x"}}]
    result = read_fhir(data, on_invalid="raise", strict=False)
    unreadable = [i for i in result.issues if i.kind == "unreadable"]
    assert len(unreadable) == 3 and all(i.severity == "warning" for i in unreadable)
    assert {i.field for i in unreadable} == {
        "Bundle.entry[2]",
        "Bundle.entry[3]",
        "Bundle.entry[4]",
    }


def test_unsupported_types_are_listed_once_per_type_with_their_count() -> None:
    encounters = [
        {"resourceType": "Encounter", "id": f"e{i}", "status": "finished", "class": {"code": "AMB"}}
        for i in range(3)
    ]
    result = read_fhir(
        bundle(
            patient(),
            *encounters,
            {
                "resourceType": "Procedure",
                "id": "pr1",
                "status": "completed",
                "subject": {"reference": "Patient/p1"},
            },
        ),
        on_invalid="raise",
        strict=False,
    )
    listed = {i.field: i.message for i in result.issues if i.kind == "ignored"}
    assert listed["Encounter"].startswith("3 Encounter") and listed["Procedure"].startswith(
        "1 Procedure"
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([WEIGHT], "no Patient"),
        (bundle(patient(), patient(id="p2")), "2 Patient resources"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "no resource"),
        (patient(gender="unknown"), "gender is 'unknown'"),
        (patient(birthDate=None), "no birthDate"),
        (patient(birthDate="02/04/1980"), "birthDate"),
        (patient(birthDate=19800402), "birthDate"),
    ],
)
def test_no_usable_patient_is_an_error_even_when_lenient(data: Any, match: str) -> None:
    if (
        isinstance(data, dict)
        and data.get("resourceType") == "Patient"
        and data.get("birthDate") is None
    ):
        data = {k: v for k, v in data.items() if k != "birthDate"}
    with pytest.raises(RecordError, match=match):
        read_fhir(data, on_invalid="report", strict=False)


def test_a_resource_about_another_patient_is_not_read() -> None:
    other = observation("w9", "29463-7", quantity(60, "kg"), subject={"reference": "Patient/p2"})
    absolute = observation(
        "w8",
        "29463-7",
        quantity(61, "kg"),
        subject={"reference": "https://ehr.example.org/fhir/Patient/p1/_history/3"},
    )
    result = read_fhir(bundle(patient(), other, absolute), on_invalid="raise", strict=False)
    assert [o.id for o in result.record.observations] == ["Observation/w8"]
    issue = next(i for i in result.issues if i.resource == "Observation/w9")
    assert issue.severity == "warning" and "Patient/p2" in issue.message
