"""Cohort files end to end: Parquet -> QRISK3 -> Parquet, ``cvrisk score`` on CSV, growth.

Run::

    cd /work/main && PYTHONPATH=. python bench/cohort_files_bench.py [--n 1000000]

The input files are generated here, with a fixed seed, in a temporary directory (or
``--dir``): ``--n`` synthetic in-range QRISK3 patients (``scores_bench.cohort``) with a text
patient id, written as Parquet and as CSV (about 170 bytes per row). Measured, each the best
of ``--repeat`` runs:

1. **Parquet -> Parquet through the API**: ``pandas.read_parquet`` -> ``cvrisk.score``
   (``patient_id`` as the index) -> ``DataFrame.to_parquet``, in this process (target for
   1 M patients: <= 3 s);
2. the same through the command line, ``cvrisk score qrisk3 in.parquet -o out.parquet
   --id patient_id``, as a new process (so its imports count);
3. **CSV**: ``cvrisk score qrisk3 in.csv -o out.csv --id patient_id`` as a new process,
   against ``pandas.read_csv`` of the same file alone, also as a new process (target:
   ``cvrisk score`` within 2x);
4. **growth**: (1) and (3) at 10 k, 100 k and ``--n`` rows (seconds and rows/second).

Peak memory of each command-line run (maximum resident set size of the child process) is
printed for the Parquet and the CSV input: streaming keeps the CSV run's bounded by the
reader's read-ahead (about 36 blocks of 4 MB), not the file; a Parquet file is read by row
group (pandas writes a 1 M-row file as one row group), so its peak follows the row group
size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scores_bench import cohort

import cvrisk

ROOT = Path(__file__).resolve().parent.parent


def write_inputs(n: int, directory: Path) -> tuple[Path, Path]:
    """``qrisk3_<n>.parquet`` and ``qrisk3_<n>.csv`` with ``n`` patients (seed 2024)."""
    parquet, csv = directory / f"qrisk3_{n}.parquet", directory / f"qrisk3_{n}.csv"
    if not (parquet.exists() and csv.exists()):
        frame = pd.DataFrame(cohort("qrisk3", n, np.random.default_rng(2024)))
        frame.insert(0, "patient_id", [f"P{i:08d}" for i in range(n)])
        frame.to_parquet(parquet, index=False)
        frame.to_csv(csv, index=False, float_format="%.6g")
    return parquet, csv


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of a child process (which must succeed), measured
    by a small wrapper process so that each run's peak is its own."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    return seconds, int(done.stdout.strip()) / 1024


def best_process(args: list[str], repeat: int) -> tuple[float, float]:
    runs = [run_process(args) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def api_parquet(source: Path, target: Path) -> None:
    frame = pd.read_parquet(source).set_index("patient_id")
    risk = cvrisk.score("qrisk3", frame)
    risk.to_frame().to_parquet(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="largest cohort")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        sizes = sorted({n for n in (10_000, 100_000, args.n) if n <= args.n})
        print(
            f"{'rows':>10}{'CSV MB':>9}{'API pq->pq s':>14}{'CLI pq->pq s':>14}"
            f"{'CLI csv s':>11}{'read_csv s':>12}{'csv ratio':>11}{'peak MB pq':>12}"
            f"{'peak MB csv':>13}"
        )
        for n in sizes:
            parquet, csv = write_inputs(n, directory)
            out = directory / f"risk_{n}"
            api = best_of(
                lambda p=parquet, o=out: api_parquet(p, o.with_suffix(".parquet")), args.repeat
            )
            cli = ["-m", "cvrisk", "score", "qrisk3", "--id", "patient_id"]
            cli_pq, peak_pq = best_process(
                [*cli[:4], str(parquet), "-o", str(out) + "_cli.parquet", *cli[4:]], args.repeat
            )
            cli_csv, peak_csv = best_process(
                [*cli[:4], str(csv), "-o", str(out) + "_cli.csv", *cli[4:]], args.repeat
            )
            read_csv, _ = best_process(
                ["-c", f"import pandas; pandas.read_csv({str(csv)!r})"], args.repeat
            )
            print(
                f"{n:>10,}{csv.stat().st_size / 1e6:>9.1f}{api:>14.3f}{cli_pq:>14.3f}"
                f"{cli_csv:>11.3f}{read_csv:>12.3f}{cli_csv / read_csv:>11.2f}"
                f"{peak_pq:>12.0f}{peak_csv:>13.0f}"
            )
            check = pd.read_parquet(str(out) + "_cli.parquet").set_index("patient_id")
            expected = pd.read_parquet(out.with_suffix(".parquet"))
            np.testing.assert_allclose(
                check["qrisk3_risk"].to_numpy(), expected["qrisk3"].to_numpy(), rtol=0, atol=0
            )


if __name__ == "__main__":
    main()
