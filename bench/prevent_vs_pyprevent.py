"""Compare cvrisk's PREVENT with the independent PyPI package pyprevent, and check model selection.

pyprevent (github.com/lhegstrom/PyPrevent, Rust) implements the base-model equations, all
3 outcomes x 2 horizons, with cholesterol in mg/dL. It is not a cvrisk dependency: install it
into a scratch environment (``pip install pyprevent``) and run

    PYTHONPATH=. python bench/prevent_vs_pyprevent.py

Prints, per outcome and horizon over random in-range patients:

* the largest absolute difference from pyprevent, in percentage points (base model);
* for ``variant="auto"`` on the same patients with random subsets of HbA1c, UACR and SDI, how
  many rows each model got and the largest difference from that model forced row by row
  (preventr's rule: none -> base, one -> its single-predictor model, two or three -> full).
  pyprevent has no extended models; their coefficients were cross-checked against third-party
  sources instead (docs/scores/prevent.md, Verification).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyprevent  # type: ignore[import-not-found]

from cvrisk.scores import score

N = 500
MG = {"total_cholesterol": "mg/dL", "hdl_cholesterol": "mg/dL"}
FUNCTIONS = {
    (10, "cvd"): pyprevent.calculate_10_yr_cvd_risk,
    (30, "cvd"): pyprevent.calculate_30_yr_cvd_risk,
    (10, "ascvd"): pyprevent.calculate_10_yr_ascvd_risk,
    (30, "ascvd"): pyprevent.calculate_30_yr_ascvd_risk,
    (10, "hf"): pyprevent.calculate_10_yr_heart_failure_risk,
    (30, "hf"): pyprevent.calculate_30_yr_heart_failure_risk,
}


def expected_model(row: dict[str, Any]) -> str:
    """preventr's select_model(): the model variant='auto' must use for this row."""
    given = [k for k in ("uacr", "hba1c", "sdi") if not np.isnan(row[k])]
    return "base" if not given else given[0] if len(given) == 1 else "full"


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
        options = {"outcome": outcome, "horizon": horizon}
        ours = score("prevent", rows, units=MG, **options)
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
        print(f"{outcome:5s} {horizon}-year base vs pyprevent: max |difference| = {worst:.2e} pp")

        extended = [
            dict(
                r,
                hba1c=float(rng.uniform(3, 15)) if rng.random() < 0.5 else np.nan,
                uacr=float(np.exp(rng.uniform(-2.3, 10.1))) if rng.random() < 0.5 else np.nan,
                sdi=float(rng.integers(1, 11)) if rng.random() < 0.5 else np.nan,
            )
            for r in rows
        ]
        auto = score("prevent", extended, units=MG, **options)
        models = [expected_model(r) for r in extended]
        forced = {
            m: score("prevent", extended, units=MG, variant=m, **options) for m in set(models)
        }
        reference = np.array([forced[m][i] for i, m in enumerate(models)])
        counts = {m: models.count(m) for m in ("base", "uacr", "hba1c", "sdi", "full")}
        worst = float(np.max(np.abs(auto - reference)) * 100)
        print(f"      auto selection {counts}: max |difference| = {worst:.2e} pp")


if __name__ == "__main__":
    main()
