"""The long fuzz campaign: every target of tests/fuzz/targets.py on freshly generated hostile
input, with a per-input time limit to catch hangs, and counts per target and outcome.

Outcomes: ``ok``; ``typed:<CvriskError subclass>`` (or ``typed:exit-2`` for the command
line); ``escaped:<exception>`` (a bug); ``hang`` (over the time limit). Escaped and hanging
inputs are written, truncated, to ``--failures`` for triage. Exits 1 when any input escaped
or hung.

Usage::

    PYTHONPATH=. python bench/fuzz.py --inputs 100000            # the full run
    PYTHONPATH=. python bench/fuzz.py --inputs 2000 --seed 7     # a quick one
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from cvrisk.errors import quoted
from tests.fuzz import strategies as fuzzing
from tests.fuzz import targets as fuzz_targets
from tests.rules.strategies import record


class Hang(BaseException):
    """Raised by the alarm when one input runs over the time limit (BaseException, so no
    ``except Exception`` inside cvrisk can swallow it)."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hang


#: target name -> (strategy of one input, call on it returning the outcome)
TARGETS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]] = {
    "read_record": (fuzzing.mutated_record(), fuzz_targets.record_read),
    "read_record_lenient": (fuzzing.mutated_record(), fuzz_targets.record_read_lenient),
    "from_json": (fuzzing.mutated_record(), fuzz_targets.from_json),
    "evaluate_record": (fuzzing.mutated_record(), fuzz_targets.evaluate_record),
    "fhir_like": (fuzzing.fhir_like(), fuzz_targets.evaluate_record),
    "mutated_fhir": (fuzzing.mutated_fhir(), fuzz_targets.evaluate_record),
    "evaluate_arguments": (
        st.tuples(record(max_observations=6), fuzzing.evaluate_kwargs),
        lambda pair: fuzz_targets.evaluate_arguments(*pair),
    ),
    "schedule": (fuzzing.schedule_args, fuzz_targets.schedule_arguments),
    "score_record": (
        st.tuples(record(max_observations=6), fuzzing.score_record_args),
        lambda pair: fuzz_targets.score_record_arguments(*pair),
    ),
    "score_inputs": (
        st.tuples(record(max_observations=6), fuzzing.score_record_args),
        lambda pair: fuzz_targets.score_inputs_arguments(*pair),
    ),
    "from_file": (fuzzing.mutated_record(), fuzz_targets.from_file),
    "cli": (
        st.tuples(
            fuzzing.cli_argv(), st.one_of(record(max_observations=6), fuzzing.mutated_record())
        ),
        lambda pair: fuzz_targets.cli(*pair),
    ),
}


def run_target(
    name: str, inputs: int, limit: float, seed_value: int, failures: list[str]
) -> tuple[Counter[str], float, float]:
    """Feed ``inputs`` generated inputs to one target; (outcome counts, seconds, slowest)."""
    strategy, call = TARGETS[name]
    counts: Counter[str] = Counter()
    slowest = [0.0]

    @seed(seed_value)
    @settings(
        max_examples=inputs,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def feed(value: Any) -> None:
        began = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            result = call(value)
        except Hang:
            result = "hang"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        slowest[0] = max(slowest[0], time.perf_counter() - began)
        counts[result] += 1
        if result.startswith("escaped") or result == "hang":
            failures.append(f"{name}\t{result}\t{quoted(value, 400)}")

    began = time.perf_counter()
    feed()
    return counts, time.perf_counter() - began, slowest[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="total, over all targets")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--targets", nargs="+", default=sorted(TARGETS))
    parser.add_argument("--failures", default="fuzz-failures.tsv")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a command line reading '-' must not wait on a terminal
    each = max(1, args.inputs // len(args.targets))
    failures: list[str] = []
    total: Counter[str] = Counter()
    print(f"seed {args.seed}; {each} inputs per target; limit {args.limit:g} s per input")
    print(f"{'target':22} {'inputs':>7} {'seconds':>8} {'slowest':>8}  outcomes")
    for name in args.targets:
        counts, seconds, slowest = run_target(name, each, args.limit, args.seed, failures)
        total.update(counts)
        shown = ", ".join(f"{k} {v}" for k, v in counts.most_common())
        print(f"{name:22} {sum(counts.values()):>7} {seconds:>8.1f} {slowest:>8.2f}  {shown}")
        sys.stdout.flush()
    bad = sum(v for k, v in total.items() if k.startswith("escaped") or k == "hang")
    print(f"total {sum(total.values())} inputs: {dict(total.most_common())}")
    Path(args.failures).write_text("\n".join(failures) + ("\n" if failures else ""))
    print(f"{bad} escaped or hung (listed in {args.failures})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
