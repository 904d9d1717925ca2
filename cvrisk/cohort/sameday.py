"""Patients with several results of one analyte on one day, evaluated one by one.

:func:`cvrisk.evaluate` orders an analyte's results of one day by time of day, then value,
code, unit and id (:func:`cvrisk.rules.facts._order`), so the answer never depends on the
order of the input; simultaneous results that disagree *conflict*: every alert rule is
checked against each of them and a ``conflict`` warning names them. The vectorised path
orders a day's results by their position in the table, which agrees with that only when an
analyte has one result per day. A patient with two or more results of one analyte on one day
(0.2 % of the synthetic cohort's patients) is therefore evaluated by :func:`cvrisk.evaluate`
itself and that report replaces the vectorised rows: the one source of truth decides, and
nothing is approximated.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.cohort.result import CohortResult, conform
from cvrisk.cohort.tables import CohortTables, patient_records
from cvrisk.errors import CvriskError
from cvrisk.rules.evaluate import evaluate
from cvrisk.rules.options import EvaluationOptions

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.rules.report import Report


def same_day_patients(results: pd.DataFrame) -> np.ndarray:
    """The patient numbers (``pidx``) with two or more results of one analyte on one day.

    ``results``: recorded results sorted by (pidx, analyte, day, ...), as
    :func:`cvrisk.cohort.facts.results` gives them."""
    if len(results) < 2:
        return np.zeros(0, dtype=np.int64)
    pidx = results["pidx"].to_numpy()
    analyte = results["analyte"].cat.codes.to_numpy()
    day = results["day"].to_numpy()
    same = (pidx[1:] == pidx[:-1]) & (analyte[1:] == analyte[:-1]) & (day[1:] == day[:-1])
    found: np.ndarray = np.unique(pidx[1:][same]).astype(np.int64)
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

    wanted = {str(p) for p in patient_ids}
    subset = CohortTables(
        **{
            name: frame[frame["patient_id"].astype(str).isin(wanted).to_numpy()]
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
    position = {str(pid): number for number, pid in enumerate(ids)}
    out = CohortResult()
    for table in ("status", "requests", "alerts", "issues"):
        frame: pd.DataFrame = getattr(result, table)
        kept = frame[~frame["patient_id"].astype(str).isin(replaced).to_numpy()]
        added = conform(table, pd.DataFrame(rows[table]) if rows[table] else None)
        both = pd.concat([kept, added], ignore_index=True) if len(added) else kept
        where = both["patient_id"].astype(str).map(position).fillna(len(ids)).to_numpy()
        order = np.argsort(where, kind="stable")
        setattr(out, table, conform(table, both.iloc[order].reset_index(drop=True)))
    out.worklist = conform("worklist", worklist(out.status, out.alerts))
    return out


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
