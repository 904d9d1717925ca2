"""Throughput and memory of ``cvrisk.score`` on 1 M synthetic in-range patients per model.

Run::

    cd /work/main && PYTHONPATH=. /tmp/venv/bin/python bench/scores_bench.py [--n 1000000]

For each model: a synthetic cohort of ``--n`` patients drawn inside every validated range
(plain numbers in each column's default unit, flags as numpy bool, categories as numpy
unicode arrays), scored through the public ``cvrisk.score`` (input resolution, unit
conversion, range/plausibility/category checks, row checks and the kernel). Reported:

* patients/second, best of 3 timed runs after one warm-up run;
* peak memory: ``tracemalloc`` peak during one extra call, divided by the bytes of the input
  arrays (numpy reports its buffers to tracemalloc);
* for PCE, a bare-numpy reference kernel (no validation, inputs already in mg/dL and as
  booleans) timed in the same run: the cost of everything the library adds.

The cohort is synthetic (uniform draws, no clinical meaning): only speed and memory are
measured here; correctness is the job of tests/scores/.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import cvrisk

Data = dict[str, np.ndarray[Any, Any]]

#: Uniform draws for numbers, in each column's default unit (inside every model's range).
NUMBERS = {
    "total_cholesterol": (3.5, 8.0),  # mmol/L
    "hdl_cholesterol": (0.8, 2.5),  # mmol/L
    "sbp": (100.0, 180.0),  # mmHg
    "bmi": (20.0, 39.0),  # kg/m2
    "egfr": (20.0, 130.0),  # mL/min/1.73 m2
    "hba1c": (4.5, 10.0),  # %
    "uacr": (1.0, 300.0),  # mg/g
    "sdi": (1.0, 10.0),  # decile
    "sbp_sd": (0.0, 20.0),  # mmHg
    "townsend": (-6.0, 10.0),
    "age_at_diabetes_diagnosis": (20.0, 40.0),  # years (never above the age: 40-69)
}
#: Inputs that only check the population (SCORE2-Diabetes: type 2 diabetes), set to the
#: values the model accepts.
FIXED = {"diabetes": True, "diabetes_type": "type2"}
AGES = {
    "pce": (40, 79),
    "qrisk3": (25, 84),
    "score2": (40, 69),
    "score2-op": (70, 89),
    "score2-diabetes": (40, 69),
    "prevent": (30, 79),
    "framingham": (30, 74),
    "framingham-bmi": (30, 74),
}


def cohort(model_id: str, n: int, rng: np.random.Generator) -> Data:
    """Synthetic in-range patients for ``model_id`` (every input the model reads)."""
    data: Data = {}
    for name, spec in cvrisk.models()[model_id].inputs.items():
        if model_id == "score2-diabetes" and name in FIXED:
            data[name] = np.full(n, FIXED[name])
        elif spec.kind == "category":
            data[name] = rng.choice(np.array(spec.categories), n)
        elif spec.kind == "flag":
            data[name] = rng.random(n) < 0.25
        elif name == "age":
            data[name] = rng.uniform(*AGES[model_id], n)
        else:
            data[name] = rng.uniform(*NUMBERS[name], n)
    return data


def pce_reference(
    age: np.ndarray[Any, Any],
    male: np.ndarray[Any, Any],
    black: np.ndarray[Any, Any],
    tc_mg: np.ndarray[Any, Any],
    hdl_mg: np.ndarray[Any, Any],
    sbp: np.ndarray[Any, Any],
    treated: np.ndarray[Any, Any],
    smoker: np.ndarray[Any, Any],
    diabetes: np.ndarray[Any, Any],
    coef: dict[str, np.ndarray[Any, Any]],
) -> np.ndarray[Any, Any]:
    """Goff 2013 Table A in bare numpy: the floor for what cvrisk's PCE can cost."""
    group = male.astype(np.intp) + 2 * black.astype(np.intp)
    c = {k: v[group] for k, v in coef.items()}
    la, lt, lh, ls = np.log(age), np.log(tc_mg), np.log(hdl_mg), np.log(sbp)
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
        + smoker * (c["smoker"] + c["ln_age_smoker"] * la)
        + diabetes * c["diabetes"]
    )
    return np.asarray(1.0 - c["baseline_survival"] ** np.exp(s - c["mean_sum"]))


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Seconds of the fastest of ``repeat`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_ratio(fn: Callable[[], Any], data: Data) -> float:
    """tracemalloc peak of one call, relative to the bytes of the input arrays."""
    input_bytes = sum(v.nbytes for v in data.values())
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / input_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients per model")
    parser.add_argument("--models", nargs="*", default=list(AGES))
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    print(f"{'model':<16}{'patients/s':>14}{'seconds':>10}{'input MB':>10}{'peak/input':>12}")
    for model_id in args.models:
        data = cohort(model_id, args.n, rng)
        options = {"horizon": 10} if model_id == "prevent" else {}

        def run(model_id: str = model_id, data: Data = data, options: Any = options) -> Any:
            risk = cvrisk.score(model_id, data, **options)
            assert np.isfinite(risk).all()
            return risk

        seconds = best_of(run)
        ratio = peak_ratio(run, data)
        megabytes = sum(v.nbytes for v in data.values()) / 1e6
        print(
            f"{model_id:<16}{args.n / seconds:>14,.0f}{seconds:>10.3f}{megabytes:>10.1f}"
            f"{ratio:>12.2f}"
        )
        if model_id == "pce":
            from cvrisk.scores.registry import get_model

            model = get_model("pce")
            groups = ("white_female", "white_male", "black_female", "black_male")
            coef = {
                term: np.array([model.coefficients[g][term] for g in groups])
                for term in model.coefficients["white_female"]
                if term != "source"
            }
            ref_args = (
                data["age"],
                data["sex"] == "male",
                data["race"] == "black",
                data["total_cholesterol"] * 38.67,
                data["hdl_cholesterol"] * 38.67,
                data["sbp"],
                data["bp_treated"],
                data["smoker"],
                data["diabetes"],
                coef,
            )
            reference = pce_reference(*ref_args)
            np.testing.assert_allclose(run(), reference, rtol=1e-9)

            def bare(ref_args: tuple[Any, ...] = ref_args) -> Any:
                return pce_reference(*ref_args)

            ref_seconds = best_of(bare)
            print(f"{'  bare numpy':<16}{args.n / ref_seconds:>14,.0f}{ref_seconds:>10.3f}")


if __name__ == "__main__":
    main()
