"""The worded data of the summaries: patient texts traceable to protocol data, interface
labels free of clinical numbers, both languages complete, French typography."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import pytest

from cvrisk.data import load_data
from cvrisk.rules.catalog import shipped_protocols
from cvrisk.scores.registry import MODEL_MODULES
from tests.summary.traceability import NUMBER

#: French high punctuation needs a space before it (a citation such as 2017;357 aside)
_BAD_FRENCH = re.compile(r"(?<![\s\u00a0\u202f])(?:[:;](?![\dej])|[!?])")
_PLACEHOLDERS = {
    "page": {"date", "drug", "values", "n", "denominator", "outcome", "years"},
    "test": {"drugs"},
    "alert": {"value", "unit", "threshold", "lower", "upper", "within"},
}


def _texts(node: Any, where: str) -> Iterator[tuple[str, str, str]]:
    """(place, lang, text) of every en/fr text under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("en", "fr") and isinstance(value, str):
                yield where, key, value
            elif key in ("en", "fr") and isinstance(value, list):
                for item in value:
                    yield where, key, item
            elif key not in ("source", "gloss"):
                yield from _texts(value, f"{where}.{key}")


def _patient_texts() -> list[tuple[str, str, str]]:
    return list(_texts(load_data("patient_texts.toml"), "patient_texts"))


def _labels() -> list[tuple[str, str, str]]:
    return list(_texts(load_data("summary_labels.toml"), "summary_labels"))


def _items() -> set[str]:
    """Every protocol item id ``protocol/rule`` (schedule items and alert rules)."""
    return {
        f"{pid}/{item.id}"
        for pid, p in shipped_protocols().items()
        for item in [*p.schedule, *p.alerts]
    }


@pytest.mark.parametrize(("where", "lang", "text"), _patient_texts() + _labels())
def test_no_number_of_its_own(where: str, lang: str, text: str) -> None:
    """Numbers are placeholders filled from the report or the protocols, never typed."""
    bare = re.sub(r"\{[^{}]*\}", "", text)
    assert not NUMBER.findall(bare), f"{where} ({lang}): {text!r}"


@pytest.mark.parametrize(("where", "lang", "text"), _patient_texts() + _labels())
def test_french_typography(where: str, lang: str, text: str) -> None:
    if lang != "fr" or "_sign." in where:  # signs (▲, !) are symbols, not punctuation
        return
    assert not _BAD_FRENCH.search(text), f"{where}: {text!r}"
    assert ">=" not in text and "<=" not in text, f"{where}: {text!r}"


@pytest.mark.parametrize(("where", "lang", "text"), _patient_texts())
def test_placeholders_are_the_ones_filled(where: str, lang: str, text: str) -> None:
    section = where.split(".")[1]
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    assert names <= _PLACEHOLDERS.get(section, set()), f"{where} ({lang}): {names}"


def test_every_text_is_in_both_languages() -> None:
    data = load_data("patient_texts.toml")
    missing = []
    for section, entries in data.items():
        tables = {"": entries} if section == "page" else entries
        for key, entry in tables.items():
            for part, value in entry.items():
                if isinstance(value, dict) and set(value) != {"en", "fr"}:
                    missing.append(f"{section}.{key}.{part}")
    assert not missing


def test_every_source_exists() -> None:
    """Each text names what it restates: protocol items, lead statements, risk models."""
    items, models = _items(), set(MODEL_MODULES)
    leads = {
        f"lead:{lead.role}"
        for p in shipped_protocols().values()
        for rule in p.alerts
        for lead in rule.lead
    }
    data = load_data("patient_texts.toml")
    unknown = []
    for section in ("test", "alert", "lead", "score"):
        for key, entry in data[section].items():
            sources = entry.get("source")
            assert isinstance(sources, list) and sources, f"{section}.{key}: no source"
            for source in sources:
                ok = (
                    source in items
                    or source in leads
                    or (source.startswith("model:") and source[6:] in models)
                )
                if not ok:
                    unknown.append(f"{section}.{key}: {source}")
    assert not unknown, unknown


def test_test_texts_cite_items_asking_for_that_test() -> None:
    """A test's text cites schedule items of that very test (or alert rules on it)."""
    data = load_data("patient_texts.toml")["test"]
    protocols = shipped_protocols()
    for test_id, entry in data.items():
        for source in entry["source"]:
            pid, rid = source.split("/")
            item = next(
                (i for i in protocols[pid].schedule if i.id == rid),
                None,
            )
            if item is not None:
                assert item.test == test_id, f"test.{test_id} cites {source} ({item.test})"


def test_every_shipped_alert_and_test_has_a_patient_text() -> None:
    """No alert rule or scheduled test of the shipped protocols is left without plain words
    (the page would fall back to 'ask your care team')."""
    data = load_data("patient_texts.toml")
    alerts = {f"{pid}/{rule.id}" for pid, p in shipped_protocols().items() for rule in p.alerts}
    tests = {item.test for p in shipped_protocols().values() for item in p.schedule}
    assert alerts - set(data["alert"]) == set()
    assert tests - set(data["test"]) == set()
    for code, entry in data["alert"].items():
        assert entry["source"] == [code], code
        assert "meaning" in entry and "name" in entry, code


def test_alert_texts_use_only_the_numbers_their_rule_has() -> None:
    """{threshold}, {lower}, {upper}, {within} only where the rule states that number."""
    protocols = shipped_protocols()
    for code, entry in load_data("patient_texts.toml")["alert"].items():
        pid, rid = code.split("/")
        rule = next(r for r in protocols[pid].alerts if r.id == rid)
        fields = {
            "threshold": rule.value,
            "lower": rule.lower,
            "upper": rule.upper,
            "within": rule.within,
        }
        for part in ("meaning", "team", "you"):
            for text in entry.get(part, {}).values():
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
                for name in names & set(fields):
                    assert fields[name] is not None, f"{code}.{part}: {{{name}}}"


def test_labels_cover_every_analyte_and_status() -> None:
    from cvrisk import vocab

    labels = load_data("summary_labels.toml")
    assert set(vocab.analytes()) <= set(labels["analyte"])
    assert set(labels["status_sign"]) == {"overdue", "due", "conditional", "upcoming"}
    assert set(labels["event"]) == {"start", "switch", "addition", "continuation"}
