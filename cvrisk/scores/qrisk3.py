"""QRISK3-2017 (Hippisley-Cox 2017): 10-year risk of a first cardiovascular disease event.

Coefficients: ``data/qrisk3.toml``, transcribed from ClinRisk's open-source QRISK3-2017 C code
(``cvd_female_raw`` / ``cvd_male_raw``). The kernel follows that code term for term:
fractional polynomials of age and BMI, centred continuous terms (total/HDL cholesterol ratio,
SBP, SBP standard deviation, Townsend score), ethnicity and smoking arrays, binary terms and
their interactions with the two age terms, then ``1 - S0(10) ** exp(a)``.

Rows are split by sex once (:func:`~cvrisk.scores.base.per_group`; no split when the cohort
is one sex) and each sex's equation runs with scalar coefficients; terms a sex does not have
(men have no age x SLE interaction, women no erectile dysfunction term) are skipped.

Validation beyond single columns (:meth:`QRisk3.row_checks`): the cholesterol ratio must lie
in ClinRisk's 1-12, and a man's row needs ``erectile_dysfunction`` (a woman's may omit it).
Those rows are reported like any invalid row (one :class:`~cvrisk.errors.InvalidInputError`
with ``errors="raise"``, NaN with ``errors="coerce"``); the column absent while the cohort has
men is a :class:`~cvrisk.errors.MissingInputError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, RowCheck, per_group

#: Coefficient tables in the order of the ``sex`` category codes.
_SEXES = ("female", "male")
#: Centred continuous terms besides the fractional polynomials, in data-file names.
_CONTINUOUS = ("cholesterol_ratio", "sbp", "sbp_sd", "townsend")
#: Binary inputs read straight from columns (diabetes comes from ``diabetes_type``).
_FLAGS = (
    "atrial_fibrillation",
    "atypical_antipsychotic",
    "corticosteroids",
    "erectile_dysfunction",
    "migraine",
    "rheumatoid_arthritis",
    "ckd",
    "severe_mental_illness",
    "sle",
    "bp_treated",
    "family_history_chd",
)
#: Terms that may interact with age_1 / age_2 (smoking levels are handled as an array).
_INTERACTING = (*_FLAGS, "type1", "type2", "bmi_1", "bmi_2", "sbp", "townsend")
_SMOKING_LEVELS = ("non", "ex", "light", "moderate", "heavy")


def _fp_pair(x: FloatArray, p1: float, p2: float) -> tuple[FloatArray, FloatArray]:
    """Second-degree fractional polynomial terms of ``x`` with powers ``p1``, ``p2``.

    Royston-Altman convention, as ClinRisk's code applies it: power 0 means ln(x), and a
    repeated power multiplies the second term by ln(x) (QRISK3's BMI: x^-2, x^-2 ln x).
    """
    first = np.log(x) if p1 == 0 else _pow(x, p1)
    if p2 == p1:
        return first, first * np.log(x)
    return first, np.log(x) if p2 == 0 else _pow(x, p2)


def _pow(x: FloatArray, power: float) -> FloatArray:
    """``x ** power`` through C ``pow`` for every power, as ClinRisk's code computes it (a
    scalar or broadcast exponent takes numpy's shortcuts, e.g. ``1 / x`` for -1, an ulp
    away)."""
    return np.asarray(np.power(x, np.full(x.shape, power)), dtype=np.float64)


@dataclass(frozen=True)
class _SexTable:
    """One sex's QRISK3 coefficients as scalars (and small arrays indexed by category code)."""

    survivor: float
    age_powers: tuple[float, float]
    bmi_powers: tuple[float, float]
    means: dict[str, float]
    continuous: dict[str, float]
    ethnicity: FloatArray
    smoking: FloatArray
    flags: dict[str, float]
    #: per age term: smoking-level slopes (array by code) and term -> coefficient (non-zero)
    interactions: dict[str, tuple[FloatArray, dict[str, float]]]


