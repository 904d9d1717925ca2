"""Time the quality measures (SSD, SMD, SMC, APM) and the group rates on a synthetic cohort.

    PYTHONPATH=$PWD python bench/measures_bench.py --patients 1000000   # target: <= 30 s
    PYTHONPATH=$PWD python bench/measures_bench.py --patients 20000     # quick check

The cohort is drawn without entry ids (the measures do not read them); the drawing time is
printed apart and is not part of the measures' time.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from cvrisk.cohort.synth import synthesize
    from cvrisk.measures import measure, rates_by

    began = time.perf_counter()
    cohort = synthesize(args.patients, entry_ids=False)
    print(
        f"draw {args.patients:,} patients ({len(cohort.observations):,} observations): "
        f"{time.perf_counter() - began:.1f} s"
    )
    for _ in range(args.repeat):
        began = time.perf_counter()
        result = measure(cohort.tables(), args.year)
        measured = time.perf_counter() - began
        began = time.perf_counter()
        summary = result.summary()
        by_site = rates_by(result, by=["site", "age_band", "sex"], groups=cohort.sites)
        grouped = time.perf_counter() - began
        print(
            f"all four measures: {measured:.1f} s; summary + rates by site/age band/sex: "
            f"{grouped:.1f} s ({len(by_site):,} group rows)"
        )
    print(summary[summary["stratum"] == "total"].to_string(index=False))


if __name__ == "__main__":
    main()
