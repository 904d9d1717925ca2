"""Dask: monitor runs partition by partition on a real distributed.LocalCluster (2 workers)
and gives exactly the in-memory result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvrisk.cohort import TableError, monitor
from cvrisk.cohort.result import CohortResult
from tests.cohort.reference import to_tables
from tests.cohort.strategies import AS_OF, patient

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def _patients(count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=count // 10,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(patient(), min_size=10, max_size=10))
    def draw(records: list[dict[str, Any]]) -> None:
        found.extend(records)

    draw()
    for number, rec in enumerate(found):
        rec["patient"]["id"] = f"p{number:04d}"
    return found


def _write_partitioned(tables: dict[str, pd.DataFrame], folder: Path, parts: int) -> None:
    """Each table as Parquet files indexed by patient_id, patients split into ``parts``
    ranges (the same ranges for every table), rows kept in their order."""
    ids = sorted(tables["patients"]["patient_id"])
    bounds = [ids[i * len(ids) // parts] for i in range(parts)] + [None]
    for name, frame in tables.items():
        (folder / name).mkdir(parents=True)
        ordered = frame.sort_values("patient_id", kind="stable")
        for number in range(parts):
            low, high = bounds[number], bounds[number + 1]
            chosen = ordered[
                (ordered["patient_id"] >= low) & ((ordered["patient_id"] < high) if high else True)
            ]
            chosen.set_index("patient_id").to_parquet(folder / name / f"part.{number}.parquet")


def _same(a: CohortResult, b: CohortResult) -> None:
    for table in CohortResult.TABLES:
        left, right = getattr(a, table), getattr(b, table)
        if table == "worklist":  # ordered across patients within each partition only
            left = left.sort_values("patient_id", kind="stable")
            right = right.sort_values("patient_id", kind="stable")
            # so the texts first appear in another order: compare them as texts
            left, right = (
                f.astype({c: object for c in f.columns if f[c].dtype == "category"})
                for f in (left, right)
            )
        left, right = left.reset_index(drop=True), right.reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=True, obj=table)


@pytest.fixture(scope="module")
def cluster() -> Any:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_dask_equals_in_memory(cluster: Any, tmp_path: Path) -> None:
    tables = to_tables(_patients(120))
    _write_partitioned(tables, tmp_path, parts=3)
    lazy = {
        name: dd.read_parquet(tmp_path / name, index="patient_id", calculate_divisions=True)
        for name in tables
    }
    assert lazy["observations"].npartitions == 3
    result = monitor(lazy, as_of=AS_OF, jurisdiction="GB")
    assert all(hasattr(getattr(result, t), "npartitions") for t in CohortResult.TABLES)
    sorted_tables = {n: f.sort_values("patient_id", kind="stable") for n, f in tables.items()}
    expected = monitor(sorted_tables, as_of=AS_OF, jurisdiction="GB")
    _same(result.compute(), expected)
    written = result.write(tmp_path / "out")
    status = pd.read_parquet(written[0])
    assert len(status) == len(expected.status)


def test_dask_tables_must_be_partitioned_by_patient(tmp_path: Path) -> None:
    tables = to_tables(_patients(10))
    lazy = {name: dd.from_pandas(frame, npartitions=2) for name, frame in tables.items()}
    with pytest.raises(TableError, match="indexed by patient_id"):
        monitor(lazy, as_of=AS_OF)
