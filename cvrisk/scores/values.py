"""Raw column values -> typed numpy arrays (float64, bool, category codes), problems logged.

Each function reads one input column as the user gave it (numpy array, pandas Series,
scalar), converts it without changing any value (a string is never read as a number, a
number other than 0/1 never as a flag) and records what it cannot convert in the
:class:`~cvrisk.scores.problems.ProblemLog`. Also: inputs derived from other columns (BMI
from weight and height, diabetes from diabetes type, smoker from smoking category).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cvrisk.scores.columns import Column, Columns
from cvrisk.scores.decode import decoder
from cvrisk.scores.problems import BoolArray, FloatArray, ProblemLog

Array = npt.NDArray[Any]
Kind = Literal["number", "flag", "category"]


def is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT."""
    return (
        value is None
        or (isinstance(value, float | np.floating) and bool(np.isnan(value)))
        or type(value).__name__ in ("NAType", "NaTType")
        or (isinstance(value, np.datetime64 | np.timedelta64) and bool(np.isnat(value)))
    )


def is_real_number(value: Any) -> bool:
    """An int or float (Python or numpy), not a bool, complex, time or anything else."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_ | np.timedelta64
    )


def series_to_numpy(values: Any) -> Any:
    """pandas Series -> numpy; nullable and Arrow-backed dtypes keep missing values as NaN
    (numbers) or None (booleans)."""
    if not (hasattr(values, "iloc") and hasattr(values, "dtype")):
        return values
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        return values.to_numpy()
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf":  # Int64, Float64, int64[pyarrow], double[pyarrow]...
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "b":  # boolean, bool[pyarrow]
        if values.hasnans:
            return values.to_numpy(dtype=object, na_value=None)
        return values.to_numpy(dtype=bool)
    return values.to_numpy()


def original_values(column: Column, n: int) -> Any:
    """The values as the user gave them (for error messages)."""
    values = series_to_numpy(column.values)
    if column.scalar or np.ndim(values) == 0:
        return np.broadcast_to(np.asarray(values, dtype=object), (n,))
    return values


def _not_a_number(value: Any) -> str:
    if is_missing(value):
        return "missing value"
    if isinstance(value, complex | np.complexfloating):
        return "a complex number, expected a real number"
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return "an integer too large for a 64-bit float"
    if isinstance(value, bool | np.bool_):
        return "a boolean, expected a number"
    if isinstance(value, np.datetime64 | np.timedelta64) or type(value).__module__ in (
        "datetime",
        "pandas._libs.tslibs.timestamps",
        "pandas._libs.tslibs.timedeltas",
    ):
        return f"a date or duration ({type(value).__name__}), expected a number"
    return f"not a number ({type(value).__name__})"


def as_float(
    name: str, values: Any, n: int, checks: ProblemLog
) -> tuple[FloatArray, BoolArray | None]:
    """Numbers as float64 (NaN for missing), and the rows that are not numbers (reported).

    Only real numbers pass: booleans, complex numbers, text, bytes, dates, durations and
    other objects make their rows invalid (never read as numbers).
    """
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind in "iuf":
        return array.astype(np.float64, copy=False), None
    if kind != "O":  # bool, complex, text, bytes, dates: every row is invalid
        bad = np.ones(n, dtype=bool)
        shown = np.broadcast_to(array.astype(object) if kind in "Mm" else array, (n,))
        if kind in "Mm":  # NaT is a missing value (reported as such); other dates are not numbers
            bad = np.broadcast_to(~np.isnat(array), (n,)).copy()
        checks.add(name, bad, shown, _not_a_number)
        return np.full(n, np.nan), bad
    flat = np.atleast_1d(array)
    out = np.full(flat.shape, np.nan)
    bad = np.zeros(flat.shape, dtype=bool)
    for i, value in enumerate(flat):
        if is_missing(value):
            continue
        if is_real_number(value):
            try:
                out[i] = float(value)
            except OverflowError:  # an int beyond float64
                bad[i] = True
        else:
            bad[i] = True
    bad_rows = np.broadcast_to(bad, (n,)) if bad.size == 1 else bad
    if bad.any():
        target = np.broadcast_to(flat, (n,)) if flat.size == 1 else flat
        checks.add(name, bad_rows, target, _not_a_number)
    return (out if array.ndim else out.reshape(())), bad_rows


def _flag_value(value: Any) -> bool | None:
    """True/False for a flag value (bool, or a real number equal to 0 or 1); None otherwise."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if is_real_number(value) and not is_missing(value):
        if value == 1:
            return True
        if value == 0:
            return False
    return None


