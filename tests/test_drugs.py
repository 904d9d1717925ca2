"""Drug recognition (cvrisk.drugs via vocab.resolve_drug): names, salts, brands, codes,
folding, product texts, conflicts and suggestions, and the integrity of the tables."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from cvrisk import drugs, vocab
from cvrisk.errors import VocabularyError


@pytest.mark.parametrize(
    ("name", "ingredient", "formulation"),
    [
        ("Clozaril", "clozapine", None),
        ("Leponex", "clozapine", None),
        ("Zaponex", "clozapine", None),
        ("Denzapine", "clozapine", None),
        ("Versacloz", "clozapine", None),
        ("Zyprexa", "olanzapine", None),
        ("Zypadhera", "olanzapine", "olanzapine-pamoate"),
        ("Zyprexa Relprevv", "olanzapine", "olanzapine-pamoate"),
        ("olanzapine pamoate", "olanzapine", "olanzapine-pamoate"),
        ("Olanzapine embonate 210mg powder and solvent", "olanzapine", "olanzapine-pamoate"),
        ("Risperdal", "risperidone", None),
        ("Risperdal Consta", "risperidone", None),
        ("Invega", "paliperidone", None),
        ("Invega Sustenna", "paliperidone", None),
        ("Xeplion", "paliperidone", None),
        ("Trevicta", "paliperidone", None),
        ("paliperidone palmitate", "paliperidone", None),
        ("Abilify", "aripiprazole", None),
        ("Abilify Maintena", "aripiprazole", None),
        ("Aristada", "aripiprazole", None),
        ("aripiprazole lauroxil", "aripiprazole", None),
        ("Seroquel", "quetiapine", None),
        ("Xeroquel", "quetiapine", None),
        ("quetiapine fumarate", "quetiapine", None),
        ("Solian", "amisulpride", None),
        ("Haldol", "haloperidol", None),
        ("Haldol Decanoas", "haloperidol", None),
        ("haloperidol decanoate", "haloperidol", None),
        ("Largactil", "chlorpromazine", None),
        ("Loxapac", "loxapine", None),
        ("Tercian", "cyamemazine", None),
        ("flupentixol decanoate", "flupentixol", None),
        ("flupenthixol", "flupentixol", None),
        ("zuclopenthixol decanoate", "zuclopenthixol", None),
        ("fluphenazine decanoate", "fluphenazine", None),
        ("methotrimeprazine", "levomepromazine", None),
        ("Okedi", "risperidone", None),
        ("Rispolept", "risperidone", None),
        ("Erzofri", "paliperidone", None),
        ("Tiapridal", "tiapride", None),
        ("TIAPRIDAL 100 mg, comprimé sécable", "tiapride", None),
        ("Dipiperon", "pipamperone", None),
        ("pipampérone", "pipamperone", None),
    ],
)
def test_names_salts_and_brands(name: str, ingredient: str, formulation: str | None) -> None:
    match = vocab.resolve_drug(name=name)
    assert match is not None, name
    assert (match.ingredient, match.formulation, match.catalogued) == (
        ingredient,
        formulation,
        True,
    )
    assert match.source and match.status in ("confirmed", "unconfirmed")


@pytest.mark.parametrize(
    "spelling",
    [
        "QUÉTIAPINE",
        "quétiapine",
        "Quetiapine-Fumarate",
        " quetiapine   fumarate ",
        "ｑｕｅｔｉａｐｉｎｅ",
    ],
)
def test_case_accents_spacing_and_width_are_folded(spelling: str) -> None:
    match = vocab.resolve_drug(name=spelling)
    assert match is not None and match.ingredient == "quetiapine"


@pytest.mark.parametrize(
    ("text", "ingredient", "formulation"),
    [
        ("olanzapine 10 mg tablets", "olanzapine", None),
        ("Zyprexa Relprevv 405 mg", "olanzapine", "olanzapine-pamoate"),
        ("24 HR quetiapine 200 MG Extended Release Oral Tablet", "quetiapine", None),
        ("amitriptyline hydrochloride 10 MG / perphenazine 2 MG Oral Tablet", "perphenazine", None),
        ("Clozaril 100mg tablets", "clozapine", None),
    ],
)
def test_product_texts_with_strengths(text: str, ingredient: str, formulation: str | None) -> None:
    match = vocab.resolve_drug(name=text)
    assert match is not None and (match.ingredient, match.formulation) == (ingredient, formulation)


def test_two_antipsychotics_in_one_name_are_not_guessed() -> None:
    assert vocab.resolve_drug(name="olanzapine or risperidone") is None


def test_typos_are_suggested_never_resolved() -> None:
    assert vocab.resolve_drug(name="clozapin") is None
    assert vocab.suggest_drugs("clozapin")[0] == "clozapine"
    assert vocab.resolve_drug(name="Zyprexia") is None
    assert vocab.suggest_drugs("Zyprexia") == ["Zyprexa (olanzapine)"]
    assert vocab.suggest_drugs("metformin") == []


def test_not_covered_and_uncatalogued() -> None:
    lithium = vocab.resolve_drug(name="lithium carbonate 400 mg")
    assert lithium is not None and lithium.category == "not_covered"
    assert lithium.ingredient == "lithium"
    sertraline = vocab.resolve_drug(code="N06AB06", system="atc")
    assert sertraline is not None and sertraline.category == "not_covered"
    lithium_atc = vocab.resolve_drug(code="N05AN01", system="atc")
    assert lithium_atc is not None and lithium_atc.category == "not_covered"
    trifluoperazine = vocab.resolve_drug(name="Stelazine")
    assert trifluoperazine is not None
    assert (trifluoperazine.category, trifluoperazine.catalogued) == ("antipsychotic", False)
    group = vocab.resolve_drug(code="N05AB06", system="atc")
    assert group is not None and group.category == "antipsychotic" and not group.catalogued
    assert vocab.resolve_drug(code="A10BA02", system="atc") is None


@pytest.mark.parametrize(
    ("code", "system", "ingredient", "formulation"),
    [
        ("N05AH02", "http://www.whocc.no/atc", "clozapine", None),
        ("n05ah03", "atc", "olanzapine", None),
        ("2626", "rxnorm", "clozapine", None),
        ("197535", "http://www.nlm.nih.gov/research/umls/rxnorm", "clozapine", None),
        ("1718930", "rxnorm", "olanzapine", "olanzapine-pamoate"),
        ("485968", "rxnorm", "olanzapine", None),  # olanzapine 10 MG Injection: short-acting
        ("17037811000001103", "http://snomed.info/sct", "olanzapine", "olanzapine-pamoate"),
        ("17037611000001102", "dmd", "olanzapine", "olanzapine-pamoate"),
        ("321612002", "snomed", "olanzapine", None),  # Olanzapine 5mg tablets (VMP)
    ],
)
def test_codes(code: str, system: str, ingredient: str, formulation: str | None) -> None:
    match = vocab.resolve_drug(code=code, system=system)
    assert match is not None and (match.ingredient, match.formulation) == (ingredient, formulation)
    assert vocab.drug_for_code(code, system) == ingredient


def test_name_and_code_must_agree() -> None:
    with pytest.raises(vocab.DrugConflictError) as info:
        vocab.resolve_drug(name="olanzapine", code="N05AH02", system="atc")
    assert "olanzapine" in str(info.value) and "clozapine" in str(info.value)
    assert isinstance(info.value, VocabularyError)
    # a code without a formulation does not contradict a name that states one: kept (the
    # safe side: the pamoate observation applies)
    kept = vocab.resolve_drug(name="Zypadhera", code="485968", system="rxnorm")
    assert kept is not None and kept.formulation == "olanzapine-pamoate"
    agreed = vocab.resolve_drug(name="olanzapine pamoate", code="N05AH03", system="atc")
    assert agreed is not None and agreed.formulation == "olanzapine-pamoate"
    unknown_code = vocab.resolve_drug(name="Clozaril", code="999999999", system="rxnorm")
    assert unknown_code is not None and unknown_code.ingredient == "clozapine"


def test_antipsychotic_id_accepts_brands_and_suggests() -> None:
    assert vocab.antipsychotic_id("Zyprexa") == "olanzapine"
    assert vocab.antipsychotic_id("CLOZAPINE") == "clozapine"
    with pytest.raises(VocabularyError, match=r"did you mean Zyprexa \(olanzapine\)"):
        vocab.antipsychotic_id("Zyprexia")
    with pytest.raises(VocabularyError, match="not an antipsychotic"):
        vocab.antipsychotic_id("lithium")
    with pytest.raises(VocabularyError, match="outside cvrisk's catalogue"):
        vocab.antipsychotic_id("trifluoperazine")


def _csv_rows() -> list[dict[str, str]]:
    text = resources.files("cvrisk.data").joinpath("drug_codes.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def test_code_table_integrity() -> None:
    """Every row names a known ingredient, formulation and source; no code twice."""
    names = vocab.load_data("drug_names.toml")
    sources = set(names["sources"])
    uncatalogued = {u["ingredient"] for u in names["uncatalogued"]}
    seen: set[tuple[str, str]] = set()
    for row in _csv_rows():
        key = (row["system"], row["code"])
        assert key not in seen, key
        seen.add(key)
        assert row["system"] in ("dmd", "rxnorm")
        assert row["code"].isdigit()
        assert row["ingredient"] in vocab.antipsychotics() or row["ingredient"] in uncatalogued
        assert not row["formulation"] or row["formulation"] in vocab.formulations()
        assert row["source"] in sources
        assert row["status"] in ("confirmed", "unconfirmed")
        # the name as the source spells it is recognised as the same ingredient
        match = drugs.resolve_name(row["name"])
        if match is not None and match.category == "antipsychotic" and match.ingredient:
            assert match.ingredient == row["ingredient"], row


def test_names_data_integrity() -> None:
    data = vocab.load_data("drug_names.toml")
    sources = set(data["sources"])
    for entry in data["names"]:
        assert entry["ingredient"] in vocab.antipsychotics(), entry
        assert entry["kind"] in ("salt", "brand", "synonym")
        assert all(part in sources for part in entry["source"].split("+")), entry
        if "formulation" in entry:
            assert vocab.formulations()[entry["formulation"]]["ingredient"] == entry["ingredient"]
    for table in ("uncatalogued", "not_covered"):
        for entry in data[table]:
            assert all(part in sources for part in entry["source"].split("+")), entry
    for formulation in vocab.formulations().values():
        assert formulation["ingredient"] in vocab.antipsychotics()


def test_code_table_is_shared() -> None:
    table = drugs.code_table()
    assert table[("snomed", "17037811000001103")].formulation == "olanzapine-pamoate"
    assert table[("atc", "N05AH02")].ingredient == "clozapine"


@pytest.mark.parametrize(
    ("name", "ingredient"),
    [
        ("Caplyta", "lumateperone"),
        ("lumateperone tosylate", "lumateperone"),
        ("Cobenfy", "xanomeline-trospium"),
        ("xanomeline and trospium chloride", "xanomeline-trospium"),
        ("Nuplazid", "pimavanserin"),
        ("Neuleptil", "pericyazine"),
        ("NEULEPTIL 10 mg, gélule", "pericyazine"),
    ],
)
def test_antipsychotics_outside_the_catalogue_are_recognised(name: str, ingredient: str) -> None:
    """Recognised as antipsychotics whose class monitoring cvrisk does not apply (a warning
    says so): never unknown, never silently ignored."""
    match = vocab.resolve_drug(name=name)
    assert match is not None, name
    assert (match.ingredient, match.category, match.catalogued) == (
        ingredient,
        "antipsychotic",
        False,
    )


def test_trospium_alone_is_not_an_antipsychotic() -> None:
    """Trospium chloride alone is a bladder antimuscarinic: only the combination with
    xanomeline (Cobenfy) is recognised."""
    match = vocab.resolve_drug(name="trospium chloride 20 mg tablets")
    assert match is None or match.category != "antipsychotic"
