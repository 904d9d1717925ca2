"""The OMOP concepts cvrisk ships (``cvrisk/data/omop_concepts.csv``) and its OMOP mappings
(``cvrisk/data/omop.toml``): used when a database has no vocabulary tables, and to write the
synthetic cohort's OMOP tables. Data only; the reader is :mod:`cvrisk.cohort.omop`."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cvrisk.data import load_data


@dataclass(frozen=True)
class Concept:
    """One row of the shipped concept table, with where it was read."""

    concept_id: int
    vocabulary_id: str
    concept_code: str
    concept_name: str
    domain_id: str
    concept_class_id: str
    source: str
    status: str
    note: str


@cache
def shipped_concepts() -> dict[int, Concept]:
    """The shipped concepts, by concept id."""
    text = resources.files("cvrisk.data").joinpath("omop_concepts.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    out: dict[int, Concept] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        concept = Concept(
            concept_id=int(row["concept_id"]),
            vocabulary_id=row["vocabulary_id"],
            concept_code=row["concept_code"],
            concept_name=row["concept_name"],
            domain_id=row["domain_id"],
            concept_class_id=row["concept_class_id"],
            source=row["source"],
            status=row["status"],
            note=row["note"],
        )
        out[concept.concept_id] = concept
    return out


@cache
def concept_id_of(vocabulary_id: str, concept_code: str) -> int | None:
    """The shipped concept id of a code in a vocabulary (``LOINC``, ``UCUM``, ``SNOMED``,
    ``RxNorm``), or None when cvrisk ships none for it."""
    for concept in shipped_concepts().values():
        if concept.vocabulary_id == vocabulary_id and concept.concept_code == concept_code:
            return concept.concept_id
    return None


@cache
def mappings() -> dict[str, Any]:
    """``cvrisk/data/omop.toml``: sources, person mappings, unit aliases."""
    return load_data("omop.toml")


def gender_of(concept_id: int) -> str | None:
    """The record's sex for a gender concept id (None: not male or female)."""
    value = mappings()["person"]["gender"].get(str(concept_id))
    return str(value) if value is not None else None


def race_groups() -> dict[str, list[int]]:
    """Record race (``white``, ``black``, ``other``) -> race concept ids."""
    race = mappings()["person"]["race"]
    return {name: [int(i) for i in race[name]] for name in ("white", "black", "other")}


def hispanic_ethnicity_ids() -> list[int]:
    """Ethnicity concept ids that make a White person's PCE race ``other``."""
    return [int(i) for i in mappings()["person"]["race"]["hispanic_ethnicity"]]


def ucum_alias(code: str) -> str:
    """The UCUM code cvrisk.units reads for an OHDSI UCUM concept code (itself when no alias
    is listed)."""
    return str(mappings()["units"]["aliases"].get(code, code))
