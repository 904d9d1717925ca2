"""Results of one analyte at one time (simultaneous results) over the whole cohort.

:func:`cvrisk.evaluate` orders an analyte's results by day, time of day, then value, code,
unit and id (:func:`cvrisk.rules.facts._order`), so the answer never depends on the order of
the input; simultaneous results that disagree *conflict*: a ``conflict`` warning names them
(:func:`cvrisk.rules.facts.conflict_issues`), and every rule about the latest or baseline
result is checked against each distinct one, the first that fires speaking for the rule.
A result with a date only (in the cohort tables: a time of day of 00:00, which the record a
patient's rows stand for gives as a date) cannot be ordered against the others of its day,
so it is simultaneous with each of them (:func:`cvrisk.rules.facts._with_last`). The cohort
path follows the same steps:

- :func:`order_same_day` puts each day's results of an analyte in the core's order (the
  core's own key, on the core's own ``Result`` objects built for those rows only);
- :func:`add_conflict_issues` reports conflicts with the core's wording;
- :func:`cvrisk.cohort.facts.last_candidates` gives each distinct last simultaneous result,
  and the alert stage keeps the first fact that fires per patient and rule
  (:mod:`cvrisk.cohort.pipeline`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cvrisk.cohort.issuelog import FUTURE, IssueLog, order_key
from cvrisk.cohort.tables import _entries
from cvrisk.record import Observation
from cvrisk.rules.facts import Result, Results, _groups, _order, conflict_issues

if TYPE_CHECKING:
    import pandas as pd


#: Sub-stage of the conflict warnings among the FUTURE stage's issues (after the future-
#: results issue, as :func:`cvrisk.evaluate` lists them).
_CONFLICT_POSITION = 1


def in_runs(*keys: np.ndarray) -> np.ndarray:
    """Rows (of rows sorted by ``keys``) in a run of two or more rows equal on every key."""
    n = len(keys[0])
    if n < 2:
        return np.zeros(n, dtype=bool)
    same = np.ones(n - 1, dtype=bool)
    for key in keys:
        same &= key[1:] == key[:-1]
    member = np.zeros(n, dtype=bool)
    member[1:] |= same
    member[:-1] |= same
    return member


def time_of_day(obs: pd.DataFrame) -> np.ndarray:
    """Each observation's time of day in nanoseconds since midnight (0 for a date)."""
    stamps = obs["date"].to_numpy(dtype="datetime64[ns]")
    tod: np.ndarray = (stamps - stamps.astype("datetime64[D]")).astype(np.int64)
    return tod


#: Core results already built, by observation row (one batch's; see :func:`core_results`).
Built = dict[int, Result]


def core_results(
    obs: pd.DataFrame, rows: np.ndarray, values: np.ndarray, built: Built | None = None
) -> list[Result]:
    """The core's ``Result`` for each observation row of ``rows`` (``values``: canonical
    values, NaN when coded), with the validated ``Observation`` the core would hold; those
    in ``built`` are reused and the new ones added to it."""
    built = {} if built is None else built
    wanted = [r for r in rows.tolist() if r not in built]
    if wanted:
        picked = np.asarray(wanted, dtype=np.int64)
        by_row = {int(r): v for r, v in zip(rows.tolist(), values.tolist(), strict=True)}
        entries = _entries(obs.iloc[picked], "observations")
        for row, entry in zip(wanted, entries, strict=True):
            observation = Observation.model_validate(entry)
            value = by_row[row]
            canonical = None if value != value else float(value)
            built[row] = Result(observation.day, canonical, observation.coded, observation)
    return [built[r] for r in rows.tolist()]


def order_same_day(
    order: np.ndarray,
    obs: pd.DataFrame,
    pidx: np.ndarray,
    analyte: np.ndarray,
    day: np.ndarray,
    canonical: np.ndarray,
    built: Built | None = None,
) -> np.ndarray:
    """``order`` (observation rows sorted by patient, analyte, day and record order) with
    each day's results of an analyte in the core's order instead (:func:`_order`, ties in
    record order as the core's stable sort leaves them). ``built``: see
    :func:`core_results`."""
    member = in_runs(pidx[order], analyte[order], day[order])
    if not member.any():
        return order
    at = np.flatnonzero(member)
    rows = order[at]
    results = core_results(obs, rows, canonical[rows], built)
    pos = obs["pos"].to_numpy()
    keys = [
        (int(pidx[r]), int(analyte[r]), _order(result), int(pos[r]))
        for r, result in zip(rows.tolist(), results, strict=True)
    ]
    ranked = sorted(range(len(rows)), key=keys.__getitem__)
    out = order.copy()
    out[at] = rows[np.asarray(ranked, dtype=np.int64)]
    return out


def add_conflict_issues(
    log: IssueLog, res: pd.DataFrame, obs: pd.DataFrame, lang: str, built: Built | None = None
) -> None:
    """A ``conflict`` warning per patient and analyte whose simultaneous results disagree
    (:func:`cvrisk.rules.facts.conflict_issues`). ``res``: the recorded results in the
    core's order, probable unit errors flagged ``suspect`` (the core leaves them out);
    ``built``: see :func:`core_results`."""
    kept = res[~res["suspect"].to_numpy()]
    rows = kept["row"].to_numpy()
    pidx = kept["pidx"].to_numpy()
    codes = kept["analyte"].cat.codes.to_numpy()
    # every day with two results or more: the core's _groups decides which conflict (one
    # time of day, or a whole day where some results have no time)
    member = in_runs(pidx, codes, kept["day"].to_numpy())
    if not member.any():
        return
    at = np.flatnonzero(member)
    results = core_results(obs, rows[at], kept["value"].to_numpy()[at], built)
    names = kept["analyte"].cat.categories
    by_patient: dict[int, dict[str, list[Result]]] = {}
    for who, code, result in zip(pidx[at].tolist(), codes[at].tolist(), results, strict=True):
        by_patient.setdefault(who, {}).setdefault(str(names[code]), []).append(result)
    for who, analytes in by_patient.items():
        conflicts = {a: groups for a, found in analytes.items() if (groups := _groups(found))}
        if not conflicts:
            continue
        issues = conflict_issues(Results({}, 0, conflicts=conflicts), lang)
        for number, issue in enumerate(issues):
            log.add(who, order_key(FUTURE, _CONFLICT_POSITION, number), issue)
