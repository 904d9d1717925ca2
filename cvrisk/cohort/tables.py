"""The cohort tables: the long-format contract every cohort reader writes to.

One row per record entry, columns named exactly as the native record's fields
(docs/record.md) plus ``patient_id``:

- ``patients(patient_id, birth_date, sex, ethnicity, race)``
- ``conditions(patient_id, id, code, system, onset, abatement)``
- ``medications(patient_id, id, drug, code, system, formulation, start, stop, route)``
- ``observations(patient_id, id, analyte, code, system, value, unit, coded, date, status)``

The tables may come as pandas DataFrames, Arrow tables, a folder with one Parquet or CSV file
per table (``patients.parquet`` or ``patients.csv``...), or a DuckDB connection (tables or
views by those names) or DuckDB file. :func:`read_tables` reads any of them into
:class:`CohortTables` (pandas, text columns as categoricals, dates as ``datetime64``), checking
the *shape* only: an unknown column, a missing required column or a column of the wrong type
is a :class:`TableError` naming it. Row contents (codes, units, plausible values, dates before
birth...) are checked by the same rules as the record, row by row, and an invalid row becomes
a data issue (:mod:`cvrisk.cohort.validate`), never a silent drop.

Within a patient, rows keep their table order: it is the order of the entries of that
patient's record (``observations[3]`` in a data issue is the patient's fourth observation row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cvrisk.errors import CvriskError

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["text", "date", "datetime", "number"]


class TableError(CvriskError, ValueError):
    """A cohort table that cannot be read as the contract says (docs/cohort.md): a missing
    table or required column, an unknown column, a column of the wrong type."""


@dataclass(frozen=True)
class Column:
    """One column of a cohort table: its record field, kind and whether it must be present."""

    name: str
    kind: Kind
    required: bool = False


#: The contract: table -> columns (docs/cohort.md). ``required`` columns must be present; an
#: absent optional column is read as all missing.
TABLES: dict[str, tuple[Column, ...]] = {
    "patients": (
        Column("patient_id", "text", True),
        Column("birth_date", "date", True),
        Column("sex", "text", True),
        Column("ethnicity", "text"),
        Column("race", "text"),
    ),
    "conditions": (
        Column("patient_id", "text", True),
        Column("id", "text"),
        Column("code", "text", True),
        Column("system", "text", True),
        Column("onset", "date"),
        Column("abatement", "date"),
    ),
    "medications": (
        Column("patient_id", "text", True),
        Column("id", "text"),
        Column("drug", "text"),
        Column("code", "text"),
        Column("system", "text"),
        Column("formulation", "text"),
        Column("start", "date", True),
        Column("stop", "date"),
        Column("route", "text"),
    ),
    "observations": (
        Column("patient_id", "text", True),
        Column("id", "text"),
        Column("analyte", "text"),
        Column("code", "text"),
        Column("system", "text"),
        Column("value", "number"),
        Column("unit", "text"),
        Column("coded", "text"),
        Column("date", "datetime", True),
        Column("status", "text"),
    ),
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
#: The record list each entry table fills (the native record's field names).
ENTRY_TABLES: tuple[str, ...] = ("conditions", "medications", "observations")


def columns(table: str) -> list[str]:
    """The column names of ``table``, in contract order."""
    return [c.name for c in TABLES[table]]


@dataclass
class CohortTables:
    """The four tables, normalised: every contract column present (absent optional columns
    all missing), ``patient_id`` as text, text columns stripped of surrounding spaces, dates
    as ``datetime64`` (an observation's date-time as written, without converting its zone),
    ``value`` as float. Unparseable dates in CSV text stay as text for row validation."""

    patients: pd.DataFrame
    conditions: pd.DataFrame
    medications: pd.DataFrame
    observations: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def __len__(self) -> int:
        return len(self.patients)


def read_tables(source: Any) -> CohortTables:
    """The cohort tables from any supported source (see the module docstring).

    ``source``: a :class:`CohortTables`; a mapping of table name to pandas DataFrame, Arrow
    table or DuckDB relation; a folder of ``<table>.parquet`` / ``<table>.csv`` files; a
    DuckDB connection or the path of a DuckDB database file (``.duckdb``, ``.db``).

    Raises:
        TableError: no ``patients`` table, an unknown table or column, a required column
            missing or a column of the wrong type.
    """
    if isinstance(source, CohortTables):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return _from_mapping(_read_folder(path), text_source=True)
        if path.is_file() and path.suffix.lower() in (".duckdb", ".db"):
            import duckdb

            with duckdb.connect(str(path), read_only=True) as connection:
                return _from_mapping(_read_duckdb(connection), text_source=False)
        raise TableError(
            f"cohort source {str(path)!r} is neither a folder of table files nor a DuckDB "
            "database (.duckdb, .db)"
        )
    if _is_duckdb_connection(source):
        return _from_mapping(_read_duckdb(source), text_source=False)
    if isinstance(source, Mapping):
        return _from_mapping(dict(source), text_source=False)
    raise TableError(
        f"cannot read cohort tables from {type(source).__name__}: give a mapping of table "
        "name to DataFrame, a folder of Parquet/CSV files or a DuckDB connection"
    )


def _is_duckdb_connection(source: Any) -> bool:
    kind = type(source)
    return "duckdb" in kind.__module__ and kind.__name__ == "DuckDBPyConnection"


#: Files a cohort folder may hold beside the four tables, which monitoring does not read:
#: ``sites`` is each synthetic patient's site (``cvrisk synth`` writes it, the measures' rates
#: by site read it), so that ``cvrisk synth`` output is a valid ``cvrisk cohort`` input.
AUXILIARY_TABLES = frozenset({"sites"})


def _read_folder(folder: Path) -> dict[str, Any]:
    import pandas as pd

    found: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        stem, suffix = path.stem, path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            continue
        if stem in AUXILIARY_TABLES:
            continue  # beside the cohort tables, read by other steps (see AUXILIARY_TABLES)
        if stem not in TABLES:
            raise TableError(
                f"{path.name}: not a cohort table; name the files {', '.join(TABLE_NAMES)} "
                "(.parquet or .csv)"
            )
        if stem in found:
            raise TableError(f"{folder}: two files for table {stem!r}; keep one")
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            found[stem] = pq.read_table(path)
        else:
            # CSV has no types: every cell is read as text, then converted by the contract.
            found[stem] = _CsvText(
                pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            )
    if "patients" not in found:
        nested = sorted(
            str(p.parent)
            for p in folder.glob("*/patients.*")
            if p.suffix.lower() in (".parquet", ".csv")
        )
        hint = (
            f"; {' and '.join(nested)} {'holds' if len(nested) == 1 else 'hold'} one: give that "
            "folder (cvrisk synth writes its native tables under native/)"
            if nested
            else ""
        )
        raise TableError(
            f"{folder}: no patients.parquet or patients.csv, and every cohort needs one row per "
            f"patient{hint}"
        )
    return found


class _CsvText:
    """A table read from CSV (all text): numbers and dates are parsed from their text."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame


def _read_duckdb(connection: Any) -> dict[str, Any]:
    listed = connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    present = {row[0] for row in listed}
    return {name: connection.table(name) for name in TABLE_NAMES if name in present}


def _to_pandas(table: str, value: Any) -> tuple[pd.DataFrame, bool]:
    """(DataFrame, read from text) of one table given as DataFrame, Arrow table, DuckDB
    relation or CSV text."""
    import pandas as pd

    if isinstance(value, _CsvText):
        return value.frame, True
    if isinstance(value, pd.DataFrame):
        return value, False
    if hasattr(value, "to_arrow_table"):  # DuckDB relation
        value = value.to_arrow_table()
    elif hasattr(value, "arrow") and not hasattr(value, "to_pandas"):
        value = value.arrow()
    if hasattr(value, "to_pandas") and hasattr(value, "schema"):  # Arrow table
        import pyarrow as pa

        if isinstance(value, pa.RecordBatchReader):
            value = value.read_all()
        frame = value.to_pandas(strings_to_categorical=True, date_as_object=False)
        return frame, False
    raise TableError(
        f"table {table!r}: cannot read a {type(value).__name__}; give a pandas DataFrame, an "
        "Arrow table or a DuckDB relation"
    )


def _from_mapping(given: dict[str, Any], *, text_source: bool) -> CohortTables:
    import pandas as pd

    unknown = sorted(set(given) - set(TABLES))
    if unknown:
        raise TableError(
            f"unknown cohort tables {unknown}: the tables are {', '.join(TABLE_NAMES)}"
        )
    if "patients" not in given:
        raise TableError("no 'patients' table: every cohort needs one row per patient")
    frames = {}
    for name in TABLE_NAMES:
        if name in given:
            frame, from_text = _to_pandas(name, given[name])
        else:
            frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns(name)})
            from_text = True
        frames[name] = normalise(name, frame, from_text=from_text or text_source)
    return CohortTables(**frames)


