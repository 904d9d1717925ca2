"""Throughput of cvrisk.units conversions on 1 M values, against bare numpy and pint.

Run from the repository root:

    PYTHONPATH=. python bench/units_bench.py [--n 1000000] [--repeat 7]

Prints values/second (best of ``repeat`` runs) for:

* numpy multiply: ``values * factor``, the floor every scale conversion can reach;
* cholesterol mg/dL -> mmol/L through :func:`cvrisk.units.converter` (cached factor);
* HbA1c NGSP % -> IFCC mmol/mol (affine: one multiply and one add);
* the same cholesterol conversion done with pint Quantities (divide by the molar mass,
  convert units on every call), for comparison.
"""

from __future__ import annotations

import argparse
import platform
import timeit
from collections.abc import Callable

import numpy as np
import pint

from cvrisk.units import converter, ureg

CHOLESTEROL_MOLAR_MASS = ureg.Quantity(386.7, "g/mol")  # as in cvrisk/data/units.toml


def _cases(values: np.ndarray) -> dict[str, Callable[[], object]]:
    factor = float(converter("mg/dL", "mmol/L", "cholesterol")(1.0))
    chol = converter("mg/dL", "mmol/L", "cholesterol")
    a1c = converter("%", "mmol/mol", "hba1c")
    return {
        "numpy multiply (reference)": lambda: values * factor,
        "cvrisk converter: cholesterol mg/dL -> mmol/L": lambda: chol(values),
        "cvrisk convert, lookup each call (cached)": lambda: converter(
            "mg/dL", "mmol/L", "cholesterol"
        )(values),
        "cvrisk converter: HbA1c % -> mmol/mol": lambda: a1c(values),
        "pint Quantity: cholesterol mg/dL -> mmol/L": lambda: (
            (ureg.Quantity(values, "mg/dL") / CHOLESTEROL_MOLAR_MASS).to("mmol/L").magnitude
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values per conversion")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the best is reported")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    values = rng.uniform(50.0, 400.0, args.n)
    # every path must give the same numbers before it is timed
    reference = converter("mg/dL", "mmol/L", "cholesterol")(values)
    via_pint = (ureg.Quantity(values, "mg/dL") / CHOLESTEROL_MOLAR_MASS).to("mmol/L").magnitude
    assert np.allclose(reference, via_pint, rtol=1e-12, atol=0)

    print(
        f"{args.n:,} float64 values, best of {args.repeat}; numpy {np.__version__}, "
        f"pint {pint.__version__}, Python {platform.python_version()} ({platform.machine()})"
    )
    print(f"{'path':<48} {'ms':>9} {'values/s':>14} {'vs numpy':>9}")
    base = None
    for name, run in _cases(values).items():
        seconds = min(timeit.repeat(run, number=1, repeat=args.repeat))
        base = base or seconds
        print(f"{name:<48} {seconds * 1e3:9.2f} {args.n / seconds:14,.0f} {seconds / base:8.1f}x")


if __name__ == "__main__":
    main()
