"""The clinician summary's content: one A4 page for the GP and the psychiatrist.

Built from a :class:`~cvrisk.summary.context.Context` into plain data (every number a
traceable :class:`~cvrisk.summary.values.Num`), which the HTML and Markdown renderers lay
out. Sections, in order: warnings, antipsychotic courses, monitoring table, alerts with who
leads them, risk scores with caveats, trend charts against the protocols' thresholds, data
issues.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cvrisk import vocab
from cvrisk.rules.messages import drug_label, phrase
from cvrisk.rules.report import TestEntry
from cvrisk.scores.registry import get_model
from cvrisk.summary.context import Context, Course
from cvrisk.summary.texts import label
from cvrisk.summary.thresholds import Threshold
from cvrisk.summary.values import Day, Num, Quote, Text
from cvrisk.units import display_unit

#: Trend charts: (key, [(analytes to plot, first that has results wins)], one series each).
#: Presentation only; the thresholds drawn come from the protocols.
CHARTS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("weight", (("bmi", "weight"),)),
    ("glycaemia", (("hba1c", "fasting_glucose", "random_glucose"),)),
    (
        "lipids",
        (("total_cholesterol",), ("ldl_cholesterol",), ("hdl_cholesterol",), ("triglycerides",)),
    ),
    ("blood_pressure", (("sbp",), ("dbp",))),
)

#: How a rule's operator is written before its threshold.
_OPERATOR = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}


@dataclass(frozen=True)
class CourseRow:
    drug: str
    formulation: str | None
    dose: Text | None
    start: Day
    stop: Day | None
    event: str
    event_label: str
    active: bool


@dataclass(frozen=True)
class ResultPart:
    """One value of a last result (a lipid profile has several)."""

    analyte: str
    label: str
    value: Num
    unit: str


@dataclass(frozen=True)
class RequestRow:
    code: Quote
    due: Day
    status_label: str
    unconfirmed: bool


@dataclass(frozen=True)
class MonitoringRow:
    test: str
    label: Quote
    status: str
    status_label: str
    due: Day
    last: Day | None
    parts: list[ResultPart]
    requests: list[RequestRow]
    unconfirmed: bool
    verifiable: bool


@dataclass(frozen=True)
class AlertRow:
    severity: str
    severity_label: str
    message: Quote
    code: Quote
    leads: list[str]
    dates: list[Day]
    source: Quote
    unconfirmed: bool
    footnote: int


@dataclass(frozen=True)
class ScoreRow:
    model: str
    title: Quote
    risk: Num | None
    per100: Num | None
    horizon: Num | None
    denominator: Num
    caveats: list[Quote]
    not_computable: Quote | None


@dataclass(frozen=True)
class Point:
    day: Day
    value: Num
    y: float


@dataclass(frozen=True)
class Series:
    analyte: str
    label: str
    unit: str
    points: list[Point]


@dataclass(frozen=True)
class ChartThreshold:
    """A threshold line (``y``) or band (``low``..``high``) with its label and rule."""

    label: Text
    code: Quote
    analyte: str
    severity: str
    unconfirmed: bool
    y: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    unit: str
    series: list[Series]
    thresholds: list[ChartThreshold]
    note: str | None


@dataclass(frozen=True)
class IssueRow:
    message: Quote
    kind: str
    warning: bool


@dataclass
class ClinicianView:
    lang: str
    title: str
    patient_id: Quote | None
    sex: str
    birth_date: Day
    age: Num
    as_of: Day
    protocols: list[Quote]
    courses: list[CourseRow]
    domain: tuple[dt.date, dt.date]
    monitoring: list[MonitoringRow]
    alerts: list[AlertRow]
    scores: list[ScoreRow]
    charts: list[Chart]
    warnings: list[IssueRow]
    infos: list[IssueRow]
    version: Quote
    unconfirmed: bool = False
    notes: list[str] = field(default_factory=list)


def clinician_view(ctx: Context) -> ClinicianView:
    """The clinician summary of one evaluated record."""
    report, lang = ctx.report, ctx.lang
    monitoring = [_monitoring_row(ctx, i, t) for i, t in enumerate(report.tests)]
    alerts = [_alert_row(ctx, i) for i in range(len(report.alerts))]
    scores, score_issues = _score_rows(ctx)
    issues = [
        IssueRow(
            Quote(issue.message, f"report.data_issues[{i}].message"),
            issue.kind,
            issue.severity == "warning",
        )
        for i, issue in enumerate(report.data_issues)
        if i not in score_issues
    ]
    courses = [_course_row(ctx, c) for c in ctx.courses]
    charts = [_chart(ctx, key, groups) for key, groups in CHARTS]
    notes = []
    if ctx.unreadable_protocols:
        notes.append(
            label("clinician.local_protocols", lang, ids=", ".join(ctx.unreadable_protocols))
        )
    unconfirmed = any(r.unconfirmed for r in monitoring) or any(a.unconfirmed for a in alerts)
    return ClinicianView(
        lang=lang,
        title=label("clinician.title", lang),
        patient_id=Quote(report.patient_id, "report.patient_id") if report.patient_id else None,
        sex=label(f"sex.{ctx.record.patient.sex}", lang),
        birth_date=Day(ctx.record.patient.birth_date, "record.patient.birth_date", lang),
        age=Num(ctx.record.age_on(report.as_of), "derived.age", lang, decimals=0),
        as_of=Day(report.as_of, "report.as_of", lang),
        protocols=[Quote(p, f"report.protocols[{i}]") for i, p in enumerate(report.protocols)],
        courses=courses,
        domain=_domain(ctx),
        monitoring=monitoring,
        alerts=alerts,
        scores=scores,
        charts=charts,
        warnings=[i for i in issues if i.warning],
        infos=[i for i in issues if not i.warning],
        version=Quote(report.cvrisk_version, "report.cvrisk_version"),
        unconfirmed=unconfirmed,
        notes=notes,
    )


def _domain(ctx: Context) -> tuple[dt.date, dt.date]:
    """The time axis shared by the timeline and the charts: from the first course or charted
    result (whichever is earlier) to the evaluation date."""
    starts = [c.prescription.start for c in ctx.courses]
    charted = {a for _, groups in CHARTS for group in groups for a in group}
    days = [r.day for a, results in ctx.results.by_analyte.items() if a in charted for r in results]
    first = min([*starts, *days], default=ctx.as_of - dt.timedelta(days=365))
    if first >= ctx.as_of:
        first = ctx.as_of - dt.timedelta(days=30)
    return first, ctx.as_of


def _course_row(ctx: Context, course: Course) -> CourseRow:
    lang, rx = ctx.lang, course.prescription
    meds = ctx.record.medications
    starts = [i for i in course.entries if meds[i].start == rx.start] or list(course.entries)
    start_ref = f"record.medications[{starts[0]}].start"
    stop = None
    if rx.stop is not None:
        stops = [i for i in course.entries if meds[i].stop == rx.stop]
        stop = Day(rx.stop, f"record.medications[{stops[0]}].stop", lang)
    latest = max(course.entries, key=lambda i: meds[i].start) if course.entries else None
    dose = None
    if latest is not None and meds[latest].dose is not None:
        given = meds[latest].dose
        assert given is not None
        dose = Text(
            "{value} {unit}",
            {
                "value": Num(given.value, f"record.medications[{latest}].dose.value", lang),
                "unit": display_unit(given.unit),
            },
        )
    formulation = None
    if rx.formulation is not None:
        entry = vocab.formulations()[rx.formulation]["label"]
        formulation = str(entry.get(lang) or entry["en"])
    return CourseRow(
        drug=drug_label(rx.drug, lang),
        formulation=formulation,
        dose=dose,
        start=Day(rx.start, start_ref, lang),
        stop=stop,
        event=course.event,
        event_label=label(f"event.{course.event}", lang),
        active=rx.active_on(ctx.as_of),
    )


def result_parts(ctx: Context, test: str, day: dt.date) -> list[ResultPart]:
    """The values of a test's analytes on ``day``, as recorded (derived BMI in its canonical
    unit), each traceable to the record or the evaluation's results."""
    parts = []
    for analyte in vocab.test_analytes(test):
        for index, result in ctx.by_day.get((analyte, day), []):
            obs = result.observation
            short = label(f"analyte.{analyte}", ctx.lang)
            if obs is not None and obs.value is not None and obs.unit is not None:
                ref = f"record.observations[{ctx.observation_index(obs)}].value"
                value = Num(obs.value, ref, ctx.lang)
                parts.append(ResultPart(analyte, short, value, display_unit(obs.unit)))
            elif obs is None and result.value is not None:
                unit = vocab.analyte(analyte).unit or ""
                ref = f"results.{analyte}[{index}]"
                num = Num(result.value, ref, ctx.lang, decimals=1)
                parts.append(ResultPart(analyte, short, num, display_unit(unit)))
    return parts