def normalise(table: str, frame: pd.DataFrame, *, from_text: bool = False) -> pd.DataFrame:
    """One table in the normalised form of :class:`CohortTables` (shape checks only).

    Raises:
        TableError: an unknown or missing required column, a column of the wrong type.
    """
    import pandas as pd

    spec = {c.name: c for c in TABLES[table]}
    if frame.index.name == "patient_id" and "patient_id" not in frame.columns:
        frame = frame.reset_index()
    unknown = [str(c) for c in frame.columns if c not in spec]
    if unknown:
        raise TableError(
            f"table {table!r}: unknown columns {unknown}; its columns are "
            f"{', '.join(spec)} (docs/cohort.md)"
        )
    missing = [c.name for c in spec.values() if c.required and c.name not in frame.columns]
    if missing:
        raise TableError(f"table {table!r}: required columns {missing} are missing")
    out: dict[str, Any] = {}
    n = len(frame)
    for name, column in spec.items():
        if name not in frame.columns:
            out[name] = _empty(column.kind, n)
            continue
        series = frame[name].reset_index(drop=True)
        where = f"{table}.{name}"
        if name == "patient_id":
            out[name] = _patient_ids(series, where)
        elif column.kind == "text":
            out[name] = _text(series, where)
        elif column.kind == "number":
            out[name], texts = _number(series, where, from_text)
            if texts is not None:
                out[f"{name}_text"] = texts
        else:
            out[name] = _dates(series, where, with_time=column.kind == "datetime")
    return pd.DataFrame(out)


