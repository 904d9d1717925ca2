"""The tests due over the whole cohort (the vectorised twin of :mod:`cvrisk.rules.due` and
:mod:`cvrisk.rules.timeline`).

Per protocol schedule item, over every patient the protocol applies to: the item's anchor
(:meth:`~cvrisk.rules.episodes.Episode.anchor_for`), the latest day with a result of its test,
the fixed occurrences (computed once per distinct anchor by the core's
``_fixed_occurrences``), the first one not yet satisfied, else the recurring occurrence after
the latest result, with its window (:func:`~cvrisk.rules.timeline.tolerance_days`) and
status. Durations are added with numpy calendar arithmetic equal to
:meth:`~cvrisk.rules.durations.Duration.add_to` (months clipped to the month's end).
Reasons are worded once per distinct (item, anchor, drugs, last result) by the core's
phrases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.rules import timeline
from cvrisk.rules.durations import Duration, parse_duration
from cvrisk.rules.messages import duration_text, every_text, phrase, test_label
from cvrisk.rules.schema import ScheduleItem

if TYPE_CHECKING:
    import pandas as pd

EPOCH = dt.date(1970, 1, 1)
NONE = np.iinfo(np.int64).min


def to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def day_of(date: dt.date) -> int:
    return (date - EPOCH).days


def add_months(days: np.ndarray, months: int) -> np.ndarray:
    """``days`` plus ``months`` calendar months, clipped to the month's last day
    (:func:`cvrisk.rules.durations.add_months`, over arrays of day numbers)."""
    stamps = days.astype("datetime64[D]")
    month = stamps.astype("datetime64[M]")
    day = (stamps - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(months, "M")
    length = (
        (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    ).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]")
    result: np.ndarray = out.astype(np.int64)
    return result


def add(duration: Duration, days: np.ndarray, sign: int = 1) -> np.ndarray:
    """``days`` plus (``sign=-1``: minus) a duration, as Duration.add_to / subtract_from."""
    if duration.unit == "D":
        return days + sign * duration.count
    if duration.unit == "W":
        return days + sign * 7 * duration.count
    months = duration.count * (1 if duration.unit == "M" else 12)
    return add_months(days, sign * months)


def tolerance(item: ScheduleItem, gap: np.ndarray) -> np.ndarray:
    """:func:`~cvrisk.rules.timeline.tolerance_days` over an array of gaps (days)."""
    if item.tolerance_days is not None:
        return np.full(len(gap), item.tolerance_days, dtype=np.int64)
    result: np.ndarray = np.clip(
        gap // timeline.TOLERANCE_DIVISOR, timeline.TOLERANCE_MIN_DAYS, timeline.TOLERANCE_MAX_DAYS
    )
    return result


def requirements(
    item: ScheduleItem, anchor: np.ndarray, latest: np.ndarray, as_of: dt.date
) -> dict[str, np.ndarray]:
    """The occurrence that matters on ``as_of`` for each (anchor, latest result day) pair.

    Returns arrays: ``keep`` (the item asks for something), ``label`` (occurrence label),
    ``recurring``, ``due``, ``start``, ``end``, ``status``, ``last`` (latest result day or
    NONE). Same logic as :func:`cvrisk.rules.timeline.requirement`.
    """
    n = len(anchor)
    as_of_day = day_of(as_of)
    out: dict[str, Any] = {
        "keep": np.ones(n, dtype=bool),
        "label": np.empty(n, dtype=object),
        "recurring": np.zeros(n, dtype=bool),
        "due": np.zeros(n, dtype=np.int64),
        "start": np.zeros(n, dtype=np.int64),
        "end": np.zeros(n, dtype=np.int64),
        "status": np.empty(n, dtype=object),
        "last": latest.copy(),
    }
    over = lapsed(item, anchor, as_of_day)
    if item.each_administration:
        out["label"][:] = timeline.EACH_ADMINISTRATION
        out["recurring"][:] = True
        out["due"][:] = as_of_day
        out["start"][:] = anchor
        out["end"][:] = as_of_day
        out["status"][:] = "due"
        out["keep"] &= ~over
        return out
    if not item.observable:
        out = _reminders(item, anchor, as_of, out)
        out["keep"] &= ~over
        return out
    has_latest = latest != NONE
    fixed = fixed_occurrences(item, anchor)
    pending = np.zeros(n, dtype=bool)
    for label, due, start, end, valid in fixed:
        hit = valid & ~pending & (~has_latest | (latest < start))
        if hit.any():
            out["label"][hit] = label
            out["recurring"][hit] = False
            out["due"][hit] = due[hit]
            out["start"][hit] = start[hit]
            out["end"][hit] = end[hit]
        pending |= hit
    count = len(fixed)
    rest = ~pending
    if rest.any():
        if count:
            base = np.where(has_latest, latest, fixed[-1][1])
        else:
            base = np.where(has_latest & (latest >= anchor), latest, anchor)
        if item.then_every is None:
            out["keep"] &= ~rest
        else:
            every = parse_duration(item.then_every)
            due = add(every, base)
            width = tolerance(item, due - base)
            out["label"][rest] = item.then_every
            out["recurring"][rest] = True
            out["due"][rest] = due[rest]
            out["start"][rest] = (due - width)[rest]
            out["end"][rest] = (due + width)[rest]
    upcoming = as_of_day < out["start"]
    late = as_of_day > out["end"]
    status = np.where(
        upcoming,
        "upcoming",
        "conditional" if item.when_risk_factors else np.where(late, "overdue", "due"),
    )
    out["status"] = status.astype(object)
    out["keep"] &= ~over
    return out


def fixed_occurrences(
    item: ScheduleItem, anchor: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Baseline and follow-up occurrences (label, due, start, end day numbers, and whether
    the occurrence exists for that anchor) for each anchor, in date order:
    ``timeline._fixed_occurrences`` over arrays (the baseline window and the follow-up
    tolerances of :mod:`cvrisk.rules.timeline`; an item limited by ``applies_for`` keeps the
    occurrences due in its period)."""
    out = []
    ends = None if item.applies_for is None else add(parse_duration(item.applies_for), anchor)
    every = np.ones(len(anchor), dtype=bool)
    if item.baseline:
        before, after = item.baseline_window_days or timeline.BASELINE_WINDOW_DAYS
        valid = every if ends is None else anchor <= ends
        out.append(("baseline", anchor, anchor - before, anchor + after, valid))
    previous = anchor
    for text in item.followups:
        due = add(parse_duration(text), anchor)
        width = tolerance(item, due - previous)
        valid = every if ends is None else due <= ends
        out.append((text, due, due - width, due + width, valid))
        previous = due
    return out


