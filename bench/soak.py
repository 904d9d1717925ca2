"""Concurrency and endurance of evaluate(): threads and processes against the sequential
reports, and memory over a long run in one process.

- ``threads``: T threads x N evaluate() calls on the workload of tests/robust/workload.py;
  every report's JSON must equal the sequential one (0 mismatches), no crash, and no thread
  left behind (durable-rules' dispatcher timers stay disabled).
- ``processes``: P processes, each N calls, compared the same way.
- ``endurance``: N calls in this process; peak RSS after 1 %, 10 % and 100 % of them (flat
  memory: caches are bounded, rulesets are freed).

Usage::

    PYTHONPATH=. python bench/soak.py threads --threads 8 --calls 10000
    PYTHONPATH=. python bench/soak.py processes --processes 4 --calls 10000
    PYTHONPATH=. python bench/soak.py endurance --calls 100000
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import resource
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.robust.workload import report_json

DISTINCT = 500  # distinct workload records, cycled


def _rss_mb() -> float:
    """Current resident memory (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _expected() -> list[str]:
    return [report_json(seed) for seed in range(DISTINCT)]


def _digest(seed: int) -> str:
    return hashlib.sha256(report_json(seed).encode()).hexdigest()


def _worker(first: int, calls: int) -> list[tuple[int, str]]:
    """``calls`` evaluations from ``first`` on, in another process: (seed, report digest)."""
    return [(i % DISTINCT, _digest(i % DISTINCT)) for i in range(first, first + calls)]


def threads(count: int, calls: int) -> int:
    expected = _expected()
    before = threading.active_count()
    mismatches = 0
    lock = threading.Lock()

    def run(offset: int) -> None:
        nonlocal mismatches
        bad = sum(
            report_json(i % DISTINCT) != expected[i % DISTINCT]
            for i in range(offset, offset + calls)
        )
        with lock:
            mismatches += bad

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(run, [k * 37 for k in range(count)]))
    seconds = time.perf_counter() - began
    left = threading.active_count() - before
    print(
        f"threads: {count} x {calls} calls in {seconds:.1f} s "
        f"({count * calls / seconds:.0f}/s); mismatches {mismatches}; threads left {left}; "
        f"RSS {_rss_mb():.0f} MB"
    )
    return mismatches + left


def processes(count: int, calls: int) -> int:
    """Each process's reports against this process's sequential ones."""
    expected = [hashlib.sha256(text.encode()).hexdigest() for text in _expected()]
    context = multiprocessing.get_context("spawn")
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        done = pool.map(_worker, [k * 101 for k in range(count)], [calls] * count)
        bad = sum(digest != expected[seed] for results in done for seed, digest in results)
    seconds = time.perf_counter() - began
    print(f"processes: {count} x {calls} calls in {seconds:.1f} s; mismatches {bad}")
    return bad


def endurance(calls: int) -> int:
    marks = {max(1, calls // 100), max(1, calls // 10), calls}
    began = time.perf_counter()
    print(f"endurance: {calls} calls; RSS at start {_rss_mb():.0f} MB")
    for i in range(1, calls + 1):
        report_json(i % DISTINCT)
        if i in marks:
            print(
                f"  after {i:>7} calls: RSS {_rss_mb():.0f} MB, "
                f"{time.perf_counter() - began:.0f} s",
                flush=True,
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("threads", "processes", "endurance"))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.mode == "threads":
        bad = threads(args.threads, args.calls)
    elif args.mode == "processes":
        bad = processes(args.processes, args.calls)
    else:
        bad = endurance(args.calls)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