def _monitoring_row(ctx: Context, index: int, test: TestEntry) -> MonitoringRow:
    lang = ctx.lang
    base = f"report.tests[{index}]"
    requests = [
        RequestRow(
            code=Quote(f"{r.protocol}/{r.rule}", f"{base}.requested_by[{j}]#code"),
            due=Day(r.due_date, f"{base}.requested_by[{j}].due_date", lang),
            status_label=phrase(f"status.{r.status}", lang),
            unconfirmed=r.evidence_status == "unconfirmed",
        )
        for j, r in enumerate(test.requested_by)
    ]
    last = Day(test.last_result, f"{base}.last_result", lang) if test.last_result else None
    parts = result_parts(ctx, test.test, test.last_result) if test.last_result else []
    return MonitoringRow(
        test=test.test,
        label=Quote(test.label, f"{base}.label"),
        status=test.status,
        status_label=phrase(f"status.{test.status}", lang),
        due=Day(test.due_date, f"{base}.due_date", lang),
        last=last,
        parts=parts,
        requests=requests,
        unconfirmed=any(r.unconfirmed for r in requests),
        verifiable=test.verifiable,
    )


def _alert_row(ctx: Context, index: int) -> AlertRow:
    alert, lang = ctx.report.alerts[index], ctx.lang
    base = f"report.alerts[{index}]"
    seen: dict[dt.date, int] = {}
    for k, evidence in enumerate(alert.evidence):
        if evidence.date is not None and evidence.date not in seen:
            seen[evidence.date] = k
    dates = [Day(d, f"{base}.evidence[{k}].date", lang) for d, k in sorted(seen.items())]
    return AlertRow(
        severity=alert.severity,
        severity_label=phrase(f"severity.{alert.severity}", lang),
        message=Quote(alert.message, f"{base}.message"),
        code=Quote(alert.code, f"{base}.code"),
        leads=[label(f"lead.{lead.role}", lang) for lead in alert.lead],
        dates=dates,
        source=Quote(alert.source, f"{base}.source"),
        unconfirmed=alert.evidence_status == "unconfirmed",
        footnote=index + 1,
    )


