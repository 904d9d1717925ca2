"""QRISK3-2017 (Hippisley-Cox 2017): 10-year risk of a first cardiovascular disease event.

Coefficients: ``data/qrisk3.toml``, transcribed from ClinRisk's open-source QRISK3-2017 C code
(``cvd_female_raw`` / ``cvd_male_raw``). The kernel follows that code term for term:
fractional polynomials of age and BMI, centred continuous terms (total/HDL cholesterol ratio,
SBP, SBP standard deviation, Townsend score), ethnicity and smoking arrays, binary terms and
their interactions with the two age terms, then ``1 - S0(10) ** exp(a)``.

Both sexes are evaluated in one pass: every coefficient is a length-2 array indexed by the
``sex`` code (0 = female, 1 = male) and gathered per row; terms a sex does not have (men have
no age x SLE interaction, women no erectile dysfunction term) have coefficient 0.

Validation beyond single columns (:meth:`QRisk3.row_checks`): the cholesterol ratio must lie
in ClinRisk's 1-12, and a man's row needs ``erectile_dysfunction`` (a woman's may omit it).
Those rows are reported like any invalid row (one :class:`~cvrisk.errors.InvalidInputError`
with ``errors="raise"``, NaN with ``errors="coerce"``); the column absent while the cohort has
men is a :class:`~cvrisk.errors.MissingInputError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from cvrisk.scores.base import FloatArray, Inputs, RiskModel, RowCheck

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


def _fp_pair(x: FloatArray, p1: FloatArray, p2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Second-degree fractional polynomial terms of ``x`` with per-row powers.

    Royston-Altman convention, as ClinRisk's code applies it: power 0 means ln(x), and a
    repeated power multiplies the second term by ln(x) (QRISK3's BMI: x^-2, x^-2 ln x).
    """
    log_x = np.log(x)
    first = np.where(p1 == 0, log_x, np.power(x, p1))
    second = np.where(p2 == 0, log_x, np.power(x, p2))
    second = np.where(p2 == p1, second * log_x, second)
    return first, second


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
        tables = [self.coefficients[s] for s in _SEXES]

        def by_sex(section: str, key: str) -> FloatArray:
            return np.array([float(t[section].get(key, 0.0)) for t in tables], dtype=np.float64)

        def categorical(section: str, categories: tuple[str, ...]) -> FloatArray:
            # shape (2, n_categories); a category missing from a table is an error
            return np.array(
                [[float(t[section][c]) for c in categories] for t in tables], dtype=np.float64
            )

        self._survivor = np.array([float(t["survivor_10"]) for t in tables])
        self._age_powers = np.array([t["age_powers"] for t in tables], dtype=np.float64)
        self._bmi_powers = np.array([t["bmi_powers"] for t in tables], dtype=np.float64)
        self._means = {
            k: by_sex("means", k) for k in ("age_1", "age_2", "bmi_1", "bmi_2", *_CONTINUOUS)
        }
        self._continuous = {
            k: by_sex("continuous", k) for k in ("age_1", "age_2", "bmi_1", "bmi_2", *_CONTINUOUS)
        }
        self._ethnicity = categorical("ethnicity", self.inputs["ethnicity"].categories)
        self._smoking = categorical("smoking", _SMOKING_LEVELS)
        self._flags = {k: by_sex("flags", k) for k in (*_FLAGS, "type1", "type2")}
        self._interactions = {
            section: {k: by_sex(section, k) for k in _INTERACTING}
            for section in ("interaction_age_1", "interaction_age_2")
        }
        # smoking x age: (2, 5) with the reference level 'non' = 0
        self._smoking_interactions = {
            section: np.array(
                [[float(t[section].get(level, 0.0)) for level in _SMOKING_LEVELS] for t in tables]
            )
            for section in ("interaction_age_1", "interaction_age_2")
        }
        ratio = self.data["limits"]["cholesterol_ratio"]
        self._ratio_limits = (float(ratio["min"]), float(ratio["max"]))
        self._fill = {name: float(self.inputs[name].when_absent) for name in ("sbp_sd", "townsend")}

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """10-year probability of a first CVD event, one per row (float64, unrounded)."""
        sex = np.asarray(x["sex"], dtype=np.intp)
        n = sex.shape[0]
        ratio = np.asarray(x["total_cholesterol"] / x["hdl_cholesterol"], dtype=np.float64)

        age = np.asarray(x["age"], dtype=np.float64)
        if options.get("age_rounding", "floor") == "floor":
            age = np.floor(age)  # ClinRisk: `int age`, completed years
        age_1, age_2 = _fp_pair(age / 10.0, self._age_powers[sex, 0], self._age_powers[sex, 1])
        bmi_1, bmi_2 = _fp_pair(
            np.asarray(x["bmi"], dtype=np.float64) / 10.0,
            self._bmi_powers[sex, 0],
            self._bmi_powers[sex, 1],
        )
        centred = {
            "age_1": age_1 - self._means["age_1"][sex],
            "age_2": age_2 - self._means["age_2"][sex],
            "bmi_1": bmi_1 - self._means["bmi_1"][sex],
            "bmi_2": bmi_2 - self._means["bmi_2"][sex],
            "cholesterol_ratio": ratio - self._means["cholesterol_ratio"][sex],
            "sbp": np.asarray(x["sbp"], dtype=np.float64) - self._means["sbp"][sex],
        }
        for name in ("sbp_sd", "townsend"):
            values = np.asarray(x.get(name, self._fill[name]), dtype=np.float64)
            values = np.where(np.isnan(values), self._fill[name], values)  # ClinRisk: use 0.0
            centred[name] = np.broadcast_to(values, (n,)) - self._means[name][sex]

        smoking = np.asarray(x["smoking"], dtype=np.intp)
        diabetes = np.asarray(x["diabetes_type"], dtype=np.intp)
        dtype_codes = self.inputs["diabetes_type"].categories
        z: dict[str, FloatArray] = {
            name: np.asarray(x[name], dtype=np.float64)
            if name in x
            else np.zeros(n, dtype=np.float64)
            for name in _FLAGS
        }
        # women have no erectile dysfunction term: a missing value there is irrelevant (a
        # man's missing value is an invalid row, see row_checks)
        z["erectile_dysfunction"] = np.where(
            np.isnan(z["erectile_dysfunction"]), 0.0, z["erectile_dysfunction"]
        )
        z["type1"] = (diabetes == dtype_codes.index("type1")).astype(np.float64)
        z["type2"] = (diabetes == dtype_codes.index("type2")).astype(np.float64)
        z.update({k: centred[k] for k in ("bmi_1", "bmi_2", "sbp", "townsend")})

        a = (
            self._ethnicity[sex, np.asarray(x["ethnicity"], dtype=np.intp)]
            + self._smoking[sex, smoking]
        )
        for name, coef in self._continuous.items():
            a = a + centred[name] * coef[sex]
        for name, coef in self._flags.items():
            a = a + z[name] * coef[sex]
        for age_term, section in (("age_1", "interaction_age_1"), ("age_2", "interaction_age_2")):
            slope = self._smoking_interactions[section][sex, smoking]
            for name, coef in self._interactions[section].items():
                slope = slope + z[name] * coef[sex]
            a = a + centred[age_term] * slope

        return np.asarray(1.0 - np.power(self._survivor[sex], np.exp(a)), dtype=np.float64)

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
