"""Helpers of the cohort-data tests: records from cohort tables, table comparisons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from cvrisk.record import PatientRecord
from cvrisk.sources import ReadResult, read_record

_FIELDS = {
    "conditions": ["id", "code", "system", "onset", "abatement"],
    "medications": ["id", "drug", "code", "system", "formulation", "start", "stop", "route"],
    "observations": ["id", "analyte", "code", "system", "value", "unit", "coded", "date", "status"],
}
_DATES = {"onset", "abatement", "start", "stop", "birth_date"}


def _value(field: str, value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        if field in _DATES or (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.floating):
        return float(value)
    return value


def record_dicts(
    tables: dict[str, pd.DataFrame], patient_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Native record JSON (dicts) of some patients, rows in table order."""
    wanted = [str(p) for p in patient_ids]
    out: dict[str, dict[str, Any]] = {}
    patients = tables["patients"]
    patients = patients[patients["patient_id"].astype(str).isin(wanted)]
    for row in patients.itertuples(index=False):
        patient = {
            "id": str(row.patient_id),
            "birth_date": _value("birth_date", row.birth_date),
            "sex": row.sex,
        }
        for key in ("ethnicity", "race"):
            value = _value(key, getattr(row, key))
            if value is not None:
                patient[key] = value
        out[str(row.patient_id)] = {
            "patient": patient,
            "conditions": [],
            "medications": [],
            "observations": [],
        }
    for table, fields in _FIELDS.items():
        frame = tables[table]
        frame = frame[frame["patient_id"].astype(str).isin(wanted)]
        for row in frame.itertuples(index=False):
            entry = {f: _value(f, getattr(row, f)) for f in fields}
            out[str(row.patient_id)][table].append(
                {k: v for k, v in entry.items() if v is not None}
            )
    return out


def records(
    tables: dict[str, pd.DataFrame], patient_ids: Iterable[str], *, on_invalid: str = "raise"
) -> dict[str, ReadResult]:
    """The cvrisk records of some patients, read by the native reader."""
    return {
        pid: read_record(data, on_invalid=on_invalid)
        for pid, data in record_dicts(tables, patient_ids).items()
    }  # type: ignore[arg-type]


def record(tables: dict[str, pd.DataFrame], patient_id: str) -> PatientRecord:
    return records(tables, [patient_id])[patient_id].record
