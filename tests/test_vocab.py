"""Tests for cvrisk.vocab: the indexes over the bundled vocabularies."""

from __future__ import annotations

import pytest

from cvrisk import vocab
from cvrisk.errors import CvriskError, VocabularyError
from cvrisk.units import SUGGESTED_UNITS, is_convertible, parse_unit


def test_analytes_have_parseable_units_and_ordered_ranges() -> None:
    for analyte_id, entry in vocab.analytes().items():
        assert entry.id == analyte_id
        assert "en" in entry.label
        if entry.coded:
            assert entry.unit is None and entry.values
            continue
        assert entry.unit is not None, analyte_id
        parse_unit(entry.unit)
        assert entry.plausible is not None, analyte_id
        low, high = entry.plausible
        assert low < high
        assert entry.plausible_source, analyte_id


def test_substances_convert_mass_to_molar() -> None:
    for entry in vocab.analytes().values():
        if entry.substance and entry.unit and entry.substance != "hba1c":
            assert is_convertible("mg/dL", entry.unit, entry.substance), entry.id
        if entry.substance == "hba1c":
            assert entry.unit is not None and is_convertible("%", entry.unit, "hba1c")


def test_every_canonical_unit_with_suggestions_is_listed() -> None:
    for canonical in SUGGESTED_UNITS:
        parse_unit(canonical)


def test_loinc_codes_are_unique_across_analytes() -> None:
    seen: dict[str, str] = {}
    for entry in vocab.analytes().values():
        for code in entry.loinc:
            assert code not in seen, f"{code} in {seen.get(code)} and {entry.id}"
            seen[code] = entry.id
    assert vocab.loinc_index() == seen


def test_analyte_lookup_and_error() -> None:
    assert vocab.analyte("hba1c").unit == "mmol/mol"
    with pytest.raises(VocabularyError) as info:
        vocab.analyte("hba1")
    assert "unknown analyte 'hba1'" in str(info.value)
    assert "hba1c" in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, CvriskError)


@pytest.mark.parametrize(
    ("code", "system", "analyte"),
    [
        ("2093-3", "http://loinc.org", "total_cholesterol"),
        ("2093-3", "loinc", "total_cholesterol"),
        ("2093-3", "LOINC", "total_cholesterol"),
        ("4548-4", "http://loinc.org", "hba1c"),
        ("weight", "cvrisk", "weight"),
    ],
)
def test_analyte_for_code(code: str, system: str, analyte: str) -> None:
    assert vocab.analyte_for_code(code, system) == analyte


@pytest.mark.parametrize(("code", "system"), [("2093-3", "snomed"), ("0000-0", "loinc")])
def test_analyte_for_unknown_code(code: str, system: str) -> None:
    with pytest.raises(VocabularyError, match="not a known analyte"):
        vocab.analyte_for_code(code, system)


@pytest.mark.parametrize(
    ("system", "short"),
    [
        ("http://loinc.org", "loinc"),
        ("http://hl7.org/fhir/sid/icd-10", "icd10"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "icd10"),
        ("ICD-10", "icd10"),
        ("http://snomed.info/sct", "snomed"),
        ("SCT", "snomed"),
        ("http://www.whocc.no/atc", "atc"),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "rxnorm"),
        (" RxNorm ", "rxnorm"),
    ],
)
def test_normalise_system(system: str, short: str) -> None:
    assert vocab.normalise_system(system) == short


@pytest.mark.parametrize("system", ["icd9", "http://example.org/codes", "HTTP://LOINC.ORG/x"])
def test_unknown_system(system: str) -> None:
    with pytest.raises(VocabularyError, match="unknown code system"):
        vocab.normalise_system(system)


def test_test_analytes() -> None:
    for test_id in vocab.tests():
        for analyte_id in vocab.test_analytes(test_id):
            vocab.analyte(analyte_id)
    with pytest.raises(VocabularyError, match="unknown test"):
        vocab.test_analytes("no_such_test")


def test_drug_codes_resolve_to_catalogue_ingredients() -> None:
    catalogue = vocab.antipsychotics()
    assert "clozapine" in catalogue and vocab.is_antipsychotic("clozapine")
    assert not vocab.is_antipsychotic("metformin")
    for drug_id, entry in catalogue.items():
        for system in ("atc", "rxnorm"):
            if entry.get(system):
                assert vocab.drug_for_code(str(entry[system]), system) == drug_id
    assert vocab.drug_for_code("A10BA02", "atc") is None  # metformin: not an antipsychotic


def test_conditions_matching() -> None:
    assert "schizophrenia" in vocab.conditions_matching("F20.0", "icd10")
    assert "smi" in vocab.conditions_matching("f200", "http://hl7.org/fhir/sid/icd-10")
    assert "schizophrenia" in vocab.conditions_matching("58214004", "snomed")
    assert vocab.conditions_matching("J45", "icd10") == []
    assert vocab.conditions_matching("F20", "loinc") == []


def test_expand_ethnicities() -> None:
    assert vocab.expand_ethnicities(["south_asian", "white"]) == {
        "indian",
        "pakistani",
        "bangladeshi",
        "white",
    }
    assert set(vocab.ETHNICITY_GROUPS["south_asian"]) <= set(vocab.ETHNICITIES)
