"""What the cohort readers (OMOP, FHIR Bulk Data) return: the cohort tables and the data
issues met, as one table with the patient each issue concerns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cvrisk.cohort.tables import TABLE_NAMES, columns
from cvrisk.issues import DataIssue

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the issues table (the cohort engine's issue columns).
ISSUE_COLUMNS = [
    "patient_id",
    "kind",
    "message",
    "severity",
    "protocol",
    "rule",
    "field",
    "resource",
]
#: The cohort tables' columns, from the contract (cvrisk.cohort.tables).
TABLE_COLUMNS: dict[str, list[str]] = {name: columns(name) for name in TABLE_NAMES}
_DATES = {"birth_date", "onset", "abatement", "start", "stop", "date"}


@dataclass
class CohortRead:
    """The cohort tables a reader produced (docs/cohort.md), the data issues it met
    (``issues``: one row each, ``patient_id`` empty for issues about the whole source), and
    what it knows about the source (``source``: e.g. the CDM version)."""

    tables: dict[str, pd.DataFrame]
    issues: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)

    def warnings(self) -> pd.DataFrame:
        """The warning-level issues."""
        frame: pd.DataFrame = self.issues[self.issues["severity"] == "warning"]
        return frame


def issues_frame(issues: Iterable[tuple[str | None, DataIssue]]) -> pd.DataFrame:
    """The issues table from (patient id or None, issue) pairs."""
    import pandas as pd

    rows = [
        {
            "patient_id": patient,
            "kind": issue.kind,
            "message": issue.message,
            "severity": issue.severity,
            "protocol": issue.protocol,
            "rule": issue.rule,
            "field": issue.field,
            "resource": issue.resource,
        }
        for patient, issue in issues
    ]
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS)


def empty_table(name: str) -> pd.DataFrame:
    """An empty cohort table with the contract's columns."""
    import pandas as pd

    return pd.DataFrame(
        {
            c: pd.Series(
                [],
                dtype="datetime64[ns]" if c in _DATES else ("float64" if c == "value" else object),
            )
            for c in TABLE_COLUMNS[name]
        }
    )
