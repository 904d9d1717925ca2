"""Medication resources: the drug, the course (start, stop), statuses, long-acting injections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import cvrisk
from cvrisk.record import Medication
from tests.fhir.helpers import (
    ATC,
    RXNORM,
    SNOMED,
    SUBJECT,
    bundle,
    drug,
    patient,
    quantity,
    read,
    request,
    validate_r4b,
)

D = dt.date


def _meds(*resources: dict[str, Any]) -> tuple[list[Medication], list[Any]]:
    for resource in resources:
        validate_r4b(resource)
    result = read(*resources)
    return result.record.medications, result.issues


def _course(med: Medication) -> tuple[str | None, dt.date, dt.date | None]:
    return med.ingredient, med.start, med.stop


def test_an_active_order_is_an_ongoing_course_with_dose_and_route() -> None:
    (med,), issues = _meds(request("m1"))
    assert _course(med) == ("olanzapine", D(2024, 1, 10), None)
    assert (med.id, med.code, med.system, med.route) == (
        "MedicationRequest/m1",
        "N05AH03",
        "atc",
        "Oral route",
    )
    assert med.dose is not None and (med.dose.value, med.dose.unit) == (10, "mg")
    assert not issues


def test_bounds_period_gives_the_course() -> None:
    bounded = request(
        "m2",
        status="completed",
        dosageInstruction=[
            {
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2024-01-15", "end": "2024-04-30"},
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                    }
                }
            }
        ],
    )
    (med,), issues = _meds(bounded)
    assert _course(med) == ("olanzapine", D(2024, 1, 15), D(2024, 4, 30)) and not issues
    open_ended = request(
        "m3",
        dosageInstruction=[
            {"timing": {"repeat": {"boundsPeriod": {"start": "2024-01-15", "end": "2024-02-15"}}}},
            {"timing": {"repeat": {"boundsPeriod": {"start": "2024-02-16"}}}},
        ],
    )
    (med,), _ = _meds(open_ended)
    assert _course(med) == ("olanzapine", D(2024, 1, 15), None)


def test_bounds_duration_ends_the_course() -> None:
    """A 28-day course (UK acute prescriptions), or 2 weeks, from the order's start."""

    def duration(value: int, code: str) -> list[dict[str, Any]]:
        quantity = {
            "value": value,
            "unit": code,
            "system": "http://unitsofmeasure.org",
            "code": code,
        }
        return [{"timing": {"repeat": {"boundsDuration": quantity}}}]

    days = request("bd", dosageInstruction=duration(28, "d"))
    weeks = request("bw", authoredOn="2024-02-01", dosageInstruction=duration(2, "wk"))
    meds, issues = _meds(days, weeks)
    assert [(m.start, m.stop) for m in meds] == [
        (D(2024, 1, 10), D(2024, 2, 6)),
        (D(2024, 2, 1), D(2024, 2, 14)),
    ]
    assert not issues


@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_an_ended_order_without_an_end_date_ends_on_its_start(status: str) -> None:
    (med,), issues = _meds(request("m4", status=status, dosageInstruction=None))
    assert _course(med) == ("olanzapine", D(2024, 1, 10), D(2024, 1, 10))
    assert [i.kind for i in issues] == ["assumed"]


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"status": "cancelled"}, "ignored"),
        ({"status": "entered-in-error"}, "ignored"),
        ({"status": "draft"}, "ignored"),
        ({"intent": "plan"}, "ignored"),
        ({"intent": "proposal"}, "ignored"),
        ({"doNotPerform": True}, "ignored"),
        ({"status": "paused"}, "ignored"),
    ],
)
def test_orders_that_are_not_treatment(fields: dict[str, Any], kind: str) -> None:
    resource = request("m5", **fields)
    if fields.get("status") != "paused":
        validate_r4b(resource)
    result = read(resource)
    assert result.record.medications == []
    (issue,) = result.issues
    assert issue.kind == kind and issue.resource == "MedicationRequest/m5"
    assert issue.severity == ("warning" if fields.get("status") == "paused" else "info")


def test_on_hold_and_unknown_are_current_with_an_issue() -> None:
    meds, issues = _meds(request("m6", status="on-hold"), request("m7", status="unknown"))
    assert [m.stop for m in meds] == [None, None]
    assert [i.kind for i in issues] == ["assumed", "assumed"]


