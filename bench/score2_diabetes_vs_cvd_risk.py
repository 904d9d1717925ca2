"""Compare cvrisk's ``score2-diabetes`` with an independent implementation on random rows.

The independent implementation is the PyPI package ``cvd-risk`` (cvd_risk/models/score2dm), a
separate transcription of the published SCORE2-Diabetes table. It is not a cvrisk dependency:
install it by hand (``pip install cvd-risk``) to run this script::

    PYTHONPATH=. python bench/score2_diabetes_vs_cvd_risk.py [n_rows]

cvd-risk rounds its risk to 0.1 % (and clips the uncalibrated risk to [1e-9, 1 - 1e-9]). The
script prints the largest difference of the linear predictor and of the uncalibrated 10-year
risk (both unrounded there), of the final risk in percentage points against cvd-risk's rounded
value (at most 0.05 pp when the two agree), and against its unrounded value (its module-level
rounding helper replaced by the identity for that pass).
"""

from __future__ import annotations

import sys

import numpy as np

from cvrisk.scores.registry import get_model

REGIONS = ["low", "moderate", "high", "very_high"]


def random_rows(n: int, seed: int = 2023) -> list[dict[str, object]]:
    """n patients with type 2 diabetes, drawn inside the model's age range and cvd-risk's
    input limits (integer ages, as cvd-risk requires)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        age = int(rng.integers(40, 70))
        rows.append(
            {
                "age": age,
                "sex": str(rng.choice(["female", "male"])),
                "smoker": bool(rng.integers(0, 2)),
                "sbp": float(rng.uniform(90, 200)),
                "total_cholesterol": float(rng.uniform(3.0, 9.5)),
                "hdl_cholesterol": float(rng.uniform(0.6, 2.8)),
                "age_at_diabetes_diagnosis": int(rng.integers(18, age + 1)),
                "hba1c": float(rng.uniform(25, 150)),  # mmol/mol
                "egfr": float(rng.uniform(15, 150)),
                "region": str(rng.choice(REGIONS)),
            }
        )
    return rows


def main(n: int = 1000) -> tuple[float, float, float, float]:
    import cvd_risk.models.score2dm.score2dm as theirs
    from cvd_risk.core.validation import PatientData
    from cvd_risk.models.score2dm import SCORE2DM

    model = get_model("score2-diabetes")
    rows = random_rows(n)
    x, options, _ = model.prepare(rows, units={"hba1c": "mmol/mol"})
    lp, _, _ = model.linear_predictor(x, options)  # type: ignore[attr-defined]
    uncalibrated = model.uncalibrated_risk(x, options)  # type: ignore[attr-defined]
    risk = 100.0 * model.score(rows, units={"hba1c": "mmol/mol"})
    impl = SCORE2DM()
    patients = [
        PatientData(
            age=row["age"],
            sex=row["sex"],
            smoking=row["smoker"],
            systolic_bp=row["sbp"],
            total_cholesterol=row["total_cholesterol"],
            hdl_cholesterol=row["hdl_cholesterol"],
            region=row["region"],
            diabetes=True,
            diabetes_age=row["age_at_diabetes_diagnosis"],
            hba1c=row["hba1c"],
            egfr=row["egfr"],
        )
        for row in rows
    ]
    results = [impl.calculate(p) for p in patients]
    their_lp = np.array([r.calculation_metadata["linear_predictor"] for r in results])
    their_r0 = np.array([r.calculation_metadata["raw_uncalibrated"] for r in results])
    rounded = np.array([r.risk_score for r in results])
    rounding = theirs._round_to_nearest_digit
    theirs._round_to_nearest_digit = lambda number, digits=0: number  # type: ignore[assignment]
    try:
        unrounded = np.array([impl.calculate(p).risk_score for p in patients])
    finally:
        theirs._round_to_nearest_digit = rounding
    d_lp = float(np.max(np.abs(lp - their_lp)))
    d_r0 = float(np.max(np.abs(uncalibrated - their_r0)))
    d_rounded = float(np.max(np.abs(risk - rounded)))
    d_unrounded = float(np.max(np.abs(risk - unrounded)))
    print(
        f"{n} rows: max |lp difference| = {d_lp:.3e}; max |uncalibrated risk difference| = "
        f"{d_r0:.3e}; max |risk - cvd-risk rounded to 0.1 %| = {d_rounded:.4f} pp; "
        f"max |risk - cvd-risk unrounded| = {d_unrounded:.3e} pp"
    )
    return d_lp, d_r0, d_rounded, d_unrounded


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
