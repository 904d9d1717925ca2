"""Card phrases and codes (cvrisk/data/cards.toml), and the citation of a protocol or model.

Everything a card says that is not clinical content comes from the data file; the clinical
content (messages, sources, evidence status) comes from the report, the plan, the protocol
files and the catalogues.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cvrisk.cdshooks.model import Coding, Link, Source, absolute_url
from cvrisk.data import load_data

#: Default base of cvrisk's own code systems (topics, override reasons): ``urn:cvrisk:...``.
DEFAULT_CODES_BASE = "urn:cvrisk"


def _cards() -> dict[str, Any]:
    return load_data("cards.toml")


def text(path: str, lang: str, **values: Any) -> str:
    """The phrase at ``path`` (``tests.summary_due``) in ``lang``, placeholders filled."""
    return _template(path, lang).format(**values)


@lru_cache(maxsize=1024)  # keyed by the phrase paths of this package and two languages
def _template(path: str, lang: str) -> str:
    node: Any = _cards()
    for part in path.split("."):
        node = node[part]
    return str(node.get(lang) or node["en"])


def word(key: str, lang: str, **values: Any) -> str:
    """A short word of card tables (``word.rule``)."""
    return text(f"word.{key}", lang, **values)


def localised(entry: Any, lang: str) -> str:
    """A data file's ``{en, fr}`` text (or a plain text) in ``lang``."""
    if isinstance(entry, dict):
        return str(entry.get(lang) or entry["en"])
    return str(entry)


def system(codes_base: str, name: str) -> str:
    """The URI of one of cvrisk's code systems under ``codes_base``."""
    separator = ":" if codes_base.startswith("urn:") else "/"
    return f"{codes_base.rstrip('/:')}{separator}{name}"


@lru_cache(maxsize=256)
def topic(code: str, lang: str, codes_base: str) -> Coding:
    """The ``source.topic`` Coding of a card kind."""
    return Coding(
        system=system(codes_base, "card-topic"),
        code=code,
        display=localised(_cards()["topic"][code], lang),
    )


def override_reasons(lang: str, codes_base: str) -> list[Coding]:
    """The override reasons offered on actionable cards (each with its display)."""
    return list(_override_reasons(lang, codes_base))


@lru_cache(maxsize=32)
def _override_reasons(lang: str, codes_base: str) -> tuple[Coding, ...]:
    return tuple(
        Coding(
            system=system(codes_base, "override-reason"),
            code=str(entry["code"]),
            display=localised(entry["display"], lang),
        )
        for entry in _cards()["override_reasons"]
    )


def override_reason_codes() -> frozenset[str]:
    """Codes of the override reasons cvrisk offers (feedback logs name them)."""
    return frozenset(str(entry["code"]) for entry in _cards()["override_reasons"])


def number(value: float, lang: str) -> str:
    """A number as recorded (up to 6 significant digits, no trailing zeros), with the
    French decimal comma in ``fr``."""
    shown = f"{value:g}"
    return shown.replace(".", ",") if lang == "fr" else shown


def percent(risk: float, lang: str) -> str:
    """A probability in [0, 1] as a percentage with one decimal (``12.3 %``)."""
    shown = f"{risk * 100:.1f} %"
    return shown.replace(".", ",") if lang == "fr" else shown


def unit_display(unit: str | None) -> str:
    """A UCUM unit as shown to clinicians (``mm[Hg]`` -> ``mmHg``)."""
    if unit is None:
        return ""
    return str(_cards()["unit_display"].get(unit, unit))


def day(value: dt.date | None) -> str:
    """A date as shown on cards (ISO 8601, unambiguous in both languages)."""
    return value.isoformat() if value is not None else "—"


def first_url(text_value: str | None) -> str | None:
    """The first absolute http(s) URL in a text (protocol ``url`` fields may add a note)."""
    for token in (text_value or "").split():
        if absolute_url(token):
            return token
    return None


def short_label(title: str) -> str:
    """A guideline's short label: its title up to the first ': ' (``NICE CG178``)."""
    head = title.split(": ", 1)[0].strip()
    return head or title


@dataclass(frozen=True)
class Citation:
    """What a card says about its source guideline or model."""

    label: str
    url: str | None
    title: str

    def source(self, topic_code: str, lang: str, codes_base: str) -> Source:
        return _source(self, topic_code, lang, codes_base)

    def links(self, kind: str, lang: str) -> list[Link]:
        return list(_links(self, kind, lang))


# The source and links of a citation are the same on every card citing it: built (and
# validated) once. They are frozen models, so cards may share them.
@lru_cache(maxsize=512)
def _source(citation: Citation, topic_code: str, lang: str, codes_base: str) -> Source:
    return Source(label=citation.label, url=citation.url, topic=topic(topic_code, lang, codes_base))


@lru_cache(maxsize=512)
def _links(citation: Citation, kind: str, lang: str) -> tuple[Link, ...]:
    if citation.url is None:
        return ()
    return (Link(label=word(kind, lang, label=citation.label), url=citation.url, type="absolute"),)


@lru_cache(maxsize=256)
def protocol_citation(protocol_id: str, lang: str) -> Citation:
    """The citation of a shipped protocol (its id alone for a protocol that is not shipped)."""
    from cvrisk.rules.catalog import shipped_protocols
    from cvrisk.rules.schema import text_in

    protocol = shipped_protocols().get(protocol_id)
    if protocol is None:
        return Citation(label=protocol_id, url=None, title=protocol_id)
    title = text_in(protocol.title, lang) or protocol_id
    label = f"{short_label(title)} ({protocol.version})"
    return Citation(label=label, url=first_url(protocol.url), title=title)


@lru_cache(maxsize=64)
def model_citation(model_id: str) -> Citation:
    """The citation of a risk model: its title, and its DOI as the link."""
    info = model_info(model_id)
    if info is None:
        return Citation(label=model_id, url=None, title=model_id)
    url = f"https://doi.org/{info.doi}" if info.doi else None
    return Citation(label=info.title, url=url, title=info.source)


@lru_cache(maxsize=64)
def model_info(model_id: str) -> Any:
    """A risk model's metadata (:class:`cvrisk.scores.ModelInfo`), or None when unknown."""
    from cvrisk.scores import models

    return models().get(model_id)
