"""The Patient resource: sex, partial birth dates, death, UK Core and US Core ethnicity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import cvrisk
from cvrisk.data import load_data
from cvrisk.fhir import read_fhir
from cvrisk.sources import ReadResult
from tests.fhir.helpers import (
    bundle,
    observation,
    patient,
    quantity,
    request,
    uk_ethnicity,
    us_ethnicity,
    us_race,
    validate_r4b,
)


def _read(**fields: Any) -> ReadResult:
    resource = patient(**fields)
    validate_r4b(resource)
    return read_fhir(bundle(resource), on_invalid="raise", strict=False)


@pytest.mark.parametrize(
    ("given", "day", "said"),
    [
        ("1980", dt.date(1980, 7, 1), "only a year"),
        ("1980-05", dt.date(1980, 5, 15), "no day"),
        ("1980-05-09", dt.date(1980, 5, 9), None),
    ],
)
def test_partial_birth_dates_are_the_middle_of_the_period(
    given: str, day: dt.date, said: str | None
) -> None:
    result = _read(birthDate=given)
    assert result.record.patient.birth_date == day
    assumed = [i for i in result.issues if i.kind == "assumed"]
    if said is None:
        assert not assumed
    else:
        assert len(assumed) == 1 and said in assumed[0].message
        assert assumed[0].resource == "Patient/p1" and assumed[0].field == "birthDate"


def test_a_partial_birth_date_under_strict_is_refused() -> None:
    with pytest.raises(cvrisk.errors.DataIssueError, match="birthDate"):
        read_fhir(bundle(patient(birthDate="1980")), on_invalid="raise", strict=True)


@pytest.mark.parametrize("fields", [{"deceasedBoolean": True}, {"deceasedDateTime": "2024-02-03"}])
def test_a_deceased_patient_is_evaluated_with_a_warning(fields: dict[str, Any]) -> None:
    result = _read(**fields)
    deceased = [i for i in result.issues if i.kind == "deceased"]
    assert len(deceased) == 1 and deceased[0].severity == "warning"
    report = cvrisk.evaluate(bundle(patient(**fields), request("m1")), as_of="2024-06-01")
    assert report.tests  # still evaluated, for review
    assert any(i.kind == "deceased" for i in report.data_issues)
    assert not [i for i in _read(deceasedBoolean=False).issues if i.kind == "deceased"]


UK = load_data("fhir_codes.toml")["ethnicity"]["uk_core"]["codes"]


@pytest.mark.parametrize("code", sorted(UK))
def test_every_uk_core_ethnic_category_maps_to_its_qrisk3_group(code: str) -> None:
    result = _read(extension=[uk_ethnicity(code)])
    assert result.record.patient.ethnicity == UK[code][1]
    assert result.record.patient.race is None  # PCE race is not derived from NHS categories
    assumed = [i for i in result.issues if i.kind == "assumed"]
    assert bool(assumed) == (code == "99")


def test_uk_core_codes_verified_in_the_code_table() -> None:
    """The England categories A-S (no I, O, Q), Z and 99, as UK Core defines them."""
    assert sorted(UK) == sorted([*"ABCDEFGHJKLMNPRS", "Z", "99"])
    assert UK["H"] == ["Asian or Asian British - Indian", "indian"]
    assert UK["R"] == ["Other Ethnic Groups - Chinese", "chinese"]


@pytest.mark.parametrize(
    "extension",
    [
        uk_ethnicity("X"),
        uk_ethnicity("A", system="https://fhir.nhs.uk/R4/CodeSystem/UKCore-EthnicCategory"),
        {
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
            "valueCodeableConcept": {"text": "British Asian"},
        },
    ],
)
def test_an_unmappable_uk_value_is_a_warning_not_a_guess(extension: dict[str, Any]) -> None:
    result = _read(extension=[extension])
    assert result.record.patient.ethnicity is None
    warning = [i for i in result.issues if i.severity == "warning"]
    assert len(warning) == 1 and "QRISK3" in warning[0].message


def test_south_asian_ethnicity_selects_the_lower_bmi_threshold() -> None:
    """NHS category H (Indian) -> QRISK3 'indian' -> the Lester BMI threshold of 23 kg/m2."""
    resources = [
        request("m1", authoredOn="2024-01-10"),
        observation("h", "8302-2", quantity(170, "cm"), when="2024-01-08"),
        observation("w", "29463-7", quantity(70, "kg"), when="2024-05-20"),  # BMI 24.2
    ]

    def alerts(code: str | None) -> set[str]:
        extension = [uk_ethnicity(code)] if code else []
        report = cvrisk.evaluate(
            bundle(patient(extension=extension), *resources),
            as_of="2024-06-01",
            jurisdiction="GB",
            protocols=["nice-cg178"],
        )
        return {a.code for a in report.alerts}

    assert "nice-cg178/bmi-23-asian" in alerts("H")
    assert not {a for a in alerts("A") if a.startswith("nice-cg178/bmi")}


@pytest.mark.parametrize(
    ("extensions", "ethnicity", "race"),
    [
        ([us_race("2106-3")], "white", "white"),
        ([us_race("2106-3"), us_ethnicity("2135-2")], "white", "other"),  # Hispanic white
        ([us_race("2106-3"), us_ethnicity("2186-5")], "white", "white"),
        ([us_race("2054-5")], None, "black"),  # Caribbean or African cannot be told
        ([us_race("2028-9")], None, "other"),
        ([us_race("2028-9", detailed=("2029-7",))], "indian", "other"),
        ([us_race("2028-9", detailed=("2030-5",))], "bangladeshi", "other"),
        ([us_race("1002-5")], "other", "other"),
        ([us_race("2106-3", "2054-5")], "other", None),  # several races: mixed
        (
            [us_race("UNK", system="http://terminology.hl7.org/CodeSystem/v3-NullFlavor")],
            "not_stated",
            None,
        ),
    ],
)
def test_us_core_race_and_ethnicity(
    extensions: list[dict[str, Any]], ethnicity: str | None, race: str | None
) -> None:
    result = _read(extension=extensions)
    assert (result.record.patient.ethnicity, result.record.patient.race) == (ethnicity, race)
    if ethnicity is None:
        assert any(i.severity == "warning" and "QRISK3" in i.message for i in result.issues)


def test_uk_and_us_values_that_disagree_are_a_conflict() -> None:
    result = _read(extension=[uk_ethnicity("H"), us_race("2106-3")])
    assert result.record.patient.ethnicity is None and result.record.patient.race == "white"
    assert any(i.kind == "conflict" and i.severity == "warning" for i in result.issues)


def test_wrong_json_types_in_the_patient_are_an_error() -> None:
    with pytest.raises(cvrisk.errors.RecordError, match="deceasedBoolean"):
        read_fhir(bundle(patient(deceasedBoolean="yes")), on_invalid="report", strict=False)


@pytest.mark.parametrize("born", ["9999-12-31", "0001-01-01", "1799"])
def test_a_birth_date_outside_the_supported_dates_is_a_record_error(born: str) -> None:
    """A valid FHIR date the record cannot hold is a typed error naming the resource (it
    escaped as a pydantic ValidationError: a traceback in the CLI, 500 in the service)."""
    from cvrisk.errors import RecordError

    with pytest.raises(RecordError, match=r"Patient/.*outside the dates cvrisk supports"):
        read_fhir(bundle(patient(birthDate=born)), on_invalid="report", strict=False)
