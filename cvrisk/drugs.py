"""Drug recognition: which ingredient (and formulation) a medication's name or code means.

The data lives in ``cvrisk/data/antipsychotics.toml`` (the catalogue: INNs, labels, ATC and
RxNorm ingredient codes), ``drug_names.toml`` (salts, brands, formulations, antipsychotics
outside the catalogue, drugs not covered on purpose) and ``drug_codes.csv`` (dm+d and RxNorm
product codes); this module only indexes it. Every match says what matched and where that
entry was read (``source``, ``status``).

Names are compared after folding: Unicode NFKD with accents removed, lower case, every run of
punctuation or spaces read as one space ("Quétiapine", "QUETIAPINE", "quetiapine-fumarate"
are the same). A name that is not a known name as a whole is searched for known names inside
it, token by token ("olanzapine 10 mg tablets", "Zyprexa Relprevv 405 mg"): a known
antipsychotic anywhere in the name wins over a non-antipsychotic (amitriptyline/perphenazine
is perphenazine), the longest known name wins (Zyprexa Relprevv over Zyprexa), and two
different antipsychotics in one name are not resolved (None: the caller says so). Typos are
never resolved, only suggested (:func:`suggest`).
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from cvrisk.data import load_data
from cvrisk.errors import VocabularyError

Category = Literal["antipsychotic", "not_covered"]
Via = Literal["ingredient", "salt", "brand", "synonym", "code", "atc_group"]

#: Longest known name, in tokens (windows longer than this are not tried).
_MAX_TOKENS = 6


@dataclass(frozen=True)
class DrugMatch:
    """What a medication's name or code was recognised as.

    Attributes:
        ingredient: INN id: a catalogue id when ``catalogued``; an antipsychotic outside the
            catalogue; or a not-covered drug id (``lithium``); None for an ATC group match.
        category: ``antipsychotic`` or ``not_covered`` (seen, outside the shipped protocols).
        catalogued: the ingredient is in the antipsychotic catalogue (protocols apply to it).
        formulation: formulation id (``olanzapine-pamoate``) when the name or code says it.
        matched: the name (folded) or ``system|code`` that matched.
        via: how: ingredient, salt, brand, synonym, code or atc_group.
        source: where the entry was read (a key of ``drug_names.toml [sources]``, or the
            catalogue's ``*_status`` note); status: ``confirmed`` or ``unconfirmed``.
        drug_class: for not-covered drugs, their class ({en, fr}).
    """

    ingredient: str | None
    category: Category
    catalogued: bool
    formulation: str | None
    matched: str
    via: Via
    source: str
    status: str
    drug_class: dict[str, str] | None = None

    def label(self, lang: str = "en") -> str:
        """The ingredient (or class) for a message, e.g. ``olanzapine``."""
        if self.ingredient is not None:
            return self.ingredient
        return (self.drug_class or {}).get(lang) or (self.drug_class or {}).get("en", "?")


class DrugConflictError(VocabularyError):
    """A medication's name and code name different drugs (or formulations)."""


def fold(text: str) -> str:
    """The comparison form of a drug name: NFKD, no accents, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@dataclass(frozen=True)
class _Entry:
    ingredient: str | None
    category: Category
    catalogued: bool
    formulation: str | None
    via: Via
    source: str
    status: str
    drug_class: dict[str, str] | None = None

    def match(self, matched: str) -> DrugMatch:
        return DrugMatch(
            self.ingredient,
            self.category,
            self.catalogued,
            self.formulation,
            matched,
            self.via,
            self.source,
            self.status,
            self.drug_class,
        )


def _catalogue() -> dict[str, dict[str, Any]]:
    return load_data("antipsychotics.toml")


def _names_data() -> dict[str, Any]:
    return load_data("drug_names.toml")


@cache
def formulations() -> dict[str, dict[str, Any]]:
    """Formulations whose monitoring differs, by id (``olanzapine-pamoate``)."""
    return dict(_names_data().get("formulations", {}))


@cache
def _name_index() -> dict[str, _Entry]:
    """Folded name -> entry. Antipsychotic entries are added last and win over others."""
    index: dict[str, _Entry] = {}
    data = _names_data()
    for entry in data.get("not_covered", []):
        for name in entry.get("names", ()):
            index[fold(name)] = _Entry(
                entry["id"],
                "not_covered",
                False,
                None,
                "ingredient",
                entry["source"],
                entry["status"],
                dict(entry["drug_class"]),
            )
    for entry in data.get("uncatalogued", []):
        for name in entry["names"]:
            via: Via = "ingredient" if fold(name) == entry["ingredient"] else "synonym"
            index[fold(name)] = _Entry(
                entry["ingredient"],
                "antipsychotic",
                False,
                None,
                via,
                entry["source"],
                entry["status"],
            )
    for drug_id, entry in _catalogue().items():
        source = "antipsychotics.toml"
        index[fold(drug_id)] = _Entry(
            drug_id, "antipsychotic", True, None, "ingredient", source, "confirmed"
        )
        for text in (*entry.get("label", {}).values(), *entry.get("aliases", ())):
            key = fold(str(text))
            if key not in index or not index[key].catalogued:
                index[key] = _Entry(
                    drug_id,
                    "antipsychotic",
                    True,
                    None,
                    "ingredient" if key == drug_id else "synonym",
                    source,
                    "confirmed",
                )
    for entry in data.get("names", []):
        drug_id = entry["ingredient"]
        index[fold(entry["name"])] = _Entry(
            drug_id,
            "antipsychotic",
            drug_id in _catalogue(),
            entry.get("formulation"),
            entry["kind"],
            entry["source"],
            entry["status"],
        )
    return index


@cache
def _code_index() -> dict[tuple[str, str], _Entry]:
    """(system, code) -> entry, for ATC and RxNorm ingredient codes and dm+d/RxNorm products."""
    index: dict[tuple[str, str], _Entry] = {}
    for drug_id, entry in _catalogue().items():
        for system in ("atc", "rxnorm"):
            code = entry.get(system)
            if code:
                status = str(entry.get(f"{system}_status", "unconfirmed"))
                index[(system, _clean_code(str(code), system))] = _Entry(
                    drug_id, "antipsychotic", True, None, "code", "antipsychotics.toml", status
                )
    catalogue = _catalogue()
    text = resources.files("cvrisk.data").joinpath("drug_codes.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    for row in csv.DictReader(lines):
        system = "snomed" if row["system"] == "dmd" else row["system"]
        index[(system, row["code"])] = _Entry(
            row["ingredient"],
            "antipsychotic",
            row["ingredient"] in catalogue,
            row["formulation"] or None,
            "code",
            row["source"],
            row["status"],
        )
    return index


def code_table() -> dict[tuple[str, str], DrugMatch]:
    """Every code cvrisk resolves to a drug: ``(system, code) -> DrugMatch`` (for readers that
    want the table itself, such as the FHIR reader; systems are short names, dm+d is snomed)."""
    return {key: entry.match(f"{key[0]}|{key[1]}") for key, entry in _code_index().items()}


def _clean_code(code: str, system: str) -> str:
    code = code.strip()
    return code.upper() if system == "atc" else code


def _atc_group(code: str) -> _Entry | None:
    """A not-covered class by ATC prefix, or an antipsychotic group (N05A) outside the
    catalogue's codes."""
    for entry in _names_data().get("not_covered", []):
        if code.startswith(tuple(entry.get("atc_prefixes", ()))):
            return _Entry(
                None,
                "not_covered",
                False,
                None,
                "atc_group",
                entry["source"],
                entry["status"],
                dict(entry["drug_class"]),
            )
    if code.startswith("N05A"):
        return _Entry(
            None,
            "antipsychotic",
            False,
            None,
            "atc_group",
            "who-atc",
            "confirmed",
            {"en": f"antipsychotic (ATC {code})", "fr": f"antipsychotique (ATC {code})"},
        )
    return None


@lru_cache(maxsize=4096)
def resolve_code(code: str, system: str) -> DrugMatch | None:
    """The drug a code means (``system`` a short name: atc, rxnorm, snomed), or None."""
    code = _clean_code(code, system)
    entry = _code_index().get((system, code))
    if entry is not None:
        return entry.match(f"{system}|{code}")
    if system == "atc":
        group = _atc_group(code)
        return group.match(f"atc|{code}") if group is not None else None
    return None


@lru_cache(maxsize=4096)
def resolve_name(name: str) -> DrugMatch | None:
    """The drug a name means (INN, salt, brand, product text with a strength), or None."""
    key = fold(name)
    index = _name_index()
    if key in index:
        return index[key].match(key)
    tokens = key.split()
    found: list[tuple[int, str, _Entry]] = []
    for start in range(len(tokens)):
        for end in range(min(len(tokens), start + _MAX_TOKENS), start, -1):
            window = " ".join(tokens[start:end])
            if window in index:
                found.append((end - start, window, index[window]))
                break
    antipsychotic = [f for f in found if f[2].category == "antipsychotic"]
    candidates = antipsychotic or found
    if not candidates:
        return None
    if len({f[2].ingredient for f in candidates}) > 1:
        return None  # two different drugs in one name: not guessed
    _size, window, entry = max(candidates, key=lambda f: f[0])
    return entry.match(window)


def resolve(
    name: str | None = None, code: str | None = None, system: str | None = None
) -> DrugMatch | None:
    """The drug a medication names, by name and/or code; None when neither is recognised.

    ``system`` is a short name (``vocab.normalise_system`` gives it). When both are given and
    both are recognised they must agree on the ingredient and on the formulation (when both
    state one); the code's match is returned, with the name's formulation if only the name
    states one.

    Raises:
        DrugConflictError: the name and the code mean different drugs or formulations.
    """
    by_name = resolve_name(name) if name else None
    by_code = resolve_code(code, system) if code and system else None
    if by_name is None or by_code is None:
        return by_code or by_name
    if by_code.ingredient is None:  # an ATC group: the name is more precise
        if by_name.category == by_code.category:
            return by_name
    elif by_name.ingredient == by_code.ingredient and (
        by_name.formulation is None
        or by_code.formulation is None
        or by_name.formulation == by_code.formulation
    ):
        if by_code.formulation is None and by_name.formulation is not None:
            return DrugMatch(
                by_code.ingredient,
                by_code.category,
                by_code.catalogued,
                by_name.formulation,
                f"{by_code.matched} + {by_name.matched}",
                by_code.via,
                by_code.source,
                by_code.status,
                by_code.drug_class,
            )
        return by_code
    raise DrugConflictError(
        f"drug {name!r} is {_described(by_name)} but code {system}|{code} is "
        f"{_described(by_code)}: correct one of them (neither is used)"
    )


def _described(match: DrugMatch) -> str:
    text = match.label()
    if match.formulation:
        text += f" ({match.formulation})"
    return text


@cache
def _suggestion_names() -> dict[str, str]:
    """Folded name -> how a suggestion shows it (``Zyprexa (olanzapine)``), for the
    antipsychotics: catalogue INNs, labels and aliases, salts and brands, uncatalogued ones."""
    spelled: dict[str, str] = {}
    data = _names_data()
    for entry in data.get("uncatalogued", []):
        for name in entry["names"]:
            spelled[fold(name)] = name
    for drug_id, entry in _catalogue().items():
        for text in (drug_id, *entry.get("aliases", ())):
            spelled[fold(str(text))] = str(text)
    for entry in data.get("names", []):
        spelled[fold(entry["name"])] = entry["name"]
    shown: dict[str, str] = {}
    for key, entry in _name_index().items():
        if entry.category != "antipsychotic" or key not in spelled:
            continue
        text = spelled[key]
        same = entry.ingredient is None or key == entry.ingredient
        shown[key] = text if same else f"{text} ({entry.ingredient})"
    return shown


def suggest(text: str, n: int = 3, cutoff: float = 0.75) -> list[str]:
    """Close antipsychotic names (INNs, salts, brands) for a name not recognised."""
    key = fold(text)
    names = _suggestion_names()
    close = difflib.get_close_matches(key, list(names), n=n, cutoff=cutoff)
    if not close and " " in key:  # the first word alone ("clozapin 100 mg")
        close = difflib.get_close_matches(key.split()[0], list(names), n=n, cutoff=cutoff)
    out: list[str] = []
    for name in close:
        if names[name] not in out:
            out.append(names[name])
    return out
