"""The request time limit (503) and graceful handling of a FHIR server that hangs, on a real
uvicorn server started in a thread on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from cvrisk.service.app import create_app
from cvrisk.service.settings import load_settings
from tests.service.support import FhirServer, serve_in_thread


@pytest.fixture()
def slow_service() -> Iterator[tuple[str, FhirServer]]:
    fhir = FhirServer(delay=2.0).start()
    settings = load_settings(
        auth=False, request_timeout_seconds=0.5, fhir_timeout_seconds=5, log_level="warning"
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url, fhir
    fhir.stop()


def test_a_call_over_the_time_limit_is_503(slow_service: tuple[str, FhirServer]) -> None:
    url, fhir = slow_service
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/a", "patientId": "p1"},
        "fhirServer": fhir.base,
        "fhirAuthorization": {
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "patient/*.read",
            "subject": "cvrisk",
        },
    }
    started = time.monotonic()
    response = httpx.post(f"{url}/cds-services/cvrisk-patient-view", json=body, timeout=10)
    assert response.status_code == 503
    assert response.json()["error"] == "timeout"
    assert time.monotonic() - started < 1.9  # did not wait for the FHIR server
    assert httpx.get(f"{url}/health").status_code == 200  # still serving
