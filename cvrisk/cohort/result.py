"""What :func:`cvrisk.cohort.monitor` returns: pandas DataFrames, one per question."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd


def _frame(columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


STATUS_COLUMNS = [
    "patient_id", "test", "label", "status", "due_date", "window_start", "window_end",
    "occurrence", "protocol", "rule", "source", "evidence_status", "verifiable",
    "last_result", "note", "reason", "requested_by", "requests",
]
REQUEST_COLUMNS = [
    "patient_id", "test", "request", "protocol", "rule", "status", "due_date", "window_start",
    "window_end", "occurrence", "source", "evidence_status",
]
ALERT_COLUMNS = [
    "patient_id", "code", "severity", "message", "protocol", "rule", "source",
    "evidence_status", "lead", "analyte", "date", "evidence",
]
ISSUE_COLUMNS = [
    "patient_id", "kind", "message", "severity", "protocol", "rule", "field", "resource",
]
WORKLIST_COLUMNS = [
    "patient_id", "priority", "kind", "what", "status", "due_date", "action", "protocol", "rule",
]


@dataclass
class CohortResult:
    """The cohort's monitoring, as tables (pandas DataFrames; Dask DataFrames when the input
    was Dask).

    - ``status``: one row per patient and required test, as ``Report.tests``: the most
      urgent request shown, ``requested_by`` the codes (``protocol/rule``) of every request
      for that test (the one shown first), ``requests`` their number; reports order
      (overdue first, then due date, protocol, rule) within each patient.
    - ``requests``: every request behind each status row (``request`` 0 is the one shown),
      as ``TestEntry.requested_by``.
    - ``alerts``: one row per alert, ``evidence`` (JSON list of the results behind it, as
      ``Alert.evidence``) and ``lead`` (JSON, as ``Alert.lead``); most serious first.
    - ``issues``: the data issues, in report order within each patient.
    - ``worklist``: overdue tests and critical alerts first, then due tests and other alerts,
      grouped by patient (:func:`cvrisk.cohort.monitor.worklist`).
    """

    TABLES: ClassVar[tuple[str, ...]] = ("status", "requests", "alerts", "issues", "worklist")

    status: Any = field(default_factory=lambda: _frame(STATUS_COLUMNS))
    requests: Any = field(default_factory=lambda: _frame(REQUEST_COLUMNS))
    alerts: Any = field(default_factory=lambda: _frame(ALERT_COLUMNS))
    issues: Any = field(default_factory=lambda: _frame(ISSUE_COLUMNS))
    worklist: Any = field(default_factory=lambda: _frame(WORKLIST_COLUMNS))

    def compute(self) -> CohortResult:
        """The pandas result (computes Dask tables; a pandas result is returned as is)."""
        if all(hasattr(getattr(self, n), "iloc") for n in self.TABLES):
            return self
        import dask

        computed = dask.compute(*(getattr(self, n) for n in self.TABLES))
        return CohortResult(**dict(zip(self.TABLES, computed, strict=True)))

    def write(self, folder: str | Path, format: str = "parquet") -> list[Path]:
        """Write each table to ``folder/<table>.parquet`` (or ``.csv``); returns the paths.
        Dask tables are written partition by partition (a folder per table)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        if format not in ("parquet", "csv"):
            from cvrisk.errors import OptionError

            raise OptionError(f"format={format!r}: use 'parquet' or 'csv'")
        paths = []
        for name in self.TABLES:
            frame = getattr(self, name)
            path = out / f"{name}.{format}"
            if not hasattr(frame, "iloc"):  # Dask: one file per partition
                if format == "parquet":
                    frame.to_parquet(str(path), write_index=False)
                else:
                    path.mkdir(exist_ok=True)
                    frame.to_csv(str(path / "part-*.csv"), index=False)
            elif format == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
            paths.append(path)
        return paths


def empty_result() -> CohortResult:
    return CohortResult()
