"""Cohort monitoring benchmark: status, alerts and worklist for N patients with 3 years of
results (about 30 observations a patient), generated here with a fixed seed.

    PYTHONPATH=. python bench/cohort_bench.py 10000 100000      # sizes to run, in turn
    PYTHONPATH=. python bench/cohort_bench.py 1000000          # the target: <= 60 s, <= 8 GB
    PYTHONPATH=. python bench/cohort_bench.py --workers 2 1000000   # batches in 2 processes

Each size runs in a fresh process. Peak memory is the process's maximum resident size; with
``--workers``, the largest sum over the process and its worker processes of their
proportional set sizes (``/proc/PID/smaps_rollup`` Pss, sampled every ``--memory-every``
seconds, 1 by default: pages a forked worker shares with its parent are counted once), which
is what the machine must hold, and ``peak_hwm_sum_gb``, the sum of each process's own peak
resident size (exact, and an upper bound of the total). Sampling Pss is not free (see
``_TreeMemory``): ``--memory-every 0`` times the run without it. CPU time counts the workers
too.
Not a test: the lead reruns it on a quiet machine.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import time

import numpy as np

AS_OF = dt.date(2025, 6, 1)
#: (analyte, unit, low, high, share of the observations)
ANALYTES = [
    ("weight", "kg", 50, 130, 0.20),
    ("height", "cm", 150, 195, 0.03),
    ("sbp", "mm[Hg]", 100, 170, 0.15),
    ("dbp", "mm[Hg]", 60, 100, 0.15),
    ("hba1c", "mmol/mol", 32, 70, 0.10),
    ("fasting_glucose", "mmol/L", 4.0, 8.0, 0.07),
    ("total_cholesterol", "mmol/L", 3.5, 7.5, 0.08),
    ("hdl_cholesterol", "mmol/L", 0.8, 2.0, 0.06),
    ("triglycerides", "mmol/L", 0.6, 3.5, 0.06),
    ("prolactin", "ng/mL", 5, 60, 0.04),
    ("qtc", "ms", 390, 480, 0.06),
]
DRUGS = ["olanzapine", "risperidone", "aripiprazole", "quetiapine", "clozapine", "haloperidol"]


def cohort(n: int, seed: int = 20250601) -> dict[str, object]:
    """Cohort tables for ``n`` patients (pandas, categorical text columns)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ids = pd.Categorical([f"P{i:07d}" for i in range(n)])
    epoch = np.datetime64("1970-01-01")
    as_of = np.datetime64(AS_OF)
    birth = as_of - rng.integers(18 * 365, 80 * 365, n).astype("timedelta64[D]")
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "birth_date": birth.astype("datetime64[ns]"),
            "sex": pd.Categorical(rng.choice(["female", "male"], n)),
            "ethnicity": pd.Categorical(rng.choice(["white", "indian", "black_african", None], n)),
        }
    )
    # one or two courses a patient: a start, sometimes a stop and a switch
    courses = rng.integers(1, 3, n)
    who = np.repeat(np.arange(n), courses)
    start = as_of - rng.integers(30, 4 * 365, len(who)).astype("timedelta64[D]")
    second = np.r_[False, who[1:] == who[:-1]]
    stop = np.where(second, start, np.datetime64("NaT"))
    first_of_pair = np.r_[who[1:] == who[:-1], False]
    stop = np.where(
        first_of_pair,
        start + rng.integers(30, 200, len(who)).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
    meds = pd.DataFrame(
        {
            "patient_id": ids[who],
            "drug": pd.Categorical(rng.choice(DRUGS, len(who), p=[0.3, 0.2, 0.2, 0.15, 0.05, 0.1])),
            "start": start.astype("datetime64[ns]"),
            "stop": stop.astype("datetime64[ns]"),
        }
    ).sort_values("patient_id", kind="stable")
    counts = rng.poisson(30, n)
    who = np.repeat(np.arange(n), counts)
    share = np.array([a[4] for a in ANALYTES])
    kind = rng.choice(len(ANALYTES), len(who), p=share / share.sum())
    low = np.array([a[2] for a in ANALYTES])[kind]
    high = np.array([a[3] for a in ANALYTES])[kind]
    values = np.round(low + (high - low) * rng.random(len(who)), 1)
    days = as_of - rng.integers(0, 3 * 365, len(who)).astype("timedelta64[D]")
    observations = pd.DataFrame(
        {
            "patient_id": ids[who],
            "analyte": pd.Categorical.from_codes(kind, [a[0] for a in ANALYTES]),
            "value": values,
            "unit": pd.Categorical(np.array([a[1] for a in ANALYTES], dtype=object)[kind]),
            "date": days.astype("datetime64[ns]"),
        }
    )
    del epoch
    return {"patients": patients, "medications": meds, "observations": observations}


class _TreeMemory:
    """Memory of this process and its children (Linux), sampled in a thread every
    ``interval`` seconds: the largest total proportional set size (``peak``, bytes: pages a
    forked worker shares with its parent counted once), and the sum over the processes of
    each one's own peak resident size (``hwm_sum``: ``VmHWM``, which the kernel keeps exactly
    between samples; an upper bound of the total, counting a shared page once per process).

    Pss costs the kernel a walk of every page of each process, under the lock its page
    faults take: sampled every 0.1 s it made the 1 M, two-worker run 14 s slower (63.5 ->
    77.5 s, 2026-12-03), so it is sampled every second by default. VmHWM costs nothing."""

    def __init__(self, interval: float) -> None:
        import threading

        self.interval = interval
        self.peak = 0
        self.hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _field(pid: int, path: str, name: str) -> int:
        try:
            with open(f"/proc/{pid}/{path}") as handle:
                for line in handle:
                    if line.startswith(name):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _children(self) -> list[int]:
        import os

        found: list[int] = []
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            try:
                with open(f"/proc/{os.getpid()}/task/{task}/children") as handle:
                    found.extend(int(p) for p in handle.read().split())
            except OSError:
                pass
        return found

    def _sample(self) -> None:
        import os

        while not self._stop.wait(self.interval):
            pids = [os.getpid(), *self._children()]
            for pid in pids:
                self.hwm[pid] = max(self.hwm.get(pid, 0), self._field(pid, "status", "VmHWM:"))
            total = sum(self._field(pid, "smaps_rollup", "Pss:") for pid in pids)
            self.peak = max(self.peak, total)

    def stop(self) -> tuple[int, int]:
        """(largest total Pss, sum of the processes' peak resident sizes), bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak, sum(self.hwm.values())


def run(n: int, workers: int = 1, every: float = 1.0) -> dict[str, float]:
    from cvrisk.cohort import monitor

    began = time.perf_counter()
    tables = cohort(n)
    made = time.perf_counter() - began
    rows = len(tables["observations"])  # type: ignore[arg-type]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree = _TreeMemory(every) if workers > 1 and every > 0 else None
    began, cpu = time.perf_counter(), time.process_time()
    result = monitor(tables, as_of=AS_OF, jurisdiction="GB", workers=workers)
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_kb = peak_kb
    if tree is not None:
        pss, hwm = tree.stop()
        peak_kb, hwm_kb = max(peak_kb, pss // 1024), max(peak_kb, hwm // 1024)
    return {
        "patients": n,
        "workers": workers,
        "observations": rows,
        "generate_s": round(made, 1),
        "monitor_s": round(took, 1),
        "monitor_cpu_s": round(cpu, 1),  # on a shared machine, closer to a quiet machine's time
        "patients_per_s": round(n / took),
        "peak_gb": round(peak_kb / 1024**2, 2),
        "peak_hwm_sum_gb": round(hwm_kb / 1024**2, 2),
        "memory_every_s": every if tree is not None else None,
        "status_rows": len(result.status),
        "alerts": len(result.alerts),
        "worklist_rows": len(result.worklist),
    }


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10000], help="patients")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--memory-every",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between memory samples with --workers (0: none, time only)",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # one size, in this process
        print(json.dumps(run(args.sizes[0], args.workers, args.memory_every)), flush=True)
        return
    for size in args.sizes:  # each size in a fresh process
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--workers",
                str(args.workers),
                "--memory-every",
                str(args.memory_every),
            ],
            check=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
