"""Data issues: what limited an evaluation, said loudly and specifically.

A :class:`DataIssue` is how cvrisk refuses to be silent. Every reader (native JSON, FHIR,
cohort tables) and every stage of :func:`cvrisk.evaluate` reports here what it could not use,
what it assumed and what it could not assess, instead of dropping it. Issues are part of the
report's public contract (``Report.data_issues``).

``severity`` says how much a clinician should care:

- ``warning``: decision support may be missing or wrong because of it (an antipsychotic that
  cannot be recognised, so its drug-specific monitoring may be lost; a value that looks like
  a unit mix-up; a supplied score input that contradicts the record);
- ``info``: a limit of the evaluation worth knowing (a score not computable, results after
  the evaluation date, a convention applied to a partial date).

``strict=True`` (on :func:`cvrisk.evaluate` and the readers) turns every issue raised while
*reading* the input, and every warning, into a :class:`~cvrisk.errors.DataIssueError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cvrisk.errors import DataIssueError

IssueKind = Literal[
    "missing",  # a value, baseline or input the evaluation needed is not in the record
    "excluded",  # data deliberately left out (dated after the evaluation date)
    "not_computable",  # a score or measure that could not be computed, and why
    "unknown_drug",  # a medication cvrisk cannot place (maybe an antipsychotic)
    "not_covered",  # a medication recognised as outside the shipped protocols (lithium)
    "no_protocol",  # a patient, drug or age without an applicable protocol
    "protocol_ended",  # a schedule that ends while treatment continues, or monitoring the
    # source asks for after stopping the drug that cvrisk does not schedule
    "several_jurisdictions",  # protocols of several countries apply: advice can differ
    "invalid",  # an entry that failed validation and was skipped (lenient reading)
    "implausible",  # a value or change unusual for its unit: probably a unit or typing error
    "conflict",  # two pieces of data that disagree (same-day results, name vs code)
    "assumed",  # a documented convention applied to incomplete data (a partial birth date)
    "ignored",  # an entry deliberately not used (entered-in-error, cancelled)
    "unreadable",  # a resource or entry that could not be read at all
    "deceased",  # the patient is recorded as deceased: the evaluation is for review only
]
Severity = Literal["info", "warning"]


class DataIssue(BaseModel):
    """Missing, excluded, assumed or unusable data that limited the evaluation."""

    model_config = ConfigDict(frozen=True)

    kind: IssueKind
    message: str
    severity: Severity = Field(
        "info", description="warning: decision support may be missing or wrong because of it."
    )
    protocol: str | None = None
    rule: str | None = None
    field: str | None = Field(
        None, description="Where in the input: a JSON path, analyte, drug or model input."
    )
    resource: str | None = Field(
        None, description="The source resource, as 'Type/id' (FHIR) or a table row."
    )


def raise_if_strict(issues: Sequence[DataIssue], *, strict: bool, read: bool) -> None:
    """Under ``strict``, raise :class:`DataIssueError` for the issues strict mode refuses:
    all of them when they come from reading the input (``read=True``), else the warnings."""
    if not strict:
        return
    refused = list(issues) if read else [i for i in issues if i.severity == "warning"]
    if refused:
        raise DataIssueError(refused)


def warnings_in(issues: Iterable[DataIssue]) -> list[DataIssue]:
    """The warning-level issues, in order."""
    return [issue for issue in issues if issue.severity == "warning"]
