"""SCORE2 (ages 40-69) and SCORE2-OP (ages 70-89): ESC 2021 10-year fatal + non-fatal CVD risk.

Both models share one form, so one kernel serves both; only the data differ
(``data/score2.toml``, ``data/score2_op.toml``: coefficients, centring, baseline survival and
the sex- and region-specific recalibration scales, each with its source):

1. centre and scale the continuous predictors, ``x_c = (x - centre) / scale``;
2. linear predictor ``lp`` = main effects + interactions of centred age with every other
   predictor (log subdistribution hazard ratios);
3. uncalibrated 10-year risk ``r0 = 1 - S0 ** exp(lp - mean_lp)``;
4. region recalibration ``risk = 1 - exp(-exp(scale1 + scale2 * ln(-ln(1 - r0))))``.

Step 4 uses the identity ``ln(-ln(1 - r0)) = lp - mean_lp + ln(-ln S0)``, which is exact and
avoids forming ``1 - r0`` (so tiny and near-1 risks keep full precision); the result equals the
published two-step formula to rounding error (~1e-16).

Option ``precision``: ``"published"`` (default; the rounded values printed in the papers'
supplements, which the ESC HeartScore calculator uses) or ``"full"`` (the unrounded values of
the authors' Stata programs). See the data files and docs/scores/score2*.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, per_group

IntArray = npt.NDArray[np.intp]

#: Coefficient names every ``[coefficients.<precision>.<sex>]`` table must define.
_TERMS = (
    "age",
    "smoker",
    "sbp",
    "diabetes",
    "total_cholesterol",
    "hdl_cholesterol",
    "age_smoker",
    "age_sbp",
    "age_diabetes",
    "age_total_cholesterol",
    "age_hdl_cholesterol",
    "baseline_survival",
    "mean_linear_predictor",
)
#: Continuous predictors centred and scaled by the ``[transform]`` table.
_CONTINUOUS = ("age", "sbp", "total_cholesterol", "hdl_cholesterol")
#: The inputs of the shared linear predictor.
_LP_INPUTS = (*_CONTINUOUS, "smoker", "diabetes")


class _Score2Family(RiskModel):
    """Shared kernel of SCORE2 and SCORE2-OP; subclasses name the model and its data file."""

    def __init__(self) -> None:
        super().__init__()
        sexes = self.inputs["sex"].categories
        regions = self.inputs["region"].categories
        transform = self.data["transform"]
        #: (centre, scale) per continuous predictor
        self._transform: dict[str, tuple[float, float]] = {
            name: (float(transform[f"{name}_centre"]), float(transform[f"{name}_scale"]))
            for name in _CONTINUOUS
        }
        #: precision -> per sex code, term -> coefficient
        self._coef: dict[str, list[dict[str, float]]] = {}
        #: precision -> per sex code, ln(-ln S0) of the baseline survival
        self._log_cumhaz0: dict[str, FloatArray] = {}
        #: precision -> (sex code, region code, [scale1, scale2])
        self._scale_table: dict[str, FloatArray] = {}
        for precision in self.option_specs["precision"]["values"]:
            tables = self.coefficients[precision]
            missing = [
                f"{sex}.{term}" for sex in sexes for term in _TERMS if term not in tables[sex]
            ]
            if missing:
                raise ValueError(
                    f"{self.data_file}: [coefficients.{precision}] lacks {missing}; "
                    "every sex table needs all of " + ", ".join(_TERMS)
                )
            self._coef[precision] = [
                {term: float(tables[sex][term]) for term in _TERMS} for sex in sexes
            ]
            survival = np.array([c["baseline_survival"] for c in self._coef[precision]])
            self._log_cumhaz0[precision] = np.log(-np.log(survival))
            recalibration = self.data["recalibration"][precision]
            self._scale_table[precision] = np.array(
                [[recalibration[sex][region] for region in regions] for sex in sexes],
                dtype=np.float64,
            )

    def _centred_age(self, age: FloatArray) -> FloatArray:
        """Centred and scaled age, ``(age - centre) / scale`` (``[transform]``)."""
        centre, scale = self._transform["age"]
        return np.asarray((age - centre) / scale, dtype=np.float64)

    def _centred_lp(self, x: Inputs, c: Mapping[str, float]) -> FloatArray:
        """``lp - mean_lp`` of rows of one sex, with that sex's coefficients ``c``."""
        age, sbp, tc, hdl = (
            (x[name] - self._transform[name][0]) / self._transform[name][1] for name in _CONTINUOUS
        )
        smoker = np.asarray(x["smoker"], dtype=np.float64)
        diabetes = np.asarray(x["diabetes"], dtype=np.float64)
        lp = (
            c["age"] * age
            + smoker * (c["smoker"] + c["age_smoker"] * age)
            + sbp * (c["sbp"] + c["age_sbp"] * age)
            + diabetes * (c["diabetes"] + c["age_diabetes"] * age)
            + tc * (c["total_cholesterol"] + c["age_total_cholesterol"] * age)
            + hdl * (c["hdl_cholesterol"] + c["age_hdl_cholesterol"] * age)
        )
        return np.asarray(lp - c["mean_linear_predictor"], dtype=np.float64)

    def linear_predictor(
        self, x: Inputs, options: Mapping[str, Any]
    ) -> tuple[FloatArray, FloatArray, IntArray]:
        """``lp - mean_lp`` and each row's ``ln(-ln S0)`` and sex code (validated inputs).

        Returns:
            (centred linear predictor, log of minus log baseline survival, sex code as intp)
        """
        precision = options["precision"]
        sex = np.asarray(x["sex"], dtype=np.intp)
        coef = self._coef[precision]
        centred = per_group(
            x, sex, lambda rows, code: self._centred_lp(rows, coef[code]), needs=_LP_INPUTS
        )
        return centred, self._log_cumhaz0[precision][np.maximum(sex, 0)], sex

    def uncalibrated_risk(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """10-year risk before region recalibration, ``1 - S0 ** exp(lp - mean_lp)``."""
        centred, log_cumhaz0, _ = self.linear_predictor(x, options)
        return np.asarray(-np.expm1(-np.exp(centred + log_cumhaz0)), dtype=np.float64)

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """Region-recalibrated 10-year risk (probability) for validated inputs.

        Reads the linear predictor through :meth:`linear_predictor`, which models of the
        family extend (SCORE2-Diabetes adds its diabetes terms)."""
        precision = options["precision"]
        centred, log_cumhaz0, sex = self.linear_predictor(x, options)
        table = self._scale_table[precision]
        cell = np.maximum(sex, 0) * table.shape[1] + np.asarray(x["region"], dtype=np.intp)
        scale1, scale2 = table[:, :, 0].ravel().take(cell), table[:, :, 1].ravel().take(cell)
        # ln(-ln(1 - r0)) == centred + ln(-ln S0) exactly (r0 = 1 - S0 ** exp(centred))
        log_cumhaz = scale1 + scale2 * (centred + log_cumhaz0)
        return np.asarray(-np.expm1(-np.exp(log_cumhaz)), dtype=np.float64)


class Score2(_Score2Family):
    """SCORE2, ages 40-69 (SCORE2 working group, Eur Heart J 2021;42:2439-2454)."""

    id = "score2"
    data_file = "score2.toml"


class Score2OP(_Score2Family):
    """SCORE2-OP, ages 70-89 (SCORE2-OP working group, Eur Heart J 2021;42:2455-2467)."""

    id = "score2-op"
    data_file = "score2_op.toml"
