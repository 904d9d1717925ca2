"""The FHIR examples: valid FHIR, and the same tests, alerts and scores as their native twins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cvrisk
from cvrisk.record import PatientRecord
from cvrisk.rules.report import Report
from cvrisk.sources import read_record
from tests.fhir.helpers import validate_r4b

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: (native twin, FHIR example, jurisdiction of the story)
TWINS = [
    ("olanzapine-start.json", "olanzapine-start.fhir.json", "US"),
    ("patient.json", "patient.fhir.json", "GB"),
    ("risperidone-girl.json", "risperidone-girl.fhir.json", "CA"),
    ("aripiprazole-fr.json", "aripiprazole-fr.fhir.ndjson", "FR"),
]


def _resources(name: str) -> list[dict[str, Any]]:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    if name.endswith(".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


@pytest.mark.parametrize("name", [fhir for _, fhir, _ in TWINS])
def test_each_fhir_example_is_valid_fhir(name: str) -> None:
    for resource in _resources(name):
        validate_r4b(resource)


def _comparable(report: Report) -> dict[str, Any]:
    """The report without what differs by input form: ids of source entries, patient id and
    reading issues."""
    data = report.model_dump(mode="json")
    for alert in data["alerts"]:
        for evidence in alert["evidence"]:
            evidence.pop("resource")
    for score in data["scores"]:
        score.pop("basis")
    return {key: data[key] for key in ("as_of", "protocols", "tests", "alerts", "scores")}


@pytest.mark.parametrize(("native", "fhir", "jurisdiction"), TWINS)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_fhir_example_evaluates_like_its_native_twin(
    native: str, fhir: str, jurisdiction: str, lang: str
) -> None:
    kwargs: dict[str, Any] = {"as_of": "2025-06-01", "jurisdiction": jurisdiction, "lang": lang}
    expected = cvrisk.evaluate(EXAMPLES / native, **kwargs)
    got = cvrisk.evaluate(EXAMPLES / fhir, **kwargs)
    assert _comparable(got) == _comparable(expected)
    assert got.tests and (got.alerts or got.scores or jurisdiction == "CA")


@pytest.mark.parametrize(("native", "fhir", "jurisdiction"), TWINS)
def test_fhir_example_reads_into_its_native_twin(native: str, fhir: str, jurisdiction: str) -> None:
    twin = read_record(EXAMPLES / native).record
    result = read_record(EXAMPLES / fhir)
    record = result.record
    assert record.patient.model_dump(exclude={"id"}) == twin.patient.model_dump(exclude={"id"})
    assert record.patient.id is not None and record.patient.id.startswith("Patient/")

    def entries(rec: PatientRecord, key: str) -> list[dict[str, Any]]:
        out = []
        for item in getattr(rec, key):
            dumped = item.model_dump(
                mode="json", exclude={"id", "code", "system", "dose", "route"}, exclude_none=True
            )
            if key == "observations":
                dumped["date"] = dumped["date"][:10]
                dumped.pop("status", None)
                dumped["analyte"] = item.analyte_id
            if key == "medications":
                dumped["drug"] = item.ingredient
            if key == "conditions":
                dumped["code"] = item.code
            out.append(dumped)
        return sorted(out, key=json.dumps)

    for key in ("conditions", "medications", "observations"):
        assert entries(record, key) == entries(twin, key), key
    # every entry names the resource it came from
    for item in (*record.conditions, *record.medications, *record.observations):
        assert item.id is not None and "/" in item.id
    # no warning while reading a well-formed example
    assert not [i for i in result.issues if i.severity == "warning"]


def test_constructed_record_equals_a_validated_one() -> None:
    """read_fhir builds the record without validating it twice: it must be what validation
    would build."""
    for _, fhir, _ in TWINS:
        record = read_record(EXAMPLES / fhir).record
        assert PatientRecord.model_validate(record.model_dump()) == record
