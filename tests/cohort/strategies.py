"""hypothesis strategies for cohorts: patients whose records exercise every stage of
evaluate() (switches, restarts, several concurrent drugs, missing baselines, mixed units and
codes, children and adults, diagnoses, invalid rows, drugs cvrisk does not place)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

AS_OF = dt.date(2025, 6, 1)
START = dt.date(2021, 1, 1)
END = dt.date(2025, 9, 1)  # some results and prescriptions after the evaluation date
dates = st.dates(min_value=START, max_value=END)

#: How medications are named: INNs, salts, brands, codes, drugs cvrisk does not place.
DRUGS: list[dict[str, Any]] = [
    {"drug": "olanzapine"},
    {"drug": "clozapine"},
    {"drug": "risperidone"},
    {"drug": "aripiprazole"},
    {"drug": "quetiapine fumarate 25 mg tablets"},
    {"drug": "haloperidol"},
    {"drug": "Zyprexa"},
    {"drug": "Zypadhera"},
    {"drug": "olanzapine", "route": "intramuscular injection"},
    {"drug": "olanzapine", "formulation": "olanzapine-pamoate"},
    {"code": "N05AH02", "system": "atc"},
    {"code": "N05AX08", "system": "http://www.whocc.no/atc"},
    {"drug": "lithium"},
    {"drug": "metformin"},
    {"drug": "olanzapin"},
    {"drug": "trifluoperazine"},
    {"code": "A10BA02", "system": "atc"},
]
#: analyte -> (unit, low, high) ordinary values, and other spellings and units
QUANTITIES: dict[str, list[tuple[dict[str, Any], float, float]]] = {
    "weight": [
        ({"analyte": "weight", "unit": "kg"}, 40, 140),
        ({"code": "29463-7", "system": "http://loinc.org", "unit": "[lb_av]"}, 90, 300),
    ],
    "height": [
        ({"analyte": "height", "unit": "cm"}, 140, 200),
        ({"analyte": "height", "unit": "m"}, 1.4, 2.0),
    ],
    "bmi": [({"analyte": "bmi", "unit": "kg/m2"}, 17, 45)],
    "waist": [({"analyte": "waist", "unit": "cm"}, 60, 140)],
    "sbp": [
        ({"analyte": "sbp", "unit": "mm[Hg]"}, 95, 190),
        ({"code": "8480-6", "system": "loinc", "unit": "mmHg"}, 95, 190),
    ],
    "dbp": [({"analyte": "dbp", "unit": "mm[Hg]"}, 55, 115)],
    "fasting_glucose": [
        ({"analyte": "fasting_glucose", "unit": "mmol/L"}, 4, 12),
        ({"analyte": "fasting_glucose", "unit": "mg/dL"}, 70, 220),
    ],
    "random_glucose": [({"analyte": "random_glucose", "unit": "mmol/L"}, 4, 15)],
    "hba1c": [
        ({"analyte": "hba1c", "unit": "mmol/mol"}, 30, 90),
        ({"analyte": "hba1c", "unit": "%"}, 5.0, 9.0),
    ],
    "total_cholesterol": [
        ({"analyte": "total_cholesterol", "unit": "mmol/L"}, 3, 9),
        ({"code": "2093-3", "system": "loinc", "unit": "mg/dL"}, 120, 320),
    ],
    "hdl_cholesterol": [({"analyte": "hdl_cholesterol", "unit": "mmol/L"}, 0.7, 2.5)],
    "ldl_cholesterol": [({"analyte": "ldl_cholesterol", "unit": "mmol/L"}, 1.5, 6)],
    "triglycerides": [({"analyte": "triglycerides", "unit": "mmol/L"}, 0.5, 5)],
    "prolactin": [({"analyte": "prolactin", "unit": "ng/mL"}, 3, 150)],
    "qtc": [({"analyte": "qtc", "unit": "ms"}, 380, 520)],
    "neutrophils": [({"analyte": "neutrophils", "unit": "10*9/L"}, 0.3, 7)],
    "wbc": [({"analyte": "wbc", "unit": "10*9/L"}, 2, 11)],
    "troponin": [({"analyte": "troponin", "unit": "ng/L"}, 1, 200)],
    "crp": [({"analyte": "crp", "unit": "mg/L"}, 0.5, 150)],
}
#: Rows that fail the record's validation: each must become an ``invalid`` issue.
INVALID_OBSERVATIONS: list[dict[str, Any]] = [
    {"analyte": "total_cholesterol", "value": 213.0, "unit": "mmol/L"},  # implausible
    {"analyte": "weight", "value": 70.0, "unit": "mm[Hg]"},  # wrong kind of unit
    {"analyte": "weight", "value": 70.0},  # no unit: never guessed
    {"analyte": "smoking_status", "value": 1.0, "unit": "1"},  # coded analyte with value
    {"analyte": "unobtainium", "value": 1.0, "unit": "mg"},  # unknown analyte
    {"code": "0000-0", "system": "loinc", "value": 1.0, "unit": "mg"},  # unknown code
    {"analyte": "sbp", "value": 120.0, "unit": "furlongs"},  # unknown unit
]
#: Results probably in another unit than stated: kept out of alerts, reported as implausible.
SUSPECT_OBSERVATIONS: list[dict[str, Any]] = [
    {"analyte": "hba1c", "value": 19.0, "unit": "%"},
    {"analyte": "weight", "value": 180.0, "unit": "kg"},
    {"analyte": "fasting_glucose", "value": 95.0, "unit": "mmol/L"},
]
CONDITIONS: list[dict[str, Any]] = [
    {"code": "F20.0", "system": "icd10"},
    {"code": "E11.9", "system": "http://hl7.org/fhir/sid/icd-10"},
    {"code": "E10", "system": "icd10"},
    {"code": "44054006", "system": "snomed"},
    {"code": "I10", "system": "icd10"},
    {"code": "F31", "system": "read"},  # unknown system: invalid
]


@st.composite
def medication(draw: st.DrawFn, base: dt.date) -> dict[str, Any]:
    start = base + dt.timedelta(days=draw(st.integers(0, 400)))
    med: dict[str, Any] = {**draw(st.sampled_from(DRUGS)), "start": start.isoformat()}
    if draw(st.integers(0, 2)) == 0:
        stop = start + dt.timedelta(days=draw(st.integers(-3, 500)))
        med["stop"] = stop.isoformat()  # a stop before its start is an invalid row
    if draw(st.booleans()):
        med["id"] = f"MedicationRequest/{draw(st.integers(1, 10**6))}"
    return med


@st.composite
def observation(draw: st.DrawFn, near: list[dt.date]) -> dict[str, Any]:
    if draw(st.integers(0, 30)) == 0:
        obs = dict(draw(st.sampled_from(INVALID_OBSERVATIONS)))
    elif draw(st.integers(0, 30)) == 0:
        obs = dict(draw(st.sampled_from(SUSPECT_OBSERVATIONS)))
    elif draw(st.integers(0, 12)) == 0:
        obs = {
            "analyte": "smoking_status",
            "coded": draw(st.sampled_from(["never", "former", "current"])),
        }
    else:
        analyte = draw(st.sampled_from(sorted(QUANTITIES)))
        spelling, low, high = draw(st.sampled_from(QUANTITIES[analyte]))
        value = draw(st.floats(min_value=low, max_value=high, allow_nan=False))
        obs = {**spelling, "value": round(value, draw(st.sampled_from([0, 1, 2])))}
    if near and draw(st.booleans()):  # around a start: baselines
        day = draw(st.sampled_from(near)) + dt.timedelta(days=draw(st.integers(-100, 14)))
    else:
        day = draw(dates)
    obs["date"] = day.isoformat()
    if draw(st.integers(0, 8)) == 0:
        obs["date"] += "T09:30:00"
    if draw(st.booleans()):
        obs["id"] = f"Observation/{draw(st.integers(1, 10**6))}"
    if draw(st.integers(0, 20)) == 0:
        obs["status"] = draw(st.sampled_from(["preliminary", "amended"]))
    return obs


@st.composite
def patient(draw: st.DrawFn) -> dict[str, Any]:
    """One patient's native record (its id filled in by the caller)."""
    child = draw(st.integers(0, 4)) == 0
    if child:
        birth = draw(st.dates(min_value=dt.date(2008, 1, 1), max_value=dt.date(2019, 12, 31)))
    else:
        birth = draw(st.dates(min_value=dt.date(1935, 1, 1), max_value=dt.date(2007, 12, 31)))
    person: dict[str, Any] = {
        "birth_date": birth.isoformat(),
        "sex": draw(st.sampled_from(["female", "male"])),
    }
    ethnicity = draw(st.sampled_from([None, "white", "indian", "chinese", "black_african"]))
    if ethnicity is not None:
        person["ethnicity"] = ethnicity
    base = draw(st.dates(min_value=START, max_value=dt.date(2025, 3, 1)))
    meds = draw(st.lists(medication(base), min_size=0, max_size=4))
    if meds and draw(st.booleans()):  # a switch or a restart after a gap
        first = meds[0]
        stop = dt.date.fromisoformat(first["start"]) + dt.timedelta(days=draw(st.integers(20, 300)))
        first["stop"] = stop.isoformat()
        gap = draw(st.sampled_from([0, 1, 10, 30, 31, 120]))
        again = {
            **draw(st.sampled_from(DRUGS[:6])),
            "start": (stop + dt.timedelta(days=gap)).isoformat(),
        }
        meds.append(again)
    near = [dt.date.fromisoformat(m["start"]) for m in meds]
    obs = draw(st.lists(observation(near), min_size=0, max_size=20))
    conditions = []
    for entry in draw(st.lists(st.sampled_from(CONDITIONS), max_size=2)):
        onset = draw(st.one_of(st.none(), st.dates(min_value=dt.date(2010, 1, 1), max_value=END)))
        conditions.append({**entry, **({"onset": onset.isoformat()} if onset else {})})
    return {"patient": person, "conditions": conditions, "medications": meds, "observations": obs}
