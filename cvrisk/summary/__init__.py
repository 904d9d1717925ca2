"""Shared summaries: the liaison record between psychiatry, primary care and the patient.

:func:`summarize` turns an evaluation into something to share:

- ``audience="clinician"``: one A4 page for the GP and the psychiatrist (antipsychotic
  course timeline, monitoring table with the protocol item behind each test, open alerts with
  who usually leads them, risk scores with their caveats, trend charts against the
  protocols' thresholds, data issues);
- ``audience="patient"``: plain language for the patient and carers (checks due and why,
  what results mean, what they can do, whom to ask; risk as a natural frequency with an icon
  array); every clinical sentence comes from ``cvrisk/data/patient_texts.toml``, each text
  naming the protocol item it restates.

Formats: ``html`` (a self-contained page, print stylesheet), ``pdf`` (the same page printed
by headless Chromium), ``fhir`` (a FHIR document Bundle) and ``markdown`` (for email).
An adapter above the core (``cvrisk[summary]``); docs/summaries.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from cvrisk.errors import OptionError

if TYPE_CHECKING:
    from cvrisk.summary.context import Context

Audience = Literal["clinician", "patient"]
Format = Literal["html", "pdf", "fhir", "markdown"]
AUDIENCES = ("clinician", "patient")
FORMATS = ("html", "pdf", "fhir", "markdown")


@overload
def summarize(
    source: Any,
    *,
    record: Any = ...,
    audience: Audience = ...,
    lang: str | None = ...,
    format: Literal["html", "markdown"] = ...,
    **evaluate_options: Any,
) -> str: ...


@overload
def summarize(
    source: Any,
    *,
    record: Any = ...,
    audience: Audience = ...,
    lang: str | None = ...,
    format: Literal["pdf"],
    **evaluate_options: Any,
) -> bytes: ...


@overload
def summarize(
    source: Any,
    *,
    record: Any = ...,
    audience: Audience = ...,
    lang: str | None = ...,
    format: Literal["fhir"],
    **evaluate_options: Any,
) -> dict[str, Any]: ...


def summarize(
    source: Any,
    *,
    record: Any = None,
    audience: Audience = "clinician",
    lang: str | None = None,
    format: Format = "html",
    **evaluate_options: Any,
) -> str | bytes | dict[str, Any]:
    """A shared summary of one patient's monitoring.

    Args:
        source: a patient record (anything :func:`cvrisk.evaluate` reads: PatientRecord,
            native JSON, FHIR, a path), evaluated here with ``evaluate_options``; or a
            :class:`~cvrisk.rules.report.Report` already evaluated, with ``record=``.
        record: with a Report, the record it was evaluated from (the courses and dated
            results the report does not repeat).
        audience: ``clinician`` (GP and psychiatrist) or ``patient``.
        lang: ``en`` or ``fr`` (default ``en``; with a Report, the report's language).
        format: ``html`` (str), ``pdf`` (bytes; needs Chromium and Playwright), ``fhir``
            (a FHIR R4 document Bundle as a dict), ``markdown`` (str).
        **evaluate_options: as :func:`cvrisk.evaluate` takes them (``as_of``,
            ``jurisdiction``, ``protocols``, ``scores``, ``score_inputs``,
            ``record_complete``, ``on_invalid``, ``strict``).

    Raises:
        OptionError: a bad audience, format or option, or a Report without its record.
        RecordError, ProtocolError, DataIssueError: from the evaluation.
    """
    if audience not in AUDIENCES:
        raise OptionError(f"audience={audience!r}: use one of {', '.join(AUDIENCES)}")
    if format not in FORMATS:
        raise OptionError(f"format={format!r}: use one of {', '.join(FORMATS)}")
    from cvrisk.summary.inputs import summary_context

    ctx = summary_context(source, record=record, lang=lang, options=evaluate_options)
    return render(ctx, audience, format)


def render(ctx: Context, audience: Audience, format: Format) -> str | bytes | dict[str, Any]:
    """Render an evaluated context (see :func:`summarize`)."""
    if format == "fhir":
        from cvrisk.summary.document import summary_document

        return summary_document(ctx, audience)
    if format == "markdown":
        from cvrisk.summary.markdown import clinician_markdown, patient_markdown

        return clinician_markdown(ctx) if audience == "clinician" else patient_markdown(ctx)
    page = render_html(ctx, audience)
    if format == "pdf":
        from cvrisk.summary.pdf import html_to_pdf

        return html_to_pdf(page)
    return page


def render_html(ctx: Context, audience: Audience) -> str:
    """The HTML page of one audience."""
    from cvrisk.summary.html import clinician_html, patient_html

    if audience == "clinician":
        from cvrisk.summary.clinician import clinician_view

        return clinician_html(clinician_view(ctx))
    from cvrisk.summary.patient import patient_view

    return patient_html(patient_view(ctx))


__all__ = ["AUDIENCES", "FORMATS", "render", "render_html", "summarize"]