def test_a_future_start_is_not_current_and_said() -> None:
    planned = request("m8", authoredOn="2025-07-01")
    (med,), issues = _meds(planned)
    assert med.start == D(2025, 7, 1) and not issues
    report = cvrisk.evaluate(bundle(patient(), planned), as_of="2025-06-01")
    assert report.protocols == []
    (said,) = [i for i in report.data_issues if i.resource == "MedicationRequest/m8"]
    assert said.kind == "excluded" and "2025-07-01" in said.message


def test_an_order_without_a_date_is_a_warning_for_an_antipsychotic_info_otherwise() -> None:
    statin = request(
        "s1",
        drug("C10AA05", text="atorvastatin 20 mg tablets"),
        authoredOn=None,
        dosageInstruction=None,
    )
    meds, issues = _meds(request("m9", authoredOn=None, dosageInstruction=None), statin)
    assert meds == []
    assert {i.resource: i.severity for i in issues} == {
        "MedicationRequest/m9": "warning",
        "MedicationRequest/s1": "info",
    }


@pytest.mark.parametrize(
    ("concept", "ingredient"),
    [
        (drug("61381", RXNORM), "olanzapine"),
        (
            {"coding": [{"system": RXNORM, "code": "61381"}, {"system": ATC, "code": "N05AH03"}]},
            "olanzapine",
        ),
        ({"text": "Clozapine"}, "clozapine"),
        (drug("N05AX12", ATC, text="ABILIFY 10 mg, comprimé"), "aripiprazole"),
    ],
)
def test_drug_codes_and_names(concept: dict[str, Any], ingredient: str) -> None:
    (med,), _ = _meds(request("d", concept))
    assert med.ingredient == ingredient


def test_the_atc_coding_is_kept_for_the_risk_score_classes() -> None:
    concept = {
        "coding": [{"system": RXNORM, "code": "617310"}, {"system": ATC, "code": "C10AA05"}],
        "text": "atorvastatin 20 MG Oral Tablet",
    }
    (med,), _ = _meds(request("st", concept))
    assert (med.system, med.code, med.drug) == ("atc", "C10AA05", "atorvastatin 20 MG Oral Tablet")
    report = cvrisk.evaluate(
        bundle(patient(), request("m1"), request("st", concept)), as_of="2024-06-01"
    )
    assert not [i for i in report.data_issues if i.resource == "MedicationRequest/st"]


def test_an_antipsychotic_cvrisk_cannot_resolve_is_a_warning_in_the_evaluation() -> None:
    unknown = request("lat", {"text": "Perazin neuraxpharm 100 mg Filmtabletten"})
    (med,), _ = _meds(unknown)
    assert med.ingredient not in cvrisk.vocab.antipsychotics()
    report = cvrisk.evaluate(bundle(patient(), unknown), as_of="2024-06-01")
    warned = [i for i in report.data_issues if i.resource == "MedicationRequest/lat"]
    assert warned and warned[0].severity == "warning"


@pytest.mark.parametrize("system", ["https://dmd.nhs.uk", SNOMED])
def test_dmd_codes_are_read_as_snomed_ct(system: str) -> None:
    concept = {"coding": [{"system": system, "code": "321574000"}]}  # VMP Clozapine 100mg tablets
    (med,), _ = _meds(request("dmd", concept))
    assert (med.system, med.code, med.ingredient) == ("snomed", "321574000", "clozapine")


@pytest.mark.parametrize(
    ("concept", "ingredient"),
    [
        (
            {
                "coding": [
                    {
                        "system": RXNORM,
                        "code": "312076",
                        "display": "olanzapine 10 MG Disintegrating Oral Tablet",
                    }
                ]
            },
            "olanzapine",
        ),
        ({"text": "Zyprexa 10mg tablets"}, "olanzapine"),
        ({"text": "Quétiapine Mylan LP 300 mg, comprimé à libération prolongée"}, "quetiapine"),
    ],
)
def test_product_codes_and_brand_names_resolve_to_the_ingredient(
    concept: dict[str, Any], ingredient: str
) -> None:
    (med,), _ = _meds(request("p", concept))
    assert med.ingredient == ingredient


