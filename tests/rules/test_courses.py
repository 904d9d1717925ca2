"""What evaluate() says about every prescription (cvrisk/rules/courses.py), and the "no
silence" property: any antipsychotic spelling, brand, salt, typo or code gets a protocol or a
warning naming it."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvrisk import vocab
from cvrisk.errors import DataIssueError, RecordError
from cvrisk.rules.evaluate import evaluate
from cvrisk.rules.plan import schedule

AS_OF = dt.date(2025, 6, 1)
PATIENT = {"id": "p", "birth_date": "1980-01-01", "sex": "female"}


def _record(*medications: dict[str, Any]) -> dict[str, Any]:
    return {"patient": PATIENT, "medications": list(medications), "observations": []}


def _issues(report: Any, kind: str) -> list[Any]:
    return [i for i in report.data_issues if i.kind == kind]


def test_brand_applies_the_drug_specific_protocols() -> None:
    report = evaluate(_record({"drug": "Clozaril", "start": "2025-05-01"}), as_of=AS_OF, scores=[])
    assert {"clozapine-uk", "clozapine-fda"} <= set(report.protocols)
    assert not _issues(report, "unknown_drug")


def test_typo_is_a_warning_with_a_suggestion_and_says_what_is_lost() -> None:
    report = evaluate(_record({"drug": "clozapin", "start": "2025-05-01"}), as_of=AS_OF, scores=[])
    (issue,) = _issues(report, "unknown_drug")
    assert issue.severity == "warning" and issue.field == "medications[0]"
    assert "did you mean clozapine" in issue.message
    assert "clozapine-uk" in issue.message and "monitoring is not applied" in issue.message
    with pytest.raises(DataIssueError, match="unknown_drug"):
        evaluate(
            _record({"drug": "clozapin", "start": "2025-05-01"}),
            as_of=AS_OF,
            scores=[],
            strict=True,
        )


def test_french_message() -> None:
    report = evaluate(
        _record({"drug": "Zyprexia", "start": "2025-05-01"}), as_of=AS_OF, scores=[], lang="fr"
    )
    (issue,) = _issues(report, "unknown_drug")
    assert "vouliez-vous dire Zyprexa (olanzapine)" in issue.message


def test_not_covered_drugs_are_named_as_seen() -> None:
    report = evaluate(
        _record(
            {"drug": "olanzapine", "start": "2025-01-01"},
            {"drug": "Priadel 400mg", "start": "2025-01-01"},
            {"code": "N03AG01", "system": "atc", "start": "2025-01-01"},
            {"code": "N06AB06", "system": "atc", "start": "2025-01-01"},
        ),
        as_of=AS_OF,
        scores=[],
    )
    seen = _issues(report, "not_covered")
    assert [i.field for i in seen] == ["medications[1]", "medications[2]", "medications[3]"]
    assert all(i.severity == "info" for i in seen)
    assert (
        "lithium" in seen[0].message and "not covered by the shipped protocols" in seen[0].message
    )
    assert "antidepressant" in seen[2].message
    assert not _issues(report, "unknown_drug")


def test_antipsychotic_outside_the_catalogue_is_a_warning() -> None:
    report = evaluate(
        _record(
            {"drug": "trifluoperazine 1 mg", "start": "2025-01-01"},
            {"code": "N05AD08", "system": "atc", "start": "2025-01-01"},
        ),
        as_of=AS_OF,
        scores=[],
    )
    warned = _issues(report, "unknown_drug")
    assert [i.severity for i in warned] == ["warning", "warning"]
    assert "trifluoperazine" in warned[0].message and "N05AD08" in warned[1].message


def test_atc_outside_psychotropics_stays_quiet() -> None:
    report = evaluate(
        _record({"code": "A10BA02", "system": "atc", "start": "2025-01-01"}), as_of=AS_OF, scores=[]
    )
    assert not _issues(report, "unknown_drug") and not _issues(report, "not_covered")


def test_future_prescription_is_excluded_and_said() -> None:
    report = evaluate(_record({"drug": "clozapine", "start": "2025-07-01"}), as_of=AS_OF, scores=[])
    (issue,) = _issues(report, "excluded")
    assert "2025-07-01" in issue.message and issue.field == "medications[0]"
    assert not report.protocols


def test_name_code_conflict_is_a_record_error_naming_both() -> None:
    record = _record(
        {"drug": "olanzapine", "code": "N05AH02", "system": "atc", "start": "2025-01-01"}
    )
    with pytest.raises(RecordError) as info:
        evaluate(record, as_of=AS_OF, scores=[])
    text = str(info.value)
    assert "olanzapine" in text and "clozapine" in text and "medications[0].code" in text


def test_formulation_field_is_checked() -> None:
    with pytest.raises(RecordError, match="unknown formulation"):
        evaluate(
            _record({"drug": "olanzapine", "formulation": "pamoate", "start": "2025-01-01"}),
            as_of=AS_OF,
        )
    with pytest.raises(RecordError, match="form of olanzapine"):
        evaluate(
            _record(
                {"drug": "clozapine", "formulation": "olanzapine-pamoate", "start": "2025-01-01"}
            ),
            as_of=AS_OF,
        )


def test_injected_olanzapine_without_formulation_is_a_warning() -> None:
    report = evaluate(
        _record({"drug": "olanzapine", "route": "IM depot", "start": "2025-01-01"}),
        as_of=AS_OF,
        scores=[],
    )
    (issue,) = _issues(report, "missing")
    assert issue.severity == "warning" and "olanzapine-pamoate" in issue.message
    oral = evaluate(
        _record({"drug": "olanzapine", "route": "oral", "start": "2025-01-01"}),
        as_of=AS_OF,
        scores=[],
    )
    assert not _issues(oral, "missing")


def test_a_product_text_naming_an_injection_is_a_warning_too() -> None:
    # no route, no code, no "pamoate": only the text says it is injected (audit finding)
    report = evaluate(
        _record({"drug": "olanzapine 405 mg injection", "start": "2025-01-01"}),
        as_of=AS_OF,
        scores=[],
    )
    (issue,) = _issues(report, "missing")
    assert issue.severity == "warning" and "olanzapine-pamoate" in issue.message
    tablets = evaluate(
        _record({"drug": "olanzapine 10 mg tablets", "start": "2025-01-01"}),
        as_of=AS_OF,
        scores=[],
    )
    assert not _issues(tablets, "missing")


def test_pamoate_protocol_not_selected_is_said() -> None:
    report = evaluate(
        _record({"drug": "Zypadhera", "start": "2025-01-01"}),
        as_of=AS_OF,
        protocols=["nice-cg178"],
        scores=[],
    )
    assert any("olanzapine-pamoate" in i.message for i in _issues(report, "no_protocol"))


def test_schedule_by_brand_and_formulation() -> None:
    plan = schedule("Zypadhera", dt.date(2025, 1, 1))
    assert plan.drug == "olanzapine" and plan.formulation == "olanzapine-pamoate"
    assert "olanzapine-pamoate" in {p.protocol for p in plan.protocols}
    oral = schedule("olanzapine", dt.date(2025, 1, 1))
    assert "olanzapine-pamoate" not in {p.protocol for p in oral.protocols}
    assert any("olanzapine pamoate" in note for note in oral.notes)
    with pytest.raises(vocab.VocabularyError, match=r"Zyprexa \(olanzapine\)"):
        schedule("Zyprexia", dt.date(2025, 1, 1))


# ---------------------------------------------------------------------------------------------
# No silence: any spelling of an antipsychotic gets a protocol or a warning naming it.


def _spellings() -> list[str]:
    out: list[str] = []
    for drug_id, entry in vocab.antipsychotics().items():
        out.append(drug_id)
        out.extend(str(v) for v in entry.get("label", {}).values())
        out.extend(str(a) for a in entry.get("aliases", ()))
    out.extend(n["name"] for n in vocab.drug_names())
    for entry in vocab.load_data("drug_names.toml")["uncatalogued"]:
        out.extend(entry["names"])
    return sorted(set(out))


def _codes() -> list[tuple[str, str]]:
    out = [
        (str(entry[system]), system)
        for entry in vocab.antipsychotics().values()
        for system in ("atc", "rxnorm")
        if entry.get(system)
    ]
    text = resources.files("cvrisk.data").joinpath("drug_codes.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    out.extend((r["code"], "snomed" if r["system"] == "dmd" else "rxnorm") for r in rows)
    return out


SPELLINGS = _spellings()
CODES = _codes()


@st.composite
def typo(draw: st.DrawFn, word: str) -> str:
    """One deletion, duplication, or swap of neighbours (a common typing slip)."""
    if len(word) < 5:
        return word
    i = draw(st.integers(1, len(word) - 2))
    kind = draw(st.sampled_from(["delete", "double", "swap"]))
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


@st.composite
def spelled(draw: st.DrawFn) -> dict[str, Any]:
    """A medication naming an antipsychotic some way: name (any case, a strength, a typo) or
    code."""
    start = draw(st.dates(dt.date(2024, 1, 1), AS_OF)).isoformat()
    if draw(st.booleans()):
        code, system = draw(st.sampled_from(CODES))
        return {"code": code, "system": system, "start": start}
    name = draw(st.sampled_from(SPELLINGS))
    name = draw(st.sampled_from([name, name.upper(), name.title(), f"{name} 10 mg tablets"]))
    if draw(st.booleans()):
        name = draw(typo(name))
    return {"drug": name, "start": start}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meds=st.lists(spelled(), min_size=1, max_size=3))
def test_no_silence(meds: list[dict[str, Any]]) -> None:
    report = evaluate(_record(*meds), as_of=AS_OF, scores=[])
    warned = {i.field for i in report.data_issues if i.severity == "warning"}
    for index, med in enumerate(meds):
        match = vocab.resolve_drug(
            name=med.get("drug"), code=med.get("code"), system=med.get("system")
        )
        if match is not None and match.catalogued:
            assert match.ingredient is not None
            covering = [
                p for p in report.protocols if _protocol_covers(p, match.ingredient, med, match)
            ]
            assert covering, (med, report.protocols)
        else:
            assert f"medications[{index}]" in warned, (med, report.data_issues)


def _protocol_covers(protocol_id: str, ingredient: str, med: dict[str, Any], match: Any) -> bool:
    from cvrisk.rules.catalog import get_protocol

    applies = get_protocol(protocol_id).applies_to
    return applies.covers_course(ingredient, med.get("formulation") or match.formulation)
