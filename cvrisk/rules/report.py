"""What :func:`cvrisk.evaluate` and :func:`cvrisk.schedule` return (pydantic, JSON-ready).

Every test entry and alert names its protocol, its rule and the guideline item it comes
from (``source``), and says whether that item was checked against the source text
(``evidence_status``). The field names are part of the public contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cvrisk.issues import DataIssue as DataIssue  # re-exported: part of the report contract

TestStatus = Literal["overdue", "due", "conditional", "upcoming"]
Severity = Literal["info", "warning", "critical"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Window(_Out):
    """The dates a result counts for an occurrence (inclusive)."""

    start: dt.date
    end: dt.date


class Request(_Out):
    """One protocol item asking for a test, with its own due date and status."""

    protocol: str
    rule: str
    status: TestStatus
    due_date: dt.date
    window: Window
    occurrence: str
    source: str
    evidence_status: Literal["confirmed", "unconfirmed"]


class TestEntry(_Out):
    """One required test: what, when, why and on whose authority.

    A test asked for by several protocol items (prolactin at baseline by two protocols; a
    full blood count repeat raised by two rules) is one entry: it shows the most urgent
    request (overdue before due before conditional before upcoming, then the earliest due
    date), and ``requested_by`` lists every request, that one first.
    """

    test: str = Field(description="Canonical test id (cvrisk/data/tests.toml).")
    label: str
    status: TestStatus
    due_date: dt.date
    window: Window
    occurrence: str = Field(description="'baseline', a follow-up offset (P12W) or interval.")
    protocol: str
    rule: str
    reason: str
    source: str
    evidence_status: Literal["confirmed", "unconfirmed"]
    verifiable: bool = Field(
        description="False for assessments records cannot show as done (history taking)."
    )
    last_result: dt.date | None = None
    note: str | None = None
    requested_by: list[Request] = Field(
        default_factory=list,
        description="Every protocol item asking for this test, the one shown first.",
    )

    def request(self) -> Request:
        """This entry's own request (protocol, rule, status, due date and source)."""
        return Request(
            protocol=self.protocol,
            rule=self.rule,
            status=self.status,
            due_date=self.due_date,
            window=self.window,
            occurrence=self.occurrence,
            source=self.source,
            evidence_status=self.evidence_status,
        )


class Evidence(_Out):
    """A result that triggered an alert."""

    analyte: str
    date: dt.date | None = None
    value: float | None = None
    unit: str | None = None
    coded: str | None = None
    role: str = Field("latest", description="latest, baseline, reference or score")
    resource: str | None = Field(
        None, description="Id of the record entry the value came from (FHIR 'Observation/abc')."
    )


class AlertLead(_Out):
    """Who the source says leads the alert's action (shared care), and what they lead."""

    role: Literal["gp", "psychiatrist"]
    leads: Literal["physical_health_interventions", "antipsychotic_change"]


class Alert(_Out):
    """A threshold or trend finding with its action."""

    code: str = Field(description="'<protocol>/<rule>', stable across versions.")
    severity: Severity
    message: str
    evidence: list[Evidence]
    protocol: str
    rule: str
    source: str
    evidence_status: Literal["confirmed", "unconfirmed"]
    lead: list[AlertLead] = Field(
        default_factory=list,
        description="Who the source says leads the action (GP, psychiatrist), in order; "
        "empty when the source does not say.",
    )


class ScoreEntry(_Out):
    """A cardiovascular risk score computed from the record (or why it could not be)."""

    model: str
    risk: float | None = Field(description="Probability in [0, 1]; None when not computable.")
    missing: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    basis: list[str] = Field(
        default_factory=list,
        description="Ids of the record entries the score read (FHIR 'Observation/abc'), for "
        "entries that have one.",
    )


class Report(_Out):
    """The result of evaluating one record on one date."""

    as_of: dt.date
    patient_id: str | None
    lang: str
    protocols: list[str] = Field(description="Protocols evaluated (those that applied).")
    tests: list[TestEntry]
    alerts: list[Alert]
    scores: list[ScoreEntry] = Field(default_factory=list)
    data_issues: list[DataIssue] = Field(default_factory=list)
    cvrisk_version: str

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of the report."""
        return self.model_dump_json(**kwargs)


class PlanItem(_Out):
    """One date in a prescribing plan."""

    protocol: str
    rule: str
    test: str
    label: str
    occurrence: str
    recurring: bool = Field(False, description="True for the first recurring check.")
    due_date: dt.date
    window: Window
    conditional: bool
    verifiable: bool
    source: str
    evidence_status: Literal["confirmed", "unconfirmed"]
    note: str | None = None


class ProtocolPlan(_Out):
    """A protocol's part of a prescribing plan."""

    protocol: str
    title: str
    citation: str
    population: str = Field(description="The ages the protocol is for.")
    baseline: list[PlanItem]
    followups: list[PlanItem]
    then: list[str] = Field(description="Recurring intervals after the last follow-up.")


class Plan(_Out):
    """The prescribing prompt for a drug started on a date."""

    drug: str
    formulation: str | None = Field(
        None, description="Formulation planned for (olanzapine-pamoate), when named."
    )
    start: dt.date
    lang: str
    protocols: list[ProtocolPlan]
    notes: list[str] = Field(default_factory=list, description="What the plan leaves out, and why.")
    cvrisk_version: str

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of the plan."""
        return self.model_dump_json(**kwargs)