def _empty(kind: Kind, n: int) -> Any:
    import numpy as np
    import pandas as pd

    if kind == "number":
        return np.full(n, np.nan)
    if kind in ("date", "datetime"):
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    # codes, not n Nones to hash (1.6 s for the optional columns of 3 M observations)
    return pd.Categorical.from_codes(
        np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype=object)
    )


def _patient_ids(series: pd.Series, where: str) -> pd.Categorical:
    """Patient ids as a categorical of stripped texts (integer ids become their text)."""
    import pandas as pd

    if series.isna().any():
        row = int(series.isna().to_numpy().nonzero()[0][0])
        raise TableError(f"{where}: row {row} has no patient_id; every row needs one")
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise TableError(f"{where}: patient ids are {series.dtype}; give text or integer ids")
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    categories = _stripped(series.cat.categories)
    codes = series.cat.codes.to_numpy()
    if categories.is_unique:
        return pd.Categorical.from_codes(codes, categories=categories)
    return pd.Categorical(categories.take(codes))


def _stripped(categories: pd.Index) -> pd.Index:
    """Categories as stripped texts (object dtype); non-text categories (integer ids)
    become their text."""
    import numpy as np
    import pandas as pd

    values = np.asarray(categories, dtype=object)  # Python strings, converted in bulk
    # map() over C functions rather than pandas' .str (a Python lambda a value): 5 times
    # faster on a million patient ids
    if not all(issubclass(kind, str) for kind in set(map(type, values))):
        values = np.fromiter(map(str, values), dtype=object, count=len(values))
    return pd.Index(
        np.fromiter(map(str.strip, values), dtype=object, count=len(values)), dtype=object
    )


def _text(series: pd.Series, where: str) -> pd.Categorical:
    """Text as a categorical, stripped (as the record strips its text fields)."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        stripped = _stripped(series.cat.categories)
        codes = series.cat.codes.to_numpy()
        if stripped.is_unique:
            return pd.Categorical.from_codes(codes, categories=stripped)
        values = stripped.take(codes).where(codes >= 0, None)
        return pd.Categorical(values)
    if series.isna().all():
        return pd.Categorical([None] * len(series), categories=pd.Index([], dtype=object))
    kind = series.dtype.kind
    if kind in "fcb" or (kind == "i" and not where.endswith(".id")):
        raise TableError(f"{where}: expected text, found {series.dtype} values")
    values = series.astype(object).where(series.notna(), None)
    return pd.Categorical([None if v is None else str(v).strip() for v in values])


def _number(series: pd.Series, where: str, from_text: bool) -> tuple[Any, Any]:
    """(values as float64, the texts that are not numbers: row validation reports them)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        raise TableError(f"{where}: expected numbers, found {series.dtype} values")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64").to_numpy(), None
    if not from_text:
        texts = series.dropna()
        if len(texts) and not all(isinstance(v, str) for v in texts):
            raise TableError(f"{where}: expected numbers, found {series.dtype} values")
    numbers = pd.to_numeric(series.astype(object), errors="coerce")
    bad = numbers.isna() & series.notna()
    texts = series.astype(object).where(bad, None) if bad.any() else None
    return numbers.astype("float64").to_numpy(), texts


