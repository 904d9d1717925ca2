"""``cvrisk.score`` on a Dask DataFrame: partition by partition on a real LocalCluster.

Two process workers (``processes=True``): the model, the partitions and the errors cross
process boundaries by pickling, as on a real cluster. Results must equal the in-memory path;
nothing is computed before ``.compute()``; Dask is imported only when a Dask object is given.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cvrisk
from cvrisk.errors import InvalidInputError, MissingInputError, OptionError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def _frame(n: int = 2000) -> pd.DataFrame:
    from tests.test_cli_score import _cohort

    frame = _cohort(n, seed=3).set_index("pid")
    frame.loc["P0011", "age"] = 200.0
    frame.loc["P0042", "ethnicity"] = "unknown"
    return frame


def test_partitions_give_the_in_memory_result(client: object) -> None:
    frame = _frame()
    lazy = cvrisk.score("qrisk3", dd.from_pandas(frame, npartitions=4, sort=False), errors="coerce")
    assert isinstance(lazy, dd.Series) and lazy.npartitions == 4 and lazy.name == "qrisk3"
    risk = lazy.compute()
    expected = cvrisk.score("qrisk3", frame, errors="coerce")
    assert list(risk.index) == list(expected.index)
    np.testing.assert_array_equal(risk.to_numpy(), expected.to_numpy())
    assert np.isnan(risk[["P0011", "P0042"]]).all()


def test_reasons_per_row(client: object) -> None:
    frame = _frame(600)
    lazy = cvrisk.score(
        "qrisk3", dd.from_pandas(frame, npartitions=3, sort=False), errors="coerce", reasons=True
    )
    result = lazy.compute()
    assert list(result.columns) == ["risk", "problems"]
    assert result["problems"].notna().sum() == 2
    assert result.loc["P0011", "problems"].startswith("age=200.0: outside the validated range")


def test_an_invalid_row_raises_when_its_partition_is_computed(client: object) -> None:
    lazy = cvrisk.score("qrisk3", dd.from_pandas(_frame(), npartitions=4, sort=False))
    with pytest.raises(InvalidInputError, match=r"row 'P0011', age=200\.0"):
        lazy.compute()


def test_call_mistakes_are_raised_before_any_computation(client: object) -> None:
    frame = dd.from_pandas(_frame(100), npartitions=2, sort=False)
    with pytest.raises(MissingInputError, match="'sex'"):
        cvrisk.score("qrisk3", frame.drop(columns=["sex"]))
    with pytest.raises(OptionError):
        cvrisk.score("qrisk3", frame, age_rounding="yearly")


def test_dask_is_not_loaded_for_in_memory_scoring() -> None:
    code = (
        "import sys, cvrisk\n"
        "cvrisk.score('pce', dict(age=55, sex='female', race='white', total_cholesterol=5.5,"
        " hdl_cholesterol=1.3, sbp=120.0, bp_treated=False, smoker=False, diabetes=False))\n"
        "loaded = [m for m in ('cvrisk.scores.partitioned', 'dask.dataframe', 'distributed',"
        " 'pyarrow', 'cvrisk.scorefiles') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
