"""AHA PREVENT equations: 10- and 30-year risk of total CVD, ASCVD and heart failure.

Coefficients: ``data/prevent.toml`` (Khan SS et al., Circulation 2024;149:430-449, online
supplement; base, single-predictor and full models). Every equation is a sex-specific logistic
model, ``risk = 1 / (1 + exp(-lp))``, over centred, piecewise-linear terms (see the data file
header).

The five models and how ``variant="auto"`` (the default) picks one per row, from which of the
optional predictors HbA1c, UACR and SDI the row carries (preventr's ``select_model()``):

=================================  ===========  ======================================
optional predictors on the row     model        terms added to the base model
=================================  ===========  ======================================
none                               ``base``     none
UACR only                          ``uacr``     ln(UACR)
HbA1c only                         ``hba1c``    HbA1c x diabetes, HbA1c x no diabetes
SDI only                           ``sdi``      SDI deciles 4-6, 7-10
any two, or all three              ``full``     all, with a missing indicator for each
=================================  ===========  ======================================

The kernel builds the term arrays once, then for each model some row needs takes each row's
coefficients by sex with a gather over a (2, n_terms) table, and keeps, per row, the linear
predictor of that row's model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, RowCheck

_SEXES = ("female", "male")
#: The models of the data file, in the order of their codes in :meth:`Prevent.select`.
MODELS = ("base", "uacr", "hba1c", "sdi", "full")
#: The optional predictors, each with the single-predictor model it selects on its own.
OPTIONAL = {"uacr": "uacr", "hba1c": "hba1c", "sdi": "sdi"}
#: Largest age (years) with a 30-year estimate (Khan 2024; the AHA code returns none at >= 60).
_MAX_AGE_30_YEARS = 59.0


def _is_coefficient(value: Any) -> bool:
    """True for a coefficient of a data-file table (not ``source``, ``status``, ``unconfirmed``)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Prevent(RiskModel):
    """AHA PREVENT base, single-predictor and full models.

    Options: ``outcome`` (cvd, ascvd, hf), ``horizon`` (10, 30 years) and ``variant``
    (``auto``, the default, or one of :data:`MODELS` to force that model on every row).
    """

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
        for variant in MODELS:
            for horizon_key, by_sex in self.coefficients[variant].items():
                horizon = int(horizon_key.removeprefix("y"))
                for outcome in by_sex[_SEXES[0]]:
                    tables = [by_sex[sex][outcome] for sex in _SEXES]
                    terms = sorted(
                        {t for table in tables for t, v in table.items() if _is_coefficient(v)}
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
        if variant != "auto":
            lp = self._linear_predictor((variant, horizon, outcome), terms, sex)
        else:
            choice = self.select(x)
            lp = np.empty(sex.shape[0], dtype=np.float64)
            for code in np.unique(choice):
                rows = choice == code
                model_lp = self._linear_predictor((MODELS[code], horizon, outcome), terms, sex)
                lp[rows] = model_lp[rows]
        return np.asarray(1.0 / (1.0 + np.exp(-lp)), dtype=np.float64)

    @staticmethod
    def select(x: Inputs) -> npt.NDArray[np.intp]:
        """The model ``variant="auto"`` uses on each row, as an index into :data:`MODELS`.

        preventr's rule (``select_model()``, R/helpers.R): no optional predictor given -> base;
        exactly one -> that predictor's single-predictor model; two or three -> full. A value
        is "given" when its column is present and the row's value is not NaN.
        """
        n = np.asarray(x["sex"]).shape[0]
        count = np.zeros(n, dtype=np.intp)
        single = np.zeros(n, dtype=np.intp)  # the code of the one given predictor's model
        for name, model in OPTIONAL.items():
            if name in x:
                given = ~np.isnan(np.asarray(x[name], dtype=np.float64))
                count += given
                single[given] = MODELS.index(model)
        return np.select(
            [count == 0, count == 1], [0, single], default=MODELS.index("full")
        ).astype(np.intp)

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
        """Terms of the optional predictors; an absent column counts as missing on every row.

        The single-predictor and full models share these terms (each model's table uses its own
        subset): ln(max(UACR, 0.1)) with UACR in mg/g, HbA1c - 5.3 (%) split by diabetes, SDI
        decile groups, and a 0/1 missing indicator per predictor.
        """
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
