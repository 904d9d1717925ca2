"""Turn user data (DataFrame, mapping of columns, list of row mappings) into named columns.

The result is a :class:`Columns`: a row count, the row labels to name in errors (a
DataFrame's index; positions otherwise) and, per column name, either a one-dimensional numpy
array of that length, a scalar (broadcast later), or a pandas Series kept as is so that
categorical columns can use their integer codes. Nothing is converted or validated here
beyond shape: that is the job of :mod:`cvrisk.scores.base`, which knows each model's inputs.
Shapes that have no row-per-value meaning (a 2-d array, a set, a dict, a DataFrame given as
one column, a column name given twice) are an :class:`~cvrisk.errors.InvalidInputError`
naming the column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvrisk.errors import CvriskError, InvalidInputError, Problem
from cvrisk.units import quantity_parts


@dataclass(frozen=True)
class Column:
    """One input column: values (array, Series or scalar) and the unit they arrived in."""

    values: Any
    unit: str | None = None
    scalar: bool = False


@dataclass(frozen=True)
class Columns:
    """Named input columns of one scoring call, all of length ``n`` (or scalar).

    ``index`` is the DataFrame's index (its labels name the rows in errors and label the
    result), or None for mappings and lists of rows (rows are named by position).
    """

    n: int
    columns: Mapping[str, Column]
    index: Any = None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def get(self, name: str) -> Column | None:
        return self.columns.get(name)


def is_dataframe(data: Any) -> bool:
    """True for a pandas DataFrame (or anything shaped like one), without importing pandas."""
    return hasattr(data, "columns") and hasattr(data, "iloc") and hasattr(data, "index")


def _is_series(value: Any) -> bool:
    return hasattr(value, "iloc") and hasattr(value, "dtype") and not hasattr(value, "columns")


#: What to do about an input of the wrong shape (the end of the error message).
SHAPE_ADVICE = (
    "Give each column once, as one value per row (a list, tuple, 1-d numpy array or pandas "
    "Series), all columns of the same length."
)


def _shape_error(name: str, value: Any, reason: str) -> InvalidInputError:
    return InvalidInputError(
        "input", [Problem(None, name, value, reason)], count=1, invalid_rows=0, advice=SHAPE_ADVICE
    )


def _one_dimensional(name: str, values: Sequence[Any]) -> np.ndarray[Any, Any]:
    """A list of row values as a 1-d array; rows that are themselves sequences (ragged or
    nested lists) stay objects, so that each is reported as an invalid value of its row."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):  # ragged, or values numpy cannot hold
        array = None
    if array is None or array.ndim != 1:
        array = np.empty(len(values), dtype=object)
        array[:] = list(values) if len(values) else []
    return array


def _column_from_value(name: str, value: Any) -> Column:
    parts = quantity_parts(value)
    unit: str | None = None
    if parts is not None:
        value, unit = parts
    if is_dataframe(value):
        raise _shape_error(
            name, type(value).__name__, "a column must be one value per row, not a table"
        )
    if _is_series(value):
        return Column(value, unit)
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            raise _shape_error(
                name,
                value.shape,
                "a column must be one-dimensional (one value per row); this array has shape "
                f"{value.shape}",
            )
        return Column(value, unit, scalar=value.ndim == 0)
    if isinstance(value, Mapping | AbstractSet):
        raise _shape_error(
            name,
            type(value).__name__,
            "a column must be a sequence of values in row order (list, tuple, numpy array or "
            f"pandas Series), not a {type(value).__name__}",
        )
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return Column(value, unit, scalar=True)
    values = list(value)
    row_parts = [quantity_parts(v) for v in values]
    if any(p is not None for p in row_parts):  # a list of quantities: one unit for all
        return _quantity_rows(name, values, row_parts)
    return Column(_one_dimensional(name, values), unit)


