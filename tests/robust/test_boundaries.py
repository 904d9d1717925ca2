"""Every public entry point answers bad input with a CvriskError naming it, never a builtin
exception from deep inside (each case here escaped as one before; see docs/limits.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import cvrisk
from cvrisk.errors import CvriskError, OptionError, ProtocolError, RecordError, quoted
from cvrisk.record import PatientRecord
from cvrisk.scores.from_record import score_inputs, score_record
from cvrisk.sources import read_record

EXAMPLE = Path(__file__).parents[2] / "examples" / "patient.json"
BASE: dict[str, Any] = json.loads(EXAMPLE.read_text())
AS_OF = "2025-06-01"


def _nested_dict(depth: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    node = top
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return top


def _nested_list(depth: int) -> list[Any]:
    top: list[Any] = []
    node = top
    for _ in range(depth):
        node.append([])
        node = node[0]
    return top


def _typed(call: Any) -> CvriskError:
    with pytest.raises(CvriskError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    "record",
    [
        {"patient": _nested_dict(5000)},
        {**BASE, "observations": _nested_list(100_000)},
        {**BASE, "conditions": [_nested_dict(3000)]},
    ],
    ids=["deep-patient", "deep-observations", "deep-condition"],
)
def test_deeply_nested_input_is_a_record_error(record: dict[str, Any]) -> None:
    # was RecursionError while quoting the value in the message
    error = _typed(lambda: cvrisk.evaluate(record, as_of=AS_OF))
    assert isinstance(error, RecordError)
    assert "deep" in str(error)


def test_cyclic_python_input_is_a_record_error() -> None:
    record: dict[str, Any] = {**BASE, "observations": []}
    record["observations"].append(record)
    assert isinstance(_typed(lambda: cvrisk.evaluate(record, as_of=AS_OF)), RecordError)


def test_deep_json_text_is_a_record_error() -> None:
    error = _typed(lambda: PatientRecord.from_json("[" * 200_000))
    assert isinstance(error, RecordError)


def test_quoted_values_are_bounded() -> None:
    assert len(quoted("x" * 10**6)) <= 80
    assert len(quoted(_nested_list(10_000))) <= 80

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert quoted(Hostile()).startswith("<Hostile")


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", dt.date(2600, 1, 1)])
def test_evaluation_date_outside_the_supported_range(as_of: Any) -> None:
    # was ValueError: year 10000 is out of range (add_months), OverflowError (windows)
    error = _typed(lambda: cvrisk.evaluate(BASE, as_of=as_of))
    assert isinstance(error, OptionError)
    assert "supports" in str(error)


@pytest.mark.parametrize("start", ["9999-06-01", "0001-01-01", "2600-01-01"])
def test_schedule_start_outside_the_supported_range(start: str) -> None:
    error = _typed(lambda: cvrisk.schedule("clozapine", start))
    assert isinstance(error, OptionError)


@pytest.mark.parametrize(
    "field, value",
    [
        ("birth_date", "0001-01-01"),
        ("birth_date", "9999-12-31"),
    ],
)
def test_record_date_outside_the_supported_range(field: str, value: str) -> None:
    record = {**BASE, "patient": {**BASE["patient"], field: value}}
    error = _typed(lambda: cvrisk.evaluate(record, as_of=AS_OF))
    assert isinstance(error, RecordError)
    assert "patient.birth_date" in str(error)


def test_result_date_outside_the_range_is_skipped_when_lenient() -> None:
    record = {
        **BASE,
        "observations": [{"analyte": "weight", "value": 70, "unit": "kg", "date": "9999-01-01"}],
    }
    report = cvrisk.evaluate(record, as_of=AS_OF, on_invalid="report")
    assert any(i.kind == "invalid" and i.field == "observations[0]" for i in report.data_issues)


def test_a_long_schedule_from_a_late_start_never_overflows() -> None:
    plan = cvrisk.schedule("clozapine", "2499-12-31")
    assert all(item.due_date.year >= 2499 for p in plan.protocols for item in p.followups)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"jurisdiction": ["GB"]},
        {"protocols": 3},
        {"score_inputs": 1.5},
        {"score_inputs": {"qrisk3": 2}},
        {"lang": ["en"]},
        {"scores": {"qrisk3": 1}},
        {"scores": [["qrisk3"]]},
        {"record_complete": "yes"},
        {"strict": 1},
        {"on_invalid": ["raise"]},
        {"as_of": 20250101},
    ],
)
def test_evaluate_arguments_of_the_wrong_type(kwargs: dict[str, Any]) -> None:
    arguments = {"as_of": AS_OF, **kwargs}
    _typed(lambda: cvrisk.evaluate(BASE, **arguments))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"as_of": "2025-13-01"},
        {"as_of": 5},
        {"as_of": "9999-12-31"},
        {"as_of": AS_OF, "given": 1.5},
        {"as_of": AS_OF, "given": {1: 2}},
        {"as_of": AS_OF, "record_complete": "no"},
    ],
)
@pytest.mark.parametrize("verb", [score_inputs, score_record])
def test_score_record_arguments_of_the_wrong_type(verb: Any, kwargs: dict[str, Any]) -> None:
    # was TypeError: '>' not supported between date and str / 'float' object is not iterable
    error = _typed(lambda: verb(BASE, "qrisk3", **kwargs))
    assert isinstance(error, OptionError)


@pytest.mark.parametrize("model", [["qrisk3"], 3, None])
def test_score_record_model_of_the_wrong_type(model: Any) -> None:
    _typed(lambda: score_record(BASE, model, as_of=AS_OF))


def test_protocol_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    error = _typed(lambda: cvrisk.evaluate(BASE, as_of=AS_OF, protocols=[missing]))
    assert isinstance(error, ProtocolError)
    assert "cannot read" in str(error)


def test_protocol_file_binary(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00binary")
    error = _typed(lambda: cvrisk.evaluate(BASE, as_of=AS_OF, protocols=[binary]))
    assert isinstance(error, ProtocolError)
    assert "UTF-8" in str(error)


def test_protocol_path_with_a_null_byte() -> None:
    error = _typed(lambda: cvrisk.evaluate(BASE, as_of=AS_OF, protocols=["/tmp/\x00.toml"]))
    assert isinstance(error, ProtocolError)


def test_protocol_file_too_deep(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert isinstance(
        _typed(lambda: cvrisk.schedule("clozapine", AS_OF, protocol=deep)), ProtocolError
    )


def test_protocol_duration_longer_than_supported(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "protocols" / "nice-cg178.toml").read_text()
    assert 'then_every = "P1Y"' in shipped
    local = tmp_path / "long.toml"
    local.write_text(shipped.replace('then_every = "P1Y"', 'then_every = "P99999999Y"', 1))
    error = _typed(lambda: cvrisk.schedule("clozapine", AS_OF, protocol=local))
    assert isinstance(error, ProtocolError)
    assert "longer than" in str(error)


def test_record_file_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    for source in (tmp_path / "absent.json", binary, "/tmp/\x00.json"):
        assert isinstance(_typed(lambda s=source: PatientRecord.from_file(s)), RecordError)
        assert isinstance(_typed(lambda s=source: read_record(s)), RecordError)


def test_from_json_refuses_duplicate_keys() -> None:
    # pydantic's own JSON parser silently keeps the last duplicate
    text = '{"patient": {"birth_date": "1980-01-01", "sex": "male", "sex": "female"}}'
    error = _typed(lambda: PatientRecord.from_json(text))
    assert "duplicate" in str(error)


@pytest.mark.parametrize("bad", [[1], 3, None])
def test_from_json_and_from_file_of_the_wrong_type(bad: Any) -> None:
    assert isinstance(_typed(lambda: PatientRecord.from_json(bad)), RecordError)
    assert isinstance(_typed(lambda: PatientRecord.from_file(bad)), RecordError)


def test_schedule_patient_of_the_wrong_shape() -> None:
    for patient in ("x", 3, {"birth_date": [1]}, {"birth_date": "1800-01-01", "sex": "male"}):
        _typed(lambda p=patient: cvrisk.schedule("clozapine", AS_OF, patient=p))


def test_a_protocol_named_many_times_is_evaluated_once() -> None:
    # was durable_rules_engine.error (error code 107) after 8 s of compiling duplicates
    report = cvrisk.evaluate(BASE, as_of=AS_OF, protocols=["nice-cg178"] * 2000)
    assert report.protocols == ["nice-cg178"]


def test_too_many_protocols_or_models_are_refused() -> None:
    many = [f"p{i}" for i in range(40)]
    assert isinstance(
        _typed(lambda: cvrisk.evaluate(BASE, as_of=AS_OF, protocols=many)), OptionError
    )


def test_two_different_protocols_with_one_id_are_refused(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "protocols" / "nice-cg178.toml").read_text()
    local = tmp_path / "mine.toml"
    local.write_text(shipped.replace('then_every = "P1Y"', 'then_every = "P2Y"', 1))
    error = _typed(lambda: cvrisk.evaluate(BASE, as_of=AS_OF, protocols=["nice-cg178", local]))
    assert isinstance(error, ProtocolError)


def test_a_record_text_field_is_bounded() -> None:
    # a 100,000-character unit took 295 s to parse before being refused
    observation = {"analyte": "weight", "value": 70, "unit": "k" * 100_000, "date": "2024-01-01"}
    error = _typed(lambda: cvrisk.evaluate({**BASE, "observations": [observation]}, as_of=AS_OF))
    assert "at most 256 characters" in str(error)


@pytest.mark.parametrize(
    "text, named",
    [
        ('{"patient": 1' + "0" * 5000 + "}", "digits"),  # was ValueError (int conversion limit)
        (EXAMPLE.read_text().replace('"value": 68.0', '"value": 1e99999', 1), "finite"),
        (EXAMPLE.read_text().replace('"value": 68.0', '"value": NaN', 1), "finite"),
        (EXAMPLE.read_text().replace('"value": 68.0', '"value": -Infinity', 1), "finite"),
    ],
)
def test_json_numbers_outside_json_or_any_record(text: str, named: str) -> None:
    for call in (lambda: PatientRecord.from_json(text), lambda: cvrisk.evaluate(text, as_of=AS_OF)):
        error = _typed(call)
        assert isinstance(error, RecordError) and named in str(error)


def test_json_text_with_a_byte_order_mark_is_read() -> None:
    report = cvrisk.evaluate("\ufeff" + EXAMPLE.read_text(), as_of=AS_OF)
    assert report.patient_id == BASE["patient"]["id"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: cvrisk.schedule("x" * 10**6, AS_OF),
        lambda: cvrisk.evaluate(BASE, as_of=AS_OF, lang="x" * 10**6),
        lambda: cvrisk.evaluate(BASE, as_of=AS_OF, on_invalid="x" * 10**6),
        lambda: cvrisk.evaluate(BASE, as_of="x" * 10**6),
        lambda: cvrisk.evaluate(
            {**BASE, "patient": {**BASE["patient"], "birth_date": "x" * 10**6}}, as_of=AS_OF
        ),
    ],
    ids=["drug", "lang", "on_invalid", "as_of", "birth_date"],
)
def test_messages_never_quote_a_whole_long_input(call: Any) -> None:
    assert len(str(_typed(call))) < 2000


def test_a_pipe_or_device_is_refused_not_waited_on(tmp_path: Path) -> None:
    # opening a named pipe for reading blocks until a writer comes: a hang
    import os

    pipe = tmp_path / "record.json"
    os.mkfifo(pipe)
    for source in (pipe, Path("/dev/zero")):
        assert "not a regular file" in str(_typed(lambda s=source: read_record(s)))
        error = _typed(lambda s=source: cvrisk.schedule("clozapine", AS_OF, protocol=s))
        assert isinstance(error, ProtocolError)


def test_more_entries_than_the_limit_are_refused_before_validation() -> None:
    from cvrisk.limits import limits

    count = limits().max_entries + 1
    observation = {"analyte": "weight", "value": 70, "unit": "kg", "date": "2024-01-01"}
    too_many = {**BASE, "medications": [], "conditions": [], "observations": [observation] * count}
    error = _typed(lambda: cvrisk.evaluate(too_many, as_of=AS_OF))
    assert isinstance(error, RecordError) and "entries" in str(error)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{}] * count}
    assert "entries" in str(_typed(lambda: cvrisk.evaluate(bundle, as_of=AS_OF)))
