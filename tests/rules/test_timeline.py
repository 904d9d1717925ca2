from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cvrisk.rules.schema import ScheduleItem
from cvrisk.rules.timeline import (
    fixed_occurrences,
    lapsed,
    missed_occurrences,
    period_end,
    requirement,
)

D = dt.date
ANCHOR = D(2025, 1, 1)


def _item(**fields: object) -> ScheduleItem:
    base: dict[str, object] = {"id": "x", "test": "weight", "source": "test", "status": "confirmed"}
    return ScheduleItem.model_validate({**base, **fields})


def test_baseline_window_and_statuses() -> None:
    item = _item(baseline=True)
    (occ,) = fixed_occurrences(item, ANCHOR)
    assert (occ.start, occ.due, occ.end) == (D(2024, 10, 3), ANCHOR, D(2025, 1, 8))
    assert requirement(item, ANCHOR, [], D(2024, 9, 1)).status == "upcoming"  # type: ignore[union-attr]
    assert requirement(item, ANCHOR, [], D(2025, 1, 8)).status == "due"  # type: ignore[union-attr]
    assert requirement(item, ANCHOR, [], D(2025, 1, 9)).status == "overdue"  # type: ignore[union-attr]
    assert requirement(item, ANCHOR, [D(2024, 12, 1)], D(2025, 1, 9)) is None


def test_tolerance_follows_the_gap() -> None:
    item = _item(followups=["P1W", "P12W", "P1Y"])
    occ = fixed_occurrences(item, ANCHOR)
    assert [(o.due - o.start).days for o in occ] == [1, 19, 30]  # gaps 7, 77, 281 days


def test_a_later_result_supersedes_missed_occurrences() -> None:
    item = _item(followups=["P1W", "P2W", "P3W"])
    req = requirement(item, ANCHOR, [D(2025, 1, 14)], D(2025, 1, 30))
    assert req is not None and req.occurrence.label == "P3W" and req.status == "overdue"


def test_recurring_from_the_last_result() -> None:
    item = _item(followups=["P12W"], then_every="P1Y")
    req = requirement(item, ANCHOR, [D(2025, 3, 20), D(2025, 6, 15)], D(2025, 7, 1))
    assert req is not None and req.occurrence.due == D(2026, 6, 15)
    assert req.status == "upcoming" and req.last_result == D(2025, 6, 15)


def test_recurring_without_any_result_after_the_last_followup() -> None:
    item = _item(baseline=True, then_every="P1Y")
    req = requirement(item, ANCHOR, [D(2024, 12, 20)], D(2026, 2, 1))
    assert req is not None and req.occurrence.due == D(2025, 12, 20) and req.status == "overdue"


def test_conditional_items_are_never_overdue() -> None:
    item = _item(test="ecg", baseline=True, when_risk_factors=True)
    assert requirement(item, ANCHOR, [], D(2026, 1, 1)).status == "conditional"  # type: ignore[union-attr]


def test_unverifiable_items_are_reminders_inside_their_windows_only() -> None:
    item = _item(test="history", baseline=True)
    assert requirement(item, ANCHOR, [], D(2025, 1, 1)).status == "due"  # type: ignore[union-attr]
    assert requirement(item, ANCHOR, [], D(2025, 3, 1)) is None


def test_explicit_tolerance() -> None:
    item = _item(followups=["P1M"], tolerance_days=3)
    (occ,) = fixed_occurrences(item, ANCHOR)
    assert (occ.start, occ.end) == (D(2025, 1, 29), D(2025, 2, 4))


def test_an_item_limited_to_a_period_stops_being_due() -> None:
    """applies_for: due within the period (and the window of an occurrence due in it), never
    after; occurrences due after the period are not scheduled at all."""
    item = _item(baseline=True, followups=["P7D", "P14D", "P21D", "P28D", "P6W"], applies_for="P4W")
    labels = [o.label for o in fixed_occurrences(item, ANCHOR)]
    assert labels == ["baseline", "P7D", "P14D", "P21D", "P28D"]
    assert period_end(item, ANCHOR) == D(2025, 1, 30)  # day 28 (2025-01-29) + 1 day tolerance
    on_the_last_day = requirement(item, ANCHOR, [], D(2025, 1, 30))
    assert on_the_last_day is not None and on_the_last_day.status == "overdue"
    assert requirement(item, ANCHOR, [], D(2025, 1, 31)) is None
    assert not lapsed(item, ANCHOR, D(2025, 1, 30)) and lapsed(item, ANCHOR, D(2025, 1, 31))
    assert period_end(_item(baseline=True), ANCHOR) is None


def test_missed_occurrences_are_those_without_a_result_in_their_window() -> None:
    item = _item(baseline=True, followups=["P7D", "P14D"], applies_for="P2W")
    missed = missed_occurrences(item, ANCHOR, [D(2024, 12, 30), D(2025, 1, 10)])
    assert [o.label for o in missed] == ["P7D", "P14D"]  # 2025-01-10 is outside 01-07..01-09


def test_applies_for_cannot_recur() -> None:
    with pytest.raises(ValidationError, match="applies_for"):
        _item(baseline=True, then_every="P1Y", applies_for="P4W")
