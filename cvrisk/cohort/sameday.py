"""Results of one analyte at one time (simultaneous results) over the whole cohort.

:func:`cvrisk.evaluate` orders an analyte's results by day, time of day, then value, code,
unit and id (:func:`cvrisk.rules.facts._order`), so the answer never depends on the order of
the input; simultaneous results that disagree *conflict*: a ``conflict`` warning names them
(:func:`cvrisk.rules.facts.conflict_issues`), and every rule about the latest (or baseline)
result is checked against each distinct one. The cohort path follows the same three steps:

- :func:`order_same_day` puts each day's results of an analyte in the core's order (the
  core's own key, on the core's own ``Result`` objects built for those rows only);
- :func:`add_conflict_issues` reports conflicts with the core's wording;
- :func:`decisive_patients` finds the patients for whom a simultaneous group is where the
  alert rules choose one result among candidates: the latest result of its analyte, or a
  result inside a baseline window of one of the patient's drug starts. Those patients are
  evaluated by :func:`cvrisk.evaluate` itself and the report replaces their vectorised rows
  (:func:`replace_with_evaluate`): the one source of truth decides there, and nothing is
  approximated. Elsewhere a simultaneous group only has to be in the core's order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.cohort.issuelog import FUTURE, IssueLog, order_key
from cvrisk.cohort.result import CohortResult, conform
from cvrisk.cohort.tables import CohortTables, _entries, patient_records
from cvrisk.errors import CvriskError
from cvrisk.record import Observation
from cvrisk.rules.evaluate import evaluate
from cvrisk.rules.facts import Result, Results, _groups, _order, conflict_issues
from cvrisk.rules.options import EvaluationOptions
from cvrisk.rules.timeline import BASELINE_WINDOW_DAYS

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.rules.report import Report

#: Sub-stage of the conflict warnings among the FUTURE stage's issues (after the future-
#: results issue, as :func:`cvrisk.evaluate` lists them).
_CONFLICT_POSITION = 1


def _runs(*keys: np.ndarray) -> np.ndarray:
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


def core_results(obs: pd.DataFrame, rows: np.ndarray, values: np.ndarray) -> list[Result]:
    """The core's ``Result`` for each observation row of ``rows`` (``values``: canonical
    values, NaN when coded), with the validated ``Observation`` the core would hold."""
    found = []
    for entry, value in zip(_entries(obs.iloc[rows], "observations"), values, strict=True):
        observation = Observation.model_validate(entry)
        canonical = None if np.isnan(value) else float(value)
        found.append(Result(observation.day, canonical, observation.coded, observation))
    return found


def order_same_day(
    order: np.ndarray,
    obs: pd.DataFrame,
    pidx: np.ndarray,
    analyte: np.ndarray,
    day: np.ndarray,
    canonical: np.ndarray,
) -> np.ndarray:
    """``order`` (observation rows sorted by patient, analyte, day and record order) with
    each day's results of an analyte in the core's order instead (:func:`_order`, ties in
    record order as the core's stable sort leaves them)."""
    member = _runs(pidx[order], analyte[order], day[order])
    if not member.any():
        return order
    at = np.flatnonzero(member)
    rows = order[at]
    results = core_results(obs, rows, canonical[rows])
    pos = obs["pos"].to_numpy()
    keys = [
        (int(pidx[r]), int(analyte[r]), _order(result), int(pos[r]))
        for r, result in zip(rows.tolist(), results, strict=True)
    ]
    ranked = sorted(range(len(rows)), key=keys.__getitem__)
    out = order.copy()
    out[at] = rows[np.asarray(ranked, dtype=np.int64)]
    return out


def add_conflict_issues(log: IssueLog, res: pd.DataFrame, obs: pd.DataFrame, lang: str) -> None:
    """A ``conflict`` warning per patient and analyte whose simultaneous results disagree
    (:func:`cvrisk.rules.facts.conflict_issues`). ``res``: the recorded results in the
    core's order, probable unit errors flagged ``suspect`` (the core leaves them out)."""
    kept = res[~res["suspect"].to_numpy()]
    rows = kept["row"].to_numpy()
    pidx = kept["pidx"].to_numpy()
    codes = kept["analyte"].cat.codes.to_numpy()
    member = _runs(pidx, codes, kept["day"].to_numpy(), time_of_day(obs)[rows])
    if not member.any():
        return
    at = np.flatnonzero(member)
    results = core_results(obs, rows[at], kept["value"].to_numpy()[at])
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


def decisive_patients(res: pd.DataFrame, obs: pd.DataFrame, starts: pd.DataFrame) -> np.ndarray:
    """The patients (``pidx``) with a simultaneous group of results where the alert rules
    choose one result (see the module docstring); their reports come from evaluate.

    ``res``: the usable results with the derived ones (``kind`` 1, dated without a time), in
    the core's order; ``starts``: the drug starts (``pidx``, ``start`` day numbers).

    A group elsewhere needs no hand-off: ``between`` gives the core's order, and the lowest
    reference of a ``change_within`` rule is the first of equal (value, day) results in
    both paths (tests/cohort/test_differential.py)."""
    if len(res) < 2:
        return np.zeros(0, dtype=np.int64)
    pidx = res["pidx"].to_numpy()
    codes = res["analyte"].cat.codes.to_numpy()
    day = res["day"].to_numpy()
    recorded = res["kind"].to_numpy() == 0
    tod = np.where(recorded, time_of_day(obs)[np.where(recorded, res["row"].to_numpy(), 0)], 0)
    member = _runs(pidx, codes, day, tod)
    if not member.any():
        return np.zeros(0, dtype=np.int64)
    # the last (day, time) of each patient's analyte
    first = np.r_[True, (pidx[1:] != pidx[:-1]) | (codes[1:] != codes[:-1])]
    series = np.cumsum(first) - 1
    last = np.r_[np.flatnonzero(first)[1:] - 1, len(res) - 1]
    at = np.flatnonzero(member)
    decisive = (day[at] == day[last][series[at]]) & (tod[at] == tod[last][series[at]])
    # inside a baseline window of any drug start of the patient
    before, after = BASELINE_WINDOW_DAYS
    start_days = starts["start"].to_numpy()
    start_pidx = starts["pidx"].to_numpy()
    by_start = np.argsort(start_pidx, kind="stable")
    low = np.searchsorted(start_pidx[by_start], pidx[at], side="left")
    high = np.searchsorted(start_pidx[by_start], pidx[at], side="right")
    ordered_starts = start_days[by_start]
    for number in np.flatnonzero(~decisive):
        near = ordered_starts[low[number] : high[number]]
        d = day[at[number]]
        decisive[number] = bool(((near - before <= d) & (d <= near + after)).any())
    found: np.ndarray = np.unique(pidx[at][decisive]).astype(np.int64)
    return found


def replace_with_evaluate(
    result: CohortResult,
    data: CohortTables,
    ids: np.ndarray,
    patient_ids: np.ndarray,
    opts: EvaluationOptions,
) -> CohortResult:
    """``result`` with the rows of ``patient_ids`` replaced by their :func:`evaluate`
    reports (a record evaluate refuses keeps its vectorised rows, which report why).

    ``ids``: every patient id of the batch in table order (rows stay grouped in that order).
    """
    import pandas as pd

    from cvrisk.cohort.pipeline import worklist

    wanted = pd.Index([str(p) for p in patient_ids], dtype=object)
    subset = CohortTables(
        **{
            name: frame[_numbers(frame["patient_id"], wanted) >= 0]
            for name in ("patients", "conditions", "medications", "observations")
            for frame in [data.table(name)]
        }
    )
    rows: dict[str, list[dict[str, Any]]] = {
        "status": [],
        "requests": [],
        "alerts": [],
        "issues": [],
    }
    replaced: set[str] = set()
    for record in patient_records(subset):
        pid = str(record["patient"]["id"])
        try:
            report = evaluate(
                record,
                as_of=opts.as_of,
                protocols=list(opts.protocols) if opts.protocols is not None else None,
                jurisdiction=opts.jurisdiction,
                lang=opts.lang,
                scores=[],
                on_invalid="report",
            )
        except CvriskError:
            continue
        replaced.add(pid)
        for table, found in _rows(pid, report).items():
            rows[table].extend(found)
    if not replaced:
        return result
    position = pd.Index([str(pid) for pid in ids], dtype=object)
    gone = pd.Index(sorted(replaced), dtype=object)
    out = CohortResult()
    for table in ("status", "requests", "alerts", "issues"):
        frame: pd.DataFrame = getattr(result, table)  # conformed: text columns are objects
        kept = frame[_numbers(frame["patient_id"], gone) < 0]
        added = conform(table, pd.DataFrame(rows[table]) if rows[table] else None)
        both = pd.concat([kept, added], ignore_index=True) if len(added) else kept
        where = _numbers(both["patient_id"], position)
        order = np.argsort(np.where(where < 0, len(ids), where), kind="stable")
        setattr(out, table, both.iloc[order].reset_index(drop=True))
    out.worklist = conform("worklist", worklist(out.status, out.alerts))
    return out


def _numbers(patient_ids: pd.Series, index: pd.Index) -> np.ndarray:
    """Each row's position in ``index`` of patient ids (-1: not there), ids compared as
    text; a categorical column is looked up once per category."""
    import pandas as pd

    if isinstance(patient_ids.dtype, pd.CategoricalDtype):
        categories = [str(c) for c in patient_ids.cat.categories]
        found = np.append(index.get_indexer(pd.Index(categories, dtype=object)), -1)
        codes = patient_ids.cat.codes.to_numpy()
        result: np.ndarray = found[np.where(codes < 0, len(categories), codes)]
        return result
    texts = [str(v) for v in patient_ids.to_numpy(dtype=object)]
    numbers: np.ndarray = index.get_indexer(pd.Index(texts, dtype=object))
    return numbers


def _rows(pid: str, report: Report) -> dict[str, list[dict[str, Any]]]:
    """A report as the rows of the cohort tables (the columns of
    :data:`cvrisk.cohort.result.SCHEMAS`)."""
    status, requests = [], []
    for test in report.tests:
        status.append(
            {
                "patient_id": pid,
                "test": test.test,
                "label": test.label,
                "status": test.status,
                "due_date": test.due_date,
                "window_start": test.window.start,
                "window_end": test.window.end,
                "occurrence": test.occurrence,
                "protocol": test.protocol,
                "rule": test.rule,
                "source": test.source,
                "evidence_status": test.evidence_status,
                "verifiable": test.verifiable,
                "last_result": test.last_result,
                "note": test.note,
                "reason": test.reason,
                "requested_by": "; ".join(f"{r.protocol}/{r.rule}" for r in test.requested_by),
                "requests": len(test.requested_by),
            }
        )
        for number, request in enumerate(test.requested_by):
            requests.append(
                {
                    "patient_id": pid,
                    "test": test.test,
                    "request": number,
                    "protocol": request.protocol,
                    "rule": request.rule,
                    "status": request.status,
                    "due_date": request.due_date,
                    "window_start": request.window.start,
                    "window_end": request.window.end,
                    "occurrence": request.occurrence,
                    "source": request.source,
                    "evidence_status": request.evidence_status,
                }
            )
    alerts = []
    for alert in report.alerts:
        latest = next(
            (e for e in alert.evidence if e.role.startswith("latest")),
            alert.evidence[0] if alert.evidence else None,
        )
        alerts.append(
            {
                "patient_id": pid,
                "code": alert.code,
                "severity": alert.severity,
                "message": alert.message,
                "protocol": alert.protocol,
                "rule": alert.rule,
                "source": alert.source,
                "evidence_status": alert.evidence_status,
                "lead": json.dumps([x.model_dump(mode="json") for x in alert.lead]),
                "analyte": latest.analyte if latest is not None else None,
                "date": latest.date if latest is not None else None,
                "evidence": json.dumps([e.model_dump(mode="json") for e in alert.evidence]),
            }
        )
    # the issues table's columns are DataIssue's fields (as cvrisk.cohort.pipeline._issues)
    issues = [{"patient_id": pid, **issue.model_dump()} for issue in report.data_issues]
    return {"status": status, "requests": requests, "alerts": alerts, "issues": issues}
