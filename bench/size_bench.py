"""How evaluate() grows with the size of a record: time and peak memory from 10^3 to 10^6
observations (spread over every analyte) plus prescriptions.

Each size runs in its own process (so peak RSS is that size's own), three ways:

- ``evaluate``: the public call on the record's JSON dict: reading (limits, validation),
  then the pipeline. Above the documented limit (``max_entries`` in cvrisk/data/limits.toml,
  docs/limits.md) the record is refused up front: the time shown is the refusal's.
- ``validate``: validating the entries alone (pydantic models), linear by construction.
- ``pipeline``: evaluate() on an already-built PatientRecord (entries constructed without
  validation), the pipeline alone, to show it stays near-linear past the limit.

Usage::

    PYTHONPATH=. python bench/size_bench.py  # 1e3 1e4 39,999 (the limit, with 1e4 drugs) 1e5 1e6
    PYTHONPATH=. python bench/size_bench.py --sizes 1000 10000 --prescriptions 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from typing import Any

#: analyte -> (unit, low, high): ordinary values in the canonical unit
ANALYTES: dict[str, tuple[str, float, float]] = {
    "weight": ("kg", 45, 140),
    "height": ("cm", 150, 200),
    "waist": ("cm", 60, 140),
    "bmi": ("kg/m2", 17, 45),
    "sbp": ("mm[Hg]", 95, 190),
    "dbp": ("mm[Hg]", 55, 115),
    "pulse": ("/min", 50, 120),
    "fasting_glucose": ("mmol/L", 4, 12),
    "hba1c": ("mmol/mol", 30, 90),
    "total_cholesterol": ("mmol/L", 3, 9),
    "hdl_cholesterol": ("mmol/L", 0.7, 2.5),
    "triglycerides": ("mmol/L", 0.5, 5),
    "prolactin": ("ng/mL", 3, 150),
    "qtc": ("ms", 380, 520),
    "neutrophils": ("10*9/L", 0.3, 7),
    "wbc": ("10*9/L", 2, 11),
    "troponin": ("ng/L", 1, 200),
    "crp": ("mg/L", 0.5, 150),
}
START = dt.date(2000, 1, 1)
AS_OF = dt.date(2025, 1, 1)
SPAN_DAYS = (AS_OF - START).days


def make_record(observations: int, prescriptions: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    names = sorted(ANALYTES)
    obs = []
    for index in range(observations):
        analyte = names[index % len(names)]
        unit, low, high = ANALYTES[analyte]
        day = START + dt.timedelta(days=rng.randrange(SPAN_DAYS))
        obs.append(
            {
                "analyte": analyte,
                "value": round(rng.uniform(low, high), 1),
                "unit": unit,
                "date": day.isoformat(),
            }
        )
    meds = []
    for _ in range(prescriptions - 1):
        start = START + dt.timedelta(days=rng.randrange(SPAN_DAYS))
        stop = start + dt.timedelta(days=rng.randrange(1, 200))
        drug = rng.choice(["clozapine", "olanzapine", "risperidone", "haloperidol"])
        meds.append({"drug": drug, "start": start.isoformat(), "stop": stop.isoformat()})
    meds.append({"drug": "clozapine", "start": "2024-06-01"})  # a current course
    return {
        "patient": {"id": "big", "birth_date": "1970-01-01", "sex": "male"},
        "conditions": [{"code": "F20.0", "system": "icd10", "onset": "1995-01-01"}],
        "medications": meds,
        "observations": obs,
    }


def _constructed(record: dict[str, Any]) -> Any:
    """A PatientRecord built without validation (the pipeline alone is then measured)."""
    from cvrisk.record import Condition, Medication, Observation, Patient, PatientRecord

    def day(text: str) -> dt.date:
        return dt.date.fromisoformat(text)

    patient = record["patient"]
    return PatientRecord.model_construct(
        patient=Patient.model_construct(
            id=patient["id"], birth_date=day(patient["birth_date"]), sex=patient["sex"]
        ),
        conditions=[
            Condition.model_construct(
                code=c["code"], system=c["system"], onset=day(c["onset"]), abatement=None
            )
            for c in record["conditions"]
        ],
        medications=[
            Medication.model_construct(
                drug=m["drug"],
                start=day(m["start"]),
                stop=day(m["stop"]) if "stop" in m else None,
                code=None,
                system=None,
                dose=None,
                route=None,
                id=None,
            )
            for m in record["medications"]
        ],
        observations=[
            Observation.model_construct(
                analyte=o["analyte"],
                value=o["value"],
                unit=o["unit"],
                date=day(o["date"]),
                code=None,
                system=None,
                coded=None,
                status="final",
                id=None,
            )
            for o in record["observations"]
        ],
    )


def run_one(mode: str, observations: int, prescriptions: int) -> dict[str, Any]:
    """One measurement, in this process."""
    import cvrisk
    from cvrisk.errors import CvriskError
    from cvrisk.record import Observation

    cvrisk.evaluate(make_record(20, 2), as_of=AS_OF)  # imports and caches warm
    record = make_record(observations, prescriptions)
    outcome = "ok"
    began = time.perf_counter()
    if mode == "evaluate":
        try:
            cvrisk.evaluate(record, as_of=AS_OF)
        except CvriskError as exc:
            outcome = f"refused: {str(exc)[:70]}"
    elif mode == "validate":
        for entry in record["observations"]:
            Observation.model_validate(entry)
    else:
        built = _constructed(record)
        began = time.perf_counter()
        cvrisk.evaluate(built, as_of=AS_OF)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "n": observations, "seconds": seconds, "rss_mb": peak, "outcome": outcome}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10**3, 10**4, 39_999, 10**5, 10**6]
    )
    parser.add_argument("--prescriptions", type=int, default=10**4)
    parser.add_argument("--modes", nargs="+", default=["evaluate", "validate", "pipeline"])
    parser.add_argument("--one", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        result = run_one(args.one[0], int(args.one[1]), args.prescriptions)
        print(json.dumps(result))
        return 0
    print(
        f"{'mode':9} {'observations':>12} {'seconds':>8} {'s/1e5':>7} {'peak RSS MB':>11}  outcome"
    )
    for mode in args.modes:
        for size in args.sizes:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    mode,
                    str(size),
                    "--prescriptions",
                    str(args.prescriptions),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(f"{mode:9} {size:>12} failed: {done.stderr.strip()[-200:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            per = r["seconds"] / size * 1e5
            print(
                f"{mode:9} {size:>12,} {r['seconds']:>8.2f} {per:>7.2f} {r['rss_mb']:>11.0f}  "
                f"{r['outcome']}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
