"""Session fixtures: the EHR's keys, a FHIR server on loopback, and ``cvrisk serve`` running
with authentication on (two worker processes) and, separately, in --no-auth trial mode."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.fhir_data import example_resources
from tests.service.support import ISSUER, FhirServer, Service, SigningKey, free_port, jwks

JKU_PATH = "/keys/jwks.json"
#: Small limits, so the tests can reach them.
MAX_BODY = 400_000
FHIR_MAX_PAGES = 6


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    return {
        "es": SigningKey.es384("ehr-es384"),
        "rs": SigningKey.rs384("ehr-rs384"),
        "jku": SigningKey.es384("ehr-jku"),
        "stranger": SigningKey.es384("ehr-es384"),  # same kid as "es", another key
    }


@pytest.fixture(scope="session")
def fhir(keys: dict[str, SigningKey]) -> Iterator[FhirServer]:
    server = FhirServer(resources=example_resources())
    server.jwks_documents[JKU_PATH] = jwks(keys["jku"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, SigningKey], fhir: FhirServer
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    key_file = folder / "ehr-jwks.json"
    key_file.write_text(json.dumps(jwks(keys["es"], keys["rs"])))
    port = free_port()
    config = folder / "cvrisk.toml"
    config.write_text(
        "\n".join(
            [
                "[service]",
                "workers = 2",
                f'public_url = "http://127.0.0.1:{port}"',
                'jurisdiction = "GB"',
                f"max_body_bytes = {MAX_BODY}",
                "fhir_timeout_seconds = 2",
                f"fhir_max_pages = {FHIR_MAX_PAGES}",
                'cors_origins = ["https://ehr.example.org"]',
                "",
                "[[service.clients]]",
                f'issuer = "{ISSUER}"',
                f'jwks_file = "{key_file}"',
                f'jku_allowlist = ["http://127.0.0.1:{fhir.port}{JKU_PATH}"]',
            ]
        )
    )
    running = Service(config=config, port=port, log=folder / "service.log").start()
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def trial_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("trial")
    config = folder / "cvrisk.toml"
    config.write_text('[service]\nworkers = 1\njurisdiction = "GB"\n')
    running = Service(
        config=config, port=free_port(), log=folder / "trial.log", extra_args=("--no-auth",)
    ).start()
    yield running
    running.stop()


class Ehr:
    """An EHR calling the service: signs a fresh JWT for each call."""

    def __init__(self, service: Service, key: SigningKey) -> None:
        self.service = service
        self.key = key
        self.http = httpx.Client(base_url=service.url, timeout=30.0)

    def token(self, path: str, **kwargs: Any) -> str:
        return self.key.sign(f"{self.service.url}{path}", **kwargs)

    def headers(self, path: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **kwargs)}"}

    def discovery(self, **kwargs: Any) -> httpx.Response:
        return self.http.get("/cds-services", headers=self.headers("/cds-services", **kwargs))

    def call(
        self, service_id: str, body: Any, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        path = f"/cds-services/{service_id}"
        sent = {**self.headers(path, **kwargs), **(headers or {})}
        if isinstance(body, bytes):
            return self.http.post(path, content=body, headers=sent)
        return self.http.post(path, json=body, headers=sent)

    def feedback(self, service_id: str, body: Any) -> httpx.Response:
        path = f"/cds-services/{service_id}/feedback"
        return self.http.post(path, json=body, headers=self.headers(path))


@pytest.fixture(scope="session")
def ehr(service: Service, keys: dict[str, SigningKey]) -> Ehr:
    return Ehr(service, keys["es"])


def hook_body(hook: str, prefetch: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-a", "patientId": "example-1", **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def logs_of(service: Service) -> str:
    return Path(service.log).read_text(encoding="utf-8")
