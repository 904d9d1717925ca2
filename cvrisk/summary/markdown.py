"""Markdown summaries, for email and messaging: the same content as the HTML pages.

Built from the same views (:mod:`cvrisk.summary.clinician`, :mod:`cvrisk.summary.patient`),
so the numbers are the same; charts become the latest values with the thresholds drawn.
"""

from __future__ import annotations

from collections.abc import Iterable

from cvrisk.summary.clinician import ClinicianView, clinician_view
from cvrisk.summary.context import Context
from cvrisk.summary.patient import PatientCheck, patient_view
from cvrisk.summary.texts import label, page_text


def _cell(text: object) -> str:
    """A table cell: pipes escaped, on one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def clinician_markdown(ctx: Context) -> str:
    """The clinician summary as Markdown."""
    return _clinician(clinician_view(ctx))


def _clinician(v: ClinicianView) -> str:
    lang = v.lang
    colon = label("punct.colon", lang)
    out = [f"# {v.title}", "", f"_{label('clinician.subtitle', lang)}_", ""]
    patient = v.patient_id.text if v.patient_id else label("clinician.no_id", lang)
    out.append(
        f"**{label('clinician.patient', lang)}{colon}** {patient} · {v.sex}, {v.age} "
        f"{label('clinician.years', lang)} ({label('clinician.born', lang)} {v.birth_date}) · "
        f"**{label('clinician.as_of', lang)}{colon}** {v.as_of} · "
        f"**{label('clinician.protocols', lang)}{colon}** "
        + (", ".join(str(p) for p in v.protocols) or "—")
    )
    if v.warnings:
        out += ["", f"> **⚠ {label('clinician.warnings', lang)}**", ">"]
        out += [f"> - {w.message}" for w in v.warnings]
    out += ["", f"## {label('clinician.courses', lang)}", ""]
    for c in v.courses:
        stop = str(c.stop) if c.stop else f"_{label('timeline.ongoing', lang)}_"
        extra = f" ({c.formulation})" if c.formulation else ""
        dose = f" {c.dose}" if c.dose else ""
        event = f" — {c.event_label}" if c.event != "start" else ""
        out.append(f"- **{c.drug}**{extra}{dose}{colon} {c.start} → {stop}{event}")
    if not v.courses:
        out.append(label("clinician.no_courses", lang))
    out += ["", f"## {label('clinician.monitoring', lang)}", ""]
    rows = []
    for r in v.monitoring:
        last = " · ".join(f"{p.label} {p.value} {p.unit}" for p in r.parts)
        last = f"{last} ({r.last})" if r.last and last else str(r.last or "—")
        items = ", ".join(f"{q.code}{'*' if q.unconfirmed else ''}" for q in r.requests)
        sign = label(f"status_sign.{r.status}", lang)
        rows.append([r.label, last, f"{sign} {r.status_label}", r.due, items])
    heads = ("col_test", "col_last", "col_status", "col_due", "col_item")
    out += _table([label(f"clinician.{h}", lang) for h in heads], rows)
    out += ["", f"## {label('clinician.alerts', lang)}", ""]
    for a in v.alerts:
        leads = " · ".join(a.leads)
        lead = f" — {label('clinician.lead', lang)} {leads}" if leads else ""
        dates = ", ".join(str(d) for d in a.dates)
        out.append(
            f"{a.footnote}. **{a.severity_label}**{colon} {a.message} "
            f"(`{a.code}`{'*' if a.unconfirmed else ''}{', ' + dates if dates else ''}){lead}"
        )
    if not v.alerts:
        out.append(label("clinician.no_alerts", lang))
    out += ["", f"## {label('clinician.scores', lang)}", ""]
    for s in v.scores:
        if s.risk is not None:
            years = (
                f" ({label('clinician.over_years', lang)} {s.horizon} "
                f"{label('clinician.years', lang)})"
                if s.horizon
                else ""
            )
            out.append(
                f"- **{s.title}**{colon} {s.risk} %{years} — "
                f"{label('clinician.natural_frequency', lang)} {s.per100} / {s.denominator}"
            )
        else:
            out.append(f"- **{s.title}**{colon} {label('clinician.not_computable', lang)}")
            if s.not_computable:
                out.append(f"  - {s.not_computable}")
        out += [f"  - {c}" for c in s.caveats]
    out += ["", f"## {label('clinician.trends', lang)}", ""]
    for chart in v.charts:
        pieces = []
        for series in chart.series:
            if series.points:
                point = series.points[-1]
                pieces.append(f"{series.label} {point.value} {series.unit} ({point.day})")
        limits = ", ".join(f"{t.label} (`{t.code}`)" for t in chart.thresholds)
        line = f"- **{chart.title}**{colon} " + ("; ".join(pieces) or (chart.note or ""))
        if limits:
            line += f" — {label('chart.threshold', lang)} {limits}"
        out.append(line)
    if v.infos or v.notes:
        out += ["", f"## {label('clinician.issues', lang)}", ""]
        out += [f"- {i.message}" for i in v.infos] + [f"- {n}" for n in v.notes]
    out += ["", "---", ""]
    out += [f"{a.footnote}. `{a.code}`{colon} {a.source}" for a in v.alerts]
    out += [""]
    if v.unconfirmed:
        out.append(label("clinician.unconfirmed_note", lang))
    out.append(
        f"{label('clinician.disclaimer', lang)} {label('clinician.generated', lang)} "
        f"cvrisk {v.version}."
    )
    return "\n".join(out) + "\n"


def patient_markdown(ctx: Context) -> str:
    """The patient summary as Markdown."""
    v = patient_view(ctx)
    lang = v.lang
    colon = label("punct.colon", lang)
    out = [f"# {v.title}", "", str(v.intro), ""]
    if v.warning:
        out += [f"> **!** {v.warning}", ""]
    out += [f"## {page_text('h_medicines', lang)}", ""]
    out += [f"- {m}" for m in v.medicines] or [page_text("no_medicine", lang)]

    def checks(items: list[PatientCheck]) -> list[str]:
        lines = []
        for c in items:
            lines.append(f"- **{c.name}** — {c.when}" + (f" {c.why}" if c.why else ""))
        return lines

    out += ["", f"## {page_text('h_due_now', lang)}", ""]
    out += checks(v.due_now) or [page_text("none_due", lang)]
    if v.findings:
        out += ["", f"## {page_text('h_findings', lang)}", ""]
        for f in v.findings:
            out += [f"### {f.name}", "", str(f.meaning)]
            if f.team:
                out.append(f"**{page_text('what_team', lang)}{colon}** {f.team}")
            if f.who:
                out.append(f"**{page_text('who', lang)}{colon}** " + " ".join(f.who))
            out.append("")
    if v.you_can:
        out += [f"## {page_text('h_you_can', lang)}", ""] + [f"- {y}" for y in v.you_can]
    if v.risks:
        out += ["", f"## {page_text('h_risk', lang)}", ""]
        for r in v.risks:
            rest = f" {page_text('risk_rest', lang)}" if r.count is not None else ""
            out.append(f"{r.sentence}{rest}")
            out += [f"_{c}_" for c in r.caveats]
    if v.coming or v.maybe:
        out += ["", f"## {page_text('h_coming', lang)}", "", *checks(v.coming)]
        if v.maybe:
            out += ["", f"### {page_text('h_maybe', lang)}", "", *checks(v.maybe)]
    if v.results:
        out += ["", f"## {page_text('h_results', lang)}", ""]
        for within in (True, False):
            group = [r for r in v.results if r.within is within]
            if group:
                out.append(page_text("results_within" if within else "results_ask", lang))
                out += [f"- **{r.name}**{colon} {r.value}" for r in group]
                out.append("")
    out += ["", f"## {page_text('h_ask', lang)}", ""] + [f"- {a}" for a in v.ask]
    out += ["", "---", "", v.closing, f"_{page_text('made_by', lang)} {v.version}._"]
    return "\n".join(out) + "\n"
