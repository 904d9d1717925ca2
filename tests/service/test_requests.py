"""Bad requests get a 4xx JSON error saying what is wrong; limits, CORS, health, feedback.
Against the real server (no FHIR reading needed here)."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.service.conftest import MAX_BODY, Ehr, hook_body
from tests.service.support import Service

PV = "cvrisk-patient-view"


def _error(response: httpx.Response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert words in body["message"], body


def test_health_needs_no_token(service: Service) -> None:
    response = httpx.get(f"{service.url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_discovery_lists_hooks_and_prefetch_templates(ehr: Ehr) -> None:
    services = {s["id"]: s for s in ehr.discovery().json()["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select", "order-sign"}
    for entry in services.values():
        assert entry["title"] and entry["description"]
        prefetch = entry["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        assert prefetch["observations"].startswith(
            "Observation?patient={{context.patientId}}&code="
        )
        assert "http://loinc.org|4548-4" in prefetch["observations"]  # HbA1c
        assert "http://loinc.org|85354-9" in prefetch["observations"]  # the BP panel
        assert "http://loinc.org|2089-1" in prefetch["observations"]  # LDL, method unstated
        assert "{{context.medication" not in str(prefetch)  # root-level tokens only


def test_unknown_service(ehr: Ehr) -> None:
    _error(
        ehr.call("no-such-service", {}), 404, "unknown_service", "no CDS service 'no-such-service'"
    )


def test_malformed_json(ehr: Ehr) -> None:
    response = ehr.call(PV, b'{"hook": "patient-view",', {"Content-Type": "application/json"})
    _error(response, 400, "bad_request", "not valid JSON")
    _error(ehr.call(PV, b""), 400, "bad_request", "empty")
    _error(ehr.call(PV, b"[1, 2]"), 400, "bad_request", "must be a JSON object")


def test_duplicate_keys_are_refused_not_resolved(ehr: Ehr) -> None:
    """A prefetched HbA1c with "value": 49, "value": 30 read as 30 lost the critical
    diabetes card silently; the CLI already refused such JSON."""
    import json

    body = json.dumps(hook_body("patient-view", prefetch={"patient": {"resourceType": "Patient"}}))
    doubled = body.replace('"hook": "patient-view"', '"hook": "patient-view", "hook": "order-sign"')
    assert doubled != body
    response = ehr.call(PV, doubled.encode(), {"Content-Type": "application/json"})
    _error(response, 400, "bad_request", "duplicate JSON key 'hook'")
    nested = body.replace(
        '"resourceType": "Patient"', '"resourceType": "Patient", "id": "a", "id": "b"'
    )
    response = ehr.call(PV, nested.encode(), {"Content-Type": "application/json"})
    _error(response, 400, "bad_request", "duplicate JSON key 'id'")


def test_wrong_hook(ehr: Ehr) -> None:
    _error(ehr.call(PV, hook_body("order-sign")), 400, "wrong_hook", "not 'order-sign'")


def test_missing_or_invalid_fields(ehr: Ehr) -> None:
    body = hook_body("patient-view")
    del body["context"]["patientId"]
    _error(ehr.call(PV, body), 400, "missing_context", "context.patientId is required")
    body = hook_body("patient-view", patientId=42)
    _error(ehr.call(PV, body), 400, "bad_context", "context.patientId must be a non-empty string")
    body = hook_body("patient-view")
    body["hookInstance"] = "not-a-uuid"
    _error(ehr.call(PV, body), 400, "bad_request", "hookInstance must be a UUID")
    body = hook_body("patient-view")
    del body["context"]
    _error(ehr.call(PV, body), 400, "bad_request", "context: Field required")
    body = hook_body("order-select", draftOrders={"resourceType": "Bundle"})
    _error(ehr.call("cvrisk-order-select", body), 400, "missing_context", "context.selections")


def test_fhir_authorization_without_fhir_server(ehr: Ehr) -> None:
    body = hook_body("patient-view")
    body["fhirAuthorization"] = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "x",
        "subject": "cvrisk",
    }
    _error(ehr.call(PV, body), 400, "bad_request", "without fhirServer (cds-r-1)")


def test_missing_prefetch_without_a_fhir_server_is_412(ehr: Ehr) -> None:
    _error(ehr.call(PV, hook_body("patient-view")), 412, "prefetch_unavailable", "'observations'")
    partial = {"patient": {"resourceType": "Patient", "id": "example-1"}}
    response = ehr.call(PV, hook_body("patient-view", prefetch=partial))
    _error(response, 412, "prefetch_unavailable", "'conditions'")
    assert "'patient'" not in response.json()["message"]
    paged = {
        "patient": {"resourceType": "Patient", "id": "example-1"},
        "conditions": None,
        "medicationRequests": None,
        "medicationStatements": None,
        "observations": {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": "next", "url": "https://ehr.example/fhir/Observation?page=2"}],
        },
    }
    _error(
        ehr.call(PV, hook_body("patient-view", prefetch=paged)),
        412,
        "prefetch_unavailable",
        "'observations'",
    )


def test_prefetch_of_another_patient_is_refused(ehr: Ehr) -> None:
    prefetch = {
        "patient": {
            "resourceType": "Patient",
            "id": "someone-else",
            "gender": "male",
            "birthDate": "1980-01-01",
        },
        "conditions": None,
        "medicationRequests": None,
        "medicationStatements": None,
        "observations": None,
    }
    _error(
        ehr.call(PV, hook_body("patient-view", prefetch=prefetch)),
        400,
        "patient_mismatch",
        "refusing to mix two patients",
    )


def test_oversized_bodies_are_413(ehr: Ehr) -> None:
    big = b'{"hook": "patient-view", "pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
    _error(ehr.call(PV, big), 413, "body_too_large", f"at most {MAX_BODY} bytes")

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: streamed and counted
        yield b'{"hook": "patient-view", "pad": "'
        for _ in range(MAX_BODY // 10_000 + 2):
            yield b"x" * 10_000
        yield b'"}'

    path = f"/cds-services/{PV}"
    response = ehr.http.post(path, content=chunks(), headers=ehr.headers(path))
    _error(response, 413, "body_too_large", "at most")


def test_cors_for_configured_origins_only(service: Service) -> None:
    preflight = {
        "Origin": "https://ehr.example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = httpx.options(f"{service.url}/cds-services/{PV}", headers=preflight)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    other = httpx.options(
        f"{service.url}/cds-services/{PV}", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_feedback_is_recorded_without_patient_data(service: Service, ehr: Ehr) -> None:
    card, suggestion = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "feedback": [
            {
                "card": card,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion}],
                "outcomeTimestamp": "2025-06-01T10:05:31Z",
            },
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"system": "urn:cvrisk:override-reason", "code": "patient-declined"},
                    "userComment": "Mr Smith born 1984-03-14 refused",
                },
                "outcomeTimestamp": "2025-06-01T10:06:00Z",
            },
        ]
    }
    response = ehr.feedback(PV, body)
    assert response.status_code == 200 and response.json() == {}
    time.sleep(0.3)
    events = [
        e for e in service.log_lines() if e.get("event") == "feedback" and e.get("card") == card
    ]
    assert [e["outcome"] for e in events] == ["accepted", "overridden"]
    assert events[0]["accepted_suggestions"] == [suggestion]
    assert events[1]["override_reason"] == "patient-declined" and events[1]["has_comment"] is True
    assert "Mr Smith" not in service.log.read_text()  # the free-text comment is never logged


def test_invalid_feedback(ehr: Ehr) -> None:
    accepted = {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2025-06-01T10:05:31Z"}
    _error(ehr.feedback(PV, {"feedback": [accepted]}), 400, "bad_feedback", "cds-fb-2")
    wrong = {"card": "c", "outcome": "liked", "outcomeTimestamp": "2025-06-01T10:05:31Z"}
    _error(ehr.feedback(PV, {"feedback": [wrong]}), 400, "bad_feedback", "cds-fb-1")
    empty_reason = {
        "card": "c",
        "outcome": "overridden",
        "overrideReason": {},
        "outcomeTimestamp": "2025-06-01T10:05:31Z",
    }
    _error(ehr.feedback(PV, {"feedback": [empty_reason]}), 400, "bad_feedback", "cds-fb-3")
    _error(ehr.feedback("nope", {"feedback": []}), 404, "unknown_service", "nope")