def flags(name: str, allow_missing: bool, column: Column, n: int, checks: ProblemLog) -> Array:
    """Booleans (bool, or 0/1 numbers); with ``allow_missing``, float64 with NaN if any missing."""
    values = np.asarray(series_to_numpy(column.values))
    if values.ndim == 0:
        values = np.broadcast_to(values, (n,))
    missing: BoolArray | None = None
    bad: BoolArray | None = None
    kind = values.dtype.kind
    if kind == "b":
        result = values
    elif kind in "iuf":
        result = values == 1
        bad = ~(result | (values == 0))
        if kind == "f":
            missing = np.isnan(values)
    elif kind == "O":
        result = np.zeros(values.shape, dtype=bool)
        bad = np.zeros(values.shape, dtype=bool)
        missing = np.zeros(values.shape, dtype=bool)
        for i, value in enumerate(values.tolist()):
            flag = _flag_value(value)
            if flag is not None:
                result[i] = flag
            elif is_missing(value):
                missing[i] = bad[i] = True
            else:
                bad[i] = True
    else:  # complex, text, bytes, dates: not flags (NaT is missing)
        result = np.zeros(values.shape, dtype=bool)
        missing = np.isnat(values) if kind in "Mm" else np.zeros(values.shape, dtype=bool)
        bad = np.ones(values.shape, dtype=bool)
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
    Series are factorized (hashing, in C) and their distinct values mapped; numpy unicode
    arrays go through :class:`~cvrisk.scores.decode.CategoryDecoder` (one exact pass);
    object arrays (lists of rows) through a dictionary. Only text can be a category: bytes,
    numbers, missing and unhashable values get -1.
    """
    table = decoder(categories)
    if hasattr(values, "cat") and hasattr(values, "iloc"):  # pandas Categorical
        cat_codes = np.asarray(values.cat.codes.to_numpy(), dtype=np.intp)
        return _lookup(values.cat.categories, categories)[cat_codes]
    if hasattr(values, "factorize") and hasattr(values, "iloc"):  # other pandas Series
        try:
            factors, uniques = values.factorize(use_na_sentinel=True)
        except TypeError:  # unhashable values (lists, dicts): decode value by value
            return table.objects(np.asarray(values.to_numpy(), dtype=object))
        return _lookup(uniques, categories)[np.asarray(factors, dtype=np.intp)]
    array = np.asarray(values)
    if array.ndim == 0:
        return category_codes(array.reshape(1), categories).reshape(())
    if array.dtype.kind == "U":
        return table.unicode(array)
    if array.dtype.kind == "O":
        return table.objects(array)
    return np.full(array.shape, -1, dtype=np.int8)


def _lookup(uniques: Any, categories: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """Codes of a few distinct values, with a trailing -1 so that code -1 maps to -1."""
    index = {c: i for i, c in enumerate(categories)}
    return np.array(
        [index.get(c, -1) if isinstance(c, str) else -1 for c in uniques] + [-1],
        dtype=np.int8,
    )


def _category_reason(listed: str) -> Callable[[Any], str]:
    def reason(value: Any) -> str:
        if is_missing(value):
            return "missing value"
        if isinstance(value, bytes | np.bytes_):
            return f"bytes, not text (decode them first); accepted: {listed}"
        return f"not one of: {listed}"

    return reason


def categories(
    name: str, accepted: tuple[str, ...], column: Column, n: int, checks: ProblemLog
) -> Array:
    codes = category_codes(column.values, accepted)
    if codes.ndim == 0:
        codes = np.broadcast_to(codes, (n,))
    bad = codes < 0
    if bad.any():
        checks.add(name, bad, original_values(column, n), _category_reason(", ".join(accepted)))
    return codes


# -- derived inputs ----------------------------------------------------------------------------

#: Inputs that can be derived from other columns when absent (definitions, not clinical values).
DERIVATION_SOURCES: dict[str, tuple[str, ...]] = {
    "bmi": ("weight", "height"),
    "diabetes": ("diabetes_type",),
    "smoker": ("smoking",),
}
#: Kind of value of each column inputs are derived from.
DERIVATION_KINDS: dict[str, Kind] = {
    "weight": "number",
    "height": "number",
    "diabetes_type": "category",
    "smoking": "category",
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
