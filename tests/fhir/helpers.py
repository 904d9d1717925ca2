"""Real-world-shaped FHIR R4 resources for the tests, and validation with fhir.resources."""

from __future__ import annotations

import copy
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from cvrisk.fhir import read_fhir
from cvrisk.issues import DataIssue
from cvrisk.sources import ReadResult

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UK_ETHNIC = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
UK_ETHNIC_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
US_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
CDC = "urn:oid:2.16.840.1.113883.6.238"
SUBJECT = {"reference": "Patient/p1"}


def validate_r4b(resource: dict[str, Any]) -> None:
    """Raise when ``resource`` is not valid FHIR (fhir.resources R4B models)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(copy.deepcopy(resource))


def patient(**fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
        "name": [{"family": "Example", "given": ["Alex"]}],
        "gender": "male",
        "birthDate": "1980-04-02",
    }
    resource.update(fields)
    return resource


def uk_ethnicity(code: str, system: str = UK_ETHNIC_CS) -> dict[str, Any]:
    return {
        "url": UK_ETHNIC,
        "valueCodeableConcept": {"coding": [{"system": system, "code": code}]},
    }


def us_race(*codes: str, detailed: tuple[str, ...] = (), system: str = CDC) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "ombCategory", "valueCoding": {"system": system, "code": code}} for code in codes
    ]
    parts += [{"url": "detailed", "valueCoding": {"system": CDC, "code": c}} for c in detailed]
    parts.append({"url": "text", "valueString": "as stated"})
    return {"url": US_RACE, "extension": parts}


def us_ethnicity(code: str) -> dict[str, Any]:
    return {
        "url": US_ETHNICITY,
        "extension": [
            {"url": "ombCategory", "valueCoding": {"system": CDC, "code": code}},
            {"url": "text", "valueString": "as stated"},
        ],
    }


def quantity(value: float, code: str, display: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": display or code, "system": UCUM, "code": code}


def observation(
    rid: str,
    loinc: str | list[dict[str, Any]],
    value: dict[str, Any] | None = None,
    *,
    when: str = "2024-03-01T09:30:00+00:00",
    status: str = "final",
    **fields: Any,
) -> dict[str, Any]:
    codings = [{"system": LOINC, "code": loinc}] if isinstance(loinc, str) else loinc
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": codings},
        "subject": SUBJECT,
    }
    if when:
        resource["effectiveDateTime"] = when
    if value is not None:
        resource["valueQuantity"] = value
    resource.update(fields)
    return resource


def bp_panel(rid: str, systolic: float, diastolic: float, **fields: Any) -> dict[str, Any]:
    return observation(
        rid,
        [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}],
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": quantity(systolic, "mm[Hg]", "mmHg"),
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": quantity(diastolic, "mm[Hg]", "mmHg"),
            },
        ],
        **fields,
    )


def condition(rid: str, codings: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": status("condition-clinical", "active"),
        "verificationStatus": status("condition-ver-status", "confirmed"),
        "code": {"coding": codings},
        "subject": SUBJECT,
        "onsetDateTime": "2015-06-01",
    }
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


def drug(code: str = "N05AH03", system: str = ATC, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        concept["text"] = text
    return concept


def request(rid: str, medication: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": medication or drug(),
        "subject": SUBJECT,
        "authoredOn": "2024-01-10",
        "dosageInstruction": [
            {
                "text": "10 mg at night",
                "route": {
                    "coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]
                },
                "doseAndRate": [{"doseQuantity": quantity(10, "mg")}],
            }
        ],
    }
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def bundle(*resources: dict[str, Any], kind: str = "collection", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
            }
            if "id" in r
            else {"resource": r}
            for r in resources
        ],
    }
    out.update(fields)
    return out


def read(*resources: dict[str, Any], on_invalid: str = "report") -> ReadResult:
    """read_fhir of a collection Bundle holding the Patient and ``resources``."""
    return read_fhir(bundle(patient(), *resources), on_invalid=on_invalid)  # type: ignore[arg-type]


def issues_about(result: ReadResult, ref: str) -> list[DataIssue]:
    return [i for i in result.issues if i.resource == ref or (ref in i.message)]
