"""Service extensions' patient-view links: the four-argument form, the earlier three-argument
form (still served, with a start-up warning), and an unusable one refused when the app is
created. On a real uvicorn server started in a thread on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from cvrisk.cdshooks.model import Link
from cvrisk.service.app import create_app
from cvrisk.service.settings import load_settings
from tests.service.support import serve_in_thread

REQUEST = (
    Path(__file__).parents[2] / "docs" / "examples" / "cds-hooks" / "patient-view.request.json"
)


class Current:
    def routes(self, settings: Any) -> Sequence[Any]:
        return []

    def patient_view_links(
        self, report: Any, request: Any, resources: Any, record: Any
    ) -> Sequence[Link]:
        label = f"current {len(record.observations)} results"
        return [Link(label=label, url="https://example.org/current", type="absolute")]


class Earlier:
    def routes(self, settings: Any) -> Sequence[Any]:
        return []

    def patient_view_links(self, report: Any, request: Any, resources: Any) -> Sequence[Link]:
        return [Link(label="earlier", url="https://example.org/earlier", type="absolute")]


class Broken:
    def routes(self, settings: Any) -> Sequence[Any]:
        return []

    def patient_view_links(self, report: Any) -> Sequence[Link]:
        return []


@pytest.fixture()
def served() -> Iterator[str]:
    settings = load_settings(auth=False, log_level="warning")
    with pytest.warns(DeprecationWarning, match="add a fourth parameter, record"):
        app = create_app(settings, extensions=[Current(), Earlier()])
    with serve_in_thread(app) as url:
        yield url


def test_both_forms_of_links_reach_the_cards(served: str) -> None:
    body = json.loads(REQUEST.read_text("utf-8"))
    answer = httpx.post(f"{served}/cds-services/cvrisk-patient-view", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    labels = {link["label"] for card in answer.json()["cards"] for link in card.get("links", [])}
    assert "earlier" in labels
    assert any(label.startswith("current ") and label != "current 0 results" for label in labels)


def test_an_unusable_signature_is_refused_at_start() -> None:
    with pytest.raises(TypeError, match=r"must take \(report, request, resources, record\)"):
        create_app(load_settings(auth=False, log_level="warning"), extensions=[Broken()])
