"""The summary store the patient-view cards link to: rows kept and expired, one connection
per process, the write-ahead log checkpointed in the background rather than by a call."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

import cvrisk
from cvrisk.record import PatientRecord
from cvrisk.rules.report import Report
from cvrisk.sources import read_record
from cvrisk.summary.service import SummaryStore
from tests.service.fhir_data import example_resources


@pytest.fixture(scope="module")
def evaluated() -> tuple[Report, PatientRecord]:
    read = read_record(example_resources(), on_invalid="report")
    report = cvrisk.evaluate(read, as_of=dt.date(2025, 6, 1), on_invalid="report")
    return report, read.record


def test_rows_are_kept_then_expire(tmp_path: Path, evaluated: tuple[Report, PatientRecord]) -> None:
    report, record = evaluated
    store = SummaryStore(tmp_path / "s.sqlite", ttl_seconds=900)
    token = store.put(report, record)
    assert store.get(token) == (report, record)
    assert store.get("not-a-token") is None
    other = SummaryStore(tmp_path / "s.sqlite", ttl_seconds=900)  # another worker's
    assert other.get(token) == (report, record)
    expiring = SummaryStore(tmp_path / "s.sqlite", ttl_seconds=0)
    assert expiring.get(token) is None  # expired: deleted
    assert store.get(token) is None


def test_the_log_is_checkpointed_in_the_background_not_by_puts(
    tmp_path: Path,
    evaluated: tuple[Report, PatientRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report, record = evaluated
    path = tmp_path / "s.sqlite"
    store = SummaryStore(path, ttl_seconds=900)
    monkeypatch.setattr(SummaryStore, "CHECKPOINT_SECONDS", 0.05)
    for _ in range(5):
        store.put(report, record)
    assert store._db is not None  # a commit never checkpoints (it would wait for the disk)
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # the rows go to the log; the database file grows when a checkpoint copies them in
    deadline = time.monotonic() + 10
    while path.stat().st_size < 50_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= 50_000, "no checkpoint in the background"
