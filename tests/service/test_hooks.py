"""Every hook with full, partial and absent prefetch, the missing data fetched from a FHIR
server on loopback (bearer token, paging), against the real server (the prefetched FHIR
resources are read by cvrisk.fhir)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.cdshooks.spec import problems
from tests.service.conftest import FHIR_MAX_PAGES, Ehr, hook_body
from tests.service.fhir_data import draft_order, example_resources, prefetch, searchset
from tests.service.support import FhirServer, Service

PV = "cvrisk-patient-view"
TOKEN = "fhir-access-token-123"
#: Alerts the example raises under the GB protocols (tests/cdshooks/test_cards.py agrees).
EXAMPLE_ALERTS = {
    "alert:nice-cg178/bmi-25",
    "alert:nice-cg178/dbp-90",
    "alert:nice-cg178/fpg-high-risk",
    "alert:nice-cg178/hba1c-high-risk",
    "alert:nice-cg178/sbp-140",
    "alert:nice-cg178/smoking-current",
    "alert:nice-cg178/tc-6",
}


def _access(fhir: FhirServer) -> dict[str, Any]:
    return {
        "fhirServer": fhir.base,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cvrisk",
            "patient": "example-1",
        },
    }


def _cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert problems(body) == []
    return list(body["cards"])


def _alerts(cards: list[dict[str, Any]]) -> set[str]:
    return {
        f"alert:{line.split('`')[1]}"
        for c in cards
        if c["source"].get("topic", {}).get("code") == "alert"
        for line in [c["detail"].split("**Rule** ")[1]]
    }


@pytest.fixture()
def fresh_fhir(fhir: FhirServer) -> FhirServer:
    fhir.requests.clear()
    fhir.page_size = 50
    fhir.delay = 0.0
    return fhir


def test_patient_view_with_full_prefetch(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    body = hook_body("patient-view", prefetch=prefetch(example_resources()))
    cards = _cards(ehr.call(PV, body))
    assert _alerts(cards) == EXAMPLE_ALERTS
    assert not fresh_fhir.requests  # nothing fetched
    tests = next(c for c in cards if c["summary"].startswith("UK clozapine monitoring"))
    resource = tests["suggestions"][0]["actions"][0]["resource"]
    assert resource["subject"] == {"reference": "Patient/example-1"}
    assert resource["requester"] == {"reference": "Practitioner/dr-a"}


def test_patient_view_fetches_missing_keys_with_the_token(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    full = prefetch(example_resources())
    partial = {k: v for k, v in full.items() if k != "observations"}
    body = {**hook_body("patient-view", prefetch=partial), **_access(fresh_fhir)}
    cards = _cards(ehr.call(PV, body))
    assert _alerts(cards) == EXAMPLE_ALERTS  # the same answer as with the full prefetch
    paths = [p for p, _ in fresh_fhir.requests]
    observations = [p for p in paths if p.startswith("/fhir/Observation?patient=example-1")]
    assert len(observations) == 4  # 171 observations, 50 a page: the next links followed
    # the null key is asked of the server too (its answer is authoritative)
    assert set(paths) - set(observations) == {"/fhir/MedicationStatement?patient=example-1"}
    assert {auth for _, auth in fresh_fhir.requests} == {f"Bearer {TOKEN}"}


def test_patient_view_with_absent_or_null_prefetch(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    body = {**hook_body("patient-view"), **_access(fresh_fhir)}
    assert _alerts(_cards(ehr.call(PV, body))) == EXAMPLE_ALERTS
    kinds = {p.split("?")[0] for p, _ in fresh_fhir.requests}
    assert kinds == {
        "/fhir/Patient/example-1",
        "/fhir/Condition",
        "/fhir/MedicationRequest",
        "/fhir/MedicationStatement",
        "/fhir/Observation",
    }
    fresh_fhir.requests.clear()
    nulls = {key: None for key in prefetch(example_resources())}
    body = {**hook_body("patient-view", prefetch=nulls), **_access(fresh_fhir)}
    assert _alerts(_cards(ehr.call(PV, body))) == EXAMPLE_ALERTS
    assert len({p.split("?")[0] for p, _ in fresh_fhir.requests}) == 5


def test_paging_cut_short_is_a_warning(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    fresh_fhir.page_size = 10  # 18 pages of observations, more than the service reads
    partial = {k: v for k, v in prefetch(example_resources()).items() if k != "observations"}
    partial["medicationStatements"] = searchset([])
    body = {**hook_body("patient-view", prefetch=partial), **_access(fresh_fhir)}
    cards = _cards(ehr.call(PV, body))
    assert len(fresh_fhir.requests) == FHIR_MAX_PAGES
    issues = next(c for c in cards if c["source"]["topic"]["code"] == "data-issues")
    assert issues["indicator"] == "warning"
    assert f"stopped after {FHIR_MAX_PAGES} pages" in issues["detail"]


def test_a_slow_fhir_server_is_412(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    fresh_fhir.delay = 3.0  # the service waits 2 s
    body = {**hook_body("patient-view"), **_access(fresh_fhir)}
    response = ehr.call(PV, body)
    assert response.status_code == 412
    assert "did not answer" in response.json()["message"]


def test_order_select_plans_the_selected_antipsychotic(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    drafts = searchset(
        [
            draft_order(
                "61381", "Olanzapine 10 MG Oral Tablet", order_id="olz", start="2025-06-01"
            ),
            draft_order("723", "Amoxicillin 500 MG Oral Capsule", order_id="amox"),
        ]
    )
    body = hook_body(
        "order-select",
        prefetch=prefetch(example_resources()),
        selections=["MedicationRequest/olz"],
        draftOrders=drafts,
    )
    cards = _cards(ehr.call("cvrisk-order-select", body))
    summaries = [c["summary"] for c in cards]
    assert any(s.startswith("Olanzapine, NICE CG178 (2014):") for s in summaries)
    assert any("high metabolic risk" in s for s in summaries)
    assert all("moxicillin" not in s for s in summaries)
    nice = next(c for c in cards if c["summary"].startswith("Olanzapine, NICE CG178"))
    assert (
        "in the record: Body weight 83.1 kg on 2025-04-30" in nice["detail"]
        or "missing" in nice["detail"]
    )
    unselected = hook_body(
        "order-select",
        prefetch=prefetch(example_resources()),
        selections=["MedicationRequest/amox"],
        draftOrders=drafts,
    )
    assert _cards(ehr.call("cvrisk-order-select", unselected)) == []


def test_order_sign_for_clozapine_with_partial_prefetch(ehr: Ehr, fresh_fhir: FhirServer) -> None:
    drafts = searchset([draft_order("2626", "Clozapine 25 MG Oral Tablet", order_id="clz")])
    partial = {k: v for k, v in prefetch(example_resources()).items() if k != "conditions"}
    partial["medicationStatements"] = searchset([])
    body = {**hook_body("order-sign", prefetch=partial, draftOrders=drafts), **_access(fresh_fhir)}
    cards = _cards(ehr.call("cvrisk-order-sign", body))
    assert [p.split("?")[0] for p, _ in fresh_fhir.requests] == ["/fhir/Condition"]
    registration = next(c for c in cards if c["source"]["topic"]["code"] == "registration")
    assert "monitoring service" in registration["summary"]  # GB deployment


def test_order_for_another_patient_is_refused(ehr: Ehr) -> None:
    drafts = searchset([draft_order("61381", "Olanzapine", patient="someone-else")])
    body = hook_body("order-sign", prefetch=prefetch(example_resources()), draftOrders=drafts)
    response = ehr.call("cvrisk-order-sign", body)
    assert response.status_code == 400 and response.json()["error"] == "draft_orders"


def test_an_antipsychotic_outside_the_catalogue_is_said(ehr: Ehr) -> None:
    order = draft_order("0", "Zotepine 25 mg tablets", order_id="zot")
    order["medicationCodeableConcept"]["coding"] = [
        {"system": "http://www.whocc.no/atc", "code": "N05AX11", "display": "zotepine"}
    ]
    body = hook_body(
        "order-sign", prefetch=prefetch(example_resources()), draftOrders=searchset([order])
    )
    (card,) = _cards(ehr.call("cvrisk-order-sign", body))
    assert (
        card["indicator"] == "warning"
        and "not in cvrisk's antipsychotic catalogue" in card["summary"]
    )


def test_a_misspelt_antipsychotic_is_said_with_suggestions(ehr: Ehr) -> None:
    order = draft_order("0", "Clozapin 25 mg tablets", order_id="typo")
    order["medicationCodeableConcept"]["coding"] = []
    body = hook_body(
        "order-select",
        prefetch=prefetch(example_resources()),
        selections=["MedicationRequest/typo"],
        draftOrders=searchset([order]),
    )
    (card,) = _cards(ehr.call("cvrisk-order-select", body))
    assert card["indicator"] == "warning"
    assert "did not recognise Clozapin 25 mg tablets" in card["summary"]
    assert "Did you mean clozapine" in card["detail"]
    assert problems({"cards": [card]}) == []


def test_french_cards_by_accept_language(ehr: Ehr) -> None:
    body = hook_body("patient-view", prefetch=prefetch(example_resources()))
    cards = _cards(ehr.call(PV, body, {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}))
    assert any("en retard" in c["summary"] for c in cards)


def test_no_patient_data_in_any_log_line(service: Service, ehr: Ehr) -> None:
    body = hook_body("patient-view", prefetch=prefetch(example_resources()))
    hook_instance = body["hookInstance"]
    _cards(ehr.call(PV, body))
    time.sleep(0.3)
    text = service.log.read_text()
    for secret in ("example-1", "1984-03-14", "83.1", "F20.0", "Practitioner/dr-a", TOKEN):
        assert secret not in text, secret
    events = [e for e in service.log_lines() if e.get("hook_instance") == hook_instance]
    (issued,) = events
    assert {c["kind"] for c in issued["cards"]} >= EXAMPLE_ALERTS


def test_order_select_with_absent_prefetch_fetches_everything(
    ehr: Ehr, fresh_fhir: FhirServer
) -> None:
    drafts = searchset([draft_order("61381", "olanzapine", order_id="olz", start="2025-06-01")])
    body = {
        **hook_body("order-select", selections=["MedicationRequest/olz"], draftOrders=drafts),
        **_access(fresh_fhir),
    }
    cards = _cards(ehr.call("cvrisk-order-select", body))
    assert len({p.split("?")[0] for p, _ in fresh_fhir.requests}) == 5
    assert any(c["summary"].startswith("Olanzapine, NICE CG178 (2014):") for c in cards)
