"""cvrisk's vocabularies: analytes (with LOINC codes), tests, antipsychotics, condition sets.

The content lives in ``cvrisk/data/*.toml``; this module only indexes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal, get_args

from cvrisk import drugs
from cvrisk.data import load_data
from cvrisk.drugs import DrugConflictError, DrugMatch
from cvrisk.errors import VocabularyError, quoted

__all__ = ["DrugConflictError", "DrugMatch"]


@dataclass(frozen=True)
class Analyte:
    """A measured quantity: canonical unit, LOINC codes, plausible range."""

    id: str
    label: dict[str, str]
    unit: str | None
    substance: str | None
    loinc: tuple[str, ...]
    plausible: tuple[float, float] | None
    plausible_source: str
    coded: bool
    values: tuple[str, ...]


@cache
def analytes() -> dict[str, Analyte]:
    """Every canonical analyte, by id."""
    out = {}
    for key, table in load_data("analytes.toml").items():
        plausible = table.get("plausible")
        out[key] = Analyte(
            id=key,
            label=dict(table.get("label", {"en": key})),
            unit=table.get("unit"),
            substance=table.get("substance"),
            loinc=tuple(table.get("loinc", ())),
            plausible=(float(plausible[0]), float(plausible[1])) if plausible else None,
            plausible_source=table.get("plausible_source", ""),
            coded=table.get("kind") == "coded",
            values=tuple(table.get("values", ())),
        )
    return out


@cache
def loinc_index() -> dict[str, str]:
    """LOINC code -> analyte id."""
    return {code: a.id for a in analytes().values() for code in a.loinc}


def analyte(analyte_id: str) -> Analyte:
    """The analyte with this id; raises :class:`VocabularyError` naming the known ids."""
    try:
        return analytes()[analyte_id]
    except KeyError:
        raise VocabularyError(
            f"unknown analyte {analyte_id!r}; known analytes: {', '.join(sorted(analytes()))}"
        ) from None


def analyte_for_code(code: str, system: str) -> str:
    """Analyte id of a coded observation (LOINC, or cvrisk's own analyte ids)."""
    if system in ("cvrisk", "analyte") and code in analytes():
        return code
    if _normalise_system(system) == "loinc" and code in loinc_index():
        return loinc_index()[code]
    raise VocabularyError(
        f"observation code {system}|{code} is not a known analyte; use a LOINC code listed in "
        "cvrisk/data/analytes.toml or give 'analyte' directly"
    )


_SYSTEMS = {
    "http://loinc.org": "loinc",
    "loinc": "loinc",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    "icd10": "icd10",
    "icd-10": "icd10",
    "http://snomed.info/sct": "snomed",
    "snomed": "snomed",
    "sct": "snomed",
    "http://www.whocc.no/atc": "atc",
    "atc": "atc",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "rxnorm": "rxnorm",
    # dm+d concept ids are SNOMED CT (UK drug extension) ids; UK FHIR sends them as SNOMED.
    "https://dmd.nhs.uk": "snomed",
    "dmd": "snomed",
    "dm+d": "snomed",
}


def _normalise_system(system: str) -> str:
    return _SYSTEMS.get(system.strip().lower() if "://" not in system else system, system)


def normalise_system(system: str) -> str:
    """Short name (loinc, icd10, snomed, atc, rxnorm) of a code system name or FHIR URI."""
    name = _normalise_system(system)
    if name not in ("loinc", "icd10", "snomed", "atc", "rxnorm", "cvrisk"):
        raise VocabularyError(
            f"unknown code system {system!r}; use loinc, icd10, snomed, atc or rxnorm "
            "(or their FHIR URIs)"
        )
    return name


@cache
def tests() -> dict[str, dict[str, Any]]:
    """Canonical monitoring tests, by id (label, analytes, observable)."""
    return load_data("tests.toml")


def test_analytes(test_id: str) -> tuple[str, ...]:
    """The analytes whose results satisfy a test."""
    try:
        return tuple(tests()[test_id]["analytes"])
    except KeyError:
        raise VocabularyError(
            f"unknown test {test_id!r}; known tests: {', '.join(sorted(tests()))}"
        ) from None


@cache
def antipsychotics() -> dict[str, dict[str, Any]]:
    """The antipsychotic catalogue, by ingredient id."""
    try:
        return load_data("antipsychotics.toml")
    except FileNotFoundError:  # pragma: no cover - the catalogue ships with the package
        return {}


def resolve_drug(
    name: str | None = None, code: str | None = None, system: str | None = None
) -> DrugMatch | None:
    """The drug a medication means, by name and/or code (see :mod:`cvrisk.drugs`).

    ``name``: an INN, salt, brand or product text ("olanzapine 10 mg tablets"); ``code`` and
    ``system``: ATC, RxNorm (IN, SCD, GPCK), or dm+d (VMP, AMP; system snomed, dmd or their
    URIs). Returns None when neither is recognised; a :class:`DrugMatch` (ingredient,
    formulation, what matched, source) otherwise, also for antipsychotics outside the
    catalogue and for drugs not covered on purpose (``category``).

    Raises:
        DrugConflictError: name and code mean different drugs. VocabularyError: unknown system.
    """
    short = normalise_system(system) if system is not None else None
    return drugs.resolve(name=name, code=code, system=short)


def drug_for_code(code: str, system: str) -> str | None:
    """Catalogue ingredient id of a drug code (ATC, RxNorm, dm+d); None when the code is not
    a catalogue antipsychotic."""
    match = drugs.resolve_code(str(code), normalise_system(system))
    return match.ingredient if match is not None and match.catalogued else None


def suggest_drugs(text: str) -> list[str]:
    """Close antipsychotic names (INNs, salts, brands) for an unrecognised name."""
    return drugs.suggest(text)


def drug_names() -> list[dict[str, Any]]:
    """The salts, brands and synonyms of catalogue drugs (``[[names]]`` of drug_names.toml)."""
    return list(load_data("drug_names.toml").get("names", []))


def formulations() -> dict[str, dict[str, Any]]:
    """Formulations whose monitoring differs (``olanzapine-pamoate``), by id."""
    return drugs.formulations()


def antipsychotic_match(name: str) -> DrugMatch:
    """The catalogue antipsychotic a name means (INN, salt, brand, product text).

    Raises:
        VocabularyError: not a catalogue antipsychotic; the message says what it is instead
            (not covered, outside the catalogue) or suggests close names, brands included.
    """
    if not isinstance(name, str):
        raise VocabularyError(
            f"drug must be an ingredient name such as 'olanzapine', not {quoted(name)}"
        )
    match = drugs.resolve_name(name)
    if match is not None and match.catalogued:
        return match
    known = ", ".join(sorted(antipsychotics()))
    if match is not None and match.category == "not_covered":
        raise VocabularyError(
            f"{quoted(name)} is {match.label()} ({(match.drug_class or {}).get('en', '')}), not an "
            f"antipsychotic: the shipped protocols do not cover it. Antipsychotics: {known}"
        )
    if match is not None:
        raise VocabularyError(
            f"{quoted(name)} is {match.label()}, an antipsychotic outside cvrisk's catalogue: no "
            f"shipped protocol schedules its monitoring. Catalogue: {known}"
        )
    close = drugs.suggest(name)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise VocabularyError(
        f"unknown antipsychotic {quoted(name)}{hint} Give an ingredient (INN), salt or brand name; "
        f"known ingredients: {known}"
    )


def antipsychotic_id(name: str) -> str:
    """The catalogue id of an antipsychotic named by its INN, a salt, a brand or an alias.

    Raises:
        VocabularyError: not a catalogue antipsychotic, with suggestions.
    """
    ingredient = antipsychotic_match(name).ingredient
    assert ingredient is not None  # catalogued matches name their ingredient
    return ingredient


def is_antipsychotic(drug_id: str) -> bool:
    """True when the ingredient is in the antipsychotic catalogue."""
    return drug_id in antipsychotics()


@cache
def condition_sets() -> dict[str, dict[str, Any]]:
    """Condition code sets (SMI, diabetes...), by id."""
    try:
        return load_data("conditions.toml")
    except FileNotFoundError:  # pragma: no cover
        return {}


def conditions_matching(code: str, system: str) -> list[str]:
    """Ids of the condition sets a diagnosis code belongs to (ICD-10 by prefix, SNOMED exact)."""
    return list(_conditions_matching(code, normalise_system(system)))


@lru_cache(maxsize=4096)  # bounded: one entry per distinct code a record brings
def _conditions_matching(code: str, system: str) -> tuple[str, ...]:
    found = []
    for set_id, entry in condition_sets().items():
        if system == "icd10":
            plain = code.replace(".", "").upper()
            if any(plain.startswith(p.replace(".", "").upper()) for p in entry.get("icd10", ())):
                found.append(set_id)
        elif system == "snomed" and code in {str(c) for c in entry.get("snomed", ())}:
            found.append(set_id)
    return tuple(found)


#: Ethnicity categories of QRISK3 (Hippisley-Cox et al., BMJ 2017;357:j2099), which records
#: use; the Lester resource's lower BMI thresholds select South Asian and Chinese people.
Ethnicity = Literal[
    "white",
    "not_stated",
    "indian",
    "pakistani",
    "bangladeshi",
    "other_asian",
    "black_caribbean",
    "black_african",
    "chinese",
    "other",
]
ETHNICITIES: tuple[str, ...] = get_args(Ethnicity)
#: Groups used by protocol filters (definitions, not clinical values).
ETHNICITY_GROUPS = {"south_asian": ("indian", "pakistani", "bangladeshi")}


def expand_ethnicities(names: list[str] | tuple[str, ...]) -> set[str]:
    """Expand group names (``south_asian``) into QRISK3 ethnicity categories."""
    out: set[str] = set()
    for name in names:
        out.update(ETHNICITY_GROUPS.get(name, (name,)))
    return out
