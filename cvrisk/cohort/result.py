"""What :func:`cvrisk.cohort.monitor` returns: pandas DataFrames, one per question."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


#: The columns of each result table and their kinds: text (a pandas Categorical: the texts
#: repeat, and each is held once), json (JSON text, one Python string a row), date, int or
#: bool.
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
        "evidence": "json",
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
        elif isinstance(value, pd.Categorical):
            out[name] = pd.Series(value, copy=False)
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
    partition and every output file has one schema. Text columns are categoricals with
    only the texts they hold, in their order of first appearance (``patient_id``: every
    patient, in the cohort's order), so the same rows give the same table whether they were
    monitored at once or in batches."""
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
        elif kind == "text":
            out[name] = categories_in_order(column, appearance=name != "patient_id")
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


def categories_in_order(column: Any, *, appearance: bool = True) -> pd.Categorical:
    """``column`` as a categorical with object categories. ``appearance``: only the texts
    it uses, in their order of first appearance in the rows (so the tables of batches unite
    into the table of the whole); otherwise the categories as given (a categorical's, or
    the texts in their order of first appearance), e.g. every patient of the cohort in its
    order. Missing values stay missing."""
    import numpy as np
    import pandas as pd

    if isinstance(getattr(column, "dtype", None), pd.CategoricalDtype):
        values = column.array if isinstance(column, pd.Series) else column
    else:
        array = np.asarray(column, dtype=object)
        found, uniques = pd.factorize(pd.Series(array, dtype=object), use_na_sentinel=True)
        return pd.Categorical.from_codes(
            found, categories=pd.Index(np.asarray(uniques, dtype=object), dtype=object)
        )
    codes = np.asarray(values.codes, dtype=np.int64)
    categories = np.asarray(values.categories, dtype=object)
    keep = np.arange(len(categories))
    if appearance:  # pandas.unique keeps the order of first appearance (hashing, no sort)
        keep = np.asarray(pd.unique(codes[codes >= 0]), dtype=np.int64)
    if len(keep) == len(categories) and (keep == np.arange(len(keep))).all():
        return _object_categories(values)
    remap = np.full(len(categories) + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return pd.Categorical.from_codes(
        remap[codes], categories=pd.Index(categories[keep], dtype=object)
    )


def patient_column(ids: np.ndarray, pidx: np.ndarray) -> pd.Categorical:
    """The patient ids ``ids[pidx]`` as a categorical whose categories are every patient of
    ``ids`` in its order (the cohort's), so each table of a batch has the same ones."""
    import numpy as np
    import pandas as pd

    index = pd.Index(np.asarray(ids, dtype=object), dtype=object)
    if index.is_unique:
        return pd.Categorical.from_codes(np.asarray(pidx, dtype=np.int64), categories=index)
    return categories_in_order(np.asarray(ids, dtype=object)[pidx], appearance=False)


def with_patients(frame: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """``frame`` whose ``patient_id`` categories are every patient of ``ids`` in its order
    (then any other id the table holds), so every table of a batch, even an empty one, has
    the same categories and batches unite into the cohort's order."""
    import numpy as np
    import pandas as pd

    index = pd.Index(np.asarray(ids, dtype=object), dtype=object)
    values = frame["patient_id"].array
    if not index.is_unique or values.categories.equals(index):
        return frame
    extra = values.categories[~values.categories.isin(index)]
    categories = pd.Index(
        np.concatenate([index.to_numpy(), np.asarray(extra, dtype=object)]), dtype=object
    )
    where = np.append(categories.get_indexer(values.categories), -1)
    codes = where[np.asarray(values.codes, dtype=np.int64)]
    out = frame.copy(deep=False)
    out["patient_id"] = pd.Categorical.from_codes(codes, categories=categories)
    return out


def coded(per_code: Any, codes: np.ndarray) -> pd.Categorical:
    """The texts ``per_code[codes]`` as a categorical, without building the object array
    (``per_code``: a small table of texts, None for missing; ``codes``: integers into it)."""
    import numpy as np
    import pandas as pd

    table = categories_in_order(per_code, appearance=False)
    return pd.Categorical.from_codes(
        np.asarray(table.codes, dtype=np.int64)[np.asarray(codes, dtype=np.int64)],
        categories=table.categories,
    )


def concat_tables(table: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames of one result table (each conformed) as one, categoricals united: each
    frame's categories are its texts in order of first appearance, so the union's are the
    whole table's (no pass over the rows)."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return conform(table, None)
    return concat_frames(frames, list(SCHEMAS[table]))


def concat_frames(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The frames' ``columns`` one after the other: categoricals united (categories in
    order of first appearance), other columns concatenated."""
    import numpy as np
    import pandas as pd

    out: dict[str, Any] = {}
    for name in columns:
        pieces = [f[name] for f in frames]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
            out[name] = united([p.array for p in pieces])
        else:
            out[name] = np.concatenate(
                [
                    p.to_numpy(dtype=object)
                    if isinstance(p.dtype, pd.CategoricalDtype)
                    else p.to_numpy()
                    for p in pieces
                ]
            )
    return objects(out, sum(len(f) for f in frames))


def united(pieces: list[pd.Categorical]) -> pd.Categorical:
    """Categoricals one after the other, with object categories in order of first
    appearance over the pieces' categories (as ``pandas.api.types.union_categoricals``):
    each piece's categories are hashed once, with the union's in one factorization, and its
    codes mapped through the result. ``union_categoricals`` looks each piece up in the
    union's index and checks that index's uniqueness anew for every piece, which grows with
    pieces x categories: 8 s for the patient ids of ten 100 k batches, against 0.3 s."""
    import numpy as np
    import pandas as pd

    if len(pieces) == 1:
        return _object_categories(pieces[0])
    every = np.concatenate([np.asarray(p.categories, dtype=object) for p in pieces])
    where, categories = pd.factorize(every)
    codes = []
    offset = 0
    for piece in pieces:
        size = len(piece.categories)
        # -1 (missing) stays -1: the appended -1 is what code -1 picks
        remap = np.append(where[offset : offset + size], -1)
        codes.append(remap[np.asarray(piece.codes, dtype=np.int64)])
        offset += size
    return pd.Categorical.from_codes(
        np.concatenate(codes),
        dtype=pd.CategoricalDtype(pd.Index(np.asarray(categories, dtype=object), dtype=object)),
    )


def _object_categories(values: pd.Categorical) -> pd.Categorical:
    import numpy as np
    import pandas as pd

    if values.categories.dtype == object:
        return values
    return pd.Categorical.from_codes(
        values.codes, categories=pd.Index(np.asarray(values.categories, dtype=object), dtype=object)
    )


@dataclass
class CohortResult:
    """The cohort's monitoring, as tables (pandas DataFrames; Dask DataFrames when the input
    was Dask). Text columns are pandas categoricals (``table["status"] == "overdue"`` and
    the ``.str`` methods work as on text; :data:`SCHEMAS` gives each column's kind);
    ``evidence`` is JSON text.

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
                    frame.to_parquet(str(path), write_index=False, schema=arrow_schema(name))
                else:
                    path.mkdir(exist_ok=True)
                    frame.to_csv(str(path / "part-*.csv"), index=False)
            elif format == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
            paths.append(path)
        return paths


def arrow_schema(table: str) -> Any:
    """The Arrow schema of a result table's Parquet files (text: dictionary-encoded)."""
    import pyarrow as pa

    kinds = {
        "text": pa.dictionary(pa.int32(), pa.string()),
        "json": pa.string(),
        "date": pa.timestamp("ns"),
        "int": pa.int64(),
        "bool": pa.bool_(),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in SCHEMAS[table].items()])


def empty_result() -> CohortResult:
    return CohortResult()
