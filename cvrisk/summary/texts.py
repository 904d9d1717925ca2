"""The worded parts of summaries, read from data files (never written in code).

- ``cvrisk/data/summary_labels.toml``: headings, column names and fixed phrases of both
  summaries, in English and French (interface text: no clinical statement);
- ``cvrisk/data/patient_texts.toml``: the patient summary's plain-language texts, keyed by
  test, alert rule, lead role and risk model, each with the ``source`` it restates (protocol
  items ``protocol/rule``, ``lead:<role>``, ``model:<id>``). The tests check that every
  source exists and that the texts hold no number of their own (numbers are placeholders
  filled from the report and the protocols).
"""

from __future__ import annotations

from typing import Any

from cvrisk.data import load_data
from cvrisk.errors import CvriskError


def _node(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def label(path: str, lang: str, **values: Any) -> str:
    """The interface phrase at ``path`` (``clinician.title``) in ``lang``, placeholders filled.

    Raises:
        CvriskError: no phrase at ``path`` (a bug: every phrase used is in the data file).
    """
    node = _node(load_data("summary_labels.toml"), path)
    if not isinstance(node, dict) or "en" not in node:
        raise CvriskError(f"summary_labels.toml has no phrase {path!r}")
    return str(node.get(lang) or node["en"]).format(**values)


def patient_entry(section: str, key: str) -> dict[str, Any] | None:
    """The patient text entry ``[section."key"]`` (None when there is none)."""
    table = load_data("patient_texts.toml").get(section, {})
    entry = table.get(key)
    return entry if isinstance(entry, dict) else None


def patient_text(section: str, key: str, part: str, lang: str) -> str | None:
    """One part (``why``, ``meaning``...) of a patient text in ``lang`` (English when the
    language is missing; None when the entry or part is missing)."""
    entry = patient_entry(section, key)
    if entry is None:
        return None
    node = entry.get(part)
    if not isinstance(node, dict):
        return None
    text = node.get(lang) or node.get("en")
    return str(text) if text is not None else None


def page_text(part: str, lang: str) -> str:
    """A fixed phrase of the patient page (``[page]`` table of patient_texts.toml).

    Raises:
        CvriskError: no such phrase (a bug).
    """
    node = load_data("patient_texts.toml").get("page", {}).get(part)
    if not isinstance(node, dict) or "en" not in node:
        raise CvriskError(f"patient_texts.toml has no [page] phrase {part!r}")
    return str(node.get(lang) or node["en"])
