"""Input that was silently misread: codes malformed in their declared system, and patients or
doses that cannot be real. Each is a RecordError, or a warning data issue when reading
leniently (on_invalid="report")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvrisk
from cvrisk.codes import code_problem, mod10_check_digit, verhoeff_valid
from cvrisk.data import load_data
from cvrisk.errors import RecordError

BASE: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "examples" / "patient.json").read_text()
)
AS_OF = "2025-06-01"


def _with(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def _refused(record: dict[str, Any]) -> str:
    with pytest.raises(RecordError) as caught:
        cvrisk.evaluate(record, as_of=AS_OF)
    return str(caught.value)


def _lenient_issues(record: dict[str, Any]) -> list[Any]:
    report = cvrisk.evaluate(record, as_of=AS_OF, on_invalid="report")
    return [i for i in report.data_issues if i.kind in ("invalid", "implausible")]


# -- codes --------------------------------------------------------------------------------------

MALFORMED = [
    ({"code": "ZZZ99", "system": "icd10"}, "ZZZ99"),
    ({"code": "F20.0", "system": "snomed"}, "F20.0"),  # an ICD-10 code declared SNOMED CT
    ({"code": "58214005", "system": "snomed"}, "check digit"),  # 58214004 mistyped
    ({"code": "12345", "system": "snomed"}, "12345"),
]


@pytest.mark.parametrize("condition, named", MALFORMED)
def test_a_malformed_diagnosis_code_is_refused(condition: dict[str, str], named: str) -> None:
    assert named in _refused(_with(conditions=[condition]))


@pytest.mark.parametrize("condition, named", MALFORMED)
def test_a_malformed_diagnosis_code_is_a_warning_when_lenient(
    condition: dict[str, str], named: str
) -> None:
    (issue,) = _lenient_issues(_with(conditions=[condition]))
    assert issue.severity == "warning" and issue.field == "conditions[0]"
    assert named in issue.message


def test_the_smi_term_is_no_longer_silently_dropped() -> None:
    # F20.0 declared SNOMED CT used to read as "no SMI": QRISK3 2.90 % instead of 3.26 %
    report = cvrisk.evaluate(
        _with(conditions=[{"code": "F20.0", "system": "snomed"}]), as_of=AS_OF, on_invalid="report"
    )
    assert any("ICD-10" in i.message for i in report.data_issues if i.severity == "warning")


@pytest.mark.parametrize(
    "medication",
    [
        {"code": "N5AH02", "system": "atc", "start": "2024-01-01"},
        {"code": "26x6", "system": "rxnorm", "start": "2024-01-01"},
    ],
)
def test_a_malformed_drug_code_is_refused(medication: dict[str, str]) -> None:
    assert medication["code"] in _refused(_with(medications=[medication]))


def test_a_loinc_code_with_a_wrong_check_digit_is_refused() -> None:
    observation = {
        "code": "29463-8",
        "system": "loinc",
        "value": 70,
        "unit": "kg",
        "date": "2024-01-01",
    }
    assert "check digit" in _refused(_with(observations=[observation]))


def test_every_shipped_code_is_well_formed() -> None:
    for entry in load_data("conditions.toml").values():
        for system in ("icd10", "snomed"):
            for code in entry.get(system, ()):
                assert code_problem(str(code), system) is None, code
    for analyte in load_data("analytes.toml").values():
        for code in analyte.get("loinc", ()):
            assert code_problem(code, "loinc") is None, code
    for drug in load_data("antipsychotics.toml").values():
        for system in ("atc", "rxnorm"):
            if drug.get(system):
                assert code_problem(str(drug[system]), system) is None, drug[system]


def test_check_digit_algorithms_on_published_examples() -> None:
    # LOINC Users' Guide appendix C works 12345 -> 5; glucose 2345-7
    assert mod10_check_digit("12345") == 5
    assert mod10_check_digit("2345") == 7
    # SNOMED CT: 22298006 myocardial infarction, 1290023401004 (spec's long example)
    assert verhoeff_valid("22298006") and verhoeff_valid("1290023401004")
    assert not verhoeff_valid("22298007")


@settings(max_examples=200, deadline=None)
@given(st.integers(100_000, 10**15), st.integers(0, 9))
def test_verhoeff_catches_every_single_digit_error(number: int, replacement: int) -> None:
    digits = str(number)
    check = next(d for d in "0123456789" if verhoeff_valid(digits + d))
    valid = digits + check
    position = replacement % len(valid)
    wrong = str((int(valid[position]) + 1 + replacement % 9) % 10)
    mistyped = valid[:position] + wrong + valid[position + 1 :]
    assert mistyped == valid or not verhoeff_valid(mistyped)


# -- implausible patients and doses -------------------------------------------------------------


def test_an_age_beyond_any_verified_human_is_refused() -> None:
    older = _with(patient={**BASE["patient"], "birth_date": "1876-01-01"})  # 149 on as_of
    assert "149 years" in _refused(older)
    (issue,) = _lenient_issues(older)
    assert issue.kind == "implausible" and issue.field == "patient.birth_date"


def test_a_condition_resolved_before_birth_is_refused() -> None:
    resolved = {"code": "F20.0", "system": "icd10", "abatement": "1900-01-01"}
    assert "conditions[0].abatement" in _refused(_with(conditions=[resolved]))
    (issue,) = _lenient_issues(_with(conditions=[resolved]))
    assert issue.field == "conditions[0]"


@pytest.mark.parametrize(
    "dose, named",
    [
        ({"value": 1e300, "unit": "mm[Hg]"}, "not an amount of medicine"),
        ({"value": 1e300, "unit": "mg"}, "implausible"),
        ({"value": 300, "unit": "kg/m2"}, "not an amount of medicine"),
        ({"value": 200, "unit": "g"}, "implausible"),
    ],
)
def test_an_impossible_dose_is_refused(dose: dict[str, Any], named: str) -> None:
    medication = {"drug": "clozapine", "start": "2024-01-01", "dose": dose}
    assert named in _refused(_with(medications=[medication]))
    (issue,) = _lenient_issues(_with(medications=[medication]))
    assert issue.field == "medications[0]"


def test_ordinary_doses_are_accepted() -> None:
    for dose in (
        {"value": 900, "unit": "mg"},
        {"value": 2, "unit": "mL"},
        {"value": 1, "unit": "g"},
    ):
        medication = {"drug": "clozapine", "start": "2024-01-01", "dose": dose}
        cvrisk.evaluate(_with(medications=[medication]), as_of=AS_OF)