def test_a_name_and_a_code_that_disagree_are_refused_as_in_native_records() -> None:
    concept = {"coding": [{"system": ATC, "code": "N05AX08"}], "text": "Zyprexa 10mg tablets"}
    result = read(request("cx", concept))
    assert result.record.medications == []
    assert result.issues[0].kind == "invalid" and "risperidone" in result.issues[0].message


def test_medication_references_contained_and_in_the_bundle() -> None:
    contained = request(
        "c1",
        None,
        medicationCodeableConcept=None,
        medicationReference={"reference": "#med"},
        contained=[{"resourceType": "Medication", "id": "med", "code": drug("N05AH02")}],
    )
    shared = request(
        "c2",
        None,
        medicationCodeableConcept=None,
        medicationReference={"reference": "Medication/ari"},
    )
    ingredient_only = request(
        "c3",
        None,
        medicationCodeableConcept=None,
        medicationReference={"reference": "Medication/combo"},
    )
    medications = [
        {"resourceType": "Medication", "id": "ari", "code": drug("89013", RXNORM)},
        {
            "resourceType": "Medication",
            "id": "combo",
            "code": {"text": "Triptafen"},
            "ingredient": [
                {"itemCodeableConcept": drug("N05AB03")},
                {"itemCodeableConcept": drug("N06AA09")},
            ],
        },
        {"resourceType": "Medication", "id": "unused", "code": drug("N05AH03")},
    ]
    missing = request(
        "c4",
        None,
        medicationCodeableConcept=None,
        medicationReference={"reference": "Medication/nowhere"},
    )
    meds, issues = _meds(contained, shared, ingredient_only, missing, *medications)
    assert [(m.id, m.ingredient) for m in meds][:2] == [
        ("MedicationRequest/c1", "clozapine"),
        ("MedicationRequest/c2", "aripiprazole"),
    ]
    assert meds[2].id == "MedicationRequest/c3" and meds[2].code == "N05AB03"
    by_ref = {i.resource: i for i in issues}
    assert by_ref["MedicationRequest/c4"].severity == "warning"
    assert "Medication/nowhere" in by_ref["MedicationRequest/c4"].message
    assert "Medication/unused" in by_ref["Medication/unused"].message


