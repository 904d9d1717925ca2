"""Framingham general CVD risk (D'Agostino 2008): 10-year risk of a first CVD event.

Two sex-specific Cox models share one kernel shape, ``1 - S0(10) ** exp(L - mean)``:

* ``framingham``: laboratory model, ln(age), ln(total cholesterol), ln(HDL cholesterol)
  (both in mg/dL), ln(SBP) treated or untreated, smoking, diabetes (``data/framingham.toml``);
* ``framingham-bmi``: non-laboratory model, BMI (kg/m2) replaces both cholesterols
  (``data/framingham_bmi.toml``).

Coefficients come from the data files; the kernel splits the rows by sex once
(:func:`~cvrisk.scores.base.per_group`; no split for a one-sex cohort) and runs each sex's
equation with scalar coefficients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, per_group

#: Coefficient tables in the order of the ``sex`` category codes of both data files.
_SEXES = ("female", "male")


class _FraminghamCox(RiskModel):
    """Shared kernel: ``L = sum(beta * ln(x)) + SBP, smoking and diabetes terms``.

    Subclasses list ``log_terms``: (input column, coefficient name) pairs entering as
    ``beta * ln(value)`` in the input's model unit (mg/dL, kg/m2, years).
    """

    log_terms: ClassVar[Sequence[tuple[str, str]]]
    _fixed_terms: ClassVar[tuple[str, ...]] = (
        "ln_sbp_untreated",
        "ln_sbp_treated",
        "smoker",
        "diabetes",
        "mean_linear_predictor",
        "baseline_survival",
    )

    def __init__(self) -> None:
        super().__init__()
        if tuple(self.inputs["sex"].categories) != _SEXES:
            raise ValueError(f"{self.data_file}: sex categories must be {list(_SEXES)}")
        names = [coef for _, coef in self.log_terms] + list(self._fixed_terms)
        #: per sex code, coefficient name -> value
        self._table: list[dict[str, float]] = [
            {name: float(self.coefficients[s][name]) for name in names} for s in _SEXES
        ]

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """10-year probability of a first CVD event, one per row (float64, unrounded)."""
        return per_group(x, x["sex"], self._one_sex)

    def _one_sex(self, x: Inputs, sex: int) -> FloatArray:
        c = self._table[sex]
        treated = np.asarray(x["bp_treated"], dtype=bool)
        sbp_coef = np.where(treated, c["ln_sbp_treated"], c["ln_sbp_untreated"])
        linear = sbp_coef * np.log(x["sbp"])
        for column, coef in self.log_terms:
            linear = linear + c[coef] * np.log(x[column])
        linear = (
            linear
            + c["smoker"] * np.asarray(x["smoker"], dtype=np.float64)
            + c["diabetes"] * np.asarray(x["diabetes"], dtype=np.float64)
        )
        hazard = np.exp(linear - c["mean_linear_predictor"])
        return np.asarray(1.0 - np.power(c["baseline_survival"], hazard), dtype=np.float64)


class Framingham(_FraminghamCox):
    """Framingham 2008 general CVD, laboratory model (D'Agostino 2008 Table 2).

    Total and HDL cholesterol reach the kernel in mg/dL (the base converts mmol/L input with
    the cholesterol molar mass of ``cvrisk/data/units.toml``).
    """

    id = "framingham"
    data_file = "framingham.toml"
    log_terms = (
        ("age", "ln_age"),
        ("total_cholesterol", "ln_total_cholesterol"),
        ("hdl_cholesterol", "ln_hdl_cholesterol"),
    )


class FraminghamBMI(_FraminghamCox):
    """Framingham 2008 general CVD, non-laboratory model: BMI (kg/m2) instead of lipids."""

    id = "framingham-bmi"
    data_file = "framingham_bmi.toml"
    log_terms = (
        ("age", "ln_age"),
        ("bmi", "ln_bmi"),
    )