def period_ends(item: ScheduleItem, anchor: np.ndarray) -> np.ndarray | None:
    """:func:`cvrisk.rules.timeline.period_end` over an array of anchors (None: no limit)."""
    if item.applies_for is None:
        return None
    end = add(parse_duration(item.applies_for), anchor)
    for _label, _due, _start, window_end, valid in fixed_occurrences(item, anchor):
        end = np.where(valid, np.maximum(end, window_end), end)
    return end


def lapsed(item: ScheduleItem, anchor: np.ndarray, as_of_day: int) -> np.ndarray:
    """:func:`cvrisk.rules.timeline.lapsed` over an array of anchors."""
    end = period_ends(item, anchor)
    return np.zeros(len(anchor), dtype=bool) if end is None else as_of_day > end


def _reminders(
    item: ScheduleItem, anchor: np.ndarray, as_of: dt.date, out: dict[str, Any]
) -> dict[str, Any]:
    """Assessments records cannot show as done: the core's ``_reminder`` once per anchor."""
    distinct, inverse = np.unique(anchor, return_inverse=True)
    inverse = inverse.ravel()
    found = [timeline._reminder(item, to_date(a), as_of) for a in distinct]
    for name in ("due", "start", "end"):
        values = [day_of(getattr(r.occurrence, name)) if r else 0 for r in found]
        out[name] = np.array(values, dtype=np.int64)[inverse]
    out["keep"] = np.array([r is not None for r in found], dtype=bool)[inverse]
    out["label"] = np.array([r.occurrence.label if r else None for r in found], object)[inverse]
    out["recurring"] = np.array([bool(r and r.occurrence.recurring) for r in found])[inverse]
    out["status"] = np.array([r.status if r else None for r in found], object)[inverse]
    out["last"] = np.full(len(anchor), NONE, dtype=np.int64)
    return out


