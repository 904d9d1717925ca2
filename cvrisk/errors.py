"""The cvrisk exception hierarchy.

Every error cvrisk raises on bad input derives from :class:`CvriskError` and from the builtin
it refines (``ValueError``, ``KeyError``...), so callers can catch either. Messages say what
was wrong, the offending value, and what to do about it.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Longest quotation of an input value in an error message or data issue (characters).
QUOTE_LIMIT = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3  # nested containers deeper than this print as [...] / {...}: no recursion
# each part is bounded here (a string is repr'd from its first 1,000 characters only); the
# whole text is then cut at its end to the quotation limit
_REPR.maxstring = 1000
_REPR.maxother = 1000
_REPR.maxlong = 4300  # Python's own limit for int -> text (above it: "<int>")


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of an input value for a message: bounded in depth and length, never raising.

    Error messages quote what was wrong, but the input may be hostile: a string of a million
    characters, a list nested 10,000 deep (plain ``repr`` would raise RecursionError), an
    object whose ``__repr__`` fails. The text is cut to ``limit`` characters ("..." marks it).
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a hostile __repr__, or one too deep for reprlib's own recursion
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CvriskError(Exception):
    """Base class of every error raised by cvrisk."""


class UnitError(CvriskError, ValueError):
    """A unit is unknown, or cannot be converted to the unit required."""


class ImplausibleValueError(CvriskError, ValueError):
    """A measurement is implausible in its stated unit (probably a unit or typing error).

    Attributes:
        field: where the value came from (column, JSON path or analyte id).
        value: the value as given.
        unit: the unit as given.
        suggestion: the unit the value was probably meant in, if one makes it plausible.
    """

    def __init__(
        self, message: str, *, field: str, value: float, unit: str, suggestion: str | None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.unit = unit
        self.suggestion = suggestion


#: Longest value representation an error message shows (a 400-digit integer is cut).
_LONGEST_VALUE = 60


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to :data:`_LONGEST_VALUE` characters for error messages (bounded
    in depth and never raising, as :func:`quoted`)."""
    return quoted(value, _LONGEST_VALUE)


class ProbableUnitWarning(UserWarning):
    """Input values that are unusual in their unit but typical in another (probably sent in
    that other unit): a total cholesterol of 2.0 read as mmol/L is typical of g/L.

    Issued by :func:`cvrisk.score` (Python :mod:`warnings`; the values are used as given).
    Filter it with ``warnings.simplefilter("error", ProbableUnitWarning)`` to refuse them.

    Attributes:
        model: the model scored. column: the input. unit: the unit the values were read in.
        probable_unit: the unit they were probably in. rows: the rows concerned.
    """

    def __init__(
        self, message: str, *, model: str, column: str, unit: str, probable_unit: str,
        rows: Sequence[int],
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.model = model
        self.column = column
        self.unit = unit
        self.probable_unit = probable_unit
        self.rows = list(rows)


@dataclass(frozen=True)
class Problem:
    """One invalid value: where it is, what it is, and why it was rejected.

    ``row`` names the row as the caller knows it: the index label of a pandas DataFrame (an
    id, a date, a tuple for a MultiIndex), the position (0-based) in a list of rows or in
    arrays, or None for a problem of a whole column or field.
    """

    row: Any
    column: str
    value: Any
    reason: str

    def __str__(self) -> str:
        if self.row is None:
            where = ""
        else:  # a text label is quoted: row 'P001'
            where = f"row {self.row!r}, " if isinstance(self.row, str) else f"row {self.row}, "
        return f"{where}{self.column}={short_repr(self.value)}: {self.reason}"


class InvalidInputError(CvriskError, ValueError):
    """Score input rows are invalid (missing, out of the validated range, wrong category), or
    the input's shape is (a column that is not one value per row, a column name twice).

    Attributes:
        problems: the first problems found (at most ``shown``).
        count: the total number of problems.
        invalid_rows: the total number of rows with at least one problem (0 for a problem of
            the input's shape).
        advice: what to do about it (the end of the message).
    """

    shown = 5
    default_advice = (
        "Fix the values, declare their units with units={...}, or pass errors='coerce' "
        "to get NaN for invalid rows."
    )

    def __init__(
        self,
        model: str,
        problems: Sequence[Problem],
        *,
        count: int,
        invalid_rows: int,
        advice: str | None = None,
    ) -> None:
        self.model = model
        self.problems = list(problems)
        self.count = count
        self.invalid_rows = invalid_rows
        self.advice = advice or self.default_advice
        listed = "; ".join(str(p) for p in self.problems[: self.shown])
        more = f" (and {count - self.shown} more)" if count > self.shown else ""
        rows = f"{invalid_rows} invalid row(s), " if invalid_rows else ""
        super().__init__(f"{model}: {rows}{count} problem(s): {listed}{more}. {self.advice}")

    def __reduce__(self) -> Any:  # picklable (Dask workers send errors to the client)
        return (
            _rebuild_invalid_input,
            (self.model, self.problems, self.count, self.invalid_rows, self.advice),
        )


def _rebuild_invalid_input(
    model: str, problems: Sequence[Problem], count: int, invalid_rows: int, advice: str
) -> InvalidInputError:
    return InvalidInputError(model, problems, count=count, invalid_rows=invalid_rows, advice=advice)


class MissingInputError(CvriskError, KeyError):
    """A required input column (or option) is absent."""

    def __init__(self, model: str, name: str, hint: str = "") -> None:
        self.model = model
        self.name = name
        self.hint = hint
        super().__init__(f"{model}: required input {name!r} is missing. {hint}".strip())

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> Any:  # picklable (Dask workers send errors to the client)
        return (type(self), (self.model, self.name, self.hint))


class UnknownModelError(CvriskError, KeyError):
    """No risk model has the requested id."""

    def __str__(self) -> str:
        return str(self.args[0])


class OptionError(CvriskError, ValueError):
    """A model or protocol option is unknown or has a value it does not accept."""


class RecordError(CvriskError, ValueError):
    """A patient record is invalid (schema, dates, units or plausibility)."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class VocabularyError(CvriskError, KeyError):
    """A code, analyte, test or drug id is not in cvrisk's vocabularies."""

    def __str__(self) -> str:
        return str(self.args[0])


class ProtocolError(CvriskError, ValueError):
    """A protocol file is invalid, or a protocol id is unknown."""


class InputFileError(CvriskError, ValueError):
    """An input file cannot be read: missing, unreadable, binary, not the format its name says,
    or not well formed (a field too large, rows that do not match the header)."""


class EngineError(CvriskError, RuntimeError):
    """The rules engine failed while evaluating a record (a bug, not bad input)."""


class DataIssueError(CvriskError, ValueError):
    """``strict=True`` refused data issues (see :mod:`cvrisk.issues`).

    Attributes:
        issues: the refused :class:`~cvrisk.issues.DataIssue` s, in order.
    """

    shown = 5

    def __init__(self, issues: Sequence[Any]) -> None:
        self.issues = list(issues)
        listed = "; ".join(
            f"{i.kind}{f' ({i.resource or i.field})' if (i.resource or i.field) else ''}: "
            f"{i.message}"
            for i in self.issues[: self.shown]
        )
        hidden = len(self.issues) - self.shown
        more = f" (and {hidden} more)" if hidden > 0 else ""
        super().__init__(
            f"strict mode refused {len(self.issues)} data issue(s): {listed}{more}. "
            "Correct the input, or call without strict=True to get them as data issues."
        )
