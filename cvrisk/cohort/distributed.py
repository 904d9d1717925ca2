"""Cohort monitoring on Dask (``cvrisk[dask]``): partition by partition, never collecting
the input.

Every patient's rows must be in one partition: each table is a Dask DataFrame indexed by
``patient_id`` with known divisions (``read_parquet(..., index="patient_id",
calculate_divisions=True)``, or ``set_index("patient_id", sorted=True)`` on data already
sorted by patient). The entry tables are repartitioned on the patients' divisions (no
shuffle), and each partition is monitored by the in-memory path: the result tables are Dask
DataFrames, one partition per input partition, computed or written out partition by
partition (:meth:`CohortResult.write`). docs/cohort.md explains running on a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cvrisk.cohort.result import CohortResult, conform
from cvrisk.cohort.tables import ENTRY_TABLES, TABLES, TableError
from cvrisk.rules.options import EvaluationOptions


def is_dask(tables: Any) -> bool:
    """True for a mapping holding Dask DataFrames."""
    if not isinstance(tables, Mapping):
        return False
    return any(type(v).__module__.startswith("dask") for v in tables.values())


def _partitioned(name: str, frame: Any) -> Any:
    """The table indexed by patient with known divisions, or a TableError saying how."""
    if frame.index.name != "patient_id" or not frame.known_divisions:
        raise TableError(
            f"Dask table {name!r} must be indexed by patient_id with known divisions, so that "
            "each patient's rows are in one partition: read it with "
            "dd.read_parquet(..., index='patient_id', calculate_divisions=True) or use "
            "set_index('patient_id', sorted=True) on data sorted by patient"
        )
    return frame


def monitor_dask(tables: Mapping[str, Any], opts: EvaluationOptions) -> CohortResult:
    """:func:`cvrisk.cohort.monitor` over Dask tables (see the module docstring)."""
    import dask.dataframe as dd
    from dask.dataframe.utils import clear_known_categories
    from dask.delayed import delayed

    from cvrisk.cohort.pipeline import monitor_tables
    from cvrisk.cohort.tables import read_tables

    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise TableError(f"unknown cohort tables {unknown}: the tables are {', '.join(TABLES)}")
    if "patients" not in tables:
        raise TableError("no 'patients' table: every cohort needs one row per patient")
    patients = _partitioned("patients", tables["patients"])
    parts: dict[str, list[Any]] = {"patients": patients.to_delayed()}
    for name in ENTRY_TABLES:
        if name not in tables:
            continue
        frame = _partitioned(name, tables[name])
        aligned = frame.repartition(divisions=patients.divisions, force=True)
        parts[name] = aligned.to_delayed()

    def one(patients_part: Any, *entries: Any) -> CohortResult:
        given = {"patients": patients_part}
        given.update(
            {n: e for n, e in zip([n for n in ENTRY_TABLES if n in parts], entries, strict=True)}
        )
        return monitor_tables(read_tables(given), opts)

    names = [n for n in ENTRY_TABLES if n in parts]
    results = [
        delayed(one)(p, *(parts[n][i] for n in names)) for i, p in enumerate(parts["patients"])
    ]
    out = {}
    for table in CohortResult.TABLES:
        # the categories of each partition's text columns are its own: unknown to Dask
        meta = clear_known_categories(conform(table, None))  # type: ignore[no-untyped-call]
        pieces = [delayed(getattr)(r, table) for r in results]
        out[table] = dd.from_delayed(pieces, meta=meta, verify_meta=False)
    return CohortResult(**out)
