"""The reference the cohort path is tested against: evaluate() on each patient's record."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from cvrisk.cohort import patient_records
from cvrisk.cohort.result import CohortResult
from cvrisk.errors import CvriskError
from cvrisk.rules.evaluate import evaluate


def to_tables(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Native records (with patient ids) as cohort tables."""
    rows: dict[str, list[dict[str, Any]]] = {
        "patients": [],
        "conditions": [],
        "medications": [],
        "observations": [],
    }
    for rec in records:
        pid = rec["patient"]["id"]
        rows["patients"].append(
            {"patient_id": pid, **{k: v for k, v in rec["patient"].items() if k != "id"}}
        )
        for name in ("conditions", "medications", "observations"):
            for entry in rec.get(name, []):
                rows[name].append({"patient_id": pid, **entry})
    from cvrisk.cohort.tables import columns

    return {name: pd.DataFrame(found, columns=columns(name)) for name, found in rows.items()}


def _day(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.date | pd.Timestamp):
        return value.isoformat()[:10]
    return str(value)[:10]


def expected(tables: Any, **options: Any) -> dict[str, dict[str, list[Any]]]:
    """Per patient: status rows, request rows, alert rows and issues, from evaluate()."""
    out: dict[str, dict[str, list[Any]]] = {}
    for record in patient_records(tables):
        pid = record["patient"]["id"]
        try:
            report = evaluate(record, scores=[], on_invalid="report", **options)
        except CvriskError as exc:
            out[pid] = {
                "status": [],
                "requests": [],
                "alerts": [],
                "issues": [("invalid", str(exc), "warning", None, None, "patient", None)],
            }
            continue
        status, requests = [], []
        for t in report.tests:
            status.append(
                (
                    t.test,
                    t.label,
                    t.status,
                    _day(t.due_date),
                    _day(t.window.start),
                    _day(t.window.end),
                    t.occurrence,
                    t.protocol,
                    t.rule,
                    t.reason,
                    t.source,
                    t.evidence_status,
                    t.verifiable,
                    _day(t.last_result),
                    t.note,
                    "; ".join(f"{r.protocol}/{r.rule}" for r in t.requested_by),
                    len(t.requested_by),
                )
            )
            for n, r in enumerate(t.requested_by):
                requests.append(
                    (
                        t.test,
                        n,
                        r.protocol,
                        r.rule,
                        r.status,
                        _day(r.due_date),
                        _day(r.window.start),
                        _day(r.window.end),
                        r.occurrence,
                        r.source,
                        r.evidence_status,
                    )
                )
        alerts = [
            (
                a.code,
                a.severity,
                a.message,
                a.protocol,
                a.rule,
                a.source,
                a.evidence_status,
                json.dumps([x.model_dump(mode="json") for x in a.lead]),
                json.dumps([e.model_dump(mode="json") for e in a.evidence]),
            )
            for a in report.alerts
        ]
        issues = [
            (i.kind, i.message, i.severity, i.protocol, i.rule, i.field, i.resource)
            for i in report.data_issues
        ]
        out[pid] = {
            "status": status,
            "requests": sorted(requests),
            "alerts": alerts,
            "issues": issues,
        }
    return out


def _none(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str | list | tuple) and pd.isna(value):
        return None
    return value


def actual(result: CohortResult) -> dict[str, dict[str, list[Any]]]:
    """The same shape from a cohort result."""
    out: dict[str, dict[str, list[Any]]] = {}

    def rows(pid: str, name: str) -> list[Any]:
        return out.setdefault(pid, {"status": [], "requests": [], "alerts": [], "issues": []})[name]

    for r in result.status.itertuples(index=False):
        rows(str(r.patient_id), "status").append(
            (
                r.test,
                r.label,
                r.status,
                _day(r.due_date),
                _day(r.window_start),
                _day(r.window_end),
                r.occurrence,
                r.protocol,
                r.rule,
                str(r.reason),
                r.source,
                r.evidence_status,
                bool(r.verifiable),
                _day(r.last_result),
                _none(r.note),
                r.requested_by,
                int(r.requests),
            )
        )
    for r in result.requests.itertuples(index=False):
        rows(str(r.patient_id), "requests").append(
            (
                r.test,
                int(r.request),
                r.protocol,
                r.rule,
                r.status,
                _day(r.due_date),
                _day(r.window_start),
                _day(r.window_end),
                r.occurrence,
                r.source,
                r.evidence_status,
            )
        )
    for r in result.alerts.itertuples(index=False):
        rows(str(r.patient_id), "alerts").append(
            (
                r.code,
                r.severity,
                r.message,
                r.protocol,
                r.rule,
                r.source,
                r.evidence_status,
                r.lead,
                r.evidence,
            )
        )
    for r in result.issues.itertuples(index=False):
        rows(str(r.patient_id), "issues").append(
            (
                r.kind,
                r.message,
                r.severity,
                _none(r.protocol),
                _none(r.rule),
                _none(r.field),
                _none(r.resource),
            )
        )
    for found in out.values():
        found["requests"].sort()
    return out


def differences(
    got: dict[str, dict[str, list[Any]]], want: dict[str, dict[str, list[Any]]]
) -> list[str]:
    """Every difference, named by patient and table (empty: they agree exactly)."""
    empty = {"status": [], "requests": [], "alerts": [], "issues": []}
    found = []
    for pid in sorted(set(got) | set(want)):
        g, w = got.get(pid, empty), want.get(pid, empty)
        for name in empty:
            if g[name] != w[name]:
                both = zip(g[name], w[name], strict=False)
                pairs = [(i, a, b) for i, (a, b) in enumerate(both) if a != b]
                shown = (
                    f"first difference at [{pairs[0][0]}]:\n  cohort:   {pairs[0][1]}\n"
                    f"  evaluate: {pairs[0][2]}"
                    if pairs
                    else f"cohort has {len(g[name])} rows, evaluate {len(w[name])}:\n"
                    f"  cohort:   {g[name]}\n  evaluate: {w[name]}"
                )
                found.append(f"{pid} {name}: {shown}")
    return found
