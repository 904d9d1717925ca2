"""Raw column values -> typed numpy arrays (float64, bool, category codes), problems logged.

Each function reads one input column as the user gave it (numpy array, pandas Series,
scalar), converts it without changing any value (a string is never read as a number, a
number other than 0/1 never as a flag) and records what it cannot convert in the
:class:`~cvrisk.scores.problems.ProblemLog`. Also: inputs derived from other columns (BMI
from weight and height, diabetes from diabetes type, smoker from smoking category).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from cvrisk.scores.columns import Column, Columns
from cvrisk.scores.problems import BoolArray, FloatArray, ProblemLog

Array = npt.NDArray[Any]


def is_missing(value: Any) -> bool:
    """None, NaN or pandas' NA."""
    return (
        value is None
        or (isinstance(value, float | np.floating) and bool(np.isnan(value)))
        or type(value).__name__ == "NAType"
    )


#: pandas nullable numeric dtypes, read as float64 with NaN for missing values.
_NULLABLE_NUMBERS = frozenset(
    ("Float64", "Float32", "Int64", "Int32", "Int16", "Int8", "UInt64", "UInt32", "UInt16", "UInt8")
)


def series_to_numpy(values: Any) -> Any:
    """pandas Series -> numpy (nullable dtypes keep their missing values as NaN/None)."""
    if hasattr(values, "iloc") and hasattr(values, "dtype"):
        dtype = str(values.dtype)
        if dtype in _NULLABLE_NUMBERS:
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        if dtype == "boolean":
            if values.hasnans:
                return values.to_numpy(dtype=object, na_value=None)
            return values.to_numpy(dtype=bool)
        return values.to_numpy()
    return values


def original_values(column: Column, n: int) -> Any:
    """The values as the user gave them (for error messages)."""
    values = series_to_numpy(column.values)
    return values if not column.scalar else np.broadcast_to(np.asarray(values, dtype=object), (n,))


def as_float(
    name: str, values: Any, n: int, checks: ProblemLog
) -> tuple[FloatArray, BoolArray | None]:
    """Numbers as float64 (NaN for missing), and the rows that are not numbers (reported)."""
    array = np.asarray(values)
    if array.dtype.kind in "iuf":
        return array.astype(np.float64, copy=False), None
    if array.dtype.kind == "b":
        bad = np.ones(n, dtype=bool)
        checks.add(name, bad, np.broadcast_to(array, (n,)), "a boolean, expected a number")
        return np.full(n, np.nan), bad
    flat = np.atleast_1d(array)
    out = np.full(flat.shape, np.nan)
    bad = np.zeros(flat.shape, dtype=bool)
    for i, value in enumerate(flat):
        if is_missing(value):
            continue
        if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
            out[i] = float(value)
        else:
            bad[i] = True
    bad_rows = np.broadcast_to(bad, (n,)) if bad.size == 1 else bad
    if bad.any():
        target = np.broadcast_to(flat, (n,)) if flat.size == 1 else flat
        checks.add(name, bad_rows, target, lambda v: f"not a number ({type(v).__name__})")
    return (out if array.ndim else out.reshape(())), bad_rows


def flags(name: str, allow_missing: bool, column: Column, n: int, checks: ProblemLog) -> Array:
    """Booleans (bool, or 0/1 numbers); with ``allow_missing``, float64 with NaN if any missing."""
    values = np.asarray(series_to_numpy(column.values))
    if values.ndim == 0:
        values = np.broadcast_to(values, (n,))
    missing: BoolArray | None = None
    bad: BoolArray | None = None
    if values.dtype.kind == "b":
        result = values
    elif values.dtype.kind in "iuf":
        result = values == 1
        bad = ~(result | (values == 0))
        if values.dtype.kind == "f":
            missing = np.isnan(values)
    else:
        result = np.zeros(values.shape, dtype=bool)
        bad = np.zeros(values.shape, dtype=bool)
        missing = np.zeros(values.shape, dtype=bool)
        for i, value in enumerate(values):
            if isinstance(value, bool | np.bool_) or (
                isinstance(value, int | float | np.number) and value in (0, 1)
            ):
                result[i] = bool(value)
            elif is_missing(value):
                missing[i] = bad[i] = True
            else:
                bad[i] = True
    if allow_missing and missing is not None and missing.any():
        bad = bad & ~missing if bad is not None else None
        with_missing = result.astype(np.float64)
        with_missing[missing] = np.nan
        result = with_missing
    if bad is not None and bad.any():
        checks.add(
            name,
            bad,
            original_values(column, n),
            lambda v: "missing value" if is_missing(v) else "not a boolean (use True/False or 1/0)",
        )
    return result


