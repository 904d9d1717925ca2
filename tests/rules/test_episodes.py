from __future__ import annotations

import datetime as dt

from cvrisk.rules.episodes import Prescription, current_episode, merge_courses
from cvrisk.rules.schema import AppliesTo

D = dt.date


def _applies(*restart: str, drugs: tuple[str, ...] = ("antipsychotic",)) -> AppliesTo:
    return AppliesTo(drugs=list(drugs), restart_on=list(restart), source="test")  # type: ignore[arg-type]


def test_first_start_anchors() -> None:
    ep = current_episode(
        [Prescription("olanzapine", D(2025, 1, 1), None)], _applies("start"), D(2025, 3, 1)
    )
    assert ep is not None and ep.anchor == D(2025, 1, 1) and ep.event == "start"


def test_nothing_before_start_or_after_stop() -> None:
    courses = [Prescription("olanzapine", D(2025, 1, 1), D(2025, 2, 1))]
    assert current_episode(courses, _applies("start"), D(2024, 12, 31)) is None
    assert current_episode(courses, _applies("start"), D(2025, 2, 2)) is None
    assert current_episode(courses, _applies("start"), D(2025, 2, 1)) is not None


def test_switch_restarts_only_when_the_protocol_says_so() -> None:
    courses = [
        Prescription("olanzapine", D(2025, 1, 1), D(2025, 3, 1)),
        Prescription("aripiprazole", D(2025, 3, 10), None),
    ]
    with_switch = current_episode(courses, _applies("start", "switch"), D(2025, 4, 1))
    without = current_episode(courses, _applies("start"), D(2025, 4, 1))
    assert with_switch is not None and with_switch.anchor == D(2025, 3, 10)
    assert with_switch.event == "switch"
    assert without is not None and without.anchor == D(2025, 1, 1)


def test_a_long_gap_is_a_new_start_whatever_restart_on_says() -> None:
    courses = [
        Prescription("olanzapine", D(2024, 1, 1), D(2024, 3, 1)),
        Prescription("aripiprazole", D(2024, 6, 1), None),
    ]
    ep = current_episode(courses, _applies("start"), D(2024, 7, 1))
    assert ep is not None and ep.anchor == D(2024, 6, 1) and ep.event == "start"


def test_addition() -> None:
    courses = [
        Prescription("clozapine", D(2025, 1, 1), None),
        Prescription("aripiprazole", D(2025, 5, 1), None),
    ]
    assert current_episode(courses, _applies("start", "addition"), D(2025, 6, 1)).anchor == D(
        2025, 5, 1
    )  # type: ignore[union-attr]
    assert current_episode(courses, _applies("start"), D(2025, 6, 1)).anchor == D(2025, 1, 1)  # type: ignore[union-attr]


def test_resuming_the_same_drug_soon_continues_the_episode() -> None:
    courses = [
        Prescription("clozapine", D(2025, 1, 1), D(2025, 2, 1)),
        Prescription("clozapine", D(2025, 2, 10), None),
    ]
    ep = current_episode(courses, _applies("start", "switch"), D(2025, 3, 1))
    assert ep is not None and ep.anchor == D(2025, 1, 1)


def test_other_drugs_are_ignored_by_drug_specific_protocols() -> None:
    courses = [Prescription("olanzapine", D(2025, 1, 1), None)]
    assert current_episode(courses, _applies("start", drugs=("clozapine",)), D(2025, 2, 1)) is None


def test_back_to_back_prescriptions_merge() -> None:
    merged = merge_courses(
        [
            Prescription("olanzapine", D(2025, 1, 1), D(2025, 1, 31)),
            Prescription("olanzapine", D(2025, 2, 1), D(2025, 2, 28)),
            Prescription("olanzapine", D(2025, 4, 1), None),
        ]
    )
    assert merged == [
        Prescription("olanzapine", D(2025, 1, 1), D(2025, 2, 28)),
        Prescription("olanzapine", D(2025, 4, 1), None),
    ]


def test_item_anchor_for_a_drug_added_later() -> None:
    courses = [
        Prescription("olanzapine", D(2025, 1, 1), None),
        Prescription("clozapine", D(2025, 3, 1), None),
    ]
    ep = current_episode(courses, _applies("start"), D(2025, 4, 1))
    assert ep is not None
    assert ep.anchor_for(None) == D(2025, 1, 1)
    assert ep.anchor_for(["clozapine"]) == D(2025, 3, 1)
    assert ep.anchor_for(["haloperidol"]) is None
