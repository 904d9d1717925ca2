"""ISO 8601 durations of one unit (``P7D``, ``P2W``, ``P3M``, ``P1Y``) and calendar arithmetic.

Months and years are calendar units: adding one month to 31 January gives 28 (or 29)
February, the month's last day, so due dates never skip a month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from cvrisk.errors import quoted
from cvrisk.limits import limits

_PATTERN = re.compile(r"^P(\d+)([DWMY])$")


@dataclass(frozen=True)
class Duration:
    """A whole number of days, weeks, months or years."""

    count: int
    unit: str  # D, W, M or Y

    def add_to(self, day: dt.date, times: int = 1) -> dt.date:
        """``day`` plus ``times`` x this duration (calendar months, clipped to month end)."""
        n = self.count * times
        if self.unit == "D":
            return day + dt.timedelta(days=n)
        if self.unit == "W":
            return day + dt.timedelta(weeks=n)
        months = n if self.unit == "M" else 12 * n
        return add_months(day, months)

    def subtract_from(self, day: dt.date) -> dt.date:
        """``day`` minus this duration."""
        if self.unit in "DW":
            return day - dt.timedelta(days=self.count * (7 if self.unit == "W" else 1))
        months = self.count if self.unit == "M" else 12 * self.count
        return add_months(day, -months)

    def too_long(self, years: int) -> bool:
        """True when the duration is longer than ``years`` calendar years."""
        if self.unit in "DW":
            return self.count * (7 if self.unit == "W" else 1) > years * 366
        return self.count > (years * 12 if self.unit == "M" else years)

    def __str__(self) -> str:
        return f"P{self.count}{self.unit}"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clipped to the last day of the month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@lru_cache(maxsize=512)
def parse_duration(text: str) -> Duration:
    """Parse ``PnD``, ``PnW``, ``PnM`` or ``PnY`` (n >= 1).

    Raises:
        ValueError: any other form (pydantic reports it with the field's location).
    """
    match = _PATTERN.match(text) if isinstance(text, str) and len(text) <= 12 else None
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"duration {quoted(text)}: use an ISO 8601 duration of one unit, e.g. P7D, P2W, "
            "P3M, P1Y"
        )
    duration = Duration(int(match.group(1)), match.group(2))
    years = limits().max_duration_years
    if duration.too_long(years):
        raise ValueError(
            f"duration {text}: longer than {years} years, the longest cvrisk supports "
            "(docs/limits.md)"
        )
    return duration
