"""AHA PREVENT equations: 10- and 30-year risk of total CVD, ASCVD and heart failure.

Coefficients: ``data/prevent.toml`` (Khan SS et al., Circulation 2024;149:430-449, online
supplement; base and full models). Every equation is a sex-specific logistic model,
``risk = 1 / (1 + exp(-lp))``, over centred, piecewise-linear terms (see the data file header).

The kernel builds the term arrays once, then for the chosen outcome and horizon takes each
row's coefficients by sex with a gather over a (2, n_terms) table. With ``variant="auto"``
(the default) rows that carry at least one of HbA1c, UACR or SDI use the full model (with the
published missing-indicator coefficients for the others), all other rows the base model, as
the AHA's own code (AHAprevent) does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, RowCheck

_SEXES = ("female", "male")
_VARIANTS = ("base", "full")
#: Largest age (years) with a 30-year estimate (Khan 2024; the AHA code returns none at >= 60).
_MAX_AGE_30_YEARS = 59.0


class Prevent(RiskModel):
    """AHA PREVENT base and full models (options ``outcome``, ``horizon``, ``variant``)."""

    id = "prevent"
    data_file = "prevent.toml"

    def __init__(self) -> None:
        super().__init__()
        conversion = self.data["conversion"]["cholesterol_mmol_per_mg_dl"]
        self._mmol_per_mg_dl = float(conversion["value"])
        self._sdi_cut = [
            float(c) for c in self.data["conversion"]["sdi_categories"]["lower_bounds"]
        ]
        self._uacr_floor = float(self.data["conversion"]["uacr_floor"]["value"])
        # (variant, horizon, outcome) -> (term names, coefficient matrix of shape (2, n_terms))
        self._tables: dict[tuple[str, int, str], tuple[list[str], FloatArray]] = {}
        for variant in _VARIANTS:
            for horizon_key, by_sex in self.coefficients[variant].items():
                horizon = int(horizon_key.removeprefix("y"))
                for outcome in by_sex[_SEXES[0]]:
                    tables = [by_sex[sex][outcome] for sex in _SEXES]
                    terms = sorted(
                        {t for table in tables for t in table if t not in ("source", "status")}
                    )
                    matrix = np.array(
                        [[float(table.get(t, 0.0)) for t in terms] for table in tables],
                        dtype=np.float64,
                    )
                    self._tables[variant, horizon, outcome] = (terms, matrix)

    # -- the kernel --------------------------------------------------------------------------

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        outcome = str(options["outcome"])
        horizon = int(options["horizon"])
        variant = str(options["variant"])
        terms = self._terms(x)
        sex = np.asarray(x["sex"], dtype=np.intp)
        n = sex.shape[0]
        if variant == "base":
            lp = self._linear_predictor(("base", horizon, outcome), terms, sex)
        elif variant == "full":
            lp = self._linear_predictor(("full", horizon, outcome), terms, sex)
        else:
            has_optional = np.zeros(n, dtype=bool)
            for name in ("hba1c", "uacr", "sdi"):
                if name in x:
                    has_optional |= ~np.isnan(np.asarray(x[name], dtype=np.float64))
            lp = self._linear_predictor(("base", horizon, outcome), terms, sex)
            if has_optional.any():
                full = self._linear_predictor(("full", horizon, outcome), terms, sex)
                lp = np.where(has_optional, full, lp)
        return np.asarray(1.0 / (1.0 + np.exp(-lp)), dtype=np.float64)

    def _linear_predictor(
        self, key: tuple[str, int, str], terms: Mapping[str, FloatArray], sex: Any
    ) -> FloatArray:
        names, matrix = self._tables[key]
        coefficients = matrix[sex]  # (n, n_terms): each row's sex-specific coefficients
        design = np.stack([terms[name] for name in names], axis=1)
        return np.asarray(np.einsum("ij,ij->i", coefficients, design), dtype=np.float64)

    def _terms(self, x: Inputs) -> dict[str, FloatArray]:
        """Centred and scaled predictors (see the header of ``data/prevent.toml``)."""
        age = (np.asarray(x["age"], dtype=np.float64) - 55.0) / 10.0
        k = self._mmol_per_mg_dl
        tc = np.asarray(x["total_cholesterol"], dtype=np.float64)  # mg/dL (model unit)
        hdl_mg = np.asarray(x["hdl_cholesterol"], dtype=np.float64)
        non_hdl = k * (tc - hdl_mg) - 3.5
        hdl = (k * hdl_mg - 1.3) / 0.3
        sbp = np.asarray(x["sbp"], dtype=np.float64)
        sbp_lt = (np.minimum(sbp, 110.0) - 110.0) / 20.0
        sbp_ge = (np.maximum(sbp, 110.0) - 130.0) / 20.0
        bmi = np.asarray(x["bmi"], dtype=np.float64)
        bmi_lt = (np.minimum(bmi, 30.0) - 25.0) / 5.0
        bmi_ge = (np.maximum(bmi, 30.0) - 30.0) / 5.0
        egfr = np.asarray(x["egfr"], dtype=np.float64)
        egfr_lt = (np.minimum(egfr, 60.0) - 60.0) / -15.0
        egfr_ge = (np.maximum(egfr, 60.0) - 90.0) / -15.0
        diabetes = np.asarray(x["diabetes"], dtype=np.float64)
        smoker = np.asarray(x["smoker"], dtype=np.float64)
        treated = np.asarray(x["bp_treated"], dtype=np.float64)
        statin = np.asarray(x["statin"], dtype=np.float64)
        n = age.shape[0]
        terms: dict[str, FloatArray] = {
            "constant": np.ones(n),
            "age": age,
            "age_squared": age * age,
            "non_hdl": non_hdl,
            "hdl": hdl,
            "sbp_lt_110": sbp_lt,
            "sbp_ge_110": sbp_ge,
            "diabetes": diabetes,
            "smoker": smoker,
            "bmi_lt_30": bmi_lt,
            "bmi_ge_30": bmi_ge,
            "egfr_lt_60": egfr_lt,
            "egfr_ge_60": egfr_ge,
            "bp_treated": treated,
            "statin": statin,
            "bp_treated_x_sbp_ge_110": treated * sbp_ge,
            "statin_x_non_hdl": statin * non_hdl,
            "age_x_non_hdl": age * non_hdl,
            "age_x_hdl": age * hdl,
            "age_x_sbp_ge_110": age * sbp_ge,
            "age_x_diabetes": age * diabetes,
            "age_x_smoker": age * smoker,
            "age_x_bmi_ge_30": age * bmi_ge,
            "age_x_egfr_lt_60": age * egfr_lt,
        }
        terms.update(self._optional_terms(x, diabetes, n))
        return terms

    def _optional_terms(self, x: Inputs, diabetes: FloatArray, n: int) -> dict[str, FloatArray]:
        """Full-model terms; an absent column counts as missing on every row."""
        missing_all = np.full(n, np.nan)
        sdi = np.asarray(x.get("sdi", missing_all), dtype=np.float64)
        uacr = np.asarray(x.get("uacr", missing_all), dtype=np.float64)
        hba1c = np.asarray(x.get("hba1c", missing_all), dtype=np.float64)
        sdi_missing = np.isnan(sdi)
        # sdicat(): [1, 4) -> reference, [4, 7) -> 4-6, [7, 10] -> 7-10
        _reference, middle, high = self._sdi_cut
        sdi_4_to_6 = (sdi >= middle) & (sdi < high)
        sdi_7_to_10 = sdi >= high
        uacr_missing = np.isnan(uacr)
        ln_uacr = np.where(
            uacr_missing,
            0.0,
            np.log(np.maximum(np.where(uacr_missing, 1.0, uacr), self._uacr_floor)),
        )
        hba1c_missing = np.isnan(hba1c)
        centred_hba1c = np.where(hba1c_missing, 0.0, hba1c - 5.3)
        return {
            "sdi_4_to_6": sdi_4_to_6.astype(np.float64),
            "sdi_7_to_10": sdi_7_to_10.astype(np.float64),
            "sdi_missing": sdi_missing.astype(np.float64),
            "ln_uacr": ln_uacr,
            "uacr_missing": uacr_missing.astype(np.float64),
            "hba1c_x_diabetes": centred_hba1c * diabetes,
            "hba1c_x_no_diabetes": centred_hba1c * (1.0 - diabetes),
            "hba1c_missing": hba1c_missing.astype(np.float64),
        }

    # -- the 30-year age limit ------------------------------------------------------------------

    def row_checks(self, x: Inputs, options: Mapping[str, Any]) -> Iterator[RowCheck]:
        """Rows older than 59 years are invalid for ``horizon=30`` (validated for ages 30-59)."""
        if int(options["horizon"]) == 30:
            age = np.asarray(x["age"], dtype=np.float64)
            yield RowCheck(
                "age",
                age > _MAX_AGE_30_YEARS,
                age,
                "older than 59 years: no 30-year estimate "
                "(the 30-year equations cover ages 30-59); use horizon=10",
            )
