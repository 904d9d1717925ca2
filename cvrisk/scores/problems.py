"""Collecting invalid input values, and the limits they are checked against.

A :class:`ProblemLog` gathers, while one scoring call prepares its inputs, every invalid value
(the first few as :class:`~cvrisk.errors.Problem` s, all of them in a row mask and a count),
so that the call raises one error listing them or sets those rows to NaN.

Plausibility has the two tiers of :mod:`cvrisk.plausibility`: a value outside its analyte's
limits (:func:`plausible_range`) makes the row invalid; a value merely unusual in its unit
but typical in another (:func:`warn_unusual`) is used as given, with a
:class:`~cvrisk.errors.ProbableUnitWarning` naming the column, the rows and the probable unit.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cvrisk import plausibility, vocab
from cvrisk.errors import InvalidInputError, ProbableUnitWarning, Problem, short_repr
from cvrisk.units import converter, display_unit

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_MAX_LISTED = InvalidInputError.shown

#: Relative tolerance of the range and plausibility checks: a limit L accepts values within
#: |L| * 1e-9 of it, absorbing unit-conversion rounding (320 mg/dL given in mmol/L).
RANGE_RTOL = 1e-9


@dataclass(frozen=True)
class Finding:
    """One :meth:`ProblemLog.add`: a column's invalid rows, their values and why."""

    column: str
    bad: BoolArray
    values: Any
    reason: str | Callable[[Any], str]

    def value(self, row: int) -> Any:
        value = self.values[row] if np.ndim(self.values) else self.values
        return value.item() if isinstance(value, np.generic) else value

    def text(self, value: Any) -> str:
        return self.reason if isinstance(self.reason, str) else self.reason(value)


@dataclass
class ProblemLog:
    """Problems found while preparing inputs, and the rows they make invalid.

    ``labels``: the row labels problems name (a DataFrame's index), or None for positions.
    ``findings`` keeps every :meth:`add` so that the reasons of each invalid row
    (:meth:`row_reasons`) and a count per column (:meth:`summary`) can be given after the
    call, not only the first few problems.
    """

    n: int
    problems: list[Problem] = field(default_factory=list)
    count: int = 0
    invalid: BoolArray | None = None
    labels: Any = None
    findings: list[Finding] = field(default_factory=list)

    def label(self, row: int) -> Any:
        """How errors name row position ``row``: its index label, or the position itself."""
        if self.labels is None:
            return row
        label = self.labels[row]
        if isinstance(label, tuple):  # a MultiIndex
            return tuple(v.item() if isinstance(v, np.generic) else v for v in label)
        return label.item() if isinstance(label, np.generic) else label

    def add(
        self, column: str, bad: BoolArray, values: Any, reason: str | Callable[[Any], str]
    ) -> None:
        """Record rows where ``bad`` is true; ``values`` gives the offending values."""
        if not bad.any():
            return
        finding = Finding(column, np.array(bad, dtype=bool), values, reason)
        self.findings.append(finding)
        rows = np.flatnonzero(finding.bad)
        self.count += int(rows.size)
        self.invalid = finding.bad.copy() if self.invalid is None else self.invalid | finding.bad
        room = _MAX_LISTED - len(self.problems)
        for row in rows[: max(room, 0)]:
            value = finding.value(int(row))
            self.problems.append(Problem(self.label(int(row)), column, value, finding.text(value)))

    def row_reasons(self) -> npt.NDArray[np.object_]:
        """One text per row: None for a valid row, else every problem of the row, e.g.
        ``"age=200: outside the validated range 40-79 year (value in year)"`` (``"; "``
        between problems). Reasons are formatted once per distinct (column, value)."""
        texts: npt.NDArray[np.object_] = np.full(self.n, None, dtype=object)
        for finding in self.findings:
            cache: dict[Any, str] = {}
            for row in np.flatnonzero(finding.bad).tolist():
                value = finding.value(row)
                try:
                    text = cache.get(value)
                except TypeError:  # unhashable value
                    text = None
                if text is None:
                    text = f"{finding.column}={short_repr(value)}: {finding.text(value)}"
                    with contextlib.suppress(TypeError):
                        cache[value] = text
                texts[row] = text if texts[row] is None else f"{texts[row]}; {text}"
        return texts

    def summary(self) -> list[tuple[str, int, str]]:
        """Per column, in order of discovery: (column, rows it makes invalid, first reason)."""
        merged: dict[str, tuple[int, str]] = {}
        for finding in self.findings:
            first = int(np.argmax(finding.bad))
            count, reason = merged.get(finding.column, (0, ""))
            if not reason:
                value = finding.value(first)
                reason = f"e.g. row {short_repr(self.label(first))}, {finding.column}="
                reason += f"{short_repr(value)}: {finding.text(value)}"
            merged[finding.column] = (count + int(finding.bad.sum()), reason)
        return [(column, count, reason) for column, (count, reason) in merged.items()]


