"""Hunt for differences between cohort monitoring and evaluate() on freshly drawn cohorts.

CI's differential test (tests/cohort/test_differential.py) draws the same cohorts every
run, so that a landing never depends on luck. This script runs it with new random cohorts
each time, ``--rounds`` times, and stops at the first difference (hypothesis prints the
shrunk cohort of test_small_cohorts). Use it after changing either path.

    PYTHONPATH=. python bench/cohort_hunt.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys

import pytest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ["CVRISK_COHORT_RANDOM"] = "1"
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}/{args.rounds}", flush=True)
        code = pytest.main(
            ["-q", "-p", "no:cacheprovider", "tests/cohort/test_differential.py", "-x"]
        )
        if code != 0:
            return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