def _score_rows(ctx: Context) -> tuple[list[ScoreRow], set[int]]:
    """Score rows, and the indexes of the data issues they show (not repeated below)."""
    report, lang = ctx.report, ctx.lang
    rows, shown = [], set()
    for i, score in enumerate(report.scores):
        base = f"report.scores[{i}]"
        info = get_model(score.model).info
        issue = next(
            (
                k
                for k, d in enumerate(report.data_issues)
                if d.kind == "not_computable" and d.field == score.model
            ),
            None,
        )
        if issue is not None and score.risk is None:
            shown.add(issue)
        rows.append(
            ScoreRow(
                model=score.model,
                title=Quote(info.title, f"model.{score.model}.title"),
                risk=Num(score.risk, f"{base}.risk", lang, 1, "percent")
                if score.risk is not None
                else None,
                per100=Num(score.risk, f"{base}.risk", lang, kind="per100")
                if score.risk is not None
                else None,
                horizon=Num(info.horizon_years, f"model.{score.model}.horizon_years", lang)
                if info.horizon_years
                else None,
                denominator=Num(100, "const.denominator", lang),
                caveats=[Quote(c, f"{base}.caveats[{k}]") for k, c in enumerate(score.caveats)],
                not_computable=Quote(
                    report.data_issues[issue].message, f"report.data_issues[{issue}].message"
                )
                if issue is not None and score.risk is None
                else None,
            )
        )
    return rows, shown


