"""Time the synthetic cohort: drawing it, and writing it as native Parquet, FHIR Bulk Data
NDJSON and OMOP CDM Parquet.

    PYTHONPATH=$PWD python bench/synth_bench.py --patients 1000000 --formats native,omop
    PYTHONPATH=$PWD python bench/synth_bench.py --patients 20000        # quick check

Prints rows per table, seconds per step and peak memory (resident set, MB). The numbers are
machine-dependent: rerun on a quiet machine before quoting them.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--formats", default="native,fhir,omop")
    parser.add_argument("--no-ids", action="store_true", help="leave entry ids empty")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args()

    from cvrisk.cohort.synth import synthesize
    from cvrisk.cohort.synth_write import write_cohort

    began = time.perf_counter()
    cohort = synthesize(args.patients, entry_ids=not args.no_ids)
    drawn = time.perf_counter() - began
    print(
        f"patients {len(cohort.patients):,}  conditions {len(cohort.conditions):,}  "
        f"medications {len(cohort.medications):,}  observations {len(cohort.observations):,}"
    )
    print(f"draw: {drawn:.1f} s  (peak {peak_mb():,.0f} MB)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        for kind in args.formats.split(","):
            written = write_cohort(cohort, out, formats=kind)
            size = sum(p.stat().st_size for p in (out / kind).rglob("*") if p.is_file()) / 1e6
            seconds = written.seconds[kind]
            print(f"write {kind}: {seconds:.1f} s, {size:,.0f} MB  (peak {peak_mb():,.0f} MB)")


if __name__ == "__main__":
    main()
