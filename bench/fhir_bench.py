"""Time to map a FHIR R4 Bundle to the patient record (cvrisk.fhir.read_fhir).

The Bundle (500 resources by default) is what an EHR sends for a patient followed for years:
1 Patient, 4 Conditions, 6 MedicationRequests, 10 Encounters (not read: counted and
reported), and Observations: vital signs (blood pressure as the 85354-9 panel with two
components), laboratory results (with UCUM codes, display units, issued times) and smoking
status. Every Observation is validated by the record's own rules (units, plausibility).

    python bench/fhir_bench.py [--resources 500] [--runs 300] [--warmup 30]

Reports p50, p90 and max in milliseconds for the parsed Bundle (``read_fhir``: the mapping
the target is about, <= 5 ms for 500 resources; wall-clock and process CPU time, which a
shared machine disturbs less) and for JSON text through
``cvrisk.sources.read_record`` (parsing included), and a machine-speed reference
(``sum(range(1000))`` in microseconds) to compare runs on different machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fhir_bundles import bundle

from cvrisk.fhir import read_fhir
from cvrisk.sources import read_record

#: (analyte, unit, value at start, step per visit) of the generated results
SERIES = [
    ("weight", "kg", 70.0, 0.2),
    ("sbp", "mm[Hg]", 120.0, 0.1),
    ("dbp", "mm[Hg]", 78.0, 0.05),
    ("pulse", "/min", 72.0, 0.0),
    ("neutrophils", "10*9/L", 3.5, 0.0),
    ("wbc", "10*9/L", 6.5, 0.0),
    ("fasting_glucose", "mmol/L", 5.0, 0.01),
    ("hba1c", "mmol/mol", 36.0, 0.05),
    ("total_cholesterol", "mg/dL", 190.0, 0.2),
    ("hdl_cholesterol", "mmol/L", 1.3, 0.0),
    ("triglycerides", "mmol/L", 1.4, 0.01),
    ("crp", "mg/L", 3.0, 0.0),
]


def native_record(resources: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A native record whose FHIR Bundle has ``resources`` resources (and the extras)."""
    conditions = [
        {"code": "F20.0", "system": "icd10", "onset": "2012-03-01"},
        {"code": "E11.9", "system": "icd10", "onset": "2019-06-01"},
        {"code": "I10", "system": "icd10", "onset": "2018-01-10"},
        {"code": "F17.2", "system": "icd10", "onset": "2005-01-01"},
    ]
    drugs = ["olanzapine", "risperidone", "aripiprazole", "quetiapine", "clozapine", "haloperidol"]
    medications = []
    start = dt.date(2014, 1, 6)
    for index, drug in enumerate(drugs):
        begin = start + dt.timedelta(days=400 * index)
        stop = begin + dt.timedelta(days=380) if index < len(drugs) - 1 else None
        medications.append(
            {
                "drug": drug,
                "start": begin.isoformat(),
                **({"stop": stop.isoformat()} if stop else {}),
                "dose": {"value": 10, "unit": "mg"},
                "route": "oral",
            }
        )
    extras = [
        {
            "resourceType": "Encounter",
            "id": f"enc-{i}",
            "status": "finished",
            "class": {"code": "AMB"},
        }
        for i in range(10)
    ]
    budget = resources - 1 - len(conditions) - len(medications) - len(extras)
    observations: list[dict[str, Any]] = [
        {"analyte": "smoking_status", "coded": "current", "date": "2024-01-15"},
        {"analyte": "height", "value": 176, "unit": "cm", "date": "2014-01-06"},
    ]
    budget -= 2
    visit = 0
    while budget > 0:
        day = (start + dt.timedelta(days=14 * visit)).isoformat()
        for analyte, unit, value, step in SERIES:
            if budget <= 0:
                break
            if analyte == "dbp":  # the diastolic goes in the systolic's panel
                continue
            observations.append(
                {
                    "analyte": analyte,
                    "value": round(value + step * visit, 2),
                    "unit": unit,
                    "date": day,
                }
            )
            if analyte == "sbp":
                observations.append(
                    {
                        "analyte": "dbp",
                        "value": round(78.0 + 0.05 * visit, 2),
                        "unit": "mm[Hg]",
                        "date": day,
                    }
                )
            budget -= 1
        visit += 1
    native = {
        "patient": {
            "id": "bench-1",
            "birth_date": "1975-04-12",
            "sex": "male",
            "ethnicity": "indian",
        },
        "conditions": conditions,
        "medications": medications,
        "observations": observations,
    }
    return native, extras


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"p50 {p(0.5):.2f} ms  p90 {p(0.9):.2f} ms  max {ordered[-1]:.2f} ms  "
        f"mean {statistics.fmean(ordered):.2f} ms"
    )


def _time(call: Any, runs: int, warmup: int, clock: Any = time.perf_counter) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        began = clock()
        call()
        samples.append((clock() - began) * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    native, extras = native_record(args.resources)
    data = bundle(native, ethnicity="uk", extra=extras)
    text = json.dumps(data)
    result = read_fhir(data)
    print(
        f"Bundle: {len(data['entry'])} resources, {len(text) / 1024:.0f} KiB; record: "
        f"{len(result.record.observations)} observations, {len(result.record.medications)} "
        f"medications, {len(result.record.conditions)} conditions; {len(result.issues)} "
        "reading issue(s)"
    )
    reference = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    print(f"machine reference: sum(range(1000)) = {reference:.1f} us")
    print(
        "read_fhir(parsed Bundle), wall:      "
        + _stats(_time(lambda: read_fhir(data), args.runs, args.warmup))
    )
    print(
        "read_fhir(parsed Bundle), CPU time:  "
        + _stats(_time(lambda: read_fhir(data), args.runs, args.warmup, time.process_time))
    )
    print(
        "read_record(JSON text, parse incl): "
        + _stats(_time(lambda: read_record(text), args.runs, args.warmup))
    )


if __name__ == "__main__":
    main()
