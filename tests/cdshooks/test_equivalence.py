"""Faster ways of writing cards give the same text as the plain ones they replaced (the
service's answers must not change when its code is made cheaper)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk.cdshooks import (
    CardOptions,
    CdsResponse,
    order_cards,
    patient_view_cards,
    with_draft_medication,
)
from cvrisk.cdshooks import markdown as md
from cvrisk.cdshooks.identity import NAMESPACE, derived_uuid
from cvrisk.cdshooks.model import Action, Card, Coding, Link, Source, Suggestion
from cvrisk.record import PatientRecord
from tests.rules.strategies import record

_SPECIAL = str.maketrans({"|": "\\|", "\n": " ", "\r": " "})  # the former md.cell table


@given(st.text(alphabet=st.sampled_from("ab |\\\n\r\t\u00a0\u2028é—⚠ ")) | st.text())
def test_cell_is_the_translate_it_replaced(value: str) -> None:
    assert md.cell(value) == value.translate(_SPECIAL).strip()


def test_cell_of_other_values() -> None:
    assert md.cell(12.5) == "12.5"
    assert md.cell(None) == "None"
    assert md.cell(" a|b\r\nc ") == "a\\|b  c"


def _dumped(response: CdsResponse) -> bytes:
    """What the service answered before ``to_json_bytes`` (Starlette's JSONResponse)."""
    text = json.dumps(
        response.to_json(), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )
    return text.encode("utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=record(), lang=st.sampled_from(["en", "fr"]))
def test_response_bytes_of_any_record_are_those_of_json_dumps(
    rec: dict[str, Any], lang: str
) -> None:
    report = cvrisk.evaluate(rec, as_of=dt.date(2024, 6, 1), lang=lang, on_invalid="report")
    options = CardOptions(
        lang=lang, patient="Patient/p", seed="s", encounter="Encounter/e", requester="Pr/1"
    )
    response = CdsResponse(cards=patient_view_cards(report, options))
    assert response.to_json_bytes() == _dumped(response)


@pytest.mark.parametrize("drug", ["olanzapine", "clozapine", "aripiprazole"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_order_response_bytes_are_those_of_json_dumps(drug: str, lang: str) -> None:
    record = PatientRecord.from_file("examples/patient.json")
    start = dt.date(2025, 6, 1)
    plan = cvrisk.schedule(drug, start, patient=record.patient, jurisdiction="GB", lang=lang)
    findings = cvrisk.evaluate(
        with_draft_medication(record, plan.drug, start), as_of=start, lang=lang, scores=[]
    )
    options = CardOptions(lang=lang, seed="o", patient="Patient/example-1")
    cards = order_cards(plan, record=record, findings=findings, options=options)
    response = CdsResponse(cards=cards)
    assert response.to_json_bytes() == _dumped(response)


def test_response_bytes_with_every_optional_field_and_awkward_text() -> None:
    awkward = 'a "quoted" \\ back\\slash\t tab \x01 control \u2028 sep é — ⚠ 😀 </script>'
    coding = Coding(system="urn:s", code="c", display=awkward)
    action = Action(
        type="create",
        description=awkward,
        resource={"resourceType": "X", "n": 3, "big": 2**70, "ok": True, "none": None},
    )
    card = Card(
        uuid="u",
        summary="One line é",
        detail=awkward,
        indicator="critical",
        source=Source(label=awkward, url="https://x.org/a?b=1", topic=coding),
        suggestions=[Suggestion(label=awkward, uuid="s", isRecommended=False, actions=[action])],
        selectionBehavior="at-most-one",
        overrideReasons=[coding],
        links=[Link(label=awkward, url="https://x.org", type="smart", appContext=awkward)],
    )
    delete = Action(type="delete", description="d", resourceId="X/1")
    for response in (
        CdsResponse(),
        CdsResponse(cards=[card]),
        CdsResponse(cards=[card, card], systemActions=[action, delete]),
    ):
        assert response.to_json_bytes() == _dumped(response)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(seed=st.text(), content=_JSON)
def test_derived_uuid_is_the_uuid5_it_replaced(seed: str, content: Any) -> None:
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    expected = str(uuid.uuid5(NAMESPACE, f"{seed}\n{payload}"))
    assert derived_uuid(seed, content) == expected
    assert derived_uuid(seed, content) == expected  # the shared hash state is left as it was
