"""The response checkers themselves catch what they are meant to: each finds the flaw of a
broken card (so an empty finding on cvrisk's cards means something)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.cdshooks.spec import healthchain_problems, invariant_problems, spec_problems

GOOD: dict[str, Any] = {
    "cards": [
        {
            "uuid": "4e0a3a1e-8f5b-4a4b-9a55-1d2f3b4c5d6e",
            "summary": "HbA1c 50 mmol/mol is at or above 48 mmol/mol",
            "indicator": "critical",
            "source": {"label": "NICE CG178", "url": "https://www.nice.org.uk/guidance/cg178"},
            "selectionBehavior": "any",
            "suggestions": [
                {
                    "label": "Order HbA1c",
                    "actions": [
                        {
                            "type": "create",
                            "description": "Draft an HbA1c test",
                            "resource": {"resourceType": "ServiceRequest", "status": "draft"},
                        }
                    ],
                }
            ],
            "links": [
                {"label": "Summary", "url": "https://cvrisk.example/summary/x", "type": "absolute"}
            ],
        }
    ]
}


def _broken(change: str) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    card = body["cards"][0]
    if change == "no source":
        del card["source"]
    elif change == "bad indicator":
        card["indicator"] = "urgent"
    elif change == "long summary":
        card["summary"] = "x" * 141
    elif change == "suggestions without selectionBehavior":
        del card["selectionBehavior"]
    elif change == "create without resource":
        del card["suggestions"][0]["actions"][0]["resource"]
    return body


def test_a_good_card_passes_every_checker() -> None:
    assert spec_problems(GOOD) == [] and invariant_problems(GOOD) == []
    assert healthchain_problems(GOOD) == []  # isRecommended / autoLaunchable may be absent


@pytest.mark.parametrize(
    "change",
    [
        "no source",
        "bad indicator",
        "long summary",
        "suggestions without selectionBehavior",
        "create without resource",
    ],
)
def test_healthchain_models_find_a_broken_card(change: str) -> None:
    assert healthchain_problems(_broken(change)), change
    assert spec_problems(_broken(change)), change
