"""The compiled-rules cache returns each protocol file's own rules, whatever the order of calls.

Regression: the cache was keyed by the ``id()`` of protocol objects; protocols loaded from
local files are freed after each call and Python reuses their ids, so a later call could run
another file's rules (wrong alerts, or a KeyError).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvrisk.rules import engine
from cvrisk.rules.catalog import protocol_dir
from cvrisk.rules.evaluate import evaluate

AS_OF = dt.date(2025, 6, 1)
RECORD = {
    "patient": {"birth_date": "1970-01-01", "sex": "male"},
    "medications": [{"drug": "olanzapine", "start": "2025-01-01"}],
    "observations": [{"analyte": "qtc", "value": 480, "unit": "ms", "date": "2025-05-01"}],
}
#: local copies of ecg-qtc.toml whose male QTc threshold differs: 480 ms fires only below 480
THRESHOLDS = (440, 460, 470, 490, 500)


@pytest.fixture(scope="module")
def local_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    text = (protocol_dir() / "ecg-qtc.toml").read_text(encoding="utf-8")
    marker = 'op = ">"\nvalue = 450\nunit = "ms"\nsex = "male"'
    assert marker in text
    folder = tmp_path_factory.mktemp("protocols")
    files = {}
    for threshold in THRESHOLDS:
        path = folder / f"qtc-{threshold}.toml"
        path.write_text(text.replace(marker, marker.replace("450", str(threshold))), "utf-8")
        files[threshold] = path
    return files


def _fires(path: Path) -> bool:
    report = evaluate(RECORD, as_of=AS_OF, protocols=[path], scores=[])
    return any(a.rule == "qtc-prolonged-male" for a in report.alerts)


def test_alternating_two_files_gives_each_its_own_alerts(local_files: dict[int, Path]) -> None:
    for _ in range(30):
        assert _fires(local_files[460]) is True
        assert _fires(local_files[490]) is False


@settings(max_examples=40, deadline=None)
@given(order=st.lists(st.sampled_from(THRESHOLDS), min_size=1, max_size=12))
def test_any_interleaving_gives_each_file_its_result(
    local_files: dict[int, Path], order: list[int]
) -> None:
    for threshold in order:
        assert _fires(local_files[threshold]) is (threshold < 480)


def test_the_cache_is_bounded_and_eviction_keeps_results_right(
    local_files: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "MAX_RULESETS", 2)
    for _ in range(3):
        for threshold in THRESHOLDS:
            assert _fires(local_files[threshold]) is (threshold < 480)
            assert len(engine._BY_CONTENT) <= 2
    registered = engine._host()._ruleset_directory
    assert all(name.removeprefix("cvrisk_") in engine._BY_CONTENT for name in registered)
