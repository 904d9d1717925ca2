"""Prescribing cards (order-select / order-sign): the plan against the record, drug-specific
warnings from existing results, registration requirements, unplaceable orders."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

import cvrisk
from cvrisk.cdshooks import CardOptions, CdsResponse, order_cards, with_draft_medication
from cvrisk.cdshooks.model import Card
from cvrisk.cdshooks.order_time import unknown_antipsychotic_card
from cvrisk.record import Observation, PatientRecord
from tests.cdshooks.spec import problems

START = dt.date(2025, 6, 1)


def _record(**extra_obs: Any) -> PatientRecord:
    record = PatientRecord.from_file("examples/patient.json")
    added = [Observation.model_validate(o) for o in extra_obs.get("observations", [])]
    return record.model_copy(update={"observations": [*record.observations, *added]})


def _cards(
    drug: str, jurisdiction: str | None, record: PatientRecord | None, lang: str = "en"
) -> list[Card]:
    patient = record.patient if record is not None else None
    plan = cvrisk.schedule(drug, START, patient=patient, jurisdiction=jurisdiction, lang=lang)
    findings = None
    if record is not None:
        findings = cvrisk.evaluate(
            with_draft_medication(record, plan.drug, START),
            as_of=START,
            jurisdiction=jurisdiction,
            lang=lang,
            scores=[],
        )
    cards = order_cards(
        plan,
        record=record,
        findings=findings,
        jurisdiction=jurisdiction,
        options=CardOptions(lang=lang, seed="order-1", patient="Patient/example-1"),
    )
    body = json.loads(json.dumps(CdsResponse(cards=cards).to_json()))
    assert problems(body) == []
    return cards


def _kinds(cards: list[Card]) -> list[str]:
    return [c.kind for c in cards]


def test_olanzapine_plan_checks_the_record_within_the_baseline_window() -> None:
    cards = _cards("olanzapine", "GB", _record())
    nice = next(c for c in cards if c.kind == "plan:olanzapine:nice-cg178")
    detail = nice.detail or ""
    assert "window 2025-03-03 to 2025-06-08 for a start on 2025-06-01" in detail
    assert "| Weight (and BMI) | in the record: Body weight 83.1 kg on 2025-04-30 |" in detail
    assert "| Waist circumference | missing |" in detail  # last waist 2024-05-20
    assert "to assess (not recorded as a result)" in detail  # lifestyle, movement disorders
    assert "Follow-up" in detail and "2025-06-08" in detail  # weight at 1 week
    assert "`nice-cg178/weight`" in detail and "BJPsych 2017" in detail
    assert nice.indicator == "warning"
    ordered = {
        a.resource["code"]["coding"][0]["code"]
        for c in cards
        for s in c.suggestions or []
        for a in s.actions or []
        if a.resource
    }
    assert "8280-0" in ordered  # waist circumference
    for card in cards:
        for suggestion in card.suggestions or []:
            for action in suggestion.actions or []:
                assert action.resource is not None
                ServiceRequest.model_validate(action.resource)
                assert action.resource["occurrenceDateTime"] == "2025-06-01"


def test_high_metabolic_risk_drug_with_bmi_and_hba1c_above_threshold() -> None:
    cards = _cards("olanzapine", "GB", _record())
    (warning,) = [c for c in cards if c.kind.startswith("warning:")]
    assert warning.kind == "warning:olanzapine:high-metabolic-risk-above-threshold"
    assert warning.indicator == "warning"
    assert "Body mass index, HbA1c" in warning.summary
    detail = warning.detail or ""
    assert "Newcomer, CNS Drugs 2005" in detail  # the catalogue's tier source
    assert "`nice-cg178/bmi-25`" in detail and "`nice-cg178/hba1c-high-risk`" in detail
    assert warning.source.label == "Newcomer, CNS Drugs 2005;19 Suppl 1:1-93, abstract"


def test_a_low_tier_drug_gets_no_metabolic_warning() -> None:
    cards = _cards("aripiprazole", "GB", _record())  # aripiprazole is already taken
    assert not [c for c in cards if c.kind.startswith("warning:")]


@pytest.mark.parametrize(("qtc", "indicator"), [(470, "warning"), (510, "critical")])
def test_high_qt_risk_drug_with_a_prolonged_qtc(qtc: int, indicator: str) -> None:
    record = _record(
        observations=[{"analyte": "qtc", "value": qtc, "unit": "ms", "date": "2025-05-20"}]
    )
    cards = _cards("haloperidol", "GB", record)
    (warning,) = [c for c in cards if c.kind == "warning:haloperidol:high-qt-risk-prolonged-qtc"]
    assert warning.indicator == indicator
    assert warning.summary == "Haloperidol has a high QT risk and the last QTc is prolonged"
    assert "MHRA antipsychotics learning module" in (warning.detail or "")
    assert "`ecg-qtc/qtc-prolonged-male`" in (warning.detail or "")
    assert f"{qtc} ms" in (warning.detail or "")


def test_no_qt_warning_when_the_last_qtc_is_normal() -> None:
    cards = _cards("haloperidol", "GB", _record())  # last QTc 441 ms (male)
    assert not [c for c in cards if "qt-risk" in c.kind]


@pytest.mark.parametrize(
    ("jurisdiction", "indicator", "words"),
    [
        ("GB", "warning", "register the patient with the brand's monitoring service"),
        ("US", "info", "no REMS enrollment"),
        ("FR", "warning", "dated neutrophil count statement"),
    ],
)
def test_clozapine_registration_by_country(jurisdiction: str, indicator: str, words: str) -> None:
    cards = _cards("clozapine", jurisdiction, _record())
    (card,) = [c for c in cards if c.kind.startswith("registration:")]
    assert card.kind == f"registration:clozapine:{jurisdiction}"
    assert card.indicator == indicator and words in card.summary
    assert "Source" in (card.detail or "")


@pytest.mark.parametrize(
    ("jurisdiction", "code", "words"),
    [
        ("GB", "alert:clozapine-uk/fbc-red-neutrophils", "do not start clozapine"),
        ("US", "alert:clozapine-fda/anc-mild-neutropenia", "initiation is not recommended"),
    ],
)
def test_clozapine_with_a_neutropenic_baseline_says_do_not_start(
    jurisdiction: str, code: str, words: str
) -> None:
    low = {"analyte": "neutrophils", "value": 1.2, "unit": "10*9/L", "date": "2025-05-28"}
    cards = _cards("clozapine", jurisdiction, _record(observations=[low]))
    (card,) = [c for c in cards if c.kind == code]
    assert words in (card.detail or ""), card.detail
    assert card.indicator in ("warning", "critical")
    # class-wide protocols' alerts stay on patient-view (the tier warnings cover them here)
    assert not [c for c in cards if c.kind.startswith("alert:nice-cg178/")]


def test_clozapine_elsewhere_says_no_rule_is_shipped() -> None:
    cards = _cards("clozapine", "DE", None)
    registration = next(c for c in cards if c.kind.startswith("registration:"))
    assert registration.indicator == "warning" and "DE" in registration.summary
    coverage = next(c for c in cards if c.kind == "plan:clozapine:coverage")
    assert "clozapine-fda, clozapine-uk" in (coverage.detail or "")  # said, not silent
    assert "no protocol is shipped for jurisdiction DE" in (coverage.detail or "")


def test_without_a_record_every_baseline_item_is_to_do() -> None:
    cards = _cards("risperidone", "US", None)
    plan = next(c for c in cards if c.kind == "plan:risperidone:ada-apa-2004")
    assert "in the record" not in (plan.detail or "").split("**Follow-up**")[0].replace(
        "In the record", ""
    )


def test_french_prescribing_cards() -> None:
    cards = _cards("clozapine", "FR", _record(), lang="fr")
    registration = next(c for c in cards if c.kind.startswith("registration:"))
    assert "ordonnance" in registration.summary
    assert any("examen(s) initial(aux) manquant(s)" in c.summary for c in cards)


def test_unplaceable_orders_are_said() -> None:
    options = CardOptions(seed="x")
    unknown = unknown_antipsychotic_card(
        "Zotepine 25 mg", "http://www.whocc.no/atc|N05AX11", "MedicationRequest/1", options
    )
    conflict = unknown_antipsychotic_card(
        "Zyprexa", "rxnorm|2626", "MedicationRequest/2", options, conflict="name and code differ"
    )
    body = json.loads(json.dumps(CdsResponse(cards=[unknown, conflict]).to_json()))
    assert problems(body) == []
    assert unknown.indicator == conflict.indicator == "warning"
    assert "not in cvrisk's antipsychotic catalogue" in unknown.summary
    assert "name and code differ" in (conflict.detail or "")
