from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvrisk.rules.durations import add_months, parse_duration


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("P7D", dt.date(2025, 1, 1), dt.date(2025, 1, 8)),
        ("P2W", dt.date(2025, 1, 1), dt.date(2025, 1, 15)),
        ("P1M", dt.date(2025, 1, 31), dt.date(2025, 2, 28)),  # clipped to month end
        ("P1M", dt.date(2024, 1, 31), dt.date(2024, 2, 29)),  # leap year
        ("P3M", dt.date(2025, 11, 30), dt.date(2026, 2, 28)),
        ("P1Y", dt.date(2024, 2, 29), dt.date(2025, 2, 28)),
        ("P5Y", dt.date(2025, 6, 1), dt.date(2030, 6, 1)),
    ],
)
def test_add(text: str, start: dt.date, expected: dt.date) -> None:
    assert parse_duration(text).add_to(start) == expected


@pytest.mark.parametrize("bad", ["", "P", "P0D", "P1.5M", "1M", "P1H", "PT1H", "P1M2D", "p1m"])
def test_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(bad)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)), st.integers(0, 600))
def test_months_never_skip_a_month(day: dt.date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)), st.integers(1, 400))
def test_weeks_are_exact(day: dt.date, weeks: int) -> None:
    assert (parse_duration(f"P{weeks}W").add_to(day) - day).days == 7 * weeks
