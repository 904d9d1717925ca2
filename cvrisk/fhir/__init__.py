"""FHIR R4 in and out: an adapter above the core.

- :func:`read_fhir`: FHIR R4 resources (a Bundle, a list of resources, Bulk Data NDJSON) to a
  :class:`~cvrisk.record.PatientRecord` and its reading issues. ``cvrisk`` registers it with
  :mod:`cvrisk.sources`, so :func:`cvrisk.evaluate`, :func:`cvrisk.scores.score_record` and
  ``cvrisk evaluate bundle.json`` accept FHIR directly.
- :func:`report_resources` / :func:`report_bundle`: a :class:`~cvrisk.rules.report.Report`
  as FHIR resources: a RiskAssessment per computed score and a DetectedIssue per alert, in a
  ``collection`` Bundle (``cvrisk evaluate --format fhir``).

How each FHIR element is read, the conventions and the data issues: docs/fhir.md. Only
pydantic is needed (no FHIR library): the models of :mod:`cvrisk.fhir.model` read just the
elements cvrisk uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cvrisk.fhir.reader import read_fhir

if TYPE_CHECKING:
    from cvrisk.rules.report import Report


def report_resources(report: Report) -> list[dict[str, Any]]:
    """The report's RiskAssessments and DetectedIssues (see :mod:`cvrisk.fhir.export`)."""
    from cvrisk.fhir.export import report_resources as _resources

    return _resources(report)


def report_bundle(report: Report) -> dict[str, Any]:
    """The report as a FHIR ``collection`` Bundle (see :mod:`cvrisk.fhir.export`)."""
    from cvrisk.fhir.export import report_bundle as _bundle

    return _bundle(report)


__all__ = ["read_fhir", "report_bundle", "report_resources"]