def _rows_to_columns(rows: Sequence[Any]) -> Columns:
    names: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInputError(
                "input",
                [Problem(index, "<row>", type(row).__name__, "each row must be a mapping")],
                count=1,
                invalid_rows=1,
                advice="Give a list of mappings (column name -> value), one per patient.",
            )
        names.update(dict.fromkeys(row))
    columns: dict[str, Column] = {}
    for name in names:
        values = [row.get(name) for row in rows]
        parts = [quantity_parts(v) for v in values]
        key = str(name)
        if key in columns:
            raise _duplicate(key, 2)
        if any(p is not None for p in parts):
            columns[key] = _quantity_rows(key, values, parts)
        else:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            columns[key] = Column(_tighten(array))
    return Columns(len(rows), columns)


def _quantity_rows(name: str, values: list[Any], parts: list[tuple[Any, str] | None]) -> Column:
    """A list column holding pint quantities: every row must carry one, in one unit."""
    units = {p[1] for p in parts if p is not None}
    plain = [i for i, p in enumerate(parts) if p is None and values[i] is not None]
    if plain or len(units) > 1:
        problems = [Problem(i, name, values[i], "plain number among quantities") for i in plain]
        if len(units) > 1:
            problems.append(Problem(None, name, sorted(units), "rows mix units"))
        raise InvalidInputError(
            "input",
            problems[:5],
            count=len(problems),
            invalid_rows=len(plain) or 1,
            advice="Give every row of a quantity column as a quantity in one unit, or plain "
            "numbers with units={...}.",
        )
    magnitudes = np.empty(len(parts), dtype=object)
    magnitudes[:] = [None if p is None else p[0] for p in parts]
    return Column(_tighten(magnitudes), units.pop())


def _is_float(value: Any) -> bool:
    """A real number (not a bool, complex or duration) that float64 can hold."""
    if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
        value, bool | np.bool_ | np.timedelta64
    ):
        return False
    try:
        float(value)
    except OverflowError:  # an int beyond float64: left to the checks, which name it
        return False
    return True


def _tighten(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Give an object column a native dtype when every value allows it (no value changes)."""
    present = [v for v in array if v is not None]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        if len(present) == len(array):
            return array.astype(bool)
        return array
    if present and all(_is_float(v) for v in present):
        return np.array([np.nan if v is None else v for v in array], dtype=np.float64)
    if present and len(present) == len(array) and all(isinstance(v, str) for v in present):
        return array.astype(str)
    return array


def _duplicate(name: str, times: int) -> InvalidInputError:
    return _shape_error(
        name, times, f"the column appears {times} times: keep one (which one to read is unclear)"
    )


def _frame_columns(data: Any) -> Columns:
    names = [str(c) for c in data.columns]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    repeated = {name: times for name, times in seen.items() if times > 1}
    if repeated:
        name, times = next(iter(repeated.items()))
        raise _duplicate(name, times)
    columns = {name: Column(data.iloc[:, position]) for position, name in enumerate(names)}
    return Columns(len(data), columns, index=data.index)


def as_columns(data: Any) -> Columns:
    """Read a DataFrame, a mapping of columns, or a list of row mappings into :class:`Columns`.

    Raises:
        InvalidInputError: columns of different lengths or shapes without one value per row,
            a column name given twice, or rows that are not mappings.
        CvriskError: the data is of none of the accepted shapes.
    """
    if is_dataframe(data):
        return _frame_columns(data)
    if isinstance(data, Mapping):
        columns: dict[str, Column] = {}
        for key, value in data.items():
            name = str(key)
            if name in columns:  # 1 and "1"
                raise _duplicate(name, 2)
            columns[name] = _column_from_value(name, value)
        lengths = {len(c.values) for c in columns.values() if not c.scalar}
        if len(lengths) > 1:
            sizes = {k: len(c.values) for k, c in columns.items() if not c.scalar}
            raise _shape_error("<columns>", sizes, "columns have different lengths")
        return Columns(lengths.pop() if lengths else 1, columns)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return _rows_to_columns(data)
    raise CvriskError(
        f"cannot read score input of type {type(data).__name__}: pass a pandas DataFrame, "
        "a mapping of column name to values, or a list of mappings (one per patient)"
    )
