"""Bare-numpy "decode + formula" kernels: the ceiling ``cvrisk.score`` is measured against.

Each function takes the raw cohort of ``scores_bench.cohort`` (categories as numpy unicode
arrays, cholesterol in mmol/L, flags as numpy bool) and returns the same risks as
``cvrisk.score`` with none of its work besides the arithmetic: no validation, no range or
plausibility check, no unit machinery (a constant factor where a model computes in mg/dL),
no problem log. Categories are decoded the obvious numpy way (``values == "male"`` for a
two-valued category, ``np.searchsorted`` into the sorted categories otherwise, with no check
that the value is one of them). The equations are written independently of
``cvrisk/scores/*.py`` from the data files' coefficients (read once, outside the timing), the
fast way: rows split by sex once and scalar coefficients per sex.

The benchmark (``scores_bench.py``) asserts that each kernel agrees with ``cvrisk.score`` to
1e-9 before timing it, so a ratio is never measured against a wrong ceiling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cvrisk.scores.registry import get_model

Array = np.ndarray[Any, Any]
Data = Mapping[str, Array]
#: mg/dL per mmol/L of cholesterol (molar mass 386.7 g/mol, cvrisk/data/units.toml).
MG_PER_MMOL = 38.67


def _lookup(values: Array, categories: tuple[str, ...], table: Array) -> Array:
    """``table[index of value in categories]`` through searchsorted (no validation)."""
    order = np.argsort(np.array(categories))
    sorted_categories = np.array(categories)[order]
    return table[order][np.searchsorted(sorted_categories, values)]


#: Rows per block: every kernel works on blocks so that its temporaries stay in cache.
BLOCK = 1 << 15


def blocked(kernel: Callable[[Data], Array]) -> Callable[[Data], Array]:
    """Run ``kernel`` on blocks of :data:`BLOCK` rows (it is row-wise)."""

    def run(data: Data) -> Array:
        n = len(next(iter(data.values())))
        out = np.empty(n)
        for start in range(0, n, BLOCK):
            block = {k: v[start : start + BLOCK] for k, v in data.items()}
            out[start : start + BLOCK] = kernel(block)
        return out

    run.__name__ = kernel.__name__
    run.__doc__ = kernel.__doc__
    return run


def _by_sex(male: Array, fn: Callable[[Array, int], Array]) -> Array:
    """``fn(rows, sex)`` on the women's and the men's rows, merged."""
    out = np.empty(male.shape[0])
    for sex, rows in ((0, np.flatnonzero(~male)), (1, np.flatnonzero(male))):
        if rows.size:
            out[rows] = fn(rows, sex)
    return out


# -- PCE ----------------------------------------------------------------------------------------


def pce(data: Data) -> Array:
    coef = get_model("pce").coefficients
    male = data["sex"] == "male"
    black = data["race"] == "black"
    group = male.astype(np.intp) + 2 * black
    names = ("white_female", "white_male", "black_female", "black_male")
    out = np.empty(male.shape[0])
    for code, name in enumerate(names):
        rows = np.flatnonzero(group == code)
        if not rows.size:
            continue
        c = coef[name]
        la = np.log(data["age"][rows])
        lt = np.log(data["total_cholesterol"][rows] * MG_PER_MMOL)
        lh = np.log(data["hdl_cholesterol"][rows] * MG_PER_MMOL)
        ls = np.log(data["sbp"][rows])
        treated = data["bp_treated"][rows]
        s = (
            la * (c["ln_age"] + c["ln_age_squared"] * la)
            + lt * (c["ln_tc"] + c["ln_age_ln_tc"] * la)
            + lh * (c["ln_hdl"] + c["ln_age_ln_hdl"] * la)
            + ls
            * np.where(
                treated,
                c["ln_treated_sbp"] + c["ln_age_ln_treated_sbp"] * la,
                c["ln_untreated_sbp"] + c["ln_age_ln_untreated_sbp"] * la,
            )
            + data["smoker"][rows] * (c["smoker"] + c["ln_age_smoker"] * la)
            + data["diabetes"][rows] * c["diabetes"]
        )
        out[rows] = 1.0 - c["baseline_survival"] ** np.exp(s - c["mean_sum"])
    return out


# -- QRISK3 -------------------------------------------------------------------------------------

_QRISK3_FLAGS = (
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


def _fp(x: Array, power: float) -> Array:
    return np.log(x) if power == 0 else np.power(x, power)


def qrisk3(data: Data) -> Array:
    model = get_model("qrisk3")
    tables = [model.coefficients[s] for s in ("female", "male")]
    ethnicities = model.inputs["ethnicity"].categories
    smoking = model.inputs["smoking"].categories
    diabetes_types = model.inputs["diabetes_type"].categories
    eth_index = _lookup(data["ethnicity"], ethnicities, np.arange(len(ethnicities)))
    smoke_index = _lookup(data["smoking"], smoking, np.arange(len(smoking)))
    diabetes_index = _lookup(data["diabetes_type"], diabetes_types, np.arange(3))
    male = data["sex"] == "male"

    def one_sex(rows: Array, sex: int) -> Array:
        t = tables[sex]
        means, cont, flags = t["means"], t["continuous"], t["flags"]
        i1, i2 = t["interaction_age_1"], t["interaction_age_2"]
        age = np.floor(data["age"][rows]) / 10.0
        bmi = data["bmi"][rows] / 10.0
        p1, p2 = t["age_powers"]
        age_1 = _fp(age, p1) - means["age_1"]
        age_2 = _fp(age, p2) - means["age_2"]
        b = np.power(bmi, t["bmi_powers"][0])
        bmi_1 = b - means["bmi_1"]
        bmi_2 = b * np.log(bmi) - means["bmi_2"]
        ratio = data["total_cholesterol"][rows] / data["hdl_cholesterol"][rows]
        sbp = data["sbp"][rows] - means["sbp"]
        sbp_sd = data["sbp_sd"][rows] - means["sbp_sd"]
        town = data["townsend"][rows] - means["townsend"]
        eth = np.array([t["ethnicity"][e] for e in ethnicities])[eth_index[rows]]
        smoke = smoke_index[rows]
        a = eth + np.array([t["smoking"][s] for s in smoking])[smoke]
        a += age_1 * cont["age_1"] + age_2 * cont["age_2"]
        a += bmi_1 * cont["bmi_1"] + bmi_2 * cont["bmi_2"]
        a += (ratio - means["cholesterol_ratio"]) * cont["cholesterol_ratio"]
        a += sbp * cont["sbp"] + sbp_sd * cont["sbp_sd"] + town * cont["townsend"]
        z = {name: data[name][rows] for name in _QRISK3_FLAGS}
        z["type1"] = diabetes_index[rows] == 1
        z["type2"] = diabetes_index[rows] == 2
        for name, values in z.items():
            if name in flags:
                a += values * flags[name]
        z.update(bmi_1=bmi_1, bmi_2=bmi_2, sbp=sbp, townsend=town)
        for age_term, table in ((age_1, i1), (age_2, i2)):
            slope = np.array([table.get(s, 0.0) for s in smoking])[smoke]
            for name, values in z.items():
                if name in table:
                    slope = slope + values * table[name]
            a += age_term * slope
        return np.asarray(1.0 - t["survivor_10"] ** np.exp(a))

    return _by_sex(male, one_sex)


# -- SCORE2 and SCORE2-OP ---------------------------------------------------------------------


def _score2(model_id: str, data: Data) -> Array:
    model = get_model(model_id)
    transform = model.data["transform"]
    regions = model.inputs["region"].categories
    male = data["sex"] == "male"
    region_index = _lookup(data["region"], regions, np.arange(len(regions)))

    def one_sex(rows: Array, sex: int) -> Array:
        name = ("female", "male")[sex]
        c = model.coefficients["published"][name]
        scales = np.array([model.data["recalibration"]["published"][name][r] for r in regions])[
            region_index[rows]
        ]

        def centred(column: str) -> Array:
            centre = transform[f"{column}_centre"]
            return (data[column][rows] - centre) / transform[f"{column}_scale"]

        age, sbp = centred("age"), centred("sbp")
        tc, hdl = centred("total_cholesterol"), centred("hdl_cholesterol")
        lp = (
            c["age"] * age
            + data["smoker"][rows] * (c["smoker"] + c["age_smoker"] * age)
            + sbp * (c["sbp"] + c["age_sbp"] * age)
            + data["diabetes"][rows] * (c["diabetes"] + c["age_diabetes"] * age)
            + tc * (c["total_cholesterol"] + c["age_total_cholesterol"] * age)
            + hdl * (c["hdl_cholesterol"] + c["age_hdl_cholesterol"] * age)
        )
        uncalibrated_log_cumhaz = (
            lp - c["mean_linear_predictor"] + np.log(-np.log(c["baseline_survival"]))
        )
        log_cumhaz = scales[:, 0] + scales[:, 1] * uncalibrated_log_cumhaz
        return np.asarray(-np.expm1(-np.exp(log_cumhaz)))

    return _by_sex(male, one_sex)


def score2(data: Data) -> Array:
    return _score2("score2", data)


def score2_diabetes(data: Data) -> Array:
    """SCORE2-Diabetes: SCORE2's terms with diabetes = 1 plus age at diagnosis, HbA1c (IFCC
    mmol/mol, from % by the master equation of units.toml) and ln eGFR (and its square)."""
    model = get_model("score2-diabetes")
    transform = model.data["transform"]
    regions = model.inputs["region"].categories
    male = data["sex"] == "male"
    region_index = _lookup(data["region"], regions, np.arange(len(regions)))

    def one_sex(rows: Array, sex: int) -> Array:
        name = ("female", "male")[sex]
        c = model.coefficients["published"][name]
        scales = np.array([model.data["recalibration"]["published"][name][r] for r in regions])[
            region_index[rows]
        ]

        def centred(column: str, values: Array) -> Array:
            return (values - transform[f"{column}_centre"]) / transform[f"{column}_scale"]

        age = centred("age", data["age"][rows])
        sbp = centred("sbp", data["sbp"][rows])
        tc = centred("total_cholesterol", data["total_cholesterol"][rows])
        hdl = centred("hdl_cholesterol", data["hdl_cholesterol"][rows])
        agediab = centred("age_at_diabetes_diagnosis", data["age_at_diabetes_diagnosis"][rows])
        a1c = centred("hba1c", 10.929 * (data["hba1c"][rows] - 2.15))
        egfr = centred("log_egfr", np.log(data["egfr"][rows]))
        lp = (
            c["age"] * age
            + data["smoker"][rows] * (c["smoker"] + c["age_smoker"] * age)
            + sbp * (c["sbp"] + c["age_sbp"] * age)
            + (c["diabetes"] + c["age_diabetes"] * age)
            + tc * (c["total_cholesterol"] + c["age_total_cholesterol"] * age)
            + hdl * (c["hdl_cholesterol"] + c["age_hdl_cholesterol"] * age)
            - c["mean_linear_predictor"]
            + c["age_at_diabetes_diagnosis"] * agediab
            + a1c * (c["hba1c"] + c["age_hba1c"] * age)
            + egfr * (c["egfr"] + c["age_egfr"] * age + c["egfr_squared"] * egfr)
        )
        log_cumhaz = scales[:, 0] + scales[:, 1] * (lp + np.log(-np.log(c["baseline_survival"])))
        return np.asarray(-np.expm1(-np.exp(log_cumhaz)))

    return _by_sex(male, one_sex)


def score2_op(data: Data) -> Array:
    return _score2("score2-op", data)


# -- PREVENT (10-year total CVD; the bench cohort has HbA1c, UACR and SDI: the full model) -------


def prevent(data: Data) -> Array:
    model = get_model("prevent")
    k = float(model.data["conversion"]["cholesterol_mmol_per_mg_dl"]["value"])
    male = data["sex"] == "male"

    def one_sex(rows: Array, sex: int) -> Array:
        c = model.coefficients["full"]["y10"][("female", "male")[sex]]["cvd"]
        age = (data["age"][rows] - 55.0) / 10.0
        tc = data["total_cholesterol"][rows] * MG_PER_MMOL
        hdl_mg = data["hdl_cholesterol"][rows] * MG_PER_MMOL
        non_hdl = k * (tc - hdl_mg) - 3.5
        hdl = (k * hdl_mg - 1.3) / 0.3
        sbp = data["sbp"][rows]
        sbp_ge = (np.maximum(sbp, 110.0) - 130.0) / 20.0
        egfr = data["egfr"][rows]
        egfr_lt = (np.minimum(egfr, 60.0) - 60.0) / -15.0
        diabetes = data["diabetes"][rows].astype(np.float64)
        smoker = data["smoker"][rows].astype(np.float64)
        treated = data["bp_treated"][rows].astype(np.float64)
        statin = data["statin"][rows].astype(np.float64)
        sdi = data["sdi"][rows]
        hba1c = data["hba1c"][rows] - 5.3
        terms = {
            "constant": np.ones(rows.shape[0]),
            "age": age,
            "non_hdl": non_hdl,
            "hdl": hdl,
            "sbp_lt_110": (np.minimum(sbp, 110.0) - 110.0) / 20.0,
            "sbp_ge_110": sbp_ge,
            "diabetes": diabetes,
            "smoker": smoker,
            "egfr_lt_60": egfr_lt,
            "egfr_ge_60": (np.maximum(egfr, 60.0) - 90.0) / -15.0,
            "bp_treated": treated,
            "statin": statin,
            "bp_treated_x_sbp_ge_110": treated * sbp_ge,
            "statin_x_non_hdl": statin * non_hdl,
            "age_x_non_hdl": age * non_hdl,
            "age_x_hdl": age * hdl,
            "age_x_sbp_ge_110": age * sbp_ge,
            "age_x_diabetes": age * diabetes,
            "age_x_smoker": age * smoker,
            "age_x_egfr_lt_60": age * egfr_lt,
            "sdi_4_to_6": ((sdi >= 4) & (sdi < 7)).astype(np.float64),
            "sdi_7_to_10": (sdi >= 7).astype(np.float64),
            "ln_uacr": np.log(np.maximum(data["uacr"][rows], 0.1)),
            "hba1c_x_diabetes": hba1c * diabetes,
            "hba1c_x_no_diabetes": hba1c * (1.0 - diabetes),
        }
        names = [name for name in terms if name in c]
        design = np.stack([terms[name] for name in names], axis=1)
        lp = design @ np.array([float(c[name]) for name in names])
        return np.asarray(1.0 / (1.0 + np.exp(-lp)))

    return _by_sex(male, one_sex)


# -- Framingham -------------------------------------------------------------------------------


def _framingham(model_id: str, data: Data, log_terms: dict[str, float]) -> Array:
    model = get_model(model_id)
    male = data["sex"] == "male"

    def one_sex(rows: Array, sex: int) -> Array:
        c = model.coefficients[("female", "male")[sex]]
        sbp_coef = np.where(data["bp_treated"][rows], c["ln_sbp_treated"], c["ln_sbp_untreated"])
        linear = sbp_coef * np.log(data["sbp"][rows])
        for column, factor in log_terms.items():
            linear += c[f"ln_{column}"] * np.log(data[column][rows] * factor)
        linear += c["smoker"] * data["smoker"][rows] + c["diabetes"] * data["diabetes"][rows]
        hazard = np.exp(linear - c["mean_linear_predictor"])
        return np.asarray(1.0 - c["baseline_survival"] ** hazard)

    return _by_sex(male, one_sex)


def framingham(data: Data) -> Array:
    terms = {"age": 1.0, "total_cholesterol": MG_PER_MMOL, "hdl_cholesterol": MG_PER_MMOL}
    return _framingham("framingham", data, terms)


def framingham_bmi(data: Data) -> Array:
    return _framingham("framingham-bmi", data, {"age": 1.0, "bmi": 1.0})


#: model id -> bare kernel
KERNELS: dict[str, Callable[[Data], Array]] = {
    "pce": blocked(pce),
    "qrisk3": blocked(qrisk3),
    "score2": blocked(score2),
    "score2-op": blocked(score2_op),
    "score2-diabetes": blocked(score2_diabetes),
    "prevent": blocked(prevent),
    "framingham": blocked(framingham),
    "framingham-bmi": blocked(framingham_bmi),
}
