"""The paths that were super-linear in the size of a record (derived BMI, treatment episodes,
result windows) now bisect or keep running state: each is checked here against the plain
quadratic definition it replaces, on generated data (speed is measured in bench/, never in a
test)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from cvrisk.rules import facts
from cvrisk.rules.episodes import SWITCH_GAP_DAYS, Episode, Prescription, current_episode
from cvrisk.rules.facts import Result, Results, derived_bmi
from cvrisk.rules.schema import AppliesTo

DAY0 = dt.date(2020, 1, 1)
days = st.integers(0, 400).map(lambda n: DAY0 + dt.timedelta(days=n))


def _results(draw_days: list[dt.date], values: list[float]) -> list[Result]:
    return sorted(
        (Result(d, v, None, None) for d, v in zip(draw_days, values, strict=False)),
        key=lambda r: r.day,
    )


def _bmi_reference(weights: list[Result], heights: list[Result]) -> list[tuple[dt.date, float]]:
    out = []
    for weight in weights:
        before = [h for h in heights if h.day <= weight.day]
        height = before[-1] if before else heights[0]
        assert weight.value is not None and height.value is not None
        metres = height.value / 100.0
        out.append((weight.day, weight.value / (metres * metres)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(days, min_size=1, max_size=30),
    st.lists(days, min_size=1, max_size=30),
    st.data(),
)
def test_derived_bmi_matches_its_definition(
    weight_days: list[dt.date], height_days: list[dt.date], data: st.DataObject
) -> None:
    weights = _results(weight_days, [data.draw(st.floats(40, 150)) for _ in weight_days])
    heights = _results(height_days, [data.draw(st.floats(140, 200)) for _ in height_days])
    got = [(r.day, r.value) for r in derived_bmi(weights, heights)]
    assert got == _bmi_reference(weights, heights)


def _episode_reference(
    courses: list[Prescription], applies_to: AppliesTo, as_of: dt.date
) -> Episode | None:
    """The quadratic definition current_episode replaced (every course against every
    earlier one)."""
    from cvrisk.rules.episodes import merge_courses

    covered = merge_courses(c for c in courses if applies_to.covers(c.drug) and c.start <= as_of)
    anchor: dt.date | None = None
    event = "start"
    seen: list[Prescription] = []
    for course in covered:
        if anchor is None:
            anchor, event = course.start, "start"
        else:
            active = [p for p in seen if p.stop is None or p.stop > course.start]
            last_stop = max((p.stop for p in seen if p.stop is not None), default=None)
            resumed = any(p.drug == course.drug for p in seen)
            if active:
                kind = "addition"
            elif last_stop is not None and (course.start - last_stop).days <= SWITCH_GAP_DAYS:
                kind = "continuation" if resumed else "switch"
            else:
                kind = "start"
            if kind == "start" or kind in applies_to.restart_on:
                anchor, event = course.start, kind
        seen.append(course)
    if anchor is None:
        return None
    active_now = tuple(c for c in covered if c.active_on(as_of))
    return Episode(anchor=anchor, event=event, active=active_now) if active_now else None


@st.composite
def prescriptions(draw: st.DrawFn) -> Prescription:
    start = draw(days)
    stop = draw(st.none() | st.integers(0, 120).map(lambda n: start + dt.timedelta(days=n)))
    return Prescription(
        draw(st.sampled_from(["clozapine", "olanzapine", "haloperidol"])), start, stop
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(prescriptions(), max_size=25),
    st.sets(st.sampled_from(["switch", "addition"])),
    days,
)
def test_current_episode_matches_its_quadratic_definition(
    courses: list[Prescription], restart_on: set[str], as_of: dt.date
) -> None:
    applies_to = AppliesTo(
        drugs=["clozapine", "olanzapine"], restart_on=["start", *sorted(restart_on)], source="test"
    )
    assert current_episode(courses, applies_to, as_of) == _episode_reference(
        courses, applies_to, as_of
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(days, max_size=40), days, days)
def test_results_between_matches_a_scan(result_days: list[dt.date], a: dt.date, b: dt.date) -> None:
    start, end = min(a, b), max(a, b)
    results = Results({"weight": _results(result_days, [70.0] * len(result_days))}, 0)
    scanned = [r for r in results.by_analyte["weight"] if start <= r.day <= end]
    assert results.between("weight", start, end) == scanned


def test_per_string_caches_are_bounded() -> None:
    from cvrisk import vocab
    from cvrisk.rules import durations

    for cached in (
        facts._unit_name,
        facts._affine,
        vocab._conditions_matching,
        durations.parse_duration,
    ):
        assert cached.cache_info().maxsize is not None
