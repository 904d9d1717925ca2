"""patient-view cards from reports: content, sources, orders, languages, and the CDS Hooks
rules (checked by tests/cdshooks/spec.py, independently of cvrisk.cdshooks.model)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import HealthCheck, given, settings

import cvrisk
from cvrisk import vocab
from cvrisk.cdshooks import CardOptions, CdsResponse, Link, patient_view_cards
from cvrisk.cdshooks.model import SUMMARY_MAX, Card, fit_summary
from cvrisk.errors import OptionError
from cvrisk.record import PatientRecord
from tests.cdshooks.spec import problems
from tests.rules.strategies import record

AS_OF = dt.date(2025, 6, 1)
EXAMPLE = "examples/patient.json"


def _body(cards: list[Card]) -> dict[str, Any]:
    return json.loads(json.dumps(CdsResponse(cards=cards).to_json()))


@pytest.fixture(scope="module")
def report() -> Any:
    return cvrisk.evaluate(EXAMPLE, as_of=AS_OF, jurisdiction="GB")


@pytest.fixture(scope="module")
def cards(report: Any) -> list[Card]:
    return patient_view_cards(report, CardOptions(seed="hook-1"))


def test_every_card_follows_the_specification(cards: list[Card]) -> None:
    assert problems(_body(cards)) == []


def test_one_card_per_alert_citing_rule_source_and_evidence(report: Any, cards: list[Card]) -> None:
    alert_cards = {c.kind.removeprefix("alert:"): c for c in cards if c.kind.startswith("alert:")}
    assert set(alert_cards) == {a.code for a in report.alerts}
    for alert in report.alerts:
        card = alert_cards[alert.code]
        assert card.indicator == alert.severity
        assert card.source.label == "NICE CG178 (2014)"
        assert card.source.url == "https://www.nice.org.uk/guidance/cg178"
        assert card.detail is not None
        assert f"`{alert.code}`" in card.detail
        assert alert.source in card.detail
        assert alert.message in card.detail
        for evidence in alert.evidence:
            assert evidence.date is not None and evidence.date.isoformat() in card.detail
    hba1c = alert_cards["nice-cg178/hba1c-high-risk"]
    assert (
        hba1c.summary == "HbA1c 46 mmol/mol is in the 42-47 mmol/mol range (high risk of diabetes)"
    )
    assert "| HbA1c | 46 mmol/mol | 2025-04-30 |" in (hba1c.detail or "")
    unconfirmed = alert_cards["nice-cg178/sbp-140"]
    assert "NOT confirmed against the original source" in (unconfirmed.detail or "")


def test_overdue_and_due_tests_become_draft_service_requests(
    report: Any, cards: list[Card]
) -> None:
    fbc = next(c for c in cards if c.kind == "tests:clozapine-uk")
    assert fbc.indicator == "warning"  # overdue
    assert fbc.summary.startswith("UK clozapine monitoring (2024): Full blood count")
    assert fbc.selectionBehavior == "any"
    (suggestion,) = fbc.suggestions or []
    assert suggestion.isRecommended is True
    resources = [a.resource for a in suggestion.actions or []]
    codes = {r["code"]["coding"][0]["code"] for r in resources if r}
    assert codes == {vocab.analyte("wbc").loinc[0], vocab.analyte("neutrophils").loinc[0]}
    for resource in resources:
        assert resource is not None
        ServiceRequest.model_validate(resource)  # a valid FHIR R4(B) ServiceRequest
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/example-1"}
        assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
        assert resource["occurrenceDateTime"] == "2025-05-17"
        assert "clozapine-uk/fbc" in resource["note"][0]["text"]
    waist = next(c for c in cards if c.kind == "tests:nice-cg178")
    assert waist.indicator == "info"  # due, not overdue
    assert "Waist circumference" in waist.summary


def test_a_test_is_offered_once_across_cards(cards: list[Card]) -> None:
    ordered = [
        r["code"]["coding"][0]["code"]
        for c in cards
        for s in c.suggestions or []
        for a in s.actions or []
        if (r := a.resource)
    ]
    assert len(ordered) == len(set(ordered))


def test_cards_are_ordered_by_urgency_and_identified_by_content_and_seed(
    report: Any, cards: list[Card]
) -> None:
    ranks = {"critical": 0, "warning": 1, "info": 2}
    assert [ranks[c.indicator] for c in cards] == sorted(ranks[c.indicator] for c in cards)
    again = patient_view_cards(report, CardOptions(seed="hook-1"))
    assert [c.uuid for c in again] == [c.uuid for c in cards]
    other_call = patient_view_cards(report, CardOptions(seed="hook-2"))
    assert not {c.uuid for c in other_call} & {c.uuid for c in cards}
    assert len({c.uuid for c in cards}) == len(cards)


def test_score_and_data_issue_cards(report: Any, cards: list[Card]) -> None:
    score = next(c for c in cards if c.kind == "score:qrisk3")
    assert score.summary.startswith("QRISK3 not computable: 11 input(s) missing")
    assert score.source.url is not None and score.source.url.startswith("https://doi.org/")
    issues = next(c for c in cards if c.kind == "issues")
    assert len(report.data_issues) > 0
    for issue in report.data_issues:
        assert issue.message in (issues.detail or "")


def test_french_cards_from_a_french_report() -> None:
    report = cvrisk.evaluate(EXAMPLE, as_of=AS_OF, jurisdiction="GB", lang="fr")
    cards = patient_view_cards(report)
    assert problems(_body(cards)) == []
    tests = next(c for c in cards if c.kind == "tests:clozapine-uk")
    assert " : " in tests.summary and "en retard" in tests.summary
    assert "Règle" in (tests.detail or "")
    assert "Refus du patient" in {r.display for r in tests.overrideReasons or []}
    with pytest.raises(OptionError, match="evaluate with lang='en'"):
        patient_view_cards(report, CardOptions(lang="en"))


def test_extra_links_and_no_patient_reference() -> None:
    rec = PatientRecord.from_file(EXAMPLE).model_copy(deep=True)
    anonymous = rec.model_copy(update={"patient": rec.patient.model_copy(update={"id": None})})
    report = cvrisk.evaluate(anonymous, as_of=AS_OF, jurisdiction="GB")
    link = Link(label="Shared summary", url="https://cvrisk.example/summary/1", type="absolute")
    cards = patient_view_cards(report, CardOptions(links=(link,)))
    assert problems(_body(cards)) == []
    assert all(not c.suggestions for c in cards)  # no subject: no order can be drafted
    tests = next(c for c in cards if c.kind == "tests:clozapine-uk")
    assert "No patient reference is known" in (tests.detail or "")
    assert all(link in (c.links or []) for c in cards)


def test_fit_summary_cuts_at_a_word_below_140() -> None:
    text = "word " * 60
    cut = fit_summary(text)
    assert len(cut) <= SUMMARY_MAX < 140 and cut.endswith("…") and " wor…" not in cut
    assert fit_summary("short") == "short"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=record())
def test_cards_of_any_record_follow_the_specification(rec: dict[str, Any]) -> None:
    report = cvrisk.evaluate(rec, as_of=dt.date(2024, 6, 1), scores=[], on_invalid="report")
    body = _body(patient_view_cards(report, CardOptions(patient="Patient/p", seed="s")))
    assert problems(body) == []
    for card in body["cards"]:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                ServiceRequest.model_validate(action["resource"])


def test_the_data_issues_card_lists_a_bounded_number() -> None:
    from cvrisk.cdshooks.patient_view import ISSUES_SHOWN, data_issues_card
    from cvrisk.issues import DataIssue

    issues = [
        DataIssue(kind="invalid", message=f"entry {n} unreadable", severity="info")
        for n in range(500)
    ] + [DataIssue(kind="unknown_drug", message="drug x not recognised", severity="warning")] * 3
    card = data_issues_card(issues, CardOptions(lang="en", seed="issues"))
    assert card is not None and card.indicator == "warning"
    lines = (card.detail or "").splitlines()
    assert len(lines) == ISSUES_SHOWN + 1
    assert lines[0].startswith("- **⚠** unknown_drug")  # warnings first
    assert "473 more (0 of them warnings)" in lines[-1]
    assert "3 warning(s) among 503 data issue(s)" in card.summary


def test_alert_summary_is_never_cut_mid_sentence() -> None:
    from cvrisk.cdshooks.patient_view import alert_summary

    assert alert_summary("HbA1c 50 mmol/mol is at or above 48 mmol/mol: arrange review.") == (
        "HbA1c 50 mmol/mol is at or above 48 mmol/mol"
    )
    us = (
        "ANC 1200 /µL is in 1000-1499/uL (mild neutropenia). Before starting: initiation is "
        "not recommended with an ANC below 1500/uL."
    )
    assert alert_summary(us) == "ANC 1200 /µL is in 1000-1499/uL (mild neutropenia)"
    red = "Red result: neutrophils 1.2 x10^9/L below 1.5 x10^9/L. Before starting: do not start."
    assert alert_summary(red) == "Red result: neutrophils 1.2 x10^9/L below 1.5 x10^9/L"
