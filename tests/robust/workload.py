"""A reproducible mixed workload for the concurrency and endurance runs: varied records
(drugs, analytes, same-day conflicts, lenient entries, jurisdictions, languages) whose whole
report JSON is compared with the single-threaded one."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import cvrisk

AS_OF = dt.date(2025, 6, 1)
_ANALYTES = [
    ("weight", "kg", 50, 120),
    ("height", "cm", 150, 195),
    ("hba1c", "mmol/mol", 32, 70),
    ("sbp", "mm[Hg]", 100, 180),
    ("total_cholesterol", "mmol/L", 3, 8),
    ("hdl_cholesterol", "mmol/L", 0.8, 2.2),
    ("neutrophils", "10*9/L", 0.4, 6),
    ("qtc", "ms", 390, 520),
    ("fasting_glucose", "mmol/L", 4, 9),
    ("crp", "mg/L", 1, 120),
]


def workload_record(seed: int) -> dict[str, Any]:
    """Record number ``seed`` of the workload (the same for every process)."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(300))
    observations = []
    for _ in range(rng.randrange(5, 40)):
        analyte, unit, low, high = rng.choice(_ANALYTES)
        day = start + dt.timedelta(days=rng.randrange(-60, 500))
        observations.append(
            {
                "analyte": analyte,
                "value": round(rng.uniform(low, high), 1),
                "unit": unit,
                "date": day.isoformat(),
            }
        )
        if rng.random() < 0.1:  # a same-day conflicting twin
            observations.append({**observations[-1], "value": round(rng.uniform(low, high), 1)})
    if rng.random() < 0.2:  # an invalid entry, skipped under lenient reading
        observations.append(
            {"analyte": "weight", "value": 70, "unit": "mm[Hg]", "date": "2024-05-01"}
        )
    drugs = rng.sample(["clozapine", "olanzapine", "risperidone", "haloperidol", "quetiapine"], 2)
    medications = [{"drug": drugs[0], "start": start.isoformat()}]
    if rng.random() < 0.5:
        medications.append(
            {"drug": drugs[1], "start": (start + dt.timedelta(days=rng.randrange(200))).isoformat()}
        )
    return {
        "patient": {
            "id": f"p{seed}",
            "birth_date": dt.date(rng.randrange(1950, 2000), rng.randrange(1, 13), 10).isoformat(),
            "sex": rng.choice(["female", "male"]),
            "ethnicity": rng.choice(["white", "indian", "black_african"]),
        },
        "conditions": [{"code": "F20.0", "system": "icd10", "onset": "2015-01-01"}],
        "medications": medications,
        "observations": observations,
    }


def workload_options(seed: int) -> dict[str, Any]:
    rng = random.Random(-seed)
    return {
        "as_of": AS_OF,
        "jurisdiction": rng.choice([None, "GB", "FR", "US"]),
        "lang": rng.choice(["en", "fr"]),
        "on_invalid": "report",
    }


def report_json(seed: int) -> str:
    """The whole report of workload item ``seed``, as JSON."""
    return cvrisk.evaluate(workload_record(seed), **workload_options(seed)).model_dump_json()
