"""Monitoring over a whole cohort, vectorised: an adapter above the core (``cvrisk[cohort]``).

:func:`monitor` gives, for every patient of the cohort tables (:mod:`cvrisk.cohort.tables`,
docs/cohort.md), the tests due, the alerts and the data issues that :func:`cvrisk.evaluate`
gives for that patient's record (``scores=[]``, ``on_invalid="report"``), from the same
protocol files and vocabularies; tests/cohort proves the two agree exactly.
"""

from __future__ import annotations

from cvrisk.cohort.pipeline import monitor, worklist
from cvrisk.cohort.result import CohortResult
from cvrisk.cohort.tables import (
    TABLES,
    CohortTables,
    TableError,
    patient_records,
    read_tables,
)

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