def _dates(series: pd.Series, where: str, *, with_time: bool) -> pd.Series:
    """Dates as ``datetime64[ns]`` (date-times as written, zone dropped); text that is not
    an ISO 8601 date stays as the original text for row validation to report."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.astype("datetime64[ns]")
    if series.dtype.kind in "iufb" and series.isna().all():
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if series.dtype.kind in "iufb":
        raise TableError(f"{where}: dates are numbers; give dates, date-times or ISO 8601 texts")
    parsed: dict[Any, Any] = {}
    values = series.astype(object)
    for value in pd.unique(values.dropna()):
        parsed[value] = _parse_date(value)
    if not parsed:
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    good = {k: v for k, v in parsed.items() if v is not None}
    out = pd.to_datetime(values.map(good), errors="raise").astype("datetime64[ns]")
    bad = {k for k, v in parsed.items() if v is None}
    if bad:
        out = out.astype(object)
        mask = values.isin(bad)
        out[mask] = values[mask]
    return out


def _parse_date(value: Any) -> dt.datetime | None:
    """A date or date-time as the record reads it; None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if "T" in text or " " in text:
            return dt.datetime.fromisoformat(text).replace(tzinfo=None)
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day)


def patient_records(tables: Any) -> Iterator[dict[str, Any]]:
    """Each patient's native record (a JSON-ready dict, as docs/record.md), in the patients
    table's order: the record :func:`cvrisk.evaluate` reads for that patient. Missing cells
    are left out; dates are ISO 8601 texts.

    Useful to evaluate one patient of a cohort, and the reference the cohort path is tested
    against (tests/cohort). Cells are converted a column at a time (:func:`column_cells`), so
    a cohort's records cost one pass over each table, not a pandas row lookup per entry.
    """
    data = read_tables(tables)
    entries: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in ENTRY_TABLES:
        by_patient: dict[str, list[dict[str, Any]]] = {}
        frame = data.table(name)
        for pid, entry in zip(_texts(frame["patient_id"]), _entries(frame, name), strict=True):
            by_patient.setdefault(pid, []).append(entry)
        entries[name] = by_patient
    for pid, patient in zip(
        _texts(data.patients["patient_id"]), _entries(data.patients, "patients"), strict=True
    ):
        record: dict[str, Any] = {"patient": {"id": pid, **patient}}
        for name in ENTRY_TABLES:
            record[name] = entries[name].get(pid, [])
        yield record


def _texts(column: pd.Series) -> list[str]:
    """A column's cells as text (``str`` of each, as patient ids are compared)."""
    return [str(v) for v in column.astype(object).tolist()]


def _entries(frame: pd.DataFrame, table: str) -> list[dict[str, Any]]:
    """Each row of ``frame`` as the record entry it stands for (missing cells left out)."""
    names, cells = [], []
    for column in TABLES[table]:
        if column.name != "patient_id":
            names.append(column.name)
            cells.append(column_cells(frame, column))
    out = []
    for row in zip(*cells, strict=True) if cells else ([] for _ in range(len(frame))):
        out.append(
            {name: value for name, value in zip(names, row, strict=True) if value is not None}
        )
    return out


def column_cells(frame: pd.DataFrame, column: Column) -> list[Any]:
    """One column's cells as record values (None: left out), equal to :func:`_cell` on each
    cell; date and number columns are converted vectorised."""
    import numpy as np
    import pandas as pd

    series = frame[column.name]
    texts = frame.get(f"{column.name}_text") if column.kind == "number" else None
    if series.dtype.kind == "M" and getattr(series.dtype, "tz", None) is None:
        stamps = series.to_numpy(dtype="datetime64[ns]")
        missing = np.isnat(stamps)
        days = stamps.astype("datetime64[D]")
        midnight = (stamps == days) | missing
        texts_of_days = np.datetime_as_string(days, unit="D").astype(object)
        out: list[Any] = list(np.where(missing, None, texts_of_days))
        if column.kind != "date":
            for at in np.flatnonzero(~midnight):
                out[at] = _cell(pd.Timestamp(stamps[at]), None, column)
        return out
    if series.dtype.kind == "f" and texts is None:
        values = series.to_numpy()
        return [None if v != v else float(v) for v in values.tolist()]
    text_cells = texts.tolist() if texts is not None else [None] * len(series)
    return [
        _cell(value, text, column)
        for value, text in zip(series.astype(object).tolist(), text_cells, strict=True)
    ]


def _cells(row: Any, table: str) -> dict[str, Any]:
    """One row (a namedtuple or Series of a table) as the record entry it stands for
    (missing cells left out)."""
    out: dict[str, Any] = {}
    for column in TABLES[table]:
        if column.name == "patient_id":
            continue
        text = getattr(row, f"{column.name}_text", None) if column.kind == "number" else None
        value = _cell(getattr(row, column.name), text, column)
        if value is not None:
            out[column.name] = value
    return out


def _cell(value: Any, text: Any, column: Column) -> Any:
    """One cell as its record value, None when missing (a number column's unparsed text,
    ``text``, stands in for a missing number)."""
    import pandas as pd

    if column.kind == "number" and not isinstance(value, str) and pd.isna(value):
        value = text
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        midnight = (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
        return value.date().isoformat() if column.kind == "date" or midnight else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if column.kind == "number" and not isinstance(value, str):
        return float(value)
    return value
