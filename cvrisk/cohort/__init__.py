"""Monitoring over a whole cohort, vectorised: an adapter above the core (``cvrisk[cohort]``).

:func:`monitor` gives, for every patient of the cohort tables (:mod:`cvrisk.cohort.tables`,
docs/cohort.md), the tests due, the alerts and the data issues that :func:`cvrisk.evaluate`
gives for that patient's record (``scores=[]``, ``on_invalid="report"``), from the same
protocol files and vocabularies; tests/cohort proves the two agree exactly.

Names are imported on first use, so that ``import cvrisk.cohort`` (and the ``cvrisk``
command line) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvrisk.cohort.pipeline import monitor, worklist
    from cvrisk.cohort.result import CohortResult
    from cvrisk.cohort.tables import (
        TABLES,
        CohortTables,
        TableError,
        patient_records,
        read_tables,
    )

_WHERE = {
    "monitor": "cvrisk.cohort.pipeline",
    "worklist": "cvrisk.cohort.pipeline",
    "CohortResult": "cvrisk.cohort.result",
    "TABLES": "cvrisk.cohort.tables",
    "CohortTables": "cvrisk.cohort.tables",
    "TableError": "cvrisk.cohort.tables",
    "patient_records": "cvrisk.cohort.tables",
    "read_tables": "cvrisk.cohort.tables",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'cvrisk.cohort' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)


__all__ = [
    "TABLES",
    "CohortResult",
    "CohortTables",
    "TableError",
    "monitor",
    "patient_records",
    "read_tables",
    "worklist",
]
