"""What a summary is made from: a report *and* its record, however the caller gives them.

- a record (any source :func:`cvrisk.sources.read_record` reads: a PatientRecord, native JSON,
  FHIR, a path, ``-``): it is read once and evaluated with the caller's options, and the
  reading issues are kept in the report's data issues, as :func:`cvrisk.evaluate` keeps them;
- a :class:`~cvrisk.rules.report.Report` with ``record=`` (the record it was evaluated from):
  the report is used as it is; evaluation options are refused (they would be ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cvrisk.errors import OptionError
from cvrisk.record import PatientRecord
from cvrisk.rules.messages import check_lang
from cvrisk.rules.report import Report
from cvrisk.sources import read_record
from cvrisk.summary.context import Context

#: The keyword arguments of :func:`cvrisk.evaluate` a summary passes on (all but ``lang``,
#: which the summary takes itself).
EVALUATE_OPTIONS = (
    "as_of",
    "protocols",
    "jurisdiction",
    "scores",
    "score_inputs",
    "record_complete",
    "on_invalid",
    "strict",
)


def summary_context(
    source: Any,
    *,
    record: Any = None,
    lang: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Context:
    """The report and record a summary shows (see the module docstring).

    Raises:
        OptionError: an unknown option; options given with a Report; a Report without its
            record, or whose patient is not the record's; ``lang`` unlike the report's.
        RecordError, ProtocolError, DataIssueError: as :func:`cvrisk.evaluate` raises them.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(EVALUATE_OPTIONS))
    if unknown:
        raise OptionError(
            f"unknown summary option(s) {', '.join(unknown)}: the evaluation options are "
            f"{', '.join(EVALUATE_OPTIONS)}"
        )
    if isinstance(source, Report):
        return _from_report(source, record, lang, options)
    if record is not None:
        raise OptionError(
            "record= goes with a Report: to summarise a record, pass the record itself "
            "(cvrisk.summarize(record, ...))"
        )
    from cvrisk.rules.evaluate import evaluate

    chosen = check_lang(lang or "en")
    strict = options.get("strict", False)
    read = read_record(source, on_invalid=options.get("on_invalid", "raise"), strict=strict)
    report = evaluate(read.record, lang=chosen, **options)
    if read.issues:  # evaluate() read a PatientRecord: put back what reading the source met
        report = report.model_copy(update={"data_issues": [*read.issues, *report.data_issues]})
    return Context(report=report, record=read.record, lang=chosen)


def _from_report(
    report: Report, record: Any, lang: str | None, options: Mapping[str, Any]
) -> Context:
    if options:
        raise OptionError(
            f"{', '.join(sorted(options))}: evaluation options do not apply to a Report that "
            "is already evaluated; pass the record instead to evaluate it with them"
        )
    if record is None:
        raise OptionError(
            "a Report alone lacks the antipsychotic courses and dated results a summary "
            "shows: pass record= (the record it was evaluated from)"
        )
    if lang is not None and check_lang(lang) != report.lang:
        raise OptionError(
            f"lang={lang!r}, but the report's messages are in {report.lang!r}: evaluate it "
            f"again with lang={lang!r}, or leave lang out"
        )
    patient = record if isinstance(record, PatientRecord) else read_record(record).record
    if patient.patient.id != report.patient_id:
        raise OptionError(
            f"record= is patient {patient.patient.id!r} but the report is for "
            f"{report.patient_id!r}: pass the record the report was evaluated from"
        )
    return Context(report=report, record=patient, lang=report.lang)
