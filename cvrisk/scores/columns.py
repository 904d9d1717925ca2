"""Turn user data (DataFrame, mapping of columns, list of row mappings) into named columns.

The result is a :class:`Columns`: a row count and, per column name, either a numpy array of
that length, a scalar (broadcast later), or a pandas Series kept as is so that categorical
columns can use their integer codes. Nothing is converted or validated here beyond shape:
that is the job of :mod:`cvrisk.scores.base`, which knows each model's inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    """Named input columns of one scoring call, all of length ``n`` (or scalar)."""

    n: int
    columns: Mapping[str, Column]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def get(self, name: str) -> Column | None:
        return self.columns.get(name)


def _is_dataframe(data: Any) -> bool:
    return hasattr(data, "columns") and hasattr(data, "iloc") and hasattr(data, "index")


def _column_from_value(name: str, value: Any) -> Column:
    parts = quantity_parts(value)
    unit: str | None = None
    if parts is not None:
        value, unit = parts
    if hasattr(value, "iloc") and hasattr(value, "dtype"):  # pandas Series
        return Column(value, unit)
    if isinstance(value, np.ndarray):
        return Column(value, unit, scalar=value.ndim == 0)
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return Column(value, unit, scalar=True)
    values = list(value)
    row_parts = [quantity_parts(v) for v in values]
    if any(p is not None for p in row_parts):  # a list of quantities: one unit for all
        return _quantity_rows(name, values, row_parts)
    return Column(np.asarray(values), unit)


def _rows_to_columns(rows: Sequence[Mapping[str, Any]]) -> Columns:
    names: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInputError(
                "input",
                [Problem(index, "<row>", type(row).__name__, "each row must be a mapping")],
                count=1,
                invalid_rows=1,
            )
        names.update(dict.fromkeys(row))
    columns: dict[str, Column] = {}
    for name in names:
        values = [row.get(name) for row in rows]
        parts = [quantity_parts(v) for v in values]
        if any(p is not None for p in parts):
            columns[name] = _quantity_rows(name, values, parts)
        else:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            columns[name] = Column(_tighten(array))
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
            "input", problems[:5], count=len(problems), invalid_rows=len(plain) or 1
        )
    magnitudes = [np.nan if p is None else p[0] for p in parts]
    return Column(np.asarray(magnitudes, dtype=np.float64), units.pop())


def _tighten(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Give an object column a native dtype when every value allows it (no value changes)."""
    present = [v for v in array if v is not None]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        if len(present) == len(array):
            return array.astype(bool)
        return array
    if present and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in present
    ):
        return np.array([np.nan if v is None else v for v in array], dtype=np.float64)
    if present and len(present) == len(array) and all(isinstance(v, str) for v in present):
        return array.astype(str)
    return array


def as_columns(data: Any) -> Columns:
    """Read a DataFrame, a mapping of columns, or a list of row mappings into :class:`Columns`.

    Raises:
        InvalidInputError: columns of different lengths, or rows that are not mappings.
        CvriskError: the data is of none of the accepted shapes.
    """
    if _is_dataframe(data):
        return Columns(len(data), {str(c): Column(data[c]) for c in data.columns})
    if isinstance(data, Mapping):
        columns = {str(k): _column_from_value(str(k), v) for k, v in data.items()}
        lengths = {len(c.values) for c in columns.values() if not c.scalar}
        if len(lengths) > 1:
            sizes = {k: len(c.values) for k, c in columns.items() if not c.scalar}
            raise InvalidInputError(
                "input",
                [Problem(None, "<columns>", sizes, "columns have different lengths")],
                count=1,
                invalid_rows=0,
            )
        return Columns(lengths.pop() if lengths else 1, columns)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return _rows_to_columns(data)
    raise CvriskError(
        f"cannot read score input of type {type(data).__name__}: pass a pandas DataFrame, "
        "a mapping of column name to values, or a list of mappings (one per patient)"
    )
