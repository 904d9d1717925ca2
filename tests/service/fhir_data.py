"""The bundled example record (examples/patient.json) as FHIR R4 resources, as an EHR would
send them: Patient, Condition (ICD-10), MedicationRequests (RxNorm ingredient codes, bounds
periods), Observations (LOINC, UCUM), smoking status (SNOMED CT answer)."""

from __future__ import annotations

import json
from typing import Any

from cvrisk import vocab
from tests.service.support import REPO

PATIENT_ID = "example-1"
SMOKING_ANSWERS = {"current": "449868002", "former": "8517006", "never": "266919005"}


def _reference() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT_ID}"}


def example_resources() -> list[dict[str, Any]]:
    native = json.loads((REPO / "examples" / "patient.json").read_text())
    person = native["patient"]
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": PATIENT_ID,
            "gender": person["sex"],
            "birthDate": person["birth_date"],
        }
    ]
    for index, condition in enumerate(native["conditions"]):
        out.append(
            {
                "resourceType": "Condition",
                "id": f"cond-{index}",
                "subject": _reference(),
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/sid/icd-10", "code": condition["code"]}
                    ]
                },
                "onsetDateTime": condition["onset"],
            }
        )
    for index, medication in enumerate(native["medications"]):
        drug = vocab.antipsychotics()[medication["drug"]]
        bounds = {"start": medication["start"]}
        if medication.get("stop"):
            bounds["end"] = medication["stop"]
        out.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"med-{index}",
                "status": "stopped" if medication.get("stop") else "active",
                "intent": "order",
                "subject": _reference(),
                "authoredOn": medication["start"],
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": str(drug["rxnorm"]),
                            "display": drug["label"]["en"],
                        }
                    ],
                    "text": drug["label"]["en"],
                },
                "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bounds}}}],
            }
        )
    for index, obs in enumerate(native["observations"]):
        analyte = vocab.analyte(obs["analyte"])
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"obs-{index}",
            "status": "final",
            "subject": _reference(),
            "code": {"coding": [{"system": "http://loinc.org", "code": analyte.loinc[0]}]},
            "effectiveDateTime": obs["date"],
        }
        if "coded" in obs:
            code = SMOKING_ANSWERS[obs["coded"]]
            resource["valueCodeableConcept"] = {
                "coding": [{"system": "http://snomed.info/sct", "code": code}]
            }
        else:
            resource["valueQuantity"] = {
                "value": obs["value"],
                "unit": obs["unit"],
                "system": "http://unitsofmeasure.org",
                "code": obs["unit"],
            }
        out.append(resource)
    return out


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Every prefetch key of the cvrisk services, filled as the EHR would."""

    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in resources if r["resourceType"] == kind]

    return {
        "patient": of("Patient")[0],
        "conditions": searchset(of("Condition")),
        "medicationRequests": searchset(of("MedicationRequest")),
        "medicationStatements": None,
        "observations": searchset(of("Observation")),
    }


def draft_order(
    rxnorm: str,
    text: str,
    *,
    order_id: str = "draft-1",
    patient: str = PATIENT_ID,
    start: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": rxnorm,
                    "display": text,
                }
            ],
            "text": text,
        },
    }
    if start:
        resource["authoredOn"] = start
    return resource