class QRisk3(RiskModel):
    """QRISK3-2017 10-year CVD risk (women and men), ClinRisk's C code term for term."""

    id = "qrisk3"
    data_file = "qrisk3.toml"

    def __init__(self) -> None:
        super().__init__()
        if tuple(self.inputs["sex"].categories) != _SEXES:
            raise ValueError(f"{self.data_file}: sex categories must be {list(_SEXES)}")
        if tuple(self.inputs["smoking"].categories) != _SMOKING_LEVELS:
            raise ValueError(f"{self.data_file}: smoking categories must be {_SMOKING_LEVELS}")
        self._tables = [self._sex_table(self.coefficients[sex]) for sex in _SEXES]
        ratio = self.data["limits"]["cholesterol_ratio"]
        self._ratio_limits = (float(ratio["min"]), float(ratio["max"]))
        self._fill = {name: float(self.inputs[name].when_absent) for name in ("sbp_sd", "townsend")}

    def _sex_table(self, t: Mapping[str, Any]) -> _SexTable:
        """Scalars of one sex's table (a category missing from a table is an error)."""

        def floats(section: str, keys: tuple[str, ...]) -> dict[str, float]:
            return {k: float(t[section].get(k, 0.0)) for k in keys}

        fp_terms = ("age_1", "age_2", "bmi_1", "bmi_2", *_CONTINUOUS)
        interactions = {}
        for age_term, section in (("age_1", "interaction_age_1"), ("age_2", "interaction_age_2")):
            slopes = np.array([float(t[section].get(level, 0.0)) for level in _SMOKING_LEVELS])
            terms = {k: v for k, v in floats(section, _INTERACTING).items() if v != 0.0}
            interactions[age_term] = (slopes, terms)
        flags = floats("flags", (*_FLAGS, "type1", "type2"))
        return _SexTable(
            survivor=float(t["survivor_10"]),
            age_powers=(float(t["age_powers"][0]), float(t["age_powers"][1])),
            bmi_powers=(float(t["bmi_powers"][0]), float(t["bmi_powers"][1])),
            means=floats("means", fp_terms),
            continuous=floats("continuous", fp_terms),
            ethnicity=np.array(
                [float(t["ethnicity"][c]) for c in self.inputs["ethnicity"].categories]
            ),
            smoking=np.array([float(t["smoking"][c]) for c in _SMOKING_LEVELS]),
            flags={k: v for k, v in flags.items() if v != 0.0},
            interactions=interactions,
        )

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """10-year probability of a first CVD event, one per row (float64, unrounded)."""
        floor = options.get("age_rounding", "floor") == "floor"
        return per_group(x, x["sex"], lambda rows, sex: self._one_sex(rows, sex, floor))

    def _one_sex(self, x: Inputs, sex: int, floor: bool) -> FloatArray:
        """ClinRisk's ``cvd_female_raw`` / ``cvd_male_raw`` on rows of one sex."""
        t = self._tables[sex]
        n = np.asarray(x["sex"]).shape[0]
        age = np.asarray(x["age"], dtype=np.float64)
        if floor:
            age = np.floor(age)  # ClinRisk: `int age`, completed years
        age_1, age_2 = _fp_pair(age / 10.0, *t.age_powers)
        bmi_1, bmi_2 = _fp_pair(np.asarray(x["bmi"], dtype=np.float64) / 10.0, *t.bmi_powers)
        ratio = np.asarray(x["total_cholesterol"] / x["hdl_cholesterol"], dtype=np.float64)
        centred = {
            "age_1": age_1 - t.means["age_1"],
            "age_2": age_2 - t.means["age_2"],
            "bmi_1": bmi_1 - t.means["bmi_1"],
            "bmi_2": bmi_2 - t.means["bmi_2"],
            "cholesterol_ratio": ratio - t.means["cholesterol_ratio"],
            "sbp": np.asarray(x["sbp"], dtype=np.float64) - t.means["sbp"],
        }
        for name in ("sbp_sd", "townsend"):
            fill = self._fill[name]
            values = np.asarray(x.get(name, fill), dtype=np.float64)
            values = np.where(np.isnan(values), fill, values)  # ClinRisk: use 0.0
            centred[name] = np.broadcast_to(values, (n,)) - t.means[name]

        smoking = np.asarray(x["smoking"], dtype=np.intp)
        diabetes = np.asarray(x["diabetes_type"], dtype=np.intp)
        dtype_codes = self.inputs["diabetes_type"].categories
        z: dict[str, Any] = {name: x[name] for name in _FLAGS if name in x}
        if "erectile_dysfunction" in z:  # women have no such term: their missing value is
            impotence = np.asarray(z["erectile_dysfunction"], dtype=np.float64)  # irrelevant
            z["erectile_dysfunction"] = np.where(np.isnan(impotence), 0.0, impotence)
        z["type1"] = diabetes == dtype_codes.index("type1")
        z["type2"] = diabetes == dtype_codes.index("type2")
        z.update({k: centred[k] for k in ("bmi_1", "bmi_2", "sbp", "townsend")})

        a = t.ethnicity[np.asarray(x["ethnicity"], dtype=np.intp)] + t.smoking[smoking]
        for name, coef in t.continuous.items():
            a += centred[name] * coef
        for name, coef in t.flags.items():
            if name in z:
                a += z[name] * coef
        for age_term in ("age_1", "age_2"):
            slopes, terms = t.interactions[age_term]
            slope = slopes[smoking]
            for name, coef in terms.items():
                if name in z:
                    slope += z[name] * coef
            a += centred[age_term] * slope

        return np.asarray(1.0 - np.power(t.survivor, np.exp(a)), dtype=np.float64)

    def row_checks(self, x: Inputs, options: Mapping[str, Any]) -> Iterator[RowCheck]:
        """Cholesterol ratio within ClinRisk's 1-12; ``erectile_dysfunction`` known for men."""
        low, high = self._ratio_limits
        ratio = np.asarray(x["total_cholesterol"] / x["hdl_cholesterol"], dtype=np.float64)
        yield RowCheck(
            "total_cholesterol/hdl_cholesterol",
            ~((ratio >= low) & (ratio <= high)),
            ratio,
            f"cholesterol ratio outside the validated range {low:g}-{high:g} (ClinRisk's limits)",
        )
        male = np.asarray(x["sex"]) == _SEXES.index("male")
        if "erectile_dysfunction" not in x:
            yield RowCheck(
                "erectile_dysfunction",
                male,
                None,
                "QRISK3's equation for men needs it: give it as a column (True/False or 1/0; "
                "it may be missing (None/NaN) for women, whose equation ignores it).",
                missing_input=True,
            )
        else:
            unknown = male & np.isnan(np.asarray(x["erectile_dysfunction"], dtype=np.float64))
            yield RowCheck("erectile_dysfunction", unknown, None, "missing value for a man")
