"""User-facing texts of the protocol data: provenance stays in `source`, French is French.

Every text a clinician reads (protocol titles, alert messages, notes, the end-of-schedule
advice, the fixed phrases of cvrisk/data/messages.toml and fhir_messages.toml, and the test
labels) is scanned:

- no repository path, file name or engine internal (a keyword argument, a Python call):
  where a value comes from belongs in the item's ``source``, not in what the clinician reads;
- French texts follow French typography: a space before ``:`` ``;`` ``?`` ``!``, a decimal
  comma, ``≥``/``≤`` rather than ``>=``/``<=``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from cvrisk.data import load_data
from cvrisk.rules.catalog import protocol_infos, shipped_protocols
from cvrisk.rules.evaluate import evaluate
from cvrisk.rules.plan import schedule
from cvrisk.rules.schema import Messages

_PATH = re.compile(
    r"[\w.-]+\.(?:toml|py|json|md|csv|cs|R|txt)\b"  # a file name
    r"|\b(?:cvrisk|protocols|tests|docs|src)/"  # a repository path
    r"|\b[a-z_]+=\S"  # a keyword argument (jurisdiction=..., given=...)
    r"|\b(?:evaluate|schedule|score_record|load_data)\("  # a function call
)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
#: a high punctuation mark glued to the word before it; a colon or semicolon glued to a digit
#: or an elocator after it is a time or a citation (Eur Heart J 2021;42:2439, BMJ
#: 2017;357:j2099, PLOS ONE 2019;14(9):e0221521), not punctuation
_BAD_FRENCH_PUNCTUATION = re.compile(r"(?<![\s\u00a0\u202f])(?:[:;](?![\dej])|[!?])")
_DECIMAL_POINT = re.compile(r"\d\.\d")


def _messages(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Messages):
        yield "en", value.en
        if value.fr is not None:
            yield "fr", value.fr
    elif isinstance(value, str):
        yield "en", value


def _protocol_texts() -> Iterator[tuple[str, str, str]]:
    for pid, protocol in shipped_protocols().items():
        for lang, text in _messages(protocol.title):
            yield f"{pid}.title", lang, text
        for item in protocol.schedule:
            for lang, text in _messages(item.note):
                yield f"{pid}/{item.id}.note", lang, text
        for rule in protocol.alerts:
            for lang, text in _messages(rule.message):
                yield f"{pid}/{rule.id}.message", lang, text
            for lang, text in _messages(rule.note):
                yield f"{pid}/{rule.id}.note", lang, text
        if protocol.ends is not None:
            for lang, text in _messages(protocol.ends.message):
                yield f"{pid}.ends.message", lang, text


def _table_texts(table: Any, where: str) -> Iterator[tuple[str, str, str]]:
    """(place, lang, text) of every en/fr leaf of a messages-style table."""
    if isinstance(table, dict):
        for key, value in table.items():
            if key in ("en", "fr"):
                for text in value if isinstance(value, list) else [value]:
                    yield where, key, text
            elif key not in ("source", "status", "analytes", "observable"):
                yield from _table_texts(value, f"{where}.{key}")


def _all_texts() -> list[tuple[str, str, str]]:
    return [
        *_protocol_texts(),
        *_table_texts(load_data("messages.toml"), "messages"),
        *_table_texts(load_data("fhir_messages.toml"), "fhir_messages"),
        *_table_texts(load_data("tests.toml"), "tests"),
        *_table_texts(_score_data("record_inputs.toml"), "record_inputs"),
    ]


def _score_data(name: str) -> Any:
    """A data file of the scores package (caveats and missing-input texts)."""
    import tomllib
    from importlib import resources

    return tomllib.loads(resources.files("cvrisk.scores").joinpath("data", name).read_text("utf-8"))


TEXTS = _all_texts()


def test_the_scan_sees_every_kind_of_text() -> None:
    places = {place.split(".")[-1] for place, _, _ in TEXTS}
    assert {"title", "note", "message", "label"} <= places
    assert any(place == "camesa-2011.ends.message" for place, _, _ in TEXTS)
    assert sum(1 for _, lang, _ in TEXTS if lang == "fr") > 150


@pytest.mark.parametrize(("place", "lang", "text"), TEXTS, ids=[f"{p}:{la}" for p, la, _ in TEXTS])
def test_no_provenance_or_internals_in_user_facing_text(place: str, lang: str, text: str) -> None:
    found = _PATH.findall(_PLACEHOLDER.sub("", text))
    assert not found, f"{place} ({lang}) shows {found}: move provenance to the item's source"


FRENCH = [(place, text) for place, lang, text in TEXTS if lang == "fr"]


@pytest.mark.parametrize(("place", "text"), FRENCH, ids=[p for p, _ in FRENCH])
def test_french_typography(place: str, text: str) -> None:
    bare = _PLACEHOLDER.sub("X", text)
    assert not _BAD_FRENCH_PUNCTUATION.search(bare), f"{place}: space before : ; ? ! in {text!r}"
    assert not _DECIMAL_POINT.search(bare), f"{place}: use a decimal comma in {text!r}"
    assert ">=" not in bare and "<=" not in bare, f"{place}: write ≥ or ≤ in {text!r}"


def test_every_protocol_has_a_french_title_and_french_messages() -> None:
    for pid, protocol in shipped_protocols().items():
        assert isinstance(protocol.title, Messages) and protocol.title.fr, pid
        for rule in protocol.alerts:
            assert rule.message.fr, f"{pid}/{rule.id}: no French message"
        for item in protocol.schedule:
            assert item.note is None or (isinstance(item.note, Messages) and item.note.fr), (
                f"{pid}/{item.id}: note without French"
            )


def test_titles_follow_the_requested_language() -> None:
    assert protocol_infos("fr")["nice-cg178"].title.startswith("NICE CG178 : ")
    assert protocol_infos()["nice-cg178"].title.startswith("NICE CG178: ")
    plan = schedule("risperidone", dt.date(2025, 1, 1), protocol="nice-cg155", lang="fr")
    assert plan.protocols[0].title.startswith("NICE CG155 : surveillance")


# ---------------------------------------------------------------- rendered texts

_CHILD = {
    "patient": {"id": "c", "birth_date": "2011-03-01", "sex": "male"},
    "medications": [{"drug": "risperidone", "start": "2025-01-01"}],
    "observations": [],
}


def test_protocol_end_is_reported_in_french() -> None:
    report = evaluate(
        _CHILD, as_of=dt.date(2026, 2, 1), protocols=["camesa-2011"], scores=[], lang="fr"
    )
    (ended,) = [i for i in report.data_issues if i.kind == "protocol_ended"]
    assert ended.severity == "warning" and ended.protocol == "camesa-2011"
    assert ended.message.startswith("camesa-2011 : son calendrier s'est arrêté le 2026-01-01, 1 an")
    assert "planifier cliniquement" in ended.message


def test_plan_says_where_the_schedule_ends() -> None:
    plan = schedule("risperidone", dt.date(2025, 1, 1), protocol="camesa-2011")
    assert any(n.startswith("camesa-2011: its schedule ends on 2026-01-01") for n in plan.notes)


def test_risk_is_shown_with_one_decimal_and_a_french_comma() -> None:
    record = {
        "patient": {"id": "q", "birth_date": "1955-01-01", "sex": "male", "ethnicity": "white"},
        "conditions": [{"code": "F20.0", "system": "icd10", "onset": "1990-01-01"}],
        "medications": [{"drug": "olanzapine", "start": "2025-01-01"}],
        "observations": [
            {"analyte": "smoking_status", "coded": "current", "date": "2025-01-10"},
            {"analyte": "sbp", "value": 170, "unit": "mm[Hg]", "date": "2025-01-10"},
            {"analyte": "total_cholesterol", "value": 7.0, "unit": "mmol/L", "date": "2025-01-10"},
            {"analyte": "hdl_cholesterol", "value": 1.0, "unit": "mmol/L", "date": "2025-01-10"},
            {"analyte": "bmi", "value": 30, "unit": "kg/m2", "date": "2025-01-10"},
        ],
    }
    report = evaluate(
        record,
        as_of=dt.date(2025, 2, 1),
        protocols=["nice-cg178"],
        scores=["qrisk3"],
        lang="fr",
        record_complete=True,
        score_inputs={"qrisk3": {"smoking": "moderate", "family_history_chd": False}},
    )
    (alert,) = [a for a in report.alerts if a.rule == "qrisk-10"]
    assert re.search(r"à 10 ans de \d+,\d % supérieur", alert.message), alert.message
    assert [(lead.role, lead.leads) for lead in alert.lead] == [
        ("gp", "physical_health_interventions")
    ]


def test_generated_lists_are_set_in_french() -> None:
    report = evaluate(_CHILD, as_of=dt.date(2025, 2, 1), scores=[], lang="fr")
    (several,) = [i for i in report.data_issues if i.kind == "several_jurisdictions"]
    assert "(CA : camesa-2011 ; FR : afssaps-2010 ; GB : nice-cg155 ; US : " in several.message
