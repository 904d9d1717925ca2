"""Due dates, windows and statuses of one schedule item (docs/protocol-format.md, "Windows").

Pure date arithmetic: an item, its anchor, the days on which results of its test exist, and
the evaluation date in; the occurrence that matters now and its status out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cvrisk.rules.durations import Duration, parse_duration
from cvrisk.rules.report import TestStatus
from cvrisk.rules.schema import ScheduleItem

#: Baseline window (days before, days after the anchor): cvrisk convention.
BASELINE_WINDOW_DAYS = (90, 7)
#: Tolerance = clamp(gap // TOLERANCE_DIVISOR, MIN, MAX) days: cvrisk convention.
TOLERANCE_DIVISOR = 4
TOLERANCE_MIN_DAYS = 1
TOLERANCE_MAX_DAYS = 30


@dataclass(frozen=True)
class Occurrence:
    """One time a test is due: its label (``baseline``, ``P4W``, ``P1Y``...) and window."""

    label: str
    due: dt.date
    start: dt.date
    end: dt.date
    recurring: bool = False


@dataclass(frozen=True)
class Requirement:
    """What an item asks for on the evaluation date."""

    occurrence: Occurrence
    status: TestStatus
    last_result: dt.date | None


def tolerance_days(item: ScheduleItem, gap_days: int) -> int:
    """Half-width of a follow-up window, in days."""
    if item.tolerance_days is not None:
        return item.tolerance_days
    return max(TOLERANCE_MIN_DAYS, min(TOLERANCE_MAX_DAYS, gap_days // TOLERANCE_DIVISOR))


def _window(
    item: ScheduleItem, label: str, due: dt.date, previous: dt.date, recurring: bool
) -> Occurrence:
    t = dt.timedelta(days=tolerance_days(item, (due - previous).days))
    return Occurrence(label, due, due - t, due + t, recurring)


def fixed_occurrences(item: ScheduleItem, anchor: dt.date) -> list[Occurrence]:
    """Baseline and follow-up occurrences of an item, in date order."""
    return list(_fixed_occurrences(item, anchor))


#: Occurrence label of items due at every administration (``each_administration``).
EACH_ADMINISTRATION = "each administration"


def period_end(item: ScheduleItem, anchor: dt.date) -> dt.date | None:
    """The last day an item limited to a period (``applies_for``) is due: the period's end,
    or the end of the window of an occurrence due in the period when that closes later
    (the day-28 test of a 4-week surveillance keeps its window). None: no limit."""
    if item.applies_for is None:
        return None
    end = parse_duration(item.applies_for).add_to(anchor)
    return max([end, *(o.end for o in _fixed_occurrences(item, anchor))])


def lapsed(item: ScheduleItem, anchor: dt.date, as_of: dt.date) -> bool:
    """True when ``item`` applies for a period (``applies_for``) that is over on ``as_of``."""
    end = period_end(item, anchor)
    return end is not None and as_of > end


def missed_occurrences(
    item: ScheduleItem, anchor: dt.date, result_days: Sequence[dt.date]
) -> list[Occurrence]:
    """The occurrences of an item with no result of its test inside their window."""
    return [
        occurrence
        for occurrence in _fixed_occurrences(item, anchor)
        if occurrence.label != EACH_ADMINISTRATION
        and not any(occurrence.start <= day <= occurrence.end for day in result_days)
    ]


@lru_cache(maxsize=4096)
def _fixed_occurrences(item: ScheduleItem, anchor: dt.date) -> tuple[Occurrence, ...]:
    """Baseline and follow-ups; for an item limited to a period (``applies_for``), those
    due in it."""
    out = []
    if item.each_administration:  # from the first administration (the start) on
        out.append(Occurrence(EACH_ADMINISTRATION, anchor, anchor, anchor, recurring=True))
    if item.baseline:
        before, after = item.baseline_window_days or BASELINE_WINDOW_DAYS
        out.append(
            Occurrence(
                "baseline",
                anchor,
                anchor - dt.timedelta(days=before),
                anchor + dt.timedelta(days=after),
            )
        )
    previous = anchor
    for text in item.followups:
        due = parse_duration(text).add_to(anchor)
        out.append(_window(item, text, due, previous, recurring=False))
        previous = due
    if item.applies_for is not None:
        end = parse_duration(item.applies_for).add_to(anchor)
        out = [o for o in out if o.due <= end]
    return tuple(out)


def recurring_occurrence(item: ScheduleItem, base: dt.date) -> Occurrence | None:
    """The recurring occurrence following ``base`` (a result or the last fixed due date)."""
    if item.then_every is None:
        return None
    every = parse_duration(item.then_every)
    return _window(item, item.then_every, every.add_to(base), base, recurring=True)


def requirement(
    item: ScheduleItem,
    anchor: dt.date,
    result_days: Sequence[dt.date],
    as_of: dt.date,
) -> Requirement | None:
    """The occurrence of ``item`` that matters on ``as_of``, with its status; None if none
    (also once the period of an item limited by ``applies_for`` is over).

    ``result_days``: days with a result of the item's test, on or before ``as_of``.
    """
    if lapsed(item, anchor, as_of):
        return None  # its period is over: missed occurrences are data issues, not tests
    latest = max(result_days) if result_days else None
    if item.each_administration:  # a standing instruction while the course runs
        occurrence = Occurrence(EACH_ADMINISTRATION, as_of, anchor, as_of, recurring=True)
        return Requirement(occurrence, "due", latest)
    if not item.observable:
        return _reminder(item, anchor, as_of)
    pending: Occurrence | None = None
    fixed = _fixed_occurrences(item, anchor)
    for occurrence in fixed:
        if latest is None or latest < occurrence.start:
            pending = occurrence
            break
    if pending is None:
        if fixed:
            base = latest if latest is not None else fixed[-1].due
        else:
            base = latest if latest is not None and latest >= anchor else anchor
        pending = recurring_occurrence(item, base)
        if pending is None:
            return None
    return Requirement(pending, _status(item, pending, as_of), latest)


def _status(item: ScheduleItem, occurrence: Occurrence, as_of: dt.date) -> TestStatus:
    if as_of < occurrence.start:
        return "upcoming"
    if item.when_risk_factors:
        return "conditional"
    return "overdue" if as_of > occurrence.end else "due"


def _reminder(item: ScheduleItem, anchor: dt.date, as_of: dt.date) -> Requirement | None:
    """Assessments records cannot show as done: due inside a window, else the next one."""
    occurrences = fixed_occurrences(item, anchor)
    base = occurrences[-1].due if occurrences else anchor
    if item.then_every is not None:
        base = _skip_ahead(parse_duration(item.then_every), base, as_of)
    while item.then_every is not None and (not occurrences or occurrences[-1].end < as_of):
        nxt = recurring_occurrence(item, base)
        assert nxt is not None
        occurrences.append(nxt)
        base = nxt.due
    for occurrence in occurrences:
        if occurrence.start <= as_of <= occurrence.end:
            status: TestStatus = "conditional" if item.when_risk_factors else "due"
            return Requirement(occurrence, status, None)
        if as_of < occurrence.start:
            return Requirement(occurrence, "upcoming", None)
    return None


def _skip_ahead(every: Duration, base: dt.date, as_of: dt.date) -> dt.date:
    """A later recurrence base whose skipped occurrences all end before ``as_of``.

    Day and week recurrences are exact multiples, so the reminder loop need not step through
    decades of daily occurrences one by one (at most one step before ``as_of`` is kept: a
    window is at most a quarter of the interval). Month and year recurrences clip to month
    ends one step at a time, so they are stepped (at most 12 a year).
    """
    if every.unit not in "DW":
        return base
    step = every.count * (7 if every.unit == "W" else 1)
    skipped = (as_of - base).days // step - 1
    return base + dt.timedelta(days=step * skipped) if skipped > 0 else base
