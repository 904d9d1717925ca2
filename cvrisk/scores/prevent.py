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

The kernel splits the rows by (model, sex) once (:func:`~cvrisk.scores.base.per_group`; no
split when every row uses one model and one sex, the common case) and computes, for each
group, only the terms of that model, summed with that sex's scalar coefficients.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, RowCheck, per_group

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
        # (variant, horizon, outcome, sex code) -> [(term, coefficient)], in term-name order
        self._tables: dict[tuple[str, int, str, int], list[tuple[str, float]]] = {}
        for variant in MODELS:
            for horizon_key, by_sex in self.coefficients[variant].items():
                horizon = int(horizon_key.removeprefix("y"))
                for outcome in by_sex[_SEXES[0]]:
                    tables = [by_sex[sex][outcome] for sex in _SEXES]
                    terms = sorted(
                        {t for table in tables for t, v in table.items() if _is_coefficient(v)}
                    )
                    for code, table in enumerate(tables):
                        self._tables[variant, horizon, outcome, code] = [
                            (t, float(table.get(t, 0.0))) for t in terms
                        ]

    # -- the kernel --------------------------------------------------------------------------

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        outcome = str(options["outcome"])
        horizon = int(options["horizon"])
        variant = str(options["variant"])
        sex = np.asarray(x["sex"], dtype=np.intp)
        if variant == "auto":
            group = 2 * self.select(x) + np.maximum(sex, 0)
        else:
            group = 2 * MODELS.index(variant) + sex

        def equation(rows: Inputs, code: int) -> FloatArray:
            table = self._tables[MODELS[code // 2], horizon, outcome, code % 2]
            lp = self._linear_predictor(table, _Terms(self, rows))
            return np.asarray(1.0 / (1.0 + np.exp(-lp)), dtype=np.float64)

        return per_group(x, group, equation)

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

    @staticmethod
    def _linear_predictor(table: list[tuple[str, float]], terms: _Terms) -> FloatArray:
        """Sum of coefficient x term over the model's terms (zero coefficients skipped)."""
        lp = np.zeros(terms.n, dtype=np.float64)
        product = np.empty(terms.n, dtype=np.float64)
        for name, coefficient in table:
            if coefficient != 0.0:
                lp += np.multiply(terms[name], coefficient, out=product)
        return lp

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


class _Terms:
    """The centred and scaled predictors of some rows, computed when a model first asks.

    See the header of ``data/prevent.toml`` for each term; cholesterol reaches the kernel in
    mg/dL (the model unit) and is converted with the AHA's factor.
    """

    def __init__(self, model: Prevent, x: Inputs) -> None:
        self.model = model
        self.x = x
        self.n = np.asarray(x["sex"]).shape[0]
        self.cache: dict[str, FloatArray] = {}

    def __getitem__(self, name: str) -> FloatArray:
        value = self.cache.get(name)
        if value is None:
            value = self.cache[name] = np.asarray(self._compute(name), dtype=np.float64)
        return value

    def _column(self, name: str) -> FloatArray:
        return np.asarray(self.x[name], dtype=np.float64)

    def _optional(self, name: str) -> FloatArray:
        """An optional predictor; an absent column counts as missing on every row."""
        if name in self.x:
            return self._column(name)
        return np.full(self.n, np.nan)

    def _compute(self, name: str) -> Any:
        k = self.model._mmol_per_mg_dl
        if name == "constant":
            return np.ones(self.n)
        if name == "age":
            return (self._column("age") - 55.0) / 10.0
        if name == "age_squared":
            return self["age"] * self["age"]
        if name == "non_hdl":
            return k * (self._column("total_cholesterol") - self._column("hdl_cholesterol")) - 3.5
        if name == "hdl":
            return (k * self._column("hdl_cholesterol") - 1.3) / 0.3
        if name == "sbp_lt_110":
            return (np.minimum(self._column("sbp"), 110.0) - 110.0) / 20.0
        if name == "sbp_ge_110":
            return (np.maximum(self._column("sbp"), 110.0) - 130.0) / 20.0
        if name == "bmi_lt_30":
            return (np.minimum(self._column("bmi"), 30.0) - 25.0) / 5.0
        if name == "bmi_ge_30":
            return (np.maximum(self._column("bmi"), 30.0) - 30.0) / 5.0
        if name == "egfr_lt_60":
            return (np.minimum(self._column("egfr"), 60.0) - 60.0) / -15.0
        if name == "egfr_ge_60":
            return (np.maximum(self._column("egfr"), 60.0) - 90.0) / -15.0
        if name in ("diabetes", "smoker", "bp_treated", "statin"):
            return self._column(name)
        first, _, second = name.partition("_x_")
        if second and first != "hba1c":  # an interaction of two terms
            return self[first] * self[second]
        return self._optional_term(name)

    def _optional_term(self, name: str) -> Any:
        """Terms of the optional predictors (single-predictor and full models): ln(max(UACR,
        0.1)) with UACR in mg/g, HbA1c - 5.3 (%) split by diabetes, SDI decile groups, and a
        0/1 missing indicator per predictor."""
        if name.endswith("_missing"):
            return np.isnan(self._optional(name.removesuffix("_missing")))
        if name in ("sdi_4_to_6", "sdi_7_to_10"):
            # sdicat(): [1, 4) -> reference, [4, 7) -> 4-6, [7, 10] -> 7-10
            _reference, middle, high = self.model._sdi_cut
            sdi = self._optional("sdi")
            return (sdi >= middle) & (sdi < high) if name == "sdi_4_to_6" else sdi >= high
        if name == "ln_uacr":
            uacr = self._optional("uacr")
            missing = np.isnan(uacr)
            floor = self.model._uacr_floor
            return np.where(missing, 0.0, np.log(np.maximum(np.where(missing, 1.0, uacr), floor)))
        if name in ("hba1c_x_diabetes", "hba1c_x_no_diabetes"):
            hba1c = self._optional("hba1c")
            centred = np.where(np.isnan(hba1c), 0.0, hba1c - 5.3)
            diabetes = self["diabetes"]
            return centred * diabetes if name == "hba1c_x_diabetes" else centred * (1.0 - diabetes)
        raise KeyError(f"prevent.toml names an unknown term {name!r}")