def category_codes(values: Any, categories: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """Code (index in ``categories``) of every value; -1 for anything else (incl. missing).

    Fast paths: a pandas Categorical maps its few categories, not its rows; other pandas
    Series are factorized (hashing, in C) and their distinct values mapped; numpy arrays
    are compared once per category (vectorized).
    """
    if hasattr(values, "cat"):  # pandas Categorical: map category codes, not strings
        cat_codes = np.asarray(values.cat.codes.to_numpy(), dtype=np.intp)
        return _lookup(values.cat.categories, categories)[cat_codes]
    if hasattr(values, "factorize") and hasattr(values, "iloc"):  # other pandas Series
        factors, uniques = values.factorize(use_na_sentinel=True)
        return _lookup(uniques, categories)[np.asarray(factors, dtype=np.intp)]
    array = np.asarray(values)
    codes = np.full(array.shape, -1, dtype=np.int8)
    if array.dtype.kind in "USO":
        for index, category in enumerate(categories):
            codes[array == category] = index
    return codes


def _lookup(uniques: Any, categories: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """Codes of a few distinct values, with a trailing -1 so that code -1 maps to -1."""
    return np.array(
        [categories.index(c) if isinstance(c, str) and c in categories else -1 for c in uniques]
        + [-1],
        dtype=np.int8,
    )


def categories(
    name: str, accepted: tuple[str, ...], column: Column, n: int, checks: ProblemLog
) -> Array:
    codes = category_codes(column.values, accepted)
    if codes.ndim == 0:
        codes = np.broadcast_to(codes, (n,))
    bad = codes < 0
    if bad.any():
        listed = ", ".join(accepted)
        checks.add(
            name,
            bad,
            original_values(column, n),
            lambda v: "missing value" if is_missing(v) else f"not one of: {listed}",
        )
    return codes


# -- derived inputs ----------------------------------------------------------------------------

#: Inputs that can be derived from other columns when absent (definitions, not clinical values).
DERIVATION_SOURCES: dict[str, tuple[str, ...]] = {
    "bmi": ("weight", "height"),
    "diabetes": ("diabetes_type",),
    "smoker": ("smoking",),
}
#: Category -> flag of the derived flags: diabetes of any type; current smoking (QRISK3's
#: light, moderate and heavy smokers; 'ex' is a former smoker).
_DERIVED_FLAGS: dict[str, dict[str, bool]] = {
    "diabetes": {"none": False, "type1": True, "type2": True},
    "smoker": {"non": False, "ex": False, "light": True, "moderate": True, "heavy": True},
}


def derive(
    name: str, columns: Columns, units: Mapping[str, str], checks: ProblemLog
) -> Column | None:
    """Derive an absent input from the columns that define it, or None."""
    sources = DERIVATION_SOURCES.get(name)
    if sources is None or not all(s in columns for s in sources):
        return None
    if name == "bmi":
        return None  # derived by the model base, which checks weight and height plausibility
    source = columns.columns[sources[0]]
    mapping = _DERIVED_FLAGS[name]
    categories = tuple(mapping)
    table = np.array([mapping[c] for c in categories] + [False])
    codes = category_codes(source.values, categories)
    if codes.ndim == 0:
        codes = codes.reshape(1)
    derived: Array = table[codes]
    unknown = codes < 0
    if unknown.any():  # keep the unknown values so the flag check names them
        mixed = derived.astype(object)
        mixed[unknown] = np.atleast_1d(np.asarray(series_to_numpy(source.values), dtype=object))[
            unknown
        ]
        derived = mixed
    if source.scalar:
        return Column(derived.reshape(()), scalar=True)
    return Column(derived)
