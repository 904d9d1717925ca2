"""SCORE2-Diabetes (ages 40-69, type 2 diabetes): ESC 2023 10-year fatal + non-fatal CVD risk.

SCORE2-Diabetes extends SCORE2 (SCORE2-Diabetes Working Group, Eur Heart J 2023;44:2544): the
SCORE2 terms with re-estimated coefficients and the diabetes indicator (always 1: the model is
for people with type 2 diabetes), plus age at diabetes diagnosis, HbA1c (IFCC mmol/mol) and
log eGFR (linear and squared, each with an age interaction), then the SCORE2 region
recalibration. The SCORE2 kernel (:mod:`cvrisk.scores.score2`) computes the shared part; this
module adds the diabetes-specific terms. Coefficients, centring, baseline survival and scales
live in ``data/score2_diabetes.toml`` with their sources; see docs/scores/score2-diabetes.md.

    cagediab = (age_at_diabetes_diagnosis - 50)/5
    ca1c     = (hba1c_mmol_mol - 31)/9.34
    cegfr    = (ln(egfr) - 4.5)/0.15
    lp       = SCORE2 lp (diabetes = 1) + b_agediab*cagediab + b_hba1c*ca1c + b_egfr*cegfr
               + b_egfr2*cegfr^2 + cage*(b_age_hba1c*ca1c + b_age_egfr*cegfr)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RowCheck
from cvrisk.scores.score2 import IntArray, _Score2Family

#: Diabetes-specific coefficient names every ``[coefficients.<precision>.<sex>]`` table adds.
_EXTRA_TERMS = (
    "age_at_diabetes_diagnosis",
    "hba1c",
    "egfr",
    "egfr_squared",
    "age_hba1c",
    "age_egfr",
)


class Score2Diabetes(_Score2Family):
    """SCORE2-Diabetes, type 2 diabetes, ages 40-69 (Eur Heart J 2023;44:2544-2556)."""

    id = "score2-diabetes"
    data_file = "score2_diabetes.toml"

    def __init__(self) -> None:
        super().__init__()
        sexes = self.inputs["sex"].categories
        transform = self.data["transform"]
        #: (centre, scale) of the diabetes-specific predictors (eGFR: of its natural log)
        self._extra_transform: dict[str, tuple[float, float]] = {
            name: (float(transform[f"{name}_centre"]), float(transform[f"{name}_scale"]))
            for name in ("age_at_diabetes_diagnosis", "hba1c", "log_egfr")
        }
        #: precision -> term -> array indexed by sex code
        self._extra: dict[str, dict[str, FloatArray]] = {}
        for precision in self.option_specs["precision"]["values"]:
            tables = self.coefficients[precision]
            missing = [
                f"{sex}.{term}" for sex in sexes for term in _EXTRA_TERMS if term not in tables[sex]
            ]
            if missing:
                raise ValueError(f"{self.data_file}: [coefficients.{precision}] lacks {missing}")
            self._extra[precision] = {
                term: np.array([tables[sex][term] for sex in sexes], dtype=np.float64)
                for term in _EXTRA_TERMS
            }
        self._type2 = self.code("diabetes_type", "type2")

    def _centred(self, name: str, values: FloatArray) -> FloatArray:
        centre, scale = self._extra_transform[name]
        return np.asarray((values - centre) / scale, dtype=np.float64)

    def linear_predictor(
        self, x: Inputs, options: Mapping[str, Any]
    ) -> tuple[FloatArray, FloatArray, IntArray]:
        """``lp`` (mean 0), each row's ``ln(-ln S0)`` and sex code, with diabetes = 1."""
        n = len(x["age"])
        diabetic = {**x, "diabetes": np.ones(n, dtype=np.float64)}
        score2_part, log_cumhaz0, sex = super().linear_predictor(diabetic, options)
        c = {term: values[sex] for term, values in self._extra[options["precision"]].items()}
        age = self._centred_age(x["age"])
        agediab = self._centred("age_at_diabetes_diagnosis", x["age_at_diabetes_diagnosis"])
        a1c = self._centred("hba1c", x["hba1c"])
        egfr = self._centred("log_egfr", np.log(x["egfr"]))
        extra = (
            c["age_at_diabetes_diagnosis"] * agediab
            + a1c * (c["hba1c"] + c["age_hba1c"] * age)
            + egfr * (c["egfr"] + c["age_egfr"] * age + c["egfr_squared"] * egfr)
        )
        return np.asarray(score2_part + extra, dtype=np.float64), log_cumhaz0, sex

    def row_checks(self, x: Inputs, options: Mapping[str, Any]) -> Iterator[RowCheck]:
        """Rows for people the model is not for (no diabetes, another type), and an age at
        diagnosis that is negative or after the current age."""
        if "diabetes" in x:
            values = np.asarray(x["diabetes"], dtype=np.float64)
            yield RowCheck(
                "diabetes",
                values == 0.0,
                False,
                "SCORE2-Diabetes is for people with type 2 diabetes (use score2 without diabetes)",
            )
        if "diabetes_type" in x:
            codes = np.asarray(x["diabetes_type"])
            names = self.inputs["diabetes_type"].categories
            yield RowCheck(
                "diabetes_type",
                (codes >= 0) & (codes != self._type2),
                np.array(names, dtype=object)[np.clip(codes, 0, None)],
                "SCORE2-Diabetes is for people with type 2 diabetes only",
            )
        agediab = np.asarray(x["age_at_diabetes_diagnosis"], dtype=np.float64)
        yield RowCheck(
            "age_at_diabetes_diagnosis",
            (agediab < 0) | (agediab > np.asarray(x["age"], dtype=np.float64)),
            agediab,
            "age at diabetes diagnosis must be between 0 and the current age",
        )
