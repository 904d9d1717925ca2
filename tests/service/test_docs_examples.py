"""The request and response examples of docs/integrators.md (docs/examples/cds-hooks/) are
what the service accepts and returns: valid requests for their hook, responses that follow
the CDS Hooks rules, and the discovery document exactly as served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvrisk.service.hooks import parse_request
from cvrisk.service.services import SERVICES
from tests.cdshooks.spec import problems

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cds-hooks"
HOOKS = {
    "patient-view": "patient-view",
    "order-select": "order-select",
    "order-sign": "order-sign",
    "order-sign-412": "order-sign",
}


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_example_requests_are_valid_calls(name: str) -> None:
    body = json.loads((EXAMPLES / f"{name}.request.json").read_text())
    request = parse_request(body, HOOKS[name])
    assert request.context["patientId"] == "p123"


@pytest.mark.parametrize("name", ["patient-view", "order-select", "order-sign"])
def test_example_responses_follow_the_specification(name: str) -> None:
    body = json.loads((EXAMPLES / f"{name}.response.json").read_text())
    assert body["cards"] and problems(body) == []


def test_discovery_example_is_current() -> None:
    shown = json.loads((EXAMPLES / "discovery.response.json").read_text())
    assert shown == {"services": [service.discovery() for service in SERVICES]}


def test_412_example() -> None:
    shown = json.loads((EXAMPLES / "order-sign-412.response.json").read_text())
    assert shown["error"] == "prefetch_unavailable"
