"""Compare cvrisk's ``framingham`` with an independent implementation on random patients.

The reference is the PyPI package ``cvd-risk`` (``cvd_risk.models.framingham.Framingham``),
which is not a cvrisk dependency: install it by hand (``pip install cvd-risk``) to run this.
cvd-risk takes cholesterol in mmol/L and multiplies by 38.67; cvrisk is given the same mg/dL
values (``units=mg/dL``), so both evaluate the equation at identical inputs.

Usage: ``PYTHONPATH=. python bench/framingham_vs_cvd_risk.py [n_rows] [seed]``
Prints the largest absolute difference in percentage points (target: < 0.01).
"""

from __future__ import annotations

import logging
import sys

import numpy as np


def main(n: int = 500, seed: int = 2008) -> float:
    """Score ``n`` random in-range rows with both implementations; return max |diff| in pp."""
    from cvd_risk.core.validation import PatientData
    from cvd_risk.models.framingham import Framingham

    import cvrisk.scores as scores

    logging.disable(logging.WARNING)  # cvd-risk logs a warning per row above age 74
    rng = np.random.default_rng(seed)
    data = {
        "age": rng.integers(30, 75, n).astype(float),  # cvd-risk takes whole years
        "sex": rng.choice(["female", "male"], n),
        "total_cholesterol": rng.uniform(100, 400, n),
        "hdl_cholesterol": rng.uniform(20, 120, n),
        "sbp": rng.uniform(80, 220, n),
        "bp_treated": rng.random(n) < 0.4,
        "smoker": rng.random(n) < 0.3,
        "diabetes": rng.random(n) < 0.2,
    }
    ours = scores.score(
        "framingham", data, units={"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}
    )
    reference = Framingham()
    theirs = np.array(
        [
            reference.calculate(
                PatientData(
                    age=int(data["age"][i]),
                    sex=str(data["sex"][i]),
                    systolic_bp=float(data["sbp"][i]),
                    total_cholesterol=float(data["total_cholesterol"][i]) / 38.67,
                    hdl_cholesterol=float(data["hdl_cholesterol"][i]) / 38.67,
                    smoking=bool(data["smoker"][i]),
                    diabetes=bool(data["diabetes"][i]),
                    antihypertensive=bool(data["bp_treated"][i]),
                )
            ).risk_score
            / 100.0
            for i in range(n)
        ]
    )
    worst = float(np.max(np.abs(ours - theirs)) * 100)
    print(f"framingham vs cvd-risk 0.1.48: {n} rows, max |diff| = {worst:.3g} percentage points")
    return worst


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