@dataclass(frozen=True)
class Bounds:
    """Inclusive limits in the model unit, widened by :data:`RANGE_RTOL`."""

    low: float
    high: float

    @classmethod
    def widened(cls, low: float, high: float) -> Bounds:
        return cls(low - RANGE_RTOL * abs(low), high + RANGE_RTOL * abs(high))

    def outside(self, values: FloatArray) -> BoolArray:
        """True where a value is outside the limits or NaN."""
        inside = values >= self.low
        inside &= values <= self.high
        return np.logical_not(inside, out=inside)

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class Plausible:
    """An analyte's plausible range: in the model unit (checks) and as published (messages)."""

    analyte: vocab.Analyte
    bounds: Bounds

    def describe(self) -> str:
        assert self.analyte.plausible is not None
        low, high = self.analyte.plausible
        return f"{low:g}-{high:g} {self.analyte.unit}"


def plausible_range(name: str, model_unit: str, substance: str | None) -> Plausible | None:
    """The plausible range of input ``name`` if it is a canonical analyte, in ``model_unit``."""
    entry = vocab.analytes().get(name)
    if entry is None or entry.plausible is None or entry.unit is None:
        return None
    to_model = converter(entry.unit, model_unit, entry.substance or substance)
    low, high = (float(to_model(limit)) for limit in entry.plausible)
    return Plausible(entry, Bounds.widened(min(low, high), max(low, high)))


def warn_unusual(
    model: str,
    name: str,
    values: FloatArray,
    model_unit: str,
    unit: str,
    substance: str | None,
    skip: BoolArray | None = None,
) -> None:
    """Warn (:class:`~cvrisk.errors.ProbableUnitWarning`, one per probable unit) about the
    rows of input ``name`` whose values are unusual in ``unit``, the unit they were given in,
    but typical in another unit of the analyte (:func:`cvrisk.plausibility.unusual_rows`).

    ``values`` are in ``model_unit`` (as the kernel receives them); ``skip`` marks rows
    already invalid. Inputs that are not canonical analytes are not checked. Score inputs
    are adults', so adult typical ranges apply.
    """
    if name not in vocab.analytes() or not unit:
        return
    found_rows = plausibility.unusual_rows(name, values, model_unit, given=unit, skip=skip)
    for found in found_rows:
        example = found.example
        assert example.range is not None and example.probable_value is not None
        rows = list(found.rows)
        listed = ", ".join(str(r) for r in rows[:_MAX_LISTED])
        more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
        canonical = display_unit(example.canonical_unit)
        probable = display_unit(found.probable_unit)
        warnings.warn(
            ProbableUnitWarning(
                f"{model}: {name} in {display_unit(unit)} is unusual in {len(rows)} row(s) "
                f"(rows {listed}{more}; typical {example.range[0]:g}-{example.range[1]:g} "
                f"{canonical}) but typical in {probable} (row {rows[0]}: {example.value:g} "
                f"{display_unit(unit)}, or {example.probable_value:.3g} {canonical} if "
                f"{probable}): probably sent in {probable}. The values were used as given; "
                f"declare the unit with units={{'{name}': '{found.probable_unit}'}} if so.",
                model=model,
                column=name,
                unit=unit,
                probable_unit=found.probable_unit,
                rows=rows,
            ),
            stacklevel=2,
        )
