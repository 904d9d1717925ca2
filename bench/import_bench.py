"""Start-up cost: wall time of ``import cvrisk`` and ``cvrisk --version``, best of N.

Run from the repository root:

    PYTHONPATH=. python bench/import_bench.py [--repeat 15]

Each command runs in a fresh interpreter (``python -c "import cvrisk"``, ``python -m cvrisk
--version``), so the time includes interpreter start-up; a bare ``python -c pass`` is timed
the same way as the floor. The best of ``--repeat`` runs is reported (the least disturbed by
other load on the machine), with the median for context, and the best CPU time (user + system
of the child), which a busy machine inflates less than wall time. ``--importtime`` also prints the
ten slowest modules of one ``python -X importtime -c "import cvrisk"`` (cumulative µs).

The target (docs/performance.md) is 0.3 s for both commands.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import cvrisk": [sys.executable, "-c", "import cvrisk"],
    "cvrisk --version": [sys.executable, "-m", "cvrisk", "--version"],
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall_and_cpu_times(command: list[str], repeat: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return walls, cpus


def slowest_imports(count: int) -> list[tuple[int, str]]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cvrisk"],
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in run.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command")
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports")
    args = parser.parse_args()
    print(f"best and median of {args.repeat} runs; Python {sys.version.split()[0]}")
    for name, command in COMMANDS.items():
        times, cpus = wall_and_cpu_times(command, args.repeat)
        print(
            f"{name:<26} best {min(times):6.3f} s   median {statistics.median(times):6.3f} s"
            f"   best CPU {min(cpus):6.3f} s"
        )
    if args.importtime:
        print("\nslowest imports (cumulative µs, one run):")
        for micros, module in slowest_imports(10):
            print(f"{micros:>9}  {module}")


if __name__ == "__main__":
    main()
