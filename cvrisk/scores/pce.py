"""2013 ACC/AHA Pooled Cohort Equations (PCE): 10-year risk of a first hard ASCVD event.

Coefficients: ``data/pce.toml`` (Goff 2013, Table A). The kernel evaluates the four
sex x race equations on the whole cohort at once and picks each row's equation with a
gather over a (4, n) stack, so the cost is a handful of numpy passes whatever the mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel

#: Equations in the order of the group index computed by :meth:`PooledCohortEquations.compute`.
_GROUPS = ("white_female", "white_male", "black_female", "black_male")
_TERMS = (
    "ln_age",
    "ln_age_squared",
    "ln_tc",
    "ln_age_ln_tc",
    "ln_hdl",
    "ln_age_ln_hdl",
    "ln_treated_sbp",
    "ln_age_ln_treated_sbp",
    "ln_untreated_sbp",
    "ln_age_ln_untreated_sbp",
    "smoker",
    "ln_age_smoker",
    "diabetes",
    "baseline_survival",
    "mean_sum",
)


class PooledCohortEquations(RiskModel):
    """Pooled Cohort Equations; ``race`` 'other' uses the white equations (Goff 2013)."""

    id = "pce"
    data_file = "pce.toml"

    def __init__(self) -> None:
        super().__init__()
        # coefficient matrix: one row per group, one column per term
        self._table = {
            term: np.array([self.coefficients[g][term] for g in _GROUPS], dtype=np.float64)
            for term in _TERMS
        }

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        male = x["sex"] == self.code("sex", "male")
        black = x["race"] == self.code("race", "black")
        group = male.astype(np.intp) + 2 * black.astype(np.intp)
        c = {term: values[group] for term, values in self._table.items()}

        ln_age = np.log(x["age"])
        ln_tc = np.log(x["total_cholesterol"])
        ln_hdl = np.log(x["hdl_cholesterol"])
        ln_sbp = np.log(x["sbp"])
        treated = x["bp_treated"]
        smoker = x["smoker"]

        sbp_coef = np.where(treated, c["ln_treated_sbp"], c["ln_untreated_sbp"])
        sbp_age_coef = np.where(treated, c["ln_age_ln_treated_sbp"], c["ln_age_ln_untreated_sbp"])
        individual_sum = (
            ln_age * (c["ln_age"] + c["ln_age_squared"] * ln_age)
            + ln_tc * (c["ln_tc"] + c["ln_age_ln_tc"] * ln_age)
            + ln_hdl * (c["ln_hdl"] + c["ln_age_ln_hdl"] * ln_age)
            + ln_sbp * (sbp_coef + sbp_age_coef * ln_age)
            + smoker * (c["smoker"] + c["ln_age_smoker"] * ln_age)
            + x["diabetes"] * c["diabetes"]
        )
        return np.asarray(
            1.0 - np.power(c["baseline_survival"], np.exp(individual_sum - c["mean_sum"])),
            dtype=np.float64,
        )
