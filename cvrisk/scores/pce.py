"""2013 ACC/AHA Pooled Cohort Equations (PCE): 10-year risk of a first hard ASCVD event.

Coefficients: ``data/pce.toml`` (Goff 2013, Table A). The kernel splits the rows by
equation (sex x race, :func:`~cvrisk.scores.base.per_group`; no split when every row uses
one equation) and runs each equation with scalar coefficients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, per_group

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
        #: one {term: coefficient} per equation, in the order of the group code
        self._equations = [
            {term: float(self.coefficients[g][term]) for term in _TERMS} for g in _GROUPS
        ]

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        male = x["sex"] == self.code("sex", "male")
        black = x["race"] == self.code("race", "black")
        group = male.astype(np.intp) + 2 * black.astype(np.intp)
        return per_group(x, group, self._equation)

    def _equation(self, x: Inputs, group: int) -> FloatArray:
        """One sex x race equation of Table A on its rows."""
        c = self._equations[group]
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
