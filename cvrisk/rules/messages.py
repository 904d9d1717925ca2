"""Localised fixed phrases (English, French) for reports; texts in cvrisk/data/messages.toml."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cvrisk import vocab
from cvrisk.data import load_data
from cvrisk.errors import OptionError, quoted
from cvrisk.rules.durations import parse_duration

LANGUAGES = ("en", "fr")


def check_lang(lang: str) -> str:
    """Validate a language code."""
    if lang not in LANGUAGES:
        raise OptionError(f"lang={quoted(lang)}: use one of {', '.join(LANGUAGES)}")
    return lang


def phrase(path: str, lang: str, **values: Any) -> str:
    """The phrase at ``path`` (``reason.baseline``) in ``lang``, with placeholders filled."""
    return _template(path, lang).format(**values)


@lru_cache(maxsize=1024)  # keyed by the phrase paths of this package and two languages
def _template(path: str, lang: str) -> str:
    node: Any = load_data("messages.toml")
    for part in path.split("."):
        node = node[part]
    return str(node.get(lang) or node["en"])


def colon(lang: str) -> str:
    """A colon as the language sets it: French puts a space before it ("Poids (et IMC) :")."""
    return " :" if lang == "fr" else ":"


def semicolon(lang: str) -> str:
    """A list separator as the language sets it: French spaces a semicolon on both sides."""
    return " ; " if lang == "fr" else "; "


def duration_text(text: str, lang: str) -> str:
    """``P12W`` -> ``12 weeks`` / ``12 semaines``."""
    duration = parse_duration(text)
    singular, plural = load_data("messages.toml")["unit"][duration.unit][lang]
    return f"{duration.count} {singular if duration.count == 1 else plural}"


def every_text(text: str, lang: str) -> str:
    """``P12W`` -> ``every 12 weeks`` / ``toutes les 12 semaines``; ``P1M`` -> ``every month``."""
    duration = parse_duration(text)
    one, many = load_data("messages.toml")["every"][duration.unit][lang]
    return str(one if duration.count == 1 else many.format(n=duration.count))


def test_label(test_id: str, lang: str) -> str:
    """Label of a canonical test in ``lang``."""
    label = vocab.tests()[test_id].get("label", {})
    return str(label.get(lang) or label.get("en") or test_id)


def drug_label(drug_id: str, lang: str) -> str:
    """Label of a catalogue ingredient in ``lang`` (its id when unlabelled), lower-case as
    an international non-proprietary name is written in running text."""
    entry = vocab.antipsychotics().get(drug_id, {})
    label = entry.get("label", {})
    text = label if isinstance(label, str) else label.get(lang) or label.get("en") or drug_id
    return str(text).lower()