def test_a_medication_named_by_nothing_is_unreadable() -> None:
    meds, issues = _meds(
        request(
            "n", {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0002-4112-30"}]}
        )
    )
    assert meds == [] and issues[0].kind == "unreadable" and issues[0].severity == "warning"


def _statement(rid: str, **fields: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "active",
        "medicationCodeableConcept": drug("N05AX08"),
        "subject": SUBJECT,
    }
    resource.update(fields)
    return resource


@pytest.mark.parametrize(
    ("fields", "course", "kinds"),
    [
        (
            {
                "effectivePeriod": {"start": "2023-05-01", "end": "2023-11-30"},
                "status": "completed",
            },
            (D(2023, 5, 1), D(2023, 11, 30)),
            [],
        ),
        ({"effectiveDateTime": "2023-05-01"}, (D(2023, 5, 1), None), []),
        ({"dateAsserted": "2024-02-02"}, (D(2024, 2, 2), None), ["assumed"]),
        (
            {"effectiveDateTime": "2023-05", "status": "stopped"},
            (D(2023, 5, 15), D(2023, 5, 15)),
            ["assumed", "assumed"],
        ),
    ],
)
def test_medication_statements(
    fields: dict[str, Any], course: tuple[Any, Any], kinds: list[str]
) -> None:
    (med,), issues = _meds(_statement("ms", **fields))
    assert (med.ingredient, med.start, med.stop) == ("risperidone", *course)
    assert sorted(i.kind for i in issues) == kinds


@pytest.mark.parametrize("status", ["not-taken", "entered-in-error", "intended"])
def test_statements_that_are_not_treatment(status: str) -> None:
    meds, issues = _meds(_statement("ms", status=status, effectiveDateTime="2023-05-01"))
    assert meds == [] and issues[0].kind == "ignored"


def _dispense(rid: str, **fields: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "MedicationDispense",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": drug("N05AH04"),
        "subject": SUBJECT,
        "whenHandedOver": "2024-03-04T15:20:00+00:00",
        "daysSupply": {
            "value": 28,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
    }
    resource.update(fields)
    return {k: v for k, v in resource.items() if v is not None}


def test_dispenses_cover_their_days_supply() -> None:
    meds, issues = _meds(
        _dispense("d1"),
        _dispense(
            "d2",
            daysSupply={
                "value": 4,
                "unit": "weeks",
                "system": "http://unitsofmeasure.org",
                "code": "wk",
            },
        ),
        _dispense("d3", daysSupply=None),
        _dispense("d4", whenHandedOver=None, whenPrepared="2024-03-01"),
    )
    assert [(m.start, m.stop) for m in meds] == [
        (D(2024, 3, 4), D(2024, 3, 31)),
        (D(2024, 3, 4), D(2024, 3, 31)),
        (D(2024, 3, 4), D(2024, 3, 4)),
        (D(2024, 3, 1), D(2024, 3, 28)),
    ]
    no_supply = [i for i in issues if i.resource == "MedicationDispense/d3"]
    assert no_supply[0].severity == "warning"  # an antipsychotic whose course is unknown


def test_dispenses_not_handed_over_are_not_treatment() -> None:
    meds, issues = _meds(_dispense("d5", status="in-progress"), _dispense("d6", status="declined"))
    assert meds == [] and [i.kind for i in issues] == ["ignored", "ignored"]


def _injection(rid: str, day: str, **fields: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": drug(
            "N05AX12", text="aripiprazole 400 mg prolonged-release injection"
        ),
        "subject": SUBJECT,
        "effectiveDateTime": f"{day}T10:15:00+00:00",
        "dosage": {
            "route": {
                "coding": [{"system": SNOMED, "code": "78421000", "display": "Intramuscular route"}]
            },
            "dose": quantity(400, "mg"),
        },
    }
    resource.update(fields)
    return resource


def test_long_acting_injections_cover_the_interval_to_the_next_dose() -> None:
    shots = [
        _injection("a1", "2024-01-05"),
        _injection("a3", "2024-03-01"),
        _injection("a2", "2024-02-02"),
        _injection("x", "2024-02-16", status="not-done"),
    ]
    meds, issues = _meds(*shots)
    assert [(m.id, m.start, m.stop, m.route) for m in meds] == [
        ("MedicationAdministration/a1", D(2024, 1, 5), D(2024, 2, 1), "Intramuscular route"),
        ("MedicationAdministration/a2", D(2024, 2, 2), D(2024, 2, 29), "Intramuscular route"),
        ("MedicationAdministration/a3", D(2024, 3, 1), D(2024, 3, 28), "Intramuscular route"),
    ]
    assert {i.resource: i.kind for i in issues} == {
        "MedicationAdministration/a3": "assumed",
        "MedicationAdministration/x": "ignored",
    }
    on = cvrisk.evaluate(bundle(patient(), *shots), as_of="2024-03-20")
    off = cvrisk.evaluate(bundle(patient(), *shots), as_of="2024-05-20")
    assert on.protocols and not off.protocols


def test_olanzapine_pamoate_injections_keep_their_formulation() -> None:
    """dm+d AMP Zypadhera 210mg: the post-injection observation protocol applies on the day
    of each administration."""
    zypadhera = {
        "coding": [
            {
                "system": "https://dmd.nhs.uk",
                "code": "17037811000001103",
                "display": "Zypadhera 210mg powder and solvent for suspension for injection vials",
            }
        ]
    }
    shots = [
        _injection(f"z{n}", day, medicationCodeableConcept=zypadhera)
        for n, day in enumerate(["2024-01-05", "2024-01-19", "2024-02-02"])
    ]
    meds, _ = _meds(*shots)
    assert {(m.ingredient, m.formulation_id) for m in meds} == {
        ("olanzapine", "olanzapine-pamoate")
    }
    report = cvrisk.evaluate(bundle(patient(), *shots), as_of="2024-02-02")
    assert "olanzapine-pamoate" in report.protocols


def test_a_single_injection_is_its_day_only_with_a_warning() -> None:
    (med,), issues = _meds(_injection("one", "2024-01-05"))
    assert (med.start, med.stop) == (D(2024, 1, 5), D(2024, 1, 5))
    assert issues[0].severity == "warning" and "dosing interval is unknown" in issues[0].message


def test_strict_refuses_any_reading_issue() -> None:
    data = bundle(patient(), request("m4", status="completed", dosageInstruction=None))
    with pytest.raises(cvrisk.errors.DataIssueError, match="ended on its start date"):
        cvrisk.evaluate(data, as_of="2024-06-01", strict=True)
