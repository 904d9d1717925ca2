"""Reading inputs: kind detection, duplicate keys, lenient reading, file and text errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cvrisk.errors import DataIssueError, OptionError, RecordError
from cvrisk.record import PatientRecord
from cvrisk.sources import read_record, register_reader

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "patient.json"


@pytest.fixture
def native() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def test_every_native_form_reads_the_same(native: dict[str, Any], tmp_path: Path) -> None:
    expected = read_record(native).record
    text = json.dumps(native)
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    for source in (text, text.encode(), path, str(path), expected):
        result = read_record(source)
        assert result.record == expected and result.issues == []
    assert read_record(expected).kind == "record"


@pytest.mark.parametrize(
    "text",
    [
        '{"patient": {"birth_date": "1980-01-01", "sex": "male", "sex": "female"}}',
        '{"patient": {"birth_date": "1980-01-01", "sex": "male"}, "observations": [],'
        ' "observations": []}',
    ],
)
def test_duplicate_keys_are_an_error_naming_the_key(text: str) -> None:
    with pytest.raises(RecordError, match="duplicate JSON key"):
        read_record(text)


def test_lenient_reading_skips_each_invalid_entry_and_names_it(native: dict[str, Any]) -> None:
    data = copy.deepcopy(native)
    data["observations"][3]["value"] = 1e6  # an implausible blood pressure
    data["observations"][5]["unit"] = "furlongs"
    data["medications"].append({"drug": "olanzapine", "start": "1900-01-01", "id": "m-9"})
    with pytest.raises(RecordError):
        read_record(data)
    result = read_record(data, on_invalid="report")
    assert len(result.record.observations) == len(native["observations"]) - 2
    assert len(result.record.medications) == len(native["medications"])
    fields = {issue.field: issue for issue in result.issues}
    assert set(fields) == {"observations[3]", "observations[5]", "medications[3]"}
    assert all(i.kind == "invalid" and i.severity == "warning" for i in result.issues)
    assert "furlongs" in fields["observations[5]"].message
    assert fields["medications[3]"].resource == "m-9"
    with pytest.raises(DataIssueError, match="3 data issue"):
        read_record(data, on_invalid="report", strict=True)


def test_lenient_reading_still_needs_a_valid_patient(native: dict[str, Any]) -> None:
    data = copy.deepcopy(native)
    data["patient"]["sex"] = "F"
    with pytest.raises(RecordError, match=r"patient\.sex"):
        read_record(data, on_invalid="report")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/no/such/file.json", "No such file"),
        ("bad\x00path", "cannot read the record file"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ("{not json", "not valid JSON"),
        ("[" * 100_000, "nested too deeply"),
        ('{"a": 1}\n{"b": ', "neither JSON nor NDJSON"),
        (3.5, "cannot read a patient record from float"),
        ("[1, 2]", "JSON list"),
    ],
)
def test_unreadable_sources_are_record_errors(source: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        read_record(source)


def test_options_are_checked(native: dict[str, Any]) -> None:
    with pytest.raises(OptionError, match="on_invalid"):
        read_record(native, on_invalid="skip")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="strict"):
        read_record(native, strict="yes")  # type: ignore[arg-type]


def test_fhir_input_goes_to_the_registered_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    import cvrisk.sources as sources

    seen: list[Any] = []
    record = PatientRecord.from_json({"patient": {"birth_date": "1980-01-01", "sex": "male"}})

    def reader(data: Any, *, on_invalid: str, strict: bool) -> sources.ReadResult:
        seen.append(data)
        return sources.ReadResult(record, [], "test")

    from cvrisk import _readers

    monkeypatch.setattr(_readers, "READERS", dict(_readers.READERS))
    monkeypatch.setitem(
        __import__("sys").modules, "cvrisk_test_reader", type("M", (), {"read": reader})
    )
    register_reader("fhir", "cvrisk_test_reader:read")
    assert read_record({"resourceType": "Bundle"}).kind == "test"
    assert (
        read_record('{"resourceType": "Patient"}\n{"resourceType": "Observation"}').kind == "test"
    )
    assert seen[1] == [{"resourceType": "Patient"}, {"resourceType": "Observation"}]
    monkeypatch.setattr(_readers, "READERS", {})
    with pytest.raises(RecordError, match="no fhir reader is registered"):
        read_record({"resourceType": "Bundle"})


def test_evaluate_takes_a_read_result_as_the_source_it_was_read_from() -> None:
    """What the CDS Hooks service relies on to read a call's resources once: evaluating the
    ReadResult gives the report evaluating the resources gives (reading issues included),
    strict still refuses them, and evaluating leaves the record as read (the shared summary
    stores that record)."""
    import cvrisk
    from tests.service.fhir_data import example_resources

    resources = example_resources()
    resources[-1] = {**resources[-1], "valueQuantity": {"value": "x", "unit": "kg"}}
    read = read_record(resources, on_invalid="report")
    assert read.issues, "the broken observation is a reading issue"
    as_read = read.record.to_json()
    options: dict[str, Any] = {"as_of": "2025-06-01", "jurisdiction": "GB", "on_invalid": "report"}
    expected = cvrisk.evaluate(resources, **options)
    assert cvrisk.evaluate(read, **options) == expected
    assert cvrisk.evaluate(read, **options, lang="fr") == cvrisk.evaluate(
        resources, **options, lang="fr"
    )
    assert (
        read.record.to_json()
        == as_read
        == read_record(resources, on_invalid="report").record.to_json()
    )
    with pytest.raises(DataIssueError):
        cvrisk.evaluate(read, **options, strict=True)
    with pytest.raises(DataIssueError):
        cvrisk.evaluate(resources, **options, strict=True)
