"""The committed docs/record.schema.json must match the schema the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from cvrisk.record import PatientRecord, dumps_schema, record_json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "record.schema.json"
REGENERATE = "cvrisk schema record > docs/record.schema.json"


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.exists(), f"docs/record.schema.json is missing: run `{REGENERATE}`"
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    generated = dumps_schema(record_json_schema())
    assert committed == generated, (
        "docs/record.schema.json is out of date with cvrisk/record.py: regenerate it with "
        f"`{REGENERATE}` (from the repository root) and commit the result"
    )


def test_dumps_schema_is_stable() -> None:
    schema = record_json_schema()
    assert dumps_schema(schema) == dumps_schema(json.loads(dumps_schema(schema)))


def test_record_md_example_is_valid() -> None:
    """The example record in docs/record.md reads without error and round-trips."""
    text = (ROOT / "docs" / "record.md").read_text(encoding="utf-8")
    start = text.index("```json\n") + len("```json\n")
    example = text[start : text.index("```", start)]
    record = PatientRecord.from_json(example)
    assert PatientRecord.from_json(record.to_json()) == record
    assert record.observations and record.medications and record.conditions
