"""Compare cvrisk's ``qrisk3`` with an independent implementation on random in-range patients.

The independent implementation is the PyPI package ``cvd-risk`` (cvd_risk/models/qrisk3),
a separate transcription of ClinRisk's QRISK3-2017 C code. It is not a cvrisk dependency:
install it by hand (``pip install cvd-risk``) to run this script::

    PYTHONPATH=. python bench/qrisk3_vs_cvd_risk.py [n_rows]

Its public API maps ethnicity and smoking coarsely and substitutes its own defaults for a
zero SBP sd or Townsend score, so the script calls its per-sex kernels with the C codes
directly (the same arguments ClinRisk's cvd_female_raw / cvd_male_raw take).
Prints the largest absolute difference in percentage points (target: < 0.01).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd

import cvrisk.scores as scores

ETHNICITIES = [
    "white",
    "not_stated",
    "indian",
    "pakistani",
    "bangladeshi",
    "other_asian",
    "black_caribbean",
    "black_african",
    "chinese",
    "other",
]
SMOKING = ["non", "ex", "light", "moderate", "heavy"]
FLAGS = [
    "atrial_fibrillation",
    "atypical_antipsychotic",
    "corticosteroids",
    "erectile_dysfunction",
    "migraine",
    "rheumatoid_arthritis",
    "ckd",
    "severe_mental_illness",
    "sle",
    "bp_treated",
    "family_history_chd",
]


def random_cohort(n: int, seed: int = 2017) -> pd.DataFrame:
    """n patients drawn uniformly inside every validated range of the model."""
    rng = np.random.default_rng(seed)
    hdl = rng.uniform(0.6, 2.5, n)
    data = {
        "age": rng.integers(25, 85, n),
        "sex": rng.choice(["female", "male"], n),
        "ethnicity": rng.choice(ETHNICITIES, n),
        "smoking": rng.choice(SMOKING, n),
        "bmi": rng.uniform(20, 40, n),
        "hdl_cholesterol": hdl,
        "total_cholesterol": hdl * rng.uniform(1.01, 11.99, n),
        "sbp": rng.uniform(70, 210, n),
        "sbp_sd": rng.uniform(0.5, 40, n),
        "townsend": rng.uniform(-8, 12, n),
        "diabetes_type": rng.choice(["none", "type1", "type2"], n),
    }
    for flag in FLAGS:
        data[flag] = rng.random(n) < 0.25
    return pd.DataFrame(data)


def reference(row: pd.Series) -> float:  # type: ignore[type-arg]
    """cvd-risk's kernel for one row, as a percentage."""
    from cvd_risk.models.qrisk3.qrisk3 import QRISK3

    model = QRISK3()
    code = ETHNICITIES.index(row["ethnicity"])
    ethrisk = 1 if code <= 1 else code  # C ethrisk: 1 = White or not stated, 2 = Indian ...
    model._get_ethnicity_index = lambda _e: ethrisk  # type: ignore[method-assign]
    patient = types.SimpleNamespace(
        age=int(row["age"]),
        atrial_fibrillation=row["atrial_fibrillation"],
        atypical_antipsychotics=row["atypical_antipsychotic"],
        corticosteroids=row["corticosteroids"],
        impotence2=row["erectile_dysfunction"],
        migraine=row["migraine"],
        rheumatoid_arthritis=row["rheumatoid_arthritis"],
        renal_disease=row["ckd"],
        severe_mental_illness=row["severe_mental_illness"],
        systemic_lupus=row["sle"],
        treated_hypertension=row["bp_treated"],
        type1_diabetes=row["diabetes_type"] == "type1",
        type2_diabetes=row["diabetes_type"] == "type2",
        bmi=float(row["bmi"]),
        ethnicity=None,
        family_history=row["family_history_chd"],
        total_cholesterol=float(row["total_cholesterol"]),
        hdl_cholesterol=float(row["hdl_cholesterol"]),
        systolic_bp=float(row["sbp"]),
        sbps5=float(row["sbp_sd"]),
        smoking=None,
        smoking_category=SMOKING.index(row["smoking"]),
        townsend_deprivation=float(row["townsend"]),
    )
    if row["sex"] == "female":
        return float(model._calculate_female_risk(patient))
    return float(model._calculate_male_risk(patient))


def main(n: int = 500) -> float:
    cohort = random_cohort(n)
    ours = scores.score("qrisk3", cohort) * 100.0
    theirs = np.array([reference(row) for _, row in cohort.iterrows()])
    worst = float(np.max(np.abs(ours - theirs)))
    print(f"{n} rows, max |cvrisk - cvd-risk| = {worst:.3e} percentage points")
    return worst


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
