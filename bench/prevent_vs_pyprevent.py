"""Compare cvrisk's PREVENT base model with the independent PyPI package pyprevent.

pyprevent (github.com/lhegstrom/PyPrevent, Rust) implements the base-model equations, all
3 outcomes x 2 horizons, with cholesterol in mg/dL. It is not a cvrisk dependency: install it
into a scratch environment (``pip install pyprevent``) and run

    PYTHONPATH=. python bench/prevent_vs_pyprevent.py

Prints the largest absolute difference, in percentage points, per outcome and horizon over
random in-range patients.
"""

from __future__ import annotations

import numpy as np
import pyprevent  # type: ignore[import-not-found]

from cvrisk.scores import score

N = 500
FUNCTIONS = {
    (10, "cvd"): pyprevent.calculate_10_yr_cvd_risk,
    (30, "cvd"): pyprevent.calculate_30_yr_cvd_risk,
    (10, "ascvd"): pyprevent.calculate_10_yr_ascvd_risk,
    (30, "ascvd"): pyprevent.calculate_30_yr_ascvd_risk,
    (10, "hf"): pyprevent.calculate_10_yr_heart_failure_risk,
    (30, "hf"): pyprevent.calculate_30_yr_heart_failure_risk,
}


def main() -> None:
    rng = np.random.default_rng(2024)
    for (horizon, outcome), function in FUNCTIONS.items():
        rows = [
            {
                "sex": str(rng.choice(["female", "male"])),
                "age": float(rng.integers(30, 60 if horizon == 30 else 80)),
                "total_cholesterol": float(rng.uniform(130, 320)),
                "hdl_cholesterol": float(rng.uniform(20, 100)),
                "sbp": float(rng.uniform(90, 200)),
                "diabetes": bool(rng.integers(2)),
                "smoker": bool(rng.integers(2)),
                "bmi": float(rng.uniform(18.5, 39.9)),
                "egfr": float(rng.uniform(15, 140)),
                "bp_treated": bool(rng.integers(2)),
                "statin": bool(rng.integers(2)),
            }
            for _ in range(N)
        ]
        ours = score(
            "prevent",
            rows,
            units={"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"},
            outcome=outcome,
            horizon=horizon,
        )
        theirs = np.array(
            [
                function(
                    r["sex"],
                    r["age"],
                    r["total_cholesterol"],
                    r["hdl_cholesterol"],
                    r["sbp"],
                    r["diabetes"],
                    r["smoker"],
                    r["bmi"],
                    r["egfr"],
                    r["bp_treated"],
                    r["statin"],
                )
                for r in rows
            ]
        )
        worst = np.max(np.abs(ours * 100 - theirs))
        print(f"{outcome:5s} {horizon}-year: max |difference| = {worst:.2e} pp (n={N})")


if __name__ == "__main__":
    main()
