"""Antipsychotic courses and treatment episodes over the whole cohort (the vectorised twin of
:mod:`cvrisk.rules.courses` and :mod:`cvrisk.rules.episodes`).

Each distinct medication (name, code, system, formulation, route) is classified once by the
core's :func:`~cvrisk.rules.courses.courses_of` (course or data issue, with its message);
the rows are then merged into continuous courses per (patient, drug, formulation) as
gaps-and-islands (a grouped cumulative maximum of the stops), and each protocol's episode
follows the rules of :func:`~cvrisk.rules.episodes.current_episode`: cumulative "any open
course", cumulative last stop and "drug seen before" per patient give each course's event
(addition, continuation, switch, start), and the anchor is the start of the last course
whose event re-anchors (``restart_on``), forward-filled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.cohort import sorting
from cvrisk.cohort.issuelog import DRUGS, IssueLog, order_key
from cvrisk.cohort.result import objects
from cvrisk.cohort.tables import _cells
from cvrisk.cohort.validate import day_numbers, per_key
from cvrisk.issues import DataIssue
from cvrisk.record import Medication, Patient, PatientRecord
from cvrisk.rules.courses import courses_of
from cvrisk.rules.episodes import SWITCH_GAP_DAYS
from cvrisk.rules.schema import Protocol

if TYPE_CHECKING:
    import pandas as pd

#: Day number of an open course's stop (a course without stop runs for ever).
OPEN = np.int64(10**9)
_DUMMY = Patient(birth_date=dt.date(1800, 1, 1), sex="female")
_MED_KEY = ["drug", "code", "system", "formulation", "route"]


def drug_ids() -> list[str]:
    """Catalogue ingredients in id order: a course's drug code ``d`` indexes this list."""
    from cvrisk import vocab

    return sorted(vocab.antipsychotics())


def formulation_ids() -> list[str | None]:
    """None, then the formulations in id order: a course's code ``f`` indexes this list
    (so codes sort as ``formulation or ""`` does)."""
    from cvrisk import vocab

    return [None, *sorted(vocab.formulations())]


@dataclass(frozen=True)
class _Kind:
    """What ``courses_of`` makes of one distinct medication (started on the evaluation day)."""

    drug: str | None  # the course's ingredient, None: not a course
    formulation: str | None
    issues: tuple[DataIssue, ...]


def _classify(row: Any, as_of: dt.date, lang: str) -> _Kind:
    cells = {k: v for k, v in _cells(row, "medications").items() if k not in ("start", "stop")}
    med = Medication.model_validate({**cells, "start": as_of.isoformat()})
    courses, issues = courses_of(PatientRecord(patient=_DUMMY, medications=[med]), lang, as_of)
    course = courses[0] if courses else None
    return _Kind(
        course.drug if course else None, course.formulation if course else None, tuple(issues)
    )


def courses(meds: pd.DataFrame, as_of: dt.date, lang: str, log: IssueLog) -> pd.DataFrame:
    """The courses (pidx, pos, drug, formulation, start, stop day numbers); the drug issues
    go to ``log``."""
    import pandas as pd

    if not len(meds):
        empty = pd.DataFrame(
            {"pidx": [], "pos": [], "drug": [], "formulation": [], "start": [], "stop": []}
        )
        return empty.assign(d=[], f=[]).astype(
            {
                "pidx": np.int64,
                "pos": np.int64,
                "start": np.int64,
                "stop": np.int64,
                "drug": object,
                "formulation": object,
                "d": np.int64,
                "f": np.int64,
            }
        )
    kinds = per_key(meds, _MED_KEY, lambda row: _classify(row, as_of, lang))
    start, _ = day_numbers(meds["start"])
    stop, stop_ok = day_numbers(meds["stop"])
    stop = np.where(stop_ok, stop, OPEN)
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    pidx = meds["pidx"].to_numpy()
    # The core names a medication by its index among the entries kept after lenient reading
    # (an invalid entry before it shifts it): the same index here.
    kept_pos = meds.groupby("pidx", sort=False).cumcount().to_numpy()
    ids = meds["id"].astype(object).where(meds["id"].notna(), None).to_numpy()
    kind_number = {id(k): n for n, k in enumerate({id(k): k for k in kinds}.values())}
    distinct = list({id(k): k for k in kinds}.values())
    which = np.array([kind_number[id(k)] for k in kinds], dtype=np.int64)
    is_course = np.array([k.drug is not None for k in distinct], dtype=bool)[which]
    future = is_course & (start > as_of_day)
    fields = np.char.add("medications[", np.char.add(kept_pos.astype(str), "]")).astype(object)
    for number, kind in enumerate(distinct):
        rows = (which == number) & ~future
        if not rows.any() or not kind.issues:
            continue
        for sub, issue in enumerate(kind.issues):
            keys = order_key(DRUGS, 0, sub) + (kept_pos[rows] << 25)
            log.add_many(pidx[rows], keys, issue, field=fields[rows], resource=ids[rows])
    # a future prescription's issues are worded from its drug (the key) and start only: the
    # core's reading of one row per distinct pair, not of every row (synthetic cohorts
    # prescribe up to the end of the year: 2 rows a patient)
    future_rows = np.nonzero(future)[0]
    pairs = pd.DataFrame({"kind": which[future_rows], "start": start[future_rows]})
    groups = [future_rows[p] for p in pairs.groupby(["kind", "start"], sort=False).indices.values()]
    firsts = meds.iloc[[int(rows[0]) for rows in groups]].itertuples(index=False)
    for rows, first in zip(groups, firsts, strict=True):
        for sub, issue in enumerate(_future(first, as_of, lang)):
            keys = order_key(DRUGS, 0, sub) + (kept_pos[rows] << 25)
            log.add_many(pidx[rows], keys, issue, field=fields[rows], resource=ids[rows])
    keep = is_course & ~future
    drugs = np.array([k.drug for k in distinct], dtype=object)[which]
    forms = np.array([k.formulation for k in distinct], dtype=object)[which]
    drug_code = {d: n for n, d in enumerate(drug_ids())}
    form_code = {f: n for n, f in enumerate(formulation_ids())}
    return objects(
        {
            "pidx": pidx[keep],
            "pos": meds["pos"].to_numpy()[keep],
            "drug": drugs[keep],
            "formulation": forms[keep],
            "d": np.array([drug_code[d] for d in drugs[keep]], dtype=np.int64),
            "f": np.array([form_code[f] for f in forms[keep]], dtype=np.int64),
            "start": start[keep],
            "stop": stop[keep],
        }
    )


