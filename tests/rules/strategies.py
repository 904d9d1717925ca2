"""hypothesis strategies for patient records (native JSON dicts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

DRUGS = ["olanzapine", "clozapine", "risperidone", "aripiprazole", "quetiapine", "haloperidol"]
#: analyte -> (unit, low, high): clinically ordinary values, in the analyte's canonical unit
ANALYTES: dict[str, tuple[str, float, float]] = {
    "weight": ("kg", 45, 140),
    "height": ("cm", 150, 200),
    "waist": ("cm", 60, 140),
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

START = dt.date(2020, 1, 1)
END = dt.date(2026, 12, 31)
dates = st.dates(min_value=START, max_value=END)


@st.composite
def observation(draw: st.DrawFn) -> dict[str, Any]:
    analyte = draw(st.sampled_from(sorted(ANALYTES)))
    unit, low, high = ANALYTES[analyte]
    value = draw(st.floats(min_value=low, max_value=high, allow_nan=False))
    return {
        "analyte": analyte,
        "value": round(value, 2),
        "unit": unit,
        "date": draw(dates).isoformat(),
    }


@st.composite
def medication(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(dates)
    med: dict[str, Any] = {"drug": draw(st.sampled_from(DRUGS)), "start": start.isoformat()}
    if draw(st.booleans()):
        med["stop"] = (start + dt.timedelta(days=draw(st.integers(0, 900)))).isoformat()
    return med


@st.composite
def record(draw: st.DrawFn, max_observations: int = 25, min_medications: int = 0) -> dict[str, Any]:
    birth = draw(st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(1995, 12, 31)))
    rec: dict[str, Any] = {
        "patient": {
            "id": "h",
            "birth_date": birth.isoformat(),
            "sex": draw(st.sampled_from(["female", "male"])),
            "ethnicity": draw(st.sampled_from(["white", "indian", "chinese", "black_african"])),
        },
        "medications": draw(st.lists(medication(), min_size=min_medications, max_size=3)),
        "observations": draw(st.lists(observation(), min_size=0, max_size=max_observations)),
    }
    if draw(st.booleans()):
        rec["observations"].append(
            {
                "analyte": "smoking_status",
                "coded": draw(st.sampled_from(["never", "former", "current"])),
                "date": draw(dates).isoformat(),
            }
        )
    return rec


def shift(rec: dict[str, Any], days: int) -> dict[str, Any]:
    """The record with every date moved by ``days``."""

    def move(text: str) -> str:
        return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()

    out: dict[str, Any] = {
        "patient": {**rec["patient"], "birth_date": move(rec["patient"]["birth_date"])},
        "medications": [
            {**m, "start": move(m["start"]), **({"stop": move(m["stop"])} if "stop" in m else {})}
            for m in rec["medications"]
        ],
        "observations": [{**o, "date": move(o["date"])} for o in rec["observations"]],
    }
    return out
