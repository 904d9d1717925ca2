"""Properties of FHIR reading: nothing vanishes silently, and odd input never crashes."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvrisk.errors import CvriskError
from cvrisk.fhir import read_fhir
from tests.fhir.helpers import (
    ICD10,
    RXNORM,
    SNOMED,
    bp_panel,
    bundle,
    condition,
    drug,
    observation,
    patient,
    quantity,
    request,
    status,
)

OBSERVATIONS = [
    lambda i: observation(i, "29463-7", quantity(70, "kg")),
    lambda i: observation(i, "29463-7", quantity(70000, "kg")),  # implausible
    lambda i: observation(i, "2093-3", quantity(5.2, "mmol/L"), status="entered-in-error"),
    lambda i: observation(i, "2951-2", quantity(140, "mmol/L")),  # not an analyte
    lambda i: observation(i, "4548-4", {"value": 48, "comparator": ">", "code": "mmol/mol"}),
    lambda i: observation(i, "751-8", None, dataAbsentReason={"text": "specimen haemolysed"}),
    lambda i: observation(i, "29463-7", quantity(70, "kg"), when=""),
    lambda i: observation(
        i,
        "72166-2",
        None,
        valueCodeableConcept={"coding": [{"system": SNOMED, "code": "77176002"}]},
    ),
    lambda i: bp_panel(i, 130, 85),
    lambda i: observation(i, "29463-7", quantity(70, "kg"), subject={"reference": "Patient/zz"}),
    lambda i: observation(i, "29463-7", {"value": "70", "unit": "kg"}),  # wrong JSON type
]
CONDITIONS = [
    lambda i: condition(i, [{"system": ICD10, "code": "F20.0"}]),
    lambda i: condition(
        i,
        [{"system": ICD10, "code": "E11.9"}],
        verificationStatus=status("condition-ver-status", "refuted"),
    ),
    lambda i: condition(i, [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "295.3"}]),
    lambda i: condition(
        i,
        [{"system": SNOMED, "code": "44054006"}],
        onsetDateTime=None,
        clinicalStatus=status("condition-clinical", "resolved"),
    ),
]
MEDICATIONS = [
    lambda i: request(i),
    lambda i: request(i, status="cancelled"),
    lambda i: request(i, intent="plan"),
    lambda i: request(i, authoredOn=None, dosageInstruction=None),
    lambda i: request(i, drug("12345", RXNORM, text="unknown tablets")),
    lambda i: request(
        i,
        None,
        medicationCodeableConcept=None,
        medicationReference={"reference": "Medication/nowhere"},
    ),
    lambda i: {
        "resourceType": "MedicationDispense",
        "id": i,
        "status": "completed",
        "medicationCodeableConcept": drug("N05AH04"),
        "whenHandedOver": "2024-02-02",
    },
    lambda i: {
        "resourceType": "MedicationAdministration",
        "id": i,
        "status": "completed",
        "medicationCodeableConcept": drug("N05AX12"),
        "effectiveDateTime": "2024-02-02",
    },
    lambda i: {"resourceType": "Medication", "id": i, "code": drug("N05AH03")},
    lambda i: {
        "resourceType": "Encounter",
        "id": i,
        "status": "finished",
        "class": {"code": "AMB"},
    },
]
TEMPLATES = OBSERVATIONS + CONDITIONS + MEDICATIONS


def _named(ref: str, kind: str, result: Any) -> bool:
    entries = (*result.record.observations, *result.record.conditions, *result.record.medications)
    if any(e.id == ref for e in entries):
        return True
    return any(
        ref in (i.resource or "").split(", ") or ref in i.message or i.field == kind
        for i in result.issues
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, len(TEMPLATES) - 1), min_size=1, max_size=12))
def test_every_resource_is_used_or_named_by_an_issue(choices: list[int]) -> None:
    resources = [TEMPLATES[c](f"r{n}") for n, c in enumerate(choices)]
    result = read_fhir(bundle(patient(), *resources), on_invalid="report", strict=False)
    for resource in resources:
        ref = f"{resource['resourceType']}/{resource['id']}"
        assert _named(ref, resource["resourceType"], result), ref


#: values that break careless readers: wrong types where FHIR has strings, lists or objects
TRICKY = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        1.5,
        1e308,
        "",
        "x",
        "2024",
        "2024-13-01",
        "2024-02-30T10:00:00Z",
        [],
        [1],
        [None],
        [{}],
        {},
        {"a": 1},
        {"reference": 5},
        {"coding": "x"},
        {"coding": [None]},
    ]
)
JSON_VALUES = TRICKY | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


BASE = bundle(
    patient(),
    bp_panel("bp", 130, 80),
    observation("w", "29463-7", quantity(70, "kg")),
    condition("c", [{"system": ICD10, "code": "F20.0"}]),
    request("m"),
    {
        "resourceType": "MedicationAdministration",
        "id": "a",
        "status": "completed",
        "medicationReference": {"reference": "#x"},
        "contained": [{"resourceType": "Medication", "id": "x", "code": drug("N05AX12")}],
        "effectivePeriod": {"start": "2024-02-02"},
    },
)
PATHS = _paths(BASE)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(PATHS) - 1), JSON_VALUES)
def test_any_element_replaced_by_any_json_value_never_crashes(index: int, value: Any) -> None:
    data = _replace(copy.deepcopy(BASE), PATHS[index], value)
    for on_invalid in ("report", "raise"):
        try:
            result = read_fhir(data, on_invalid=on_invalid, strict=False)  # type: ignore[arg-type]
        except CvriskError:
            continue
        assert result.record.patient.sex in ("male", "female")


def test_every_resource_of_an_unread_code_is_named() -> None:
    """Seven Observations of a code cvrisk does not read: the message names five, the
    issue's resource field all seven (hypothesis found the sixth unnamed)."""
    resources = [TEMPLATES[3](f"r{n}") for n in range(7)]
    result = read_fhir(bundle(patient(), *resources), on_invalid="report", strict=False)
    for resource in resources:
        assert _named(f"Observation/{resource['id']}", "Observation", result), resource["id"]
