"""The data of ``cvrisk/scores/data/record_inputs.toml``, and its look-back windows.

Every window, drug class, flag definition and caveat text lives, with its source, in that
file; this module only reads it. :class:`Window` interprets one ``[windows.<analyte>]``
table: how far back before ``as_of`` a result may date, and from what age it counts.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@cache
def config() -> dict[str, Any]:
    """The parsed ``record_inputs.toml`` (cached; treat as read-only)."""
    path = resources.files("cvrisk.scores").joinpath("data", "record_inputs.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def shift_back(day: dt.date, *, years: int = 0, months: int = 0) -> dt.date:
    """``day`` moved back by whole years and months (calendar; 31 Mar - 1 month = 28/29 Feb).

    A result before year 1 clamps to ``date.min``.
    """
    total = day.year * 12 + (day.month - 1) - (years * 12 + months)
    year, month = divmod(total, 12)
    if year < dt.MINYEAR:
        return dt.date.min
    month += 1
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Window:
    """The look-back window of one analyte (``[windows.<analyte>]``; all keys optional).

    Attributes:
        years, months: look-back ending on (and including) ``as_of``, calendar arithmetic;
            neither set means no limit.
        min_age_years: only results taken when the patient was at least this old (years).
    """

    years: int | None = None
    months: int | None = None
    min_age_years: float | None = None

    def start(self, as_of: dt.date) -> dt.date | None:
        """The first day inside the window ending on ``as_of``; None when unlimited."""
        if self.years is None and self.months is None:
            return None
        return shift_back(as_of, years=self.years or 0, months=self.months or 0)

    def describe(self) -> str:
        """The window in words, for the reason a result was not found."""
        if self.years is not None:
            return f"the last {self.years} year(s)"
        if self.months is not None:
            return f"the last {self.months} month(s)"
        return "the record"

    def age_note(self) -> str:
        """The age condition in words (empty without one), completing :meth:`describe`."""
        if self.min_age_years is None:
            return ""
        return f" or taken before age {self.min_age_years}"


@cache
def window(analyte: str) -> Window:
    """The look-back window of ``analyte`` (unlimited when the data file sets none)."""
    table = config()["windows"].get(analyte, {})
    years, months = table.get("years"), table.get("months")
    return Window(
        years=None if years is None else int(years),
        months=None if months is None else int(months),
        min_age_years=table.get("min_age_years"),
    )
