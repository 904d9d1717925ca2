"""Write a native cvrisk record as the FHIR R4 Bundle an EHR would send (bench and examples).

Used by ``bench/fhir_bench.py`` (a 500-resource Bundle) and to write the FHIR twins of the
native examples (``examples/*.fhir.json``). The shapes are the ones EHRs send: Patient with a
UK Core or US Core ethnicity extension, identifiers and a name; blood pressure as the
85354-9 panel with 8480-6/8462-4 components; LOINC codings with displays; UCUM quantities
with a display unit; date-times with a time and offset; smoking status 72166-2 with a
SNOMED CT answer; Conditions with ICD-10 and SNOMED CT codings and clinical/verification
status; MedicationRequests with ATC and RxNorm codings, dosage bounds, route and dose.

    python bench/fhir_bundles.py examples/patient.json --ethnicity uk > examples/patient.fhir.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cvrisk import vocab

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UK_ETHNICITY = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
UK_ETHNICITY_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
US_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"

#: display units an EHR shows next to the UCUM code
DISPLAY = {"mm[Hg]": "mmHg", "10*9/L": "10^9/L", "/min": "beats/min", "kg/m2": "kg/m2"}
#: the cvrisk ethnicity -> an NHS ethnic category code of England (cvrisk/data/fhir_codes.toml)
UK_CODES = {
    "white": ("A", "White - British"),
    "indian": ("H", "Asian or Asian British - Indian"),
    "pakistani": ("J", "Asian or Asian British - Pakistani"),
    "bangladeshi": ("K", "Asian or Asian British - Bangladeshi"),
    "black_caribbean": ("M", "Black or Black British - Caribbean"),
    "black_african": ("N", "Black or Black British - African"),
    "chinese": ("R", "Other Ethnic Groups - Chinese"),
    "other": ("S", "Other Ethnic Groups - Any other ethnic group"),
}
US_RACE_CODES = {"white": ("2106-3", "White"), "black": ("2054-5", "Black or African American")}
#: SNOMED CT codes of the diagnoses the examples use (conditions.toml, confirmed ids)
CONDITION_SNOMED = {
    "F20": ("58214004", "Schizophrenia"),
    "F25": ("68890003", "Schizoaffective disorder"),
    "F31": ("13746004", "Bipolar disorder"),
    "E11": ("44054006", "Diabetes mellitus type 2"),
}
ROUTES = {"oral": ("26643006", "Oral route"), "depot": ("78421000", "Intramuscular route")}
SMOKING = {
    "never": ("266919005", "Never smoker"),
    "former": ("8517006", "Former smoker"),
    "current": ("449868002", "Current every day smoker"),
}


def _reference(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _when(day: str, index: int) -> str:
    """A date-time on the day, as EHRs send them (a time and an offset)."""
    if "T" in day:
        return day
    return f"{day}T{8 + index % 9:02d}:{(index * 7) % 60:02d}:00+00:00"


def patient(native: dict[str, Any], ethnicity: str | None) -> dict[str, Any]:
    person = native["patient"]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person["id"],
        "meta": {"lastUpdated": "2025-05-01T10:00:00Z"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
        "name": [{"use": "official", "family": "Example", "given": ["Sam"]}],
        "gender": person["sex"],
        "birthDate": person["birth_date"],
    }
    group = person.get("ethnicity")
    if ethnicity == "uk" and group in UK_CODES:
        code, display = UK_CODES[group]
        resource["extension"] = [
            {
                "url": UK_ETHNICITY,
                "valueCodeableConcept": {
                    "coding": [{"system": UK_ETHNICITY_CS, "code": code, "display": display}]
                },
            }
        ]
    elif ethnicity == "us" and person.get("race") in US_RACE_CODES:
        code, display = US_RACE_CODES[person["race"]]
        resource["extension"] = [
            {
                "url": US_RACE,
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": CDC_RACE, "code": code, "display": display},
                    },
                    {"url": "text", "valueString": display},
                ],
            }
        ]
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": DISPLAY.get(unit, unit), "system": UCUM, "code": unit}


def _loinc(analyte: str) -> dict[str, Any]:
    entry = vocab.analyte(analyte)
    return {
        "coding": [{"system": LOINC, "code": entry.loinc[0], "display": entry.label["en"]}],
        "text": entry.label["en"],
    }


def observations(native: dict[str, Any]) -> list[dict[str, Any]]:
    """One Observation per result; systolic and diastolic of a day as one 85354-9 panel."""
    pid = native["patient"]["id"]
    out: list[dict[str, Any]] = []
    by_day: dict[str, dict[str, dict[str, Any]]] = {}
    for obs in native.get("observations", []):
        if obs.get("analyte") in ("sbp", "dbp"):
            by_day.setdefault(obs["date"], {})[obs["analyte"]] = obs
    panels_done: set[str] = set()
    for index, obs in enumerate(native.get("observations", [])):
        analyte = obs["analyte"]
        base: dict[str, Any] = {
            "resourceType": "Observation",
            "status": obs.get("status", "final"),
            "subject": _reference(pid),
            "effectiveDateTime": _when(obs["date"], index),
        }
        if analyte in ("sbp", "dbp") and set(by_day.get(obs["date"], {})) == {"sbp", "dbp"}:
            if obs["date"] in panels_done:
                continue
            panels_done.add(obs["date"])
            pair = by_day[obs["date"]]
            base.update(
                id=f"bp-{len(out) + 1}",
                category=[_category("vital-signs")],
                code={
                    "coding": [
                        {
                            "system": LOINC,
                            "code": "85354-9",
                            "display": "Blood pressure panel with all children optional",
                        }
                    ],
                    "text": "Blood pressure",
                },
                component=[
                    {
                        "code": _loinc(a),
                        "valueQuantity": _quantity(pair[a]["value"], pair[a]["unit"]),
                    }
                    for a in ("sbp", "dbp")
                ],
            )
            out.append(base)
            continue
        base["id"] = f"{analyte.replace('_', '-')}-{len(out) + 1}"
        base["code"] = _loinc(analyte)
        if analyte == "smoking_status":
            code, display = SMOKING[obs["coded"]]
            base["category"] = [_category("social-history")]
            base["valueCodeableConcept"] = {
                "coding": [{"system": SNOMED, "code": code, "display": display}],
                "text": display,
            }
        else:
            vital = analyte in ("weight", "height", "bmi", "waist", "sbp", "dbp", "pulse")
            base["category"] = [_category("vital-signs" if vital else "laboratory")]
            base["valueQuantity"] = _quantity(obs["value"], obs["unit"])
            if not vital:
                base["issued"] = f"{obs['date'][:10]}T17:30:00+00:00"
        out.append(base)
    return out


def _category(code: str) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": code,
            }
        ]
    }


def conditions(native: dict[str, Any]) -> list[dict[str, Any]]:
    pid = native["patient"]["id"]
    out = []
    for index, condition in enumerate(native.get("conditions", [])):
        code = condition["code"]
        coding = [{"system": ICD10, "code": code}]
        snomed = CONDITION_SNOMED.get(code.replace(".", "")[:3])
        if snomed is not None:
            coding.append({"system": SNOMED, "code": snomed[0], "display": snomed[1]})
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": f"condition-{index + 1}",
            "clinicalStatus": _status(
                "condition-clinical", "resolved" if condition.get("abatement") else "active"
            ),
            "verificationStatus": _status("condition-ver-status", "confirmed"),
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": {"coding": coding, "text": snomed[1] if snomed else code},
            "subject": _reference(pid),
        }
        if condition.get("onset"):
            resource["onsetDateTime"] = condition["onset"]
        if condition.get("abatement"):
            resource["abatementDateTime"] = condition["abatement"]
        out.append(resource)
    return out


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


def medications(native: dict[str, Any]) -> list[dict[str, Any]]:
    pid = native["patient"]["id"]
    out = []
    catalogue = vocab.antipsychotics()
    for index, med in enumerate(native.get("medications", [])):
        drug = med["drug"]
        entry = catalogue[drug]
        coding = [{"system": ATC, "code": entry["atc"], "display": entry["label"]["en"]}]
        if entry.get("rxnorm"):
            coding.append({"system": RXNORM, "code": entry["rxnorm"], "display": drug})
        bounds = {"start": med["start"]}
        if med.get("stop"):
            bounds["end"] = med["stop"]
        dosage: dict[str, Any] = {
            "text": f"{med['dose']['value']:g} {med['dose']['unit']} daily"
            if med.get("dose")
            else "as directed",
            "timing": {
                "repeat": {"boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "d"}
            },
        }
        if med.get("route") in ROUTES:
            code, display = ROUTES[med["route"]]
            dosage["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
        if med.get("dose"):
            dosage["doseAndRate"] = [
                {"doseQuantity": _quantity(med["dose"]["value"], med["dose"]["unit"])}
            ]
        out.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"medicationrequest-{index + 1}",
                "status": "completed" if med.get("stop") else "active",
                "intent": "order",
                "medicationCodeableConcept": {"coding": coding, "text": entry["label"]["en"]},
                "subject": _reference(pid),
                "authoredOn": med["start"],
                "dosageInstruction": [dosage],
            }
        )
    return out


def bundle(
    native: dict[str, Any],
    *,
    ethnicity: str | None,
    bundle_type: str = "collection",
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The FHIR Bundle of a native record (``ethnicity``: ``uk``, ``us`` or None)."""
    resources = [
        patient(native, ethnicity),
        *conditions(native),
        *medications(native),
        *observations(native),
        *(extra or []),
    ]
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": f"https://ehr.example.org/fhir/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
        }
        if bundle_type in ("transaction", "batch"):
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": f"{native['patient']['id']}-record",
        "type": bundle_type,
        "entry": entries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("record", help="native record JSON")
    parser.add_argument("--ethnicity", choices=("uk", "us"), default=None)
    parser.add_argument("--type", default="collection")
    args = parser.parse_args()
    with open(args.record, encoding="utf-8") as handle:
        native = json.load(handle)
    json.dump(
        bundle(native, ethnicity=args.ethnicity, bundle_type=args.type),
        sys.stdout,
        indent=1,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
