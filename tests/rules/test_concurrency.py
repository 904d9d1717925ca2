"""durable-rules is not thread-safe (a segfault was measured with 4 posting threads): the
engine serialises every call. This stress test evaluates different records from several
threads at once and checks each result equals its single-threaded result (no crash, no state
leaking between patients)."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cvrisk.rules.evaluate import evaluate

AS_OF = dt.date(2025, 6, 1)


def _record(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(300))
    observations = []
    for _ in range(rng.randrange(5, 30)):
        day = start + dt.timedelta(days=rng.randrange(-60, 500))
        analyte, unit, low, high = rng.choice(
            [
                ("weight", "kg", 50, 120),
                ("hba1c", "mmol/mol", 32, 70),
                ("sbp", "mm[Hg]", 100, 180),
                ("neutrophils", "10*9/L", 0.4, 6),
                ("qtc", "ms", 390, 520),
                ("fasting_glucose", "mmol/L", 4, 9),
            ]
        )
        value = round(rng.uniform(low, high), 1)
        observations.append(
            {"analyte": analyte, "value": value, "unit": unit, "date": day.isoformat()}
        )
    return {
        "patient": {
            "id": f"p{seed}",
            "birth_date": "1970-01-01",
            "sex": rng.choice(["female", "male"]),
            "ethnicity": rng.choice(["white", "indian"]),
        },
        "medications": [
            {"drug": rng.choice(["clozapine", "olanzapine"]), "start": start.isoformat()}
        ],
        "observations": observations,
    }


def _summary(seed: int) -> tuple[Any, ...]:
    report = evaluate(_record(seed), as_of=AS_OF, scores=[])
    return (
        tuple((t.protocol, t.rule, t.status, t.due_date) for t in report.tests),
        tuple(
            (a.code, tuple((e.analyte, e.date, e.value) for e in a.evidence)) for a in report.alerts
        ),
    )


def test_threads_give_the_single_threaded_results() -> None:
    seeds = list(range(200))
    expected = {seed: _summary(seed) for seed in seeds}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            shuffled = random.Random(1).sample(seeds, len(seeds))
            got = dict(zip(shuffled, pool.map(_summary, shuffled), strict=True))
            assert got == expected
