"""Throughput, memory and distance to the ceiling of ``cvrisk.score`` per model.

Run::

    cd /work/main && PYTHONPATH=. python bench/scores_bench.py [--n 1000000] [--repeat 5]

For each model: a synthetic cohort of ``--n`` patients drawn inside every validated range
("raw rows": plain numbers in each column's default unit, cholesterol in mmol/L, flags as
numpy bool, categories as numpy unicode strings), scored through the public
``cvrisk.score`` (input resolution, unit conversion, category decoding, range/plausibility
checks, row checks and the kernel) and through the bare-numpy "decode + formula" kernel of
the same equations (``bare_kernels.py``: no validation, the ceiling). Reported:

* patients/second and seconds of ``cvrisk.score``, best of ``--repeat`` runs after a warm-up;
* seconds of the bare kernel, best of ``--repeat`` runs, timed alternately with
  ``cvrisk.score`` in the same process (so both see the same machine load);
* ratio = bare seconds / cvrisk seconds (1.0: as fast as the ceiling; target >= 0.5);
* peak memory: ``tracemalloc`` peak during one call, divided by the bytes of the inputs.

Before timing, each bare kernel must agree with ``cvrisk.score`` to 1e-9 (relative).
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
#: Options of each model in the benchmark.
OPTIONS: dict[str, dict[str, Any]] = {"prevent": {"horizon": 10}}


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


def best_of_alternating(functions: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Seconds of the fastest of ``repeat`` runs of each function, run in turn, after one
    warm-up run of each."""
    for fn in functions.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


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
    from bare_kernels import KERNELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients per model")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (best is kept)")
    parser.add_argument("--models", nargs="*", default=list(AGES))
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    print(
        f"{'model':<16}{'patients/s':>12}{'cvrisk s':>10}{'bare s':>10}{'ratio':>8}"
        f"{'input MB':>10}{'peak/input':>12}"
    )
    for model_id in args.models:
        data = cohort(model_id, args.n, rng)
        options = OPTIONS.get(model_id, {})
        bare = KERNELS[model_id]

        def run(model_id: str = model_id, data: Data = data, options: Any = options) -> Any:
            return cvrisk.score(model_id, data, **options)

        risk = run()
        assert np.isfinite(risk).all()
        np.testing.assert_allclose(bare(data), risk, rtol=1e-9)
        seconds = best_of_alternating(
            {"cvrisk": run, "bare": lambda bare=bare, data=data: bare(data)}, args.repeat
        )
        ratio = peak_ratio(run, data)
        megabytes = sum(v.nbytes for v in data.values()) / 1e6
        print(
            f"{model_id:<16}{args.n / seconds['cvrisk']:>12,.0f}{seconds['cvrisk']:>10.3f}"
            f"{seconds['bare']:>10.3f}{seconds['bare'] / seconds['cvrisk']:>8.2f}"
            f"{megabytes:>10.1f}{ratio:>12.2f}"
        )


if __name__ == "__main__":
    main()