def reasons(
    item: ScheduleItem,
    frame: pd.DataFrame,
    lang: str,
    drugs_text: Callable[[int], str],
) -> pd.Categorical:
    """Each entry's reason, worded once per distinct key by the core's phrases (the texts of
    :func:`cvrisk.rules.due.test_entry`). ``frame``: label, recurring, anchor, drugs (a key
    that ``drugs_text`` words), last."""
    import pandas as pd

    label = test_label(item.test, lang)
    keys = frame[["label", "recurring", "anchor", "drugs", "last"]]
    if item.each_administration:
        keys = keys.assign(label="", recurring=True, anchor=0, last=0)
    else:
        baseline = keys["label"] == "baseline"
        recurring = keys["recurring"].astype(bool)
        keys = keys.assign(
            drugs=keys["drugs"].where(~recurring, 0),
            anchor=keys["anchor"].where(~recurring, 0),
            last=keys["last"].where(recurring, 0),
        )
        keys.loc[baseline, "last"] = 0
    # worded once per distinct key without its date, the date (anchor, or last result)
    # put in afterwards: each distinct (wording, date) pair is one text
    by_last = keys["recurring"].to_numpy().astype(bool) & (keys["label"] != "baseline").to_numpy()
    last = keys["last"].to_numpy().astype(np.int64)
    day = np.where(by_last, last, keys["anchor"].to_numpy().astype(np.int64))
    dated = ~by_last | (last != NONE)
    if item.each_administration:
        dated = np.zeros(len(keys), dtype=bool)
    wording = keys[["label", "recurring", "drugs"]].assign(dated=dated)
    codes, first = distinct_rows(wording)
    templates = [
        _reason(item, label, lbl, bool(rec), drugs_text(int(drugs)), has_date, lang)
        for lbl, rec, drugs, has_date in wording.iloc[first].itertuples(index=False)
    ]
    pairs, pair_first = distinct_rows(pd.DataFrame({"w": codes, "day": np.where(dated, day, 0)}))
    pair_days = np.datetime_as_string(
        day[pair_first].astype("datetime64[D]"), unit="D"
    ).tolist()  # as str(datetime.date): YYYY-MM-DD
    texts = [
        templates[w].replace(_DATE, d) for w, d in zip(codes[pair_first], pair_days, strict=True)
    ]
    text_index = pd.Index(texts, dtype=object)
    distinct = text_index.unique()
    return pd.Categorical.from_codes(distinct.get_indexer(text_index)[pairs], categories=distinct)


#: Stands for the date in a reason worded without it (a character no phrase holds).
_DATE = "\x00"


def _reason(
    item: ScheduleItem,
    test: str,
    occurrence: str,
    recurring: bool,
    drugs: str,
    dated: bool,
    lang: str,
) -> str:
    """The reason (the texts of :func:`cvrisk.rules.due.test_entry`), with :data:`_DATE`
    where its date goes (``dated``: a recurring test has a last result)."""
    if item.each_administration:
        return phrase("reason.each_administration", lang, test=test, drugs=drugs)
    if occurrence == "baseline":
        return phrase("reason.baseline", lang, test=test, drugs=drugs, anchor=_DATE)
    if recurring:
        every = every_text(occurrence, lang)
        if dated:
            return phrase("reason.recurring", lang, test=test, every=every, last=_DATE)
        return phrase("reason.recurring_no_result", lang, test=test, every=every)
    offset = duration_text(occurrence, lang)
    return phrase("reason.followup", lang, test=test, offset=offset, drugs=drugs, anchor=_DATE)


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row's distinct combination of values, first row of each code): each
    column factorised, the codes combined into one integer."""
    import pandas as pd

    key = np.zeros(len(frame), dtype=np.int64)
    for name in frame.columns:
        codes, uniques = pd.factorize(frame[name].to_numpy(), use_na_sentinel=False)
        key = key * (len(uniques) + 1) + codes
    codes, _uniques = pd.factorize(key)
    _distinct, first = np.unique(codes, return_index=True)
    return codes, first