def _future(row: Any, as_of: dt.date, lang: str) -> tuple[DataIssue, ...]:
    cells = _cells(row, "medications")
    med = Medication.model_validate(cells)
    _courses, issues = courses_of(PatientRecord(patient=_DUMMY, medications=[med]), lang, as_of)
    return tuple(issues)


def merged(courses_frame: pd.DataFrame) -> pd.DataFrame:
    """Continuous courses (:func:`~cvrisk.rules.episodes.merge_courses`): each drug's
    overlapping or back-to-back prescriptions of one formulation merged, ordered by
    (patient, start, drug) as the core orders them."""
    import pandas as pd

    frame = courses_frame
    order = sorting.lexsort(tuple(frame[c].to_numpy() for c in ("pos", "start", "f", "d", "pidx")))
    frame = frame.iloc[order].reset_index(drop=True)
    pidx, d, f = (frame[c].to_numpy() for c in ("pidx", "d", "f"))
    first = np.r_[True, (pidx[1:] != pidx[:-1]) | (d[1:] != d[:-1]) | (f[1:] != f[:-1])]
    group = np.cumsum(first) - 1
    before = _previous_max(group, first, frame["stop"].to_numpy(), np.int64(-1))
    start = frame["start"].to_numpy()
    new = first | ((before < OPEN) & (start > before + 1))
    island = np.cumsum(new) - 1
    heads = np.nonzero(new)[0]
    stops = np.maximum.reduceat(frame["stop"].to_numpy(), heads) if len(heads) else heads
    out = frame.iloc[heads].reset_index(drop=True)
    out["stop"] = stops
    out["order"] = np.arange(len(out))
    del island
    order = sorting.lexsort(tuple(out[c].to_numpy() for c in ("order", "d", "start", "pidx")))
    return pd.DataFrame(out.iloc[order].reset_index(drop=True))


def episodes(
    runs: pd.DataFrame, protocol: Protocol, as_of_day: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The protocol's current episode per patient: (episodes indexed by pidx with ``anchor``
    and ``event``; the covered courses active on the evaluation date: pidx, drug, start)."""
    import pandas as pd

    applies = protocol.applies_to
    covered = np.array(
        [[applies.covers_course(d, f) for f in formulation_ids()] for d in drug_ids()],
        dtype=bool,
    )
    mask = covered[runs["d"].to_numpy(), runs["f"].to_numpy()] if len(runs) else np.zeros(0, bool)
    frame = runs[mask].reset_index(drop=True)
    if not len(frame):
        none = pd.DataFrame({"anchor": pd.Series([], dtype=np.int64), "event": []})
        return none, pd.DataFrame({"pidx": [], "drug": [], "d": [], "start": []}).astype(
            {"pidx": np.int64, "d": np.int64, "start": np.int64}
        )
    pidx, start, stop = (frame[c].to_numpy() for c in ("pidx", "start", "stop"))
    first = np.r_[True, pidx[1:] != pidx[:-1]]
    group = np.cumsum(first) - 1
    open_before = _previous_max(group, first, (stop == OPEN).astype(np.int64), 0) > 0
    low = np.int64(-(10**9))
    last_stop = _previous_max(group, first, np.where(stop < OPEN, stop, low), low)
    has_stop = last_stop > low
    active = open_before | (has_stop & (last_stop > start))
    resumed = frame.groupby(["pidx", "d"], sort=False).cumcount().to_numpy() > 0
    near = has_stop & ((start - last_stop) <= SWITCH_GAP_DAYS)
    kind = np.where(
        active, "addition", np.where(near, np.where(resumed, "continuation", "switch"), "start")
    )
    kind = np.where(first, "start", kind)
    restart = first | np.isin(kind, ["start", *applies.restart_on])
    # forward-fill the index of the last re-anchoring course (every group's first row is one)
    anchored = np.maximum.accumulate(np.where(restart, np.arange(len(frame)), 0))
    frame["anchor"] = start[anchored]
    frame["event"] = kind[anchored]
    live = (start <= as_of_day) & (as_of_day <= stop)
    now = frame[live][["pidx", "drug", "d", "start"]].reset_index(drop=True)
    is_last = np.r_[pidx[1:] != pidx[:-1], True]
    last = frame[is_last].set_index("pidx")[["anchor", "event"]]
    last = last[last.index.isin(now["pidx"])]
    return last, now


def _previous_max(group: np.ndarray, first: np.ndarray, values: np.ndarray, empty: Any) -> Any:
    """Per row, the maximum of ``values`` over the earlier rows of its group (contiguous
    groups numbered from 0), ``empty`` for a group's first row: a grouped cumulative maximum,
    shifted by one."""
    spread = np.int64(1) << np.int64(42)
    shifted = values.astype(np.int64) + group * spread
    running = np.maximum.accumulate(shifted) - group * spread
    previous = np.r_[empty, running[:-1]]
    return np.where(first, empty, previous)
