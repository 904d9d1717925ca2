"""Latency of cvrisk.evaluate() on a typical record, one process.

Typical record: the bundled example (examples/patient.json): a man with schizophrenia,
olanzapine switched to clozapine with aripiprazole added (2 antipsychotics at once), about
3 years of results (171 observations). The record is parsed once (as an EHR holding a
PatientRecord would); each call evaluates every applicable shipped protocol and QRISK3.

    python bench/evaluate_bench.py [--runs 2000] [--warmup 200]

Reports p50, p90, p99 and max in milliseconds, for the native-JSON-dict path too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import cvrisk
from cvrisk.record import PatientRecord

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "patient.json"
AS_OF = dt.date(2025, 6, 1)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50": pick(0.50),
        "p90": pick(0.90),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def _time(call, runs: int, warmup: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return _percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    raw = json.loads(EXAMPLE.read_text())
    record = PatientRecord.from_json(raw)
    cases = {
        "PatientRecord, all protocols + QRISK3": lambda: cvrisk.evaluate(record, as_of=AS_OF),
        "PatientRecord, jurisdiction GB": lambda: cvrisk.evaluate(
            record, as_of=AS_OF, jurisdiction="GB"
        ),
        "PatientRecord, only rule-required scores": lambda: cvrisk.evaluate(
            record, as_of=AS_OF, scores=[]
        ),
        "JSON dict (parse + validate + evaluate)": lambda: cvrisk.evaluate(raw, as_of=AS_OF),
    }
    print(f"observations: {len(record.observations)}, medications: {len(record.medications)}")
    print(f"{'case':42s} {'p50':>7s} {'p90':>7s} {'p99':>7s} {'max':>7s}  (ms)")
    for name, call in cases.items():
        stats = _time(call, args.runs, args.warmup)
        columns = " ".join(f"{stats[k]:7.3f}" for k in ("p50", "p90", "p99", "max"))
        print(f"{name:42s} {columns}")


if __name__ == "__main__":
    main()