def threshold_label(t: Threshold, lang: str) -> Text:
    """``≥ 25 kg/m²`` / ``42 ≤ … < 48 mmol/mol``: the rule's numbers as the protocol states
    them, each traceable to the protocol file."""
    unit = display_unit(t.rule.unit or "")
    if t.rule.op == "range":
        assert t.lower is not None and t.upper is not None
        return Text(
            "≥ {lower}, ≤ {upper} {unit}"
            if t.rule.upper_inclusive
            else "≥ {lower}, < {upper} {unit}",
            {
                "lower": Num(t.lower, t.ref("lower"), lang),
                "upper": Num(t.upper, t.ref("upper"), lang),
                "unit": unit,
            },
        )
    assert t.rule.op is not None and t.value is not None
    return Text(
        "{op} {value} {unit}",
        {"op": _OPERATOR[t.rule.op], "value": Num(t.value, t.ref("value"), lang), "unit": unit},
    )


def _chart(ctx: Context, key: str, groups: tuple[tuple[str, ...], ...]) -> Chart:
    lang = ctx.lang
    series: list[Series] = []
    for group in groups:
        analyte = next((a for a in group if ctx.results.by_analyte.get(a)), None)
        if analyte is None:
            continue
        unit = vocab.analyte(analyte).unit or ""
        decimals = 1 if analyte == "bmi" else None
        points = []
        for index, result in enumerate(ctx.results.by_analyte[analyte]):
            if result.value is None:
                continue
            obs = result.observation
            if obs is not None and obs.unit == unit and obs.value is not None:
                value = Num(
                    obs.value, f"record.observations[{ctx.observation_index(obs)}].value", lang
                )
            else:  # converted or derived: the evaluation's canonical value
                value = Num(
                    result.value,
                    f"results.{analyte}[{index}]",
                    lang,
                    decimals=1 if decimals is None else decimals,
                )
            points.append(
                Point(Day(result.day, f"results.{analyte}[{index}]#day", lang), value, result.value)
            )
        series.append(
            Series(analyte, label(f"analyte.{analyte}", lang), display_unit(unit), points)
        )
    thresholds = []
    for s in series:
        for t in ctx.thresholds(s.analyte):
            thresholds.append(
                ChartThreshold(
                    label=threshold_label(t, lang),
                    code=Quote(t.code, f"protocol.{t.protocol.id}.alerts.{t.rule.id}#code"),
                    analyte=s.analyte,
                    severity=t.rule.severity,
                    unconfirmed=t.rule.status == "unconfirmed",
                    y=t.canonical_value,
                    low=t.canonical_lower,
                    high=t.canonical_upper,
                )
            )
    units = sorted({s.unit for s in series})
    note = None
    if not series:
        note = label("chart.no_results", lang)
    elif not thresholds:
        note = label("chart.no_thresholds", lang)
    return Chart(
        key=key,
        title=label(f"chart.{key}", lang),
        unit=" / ".join(units),
        series=series,
        thresholds=thresholds,
        note=note,
    )
