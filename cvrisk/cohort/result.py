"""What :func:`cvrisk.cohort.monitor` returns: pandas DataFrames, one per question."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd


#: The columns of each result table and their kinds: text, date, int or bool.
SCHEMAS: dict[str, dict[str, str]] = {
    "status": {
        "patient_id": "text",
        "test": "text",
        "label": "text",
        "status": "text",
        "due_date": "date",
        "window_start": "date",
        "window_end": "date",
        "occurrence": "text",
        "protocol": "text",
        "rule": "text",
        "source": "text",
        "evidence_status": "text",
        "verifiable": "bool",
        "last_result": "date",
        "note": "text",
        "reason": "text",
        "requested_by": "text",
        "requests": "int",
    },
    "requests": {
        "patient_id": "text",
        "test": "text",
        "request": "int",
        "protocol": "text",
        "rule": "text",
        "status": "text",
        "due_date": "date",
        "window_start": "date",
        "window_end": "date",
        "occurrence": "text",
        "source": "text",
        "evidence_status": "text",
    },
    "alerts": {
        "patient_id": "text",
        "code": "text",
        "severity": "text",
        "message": "text",
        "protocol": "text",
        "rule": "text",
        "source": "text",
        "evidence_status": "text",
        "lead": "text",
        "analyte": "text",
        "date": "date",
        "evidence": "text",
    },
    "issues": {
        "patient_id": "text",
        "kind": "text",
        "message": "text",
        "severity": "text",
        "protocol": "text",
        "rule": "text",
        "field": "text",
        "resource": "text",
    },
    "worklist": {
        "patient_id": "text",
        "priority": "int",
        "kind": "text",
        "what": "text",
        "status": "text",
        "due_date": "date",
        "action": "text",
        "protocol": "text",
        "rule": "text",
    },
}
STATUS_COLUMNS = list(SCHEMAS["status"])
REQUEST_COLUMNS = list(SCHEMAS["requests"])
ALERT_COLUMNS = list(SCHEMAS["alerts"])
ISSUE_COLUMNS = list(SCHEMAS["issues"])
WORKLIST_COLUMNS = list(SCHEMAS["worklist"])


def objects(columns: dict[str, Any], n: int | None = None) -> pd.DataFrame:
    """A DataFrame from arrays and scalars whose text stays Python objects: pandas 3 would
    turn every text column into Arrow strings, slow to build, sort and take from, only for
    :func:`conform` to turn them back."""
    import numpy as np
    import pandas as pd

    if n is None:
        n = next(
            (len(v) for v in columns.values() if hasattr(v, "__len__") and not isinstance(v, str)),
            0,
        )
    out: dict[str, Any] = {}
    for name, value in columns.items():
        if isinstance(value, str) or value is None:
            filled = np.empty(n, dtype=object)
            filled[:] = value
            out[name] = pd.Series(filled, dtype=object, copy=False)
        elif isinstance(value, np.ndarray) and value.dtype == object:
            out[name] = pd.Series(value, dtype=object, copy=False)
        elif isinstance(value, list):
            filled = np.empty(len(value), dtype=object)
            filled[:] = value
            out[name] = pd.Series(filled, dtype=object, copy=False)
        else:
            out[name] = value
    # copy=False: the columns are fresh arrays; consolidating them into 2-D blocks would copy
    # every column (1 s for 12 columns of 3 M rows) and make later row selections slower
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def conform(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` (None: an empty one) with exactly the table's columns and kinds, so every
    partition and every output file has one schema."""
    import numpy as np
    import pandas as pd

    schema = SCHEMAS[table]
    if frame is None:
        frame = pd.DataFrame({c: [] for c in schema})
    out = {}
    for name, kind in schema.items():
        column = (
            frame[name]
            if name in frame.columns
            else pd.Series([None] * len(frame), index=frame.index, dtype=object)
        )
        if kind == "date":
            out[name] = (
                column
                if column.dtype == "datetime64[ns]"
                else pd.to_datetime(column).astype("datetime64[ns]")
            )
        elif kind == "int":
            out[name] = column.astype(np.int64)
        elif kind == "bool":
            out[name] = column.astype(bool)
        else:
            values = (
                column.to_numpy(dtype=object, na_value=None)
                if column.dtype != object
                else column.to_numpy()
            )
            if column.dtype == object and column.hasnans:
                values = values.copy()
                values[column.isna().to_numpy()] = None
            out[name] = values
    return objects(out, len(frame))


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

    status: Any = field(default_factory=lambda: conform("status", None))
    requests: Any = field(default_factory=lambda: conform("requests", None))
    alerts: Any = field(default_factory=lambda: conform("alerts", None))
    issues: Any = field(default_factory=lambda: conform("issues", None))
    worklist: Any = field(default_factory=lambda: conform("worklist", None))

    def compute(self) -> CohortResult:
        """The pandas result (computes Dask tables; a pandas result is returned as is)."""
        if not self.is_dask():
            return self
        from dask.base import compute

        computed = compute(*(getattr(self, n) for n in self.TABLES))  # type: ignore[no-untyped-call]
        return CohortResult(
            **{
                n: conform(n, f.reset_index(drop=True))
                for n, f in zip(self.TABLES, computed, strict=True)
            }
        )

    def is_dask(self) -> bool:
        """True when the tables are Dask DataFrames (not computed yet)."""
        import pandas as pd

        return not all(isinstance(getattr(self, n), pd.DataFrame) for n in self.TABLES)

    def write(self, folder: str | Path, format: str = "parquet") -> list[Path]:
        """Write each table to ``folder/<table>.parquet`` (or ``.csv``); returns the paths.
        Dask tables are written partition by partition (a folder per table).

        Raises:
            OptionError: an unknown ``format``, or ``folder`` is a file or cannot be made.
        """
        from cvrisk.errors import OptionError

        if format not in ("parquet", "csv"):
            raise OptionError(f"format={format!r}: use 'parquet' or 'csv'")
        out = Path(folder)
        if out.exists() and not out.is_dir():
            raise OptionError(
                f"output {str(out)!r} is a file: give a folder (it is made if missing)"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OptionError(
                f"cannot make the output folder {str(out)!r}: {exc.strerror or exc}"
            ) from None
        paths = []
        for name in self.TABLES:
            frame = getattr(self, name)
            path = out / f"{name}.{format}"
            if self.is_dask():  # one file per partition
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
