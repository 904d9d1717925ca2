"""The patient summary's content: plain language, short sentences, in English or French.

Every clinical statement comes from ``cvrisk/data/patient_texts.toml`` (each text naming the
protocol item it restates) with its numbers filled from the report and the protocols; when
no text exists for an item, the summary says to ask the care team rather than invent one.
Risk is shown as a natural frequency ("about 6 in 100 people like you") beside an icon array
of 100 people, the formats risk-communication research recommends (docs/summaries.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cvrisk.rules.messages import drug_label
from cvrisk.rules.report import Alert, TestEntry
from cvrisk.scores.registry import get_model
from cvrisk.summary.clinician import ResultPart, result_parts
from cvrisk.summary.context import Context
from cvrisk.summary.texts import label, page_text, patient_entry, patient_text
from cvrisk.summary.thresholds import Threshold
from cvrisk.summary.values import Day, Num, Quote, Text


@dataclass(frozen=True)
class PatientCheck:
    test: str
    name: str
    why: Text | None
    when: Text
    status: str
    sources: list[str]


@dataclass(frozen=True)
class PatientFinding:
    """What one alert means, in plain words, and who can help."""

    name: str
    meaning: Text
    team: Text | None
    you: Text | None
    who: list[str]
    severity: str
    sources: list[str]


@dataclass(frozen=True)
class PatientResult:
    """A last result that raised no alert, and what the guideline says about it."""

    name: str
    value: Text
    within: bool


@dataclass(frozen=True)
class PatientRisk:
    title: str
    sentence: Text
    count: int | None
    caveats: list[Text]
    sources: list[str]


@dataclass
class PatientView:
    lang: str
    title: str
    intro: Text
    medicines: list[Text]
    due_now: list[PatientCheck]
    coming: list[PatientCheck]
    maybe: list[PatientCheck]
    findings: list[PatientFinding]
    results: list[PatientResult]
    risks: list[PatientRisk]
    you_can: list[Text]
    ask: list[Text]
    closing: str
    version: Quote
    patient_id: Quote | None
    warning: str | None = None
    denominator: int = 100
    sources: list[str] = field(default_factory=list)


def patient_view(ctx: Context) -> PatientView:
    """The patient summary of one evaluated record."""
    report, lang = ctx.report, ctx.lang
    checks = [_check(ctx, i, t) for i, t in enumerate(report.tests) if t.verifiable]
    findings = [_finding(ctx, i, a) for i, a in enumerate(report.alerts)]
    you_can: list[Text] = []
    for finding in findings:
        if finding.you is not None and str(finding.you) not in {str(y) for y in you_can}:
            you_can.append(finding.you)
    return PatientView(
        lang=lang,
        title=page_text("title", lang),
        intro=Text(
            page_text("intro", lang), {"date": Day(report.as_of, "report.as_of", lang, "long")}
        ),
        medicines=_medicines(ctx),
        due_now=[c for c in checks if c.status in ("overdue", "due")],
        coming=[c for c in checks if c.status == "upcoming"],
        maybe=[c for c in checks if c.status == "conditional"],
        findings=findings,
        results=_quiet_results(ctx),
        risks=[r for i in range(len(report.scores)) if (r := _risk(ctx, i)) is not None],
        you_can=you_can,
        ask=_ask(ctx),
        closing=page_text("closing", lang),
        version=Quote(report.cvrisk_version, "report.cvrisk_version"),
        patient_id=Quote(report.patient_id, "report.patient_id") if report.patient_id else None,
        warning=page_text("warnings", lang)
        if any(i.severity == "warning" for i in report.data_issues)
        else None,
    )


def _drugs_text(drugs: list[str], lang: str) -> str:
    names = [drug_label(d, lang) for d in drugs]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {label('word.and', lang)} {names[-1]}"


def _medicines(ctx: Context) -> list[Text]:
    lang = ctx.lang
    out = []
    for course in ctx.courses:
        rx = course.prescription
        if not rx.active_on(ctx.as_of):
            continue
        index = next(
            (i for i in course.entries if ctx.record.medications[i].start == rx.start),
            course.entries[0] if course.entries else None,
        )
        ref = f"record.medications[{index}].start"
        out.append(
            Text(
                page_text("medicine_since", lang),
                {
                    "drug": _capital(drug_label(rx.drug, lang)),
                    "date": Day(rx.start, ref, lang, "long"),
                },
            )
        )
    return out


def _test_drugs(ctx: Context, test: TestEntry) -> list[str]:
    """The antipsychotics a test is asked for: those whose start anchored the request's
    episode for a baseline, else every active one its protocol covers."""
    request = test.requested_by[0] if test.requested_by else test.request()
    episode = ctx.episodes.get(request.protocol)
    if episode is None:
        return []
    if request.occurrence == "baseline":
        return list(episode.started_at(episode.anchor))
    return list(episode.drugs)


def _check(ctx: Context, index: int, test: TestEntry) -> PatientCheck:
    lang = ctx.lang
    base = f"report.tests[{index}]"
    entry = patient_entry("test", test.test) or {}
    name = patient_text("test", test.test, "name", lang) or test.label
    why_template = patient_text("test", test.test, "why", lang)
    drugs = _test_drugs(ctx, test)
    why = None
    if why_template is not None:
        why = Text(
            why_template, {"drugs": _drugs_text(drugs, lang) or label("word.medicine", lang)}
        )
    due = Day(test.due_date, f"{base}.due_date", lang, "long")
    when = Text(page_text(f"when_{test.status}", lang), {"date": due})
    sources = list(entry.get("source", [])) if isinstance(entry.get("source"), list) else []
    return PatientCheck(test.test, name, why, when, test.status, sources)


def _alert_threshold_values(ctx: Context, alert: Alert) -> dict[str, Num]:
    """The alert rule's own numbers ({threshold}, {lower}, {upper}) from the protocol file."""
    protocol = next((p for p in ctx.protocols if p.id == alert.protocol), None)
    rule = next((r for r in protocol.alerts if r.id == alert.rule), None) if protocol else None
    if rule is None:
        return {}
    base = f"protocol.{alert.protocol}.alerts.{alert.rule}"
    values = {}
    for name, field_name in (("threshold", "value"), ("lower", "lower"), ("upper", "upper")):
        number = getattr(rule, field_name)
        if number is not None:
            values[name] = Num(number, f"{base}.{field_name}", ctx.lang)
    return values


def _finding(ctx: Context, index: int, alert: Alert) -> PatientFinding:
    lang = ctx.lang
    base = f"report.alerts[{index}]"
    values: dict[str, Num | str | Day | Quote] = dict(_alert_threshold_values(ctx, alert))
    latest = next((k for k, e in enumerate(alert.evidence) if e.value is not None), None)
    if latest is not None:
        evidence = alert.evidence[latest]
        assert evidence.value is not None
        decimals = 1 if evidence.role.endswith("(derived)") else None
        values["value"] = Num(evidence.value, f"{base}.evidence[{latest}].value", lang, decimals)
        values["unit"] = _unit(evidence.unit)
    entry = patient_entry("alert", alert.code)
    name = (patient_text("alert", alert.code, "name", lang) if entry else None) or page_text(
        "finding", lang
    )

    def text(part: str) -> Text | None:
        template = patient_text("alert", alert.code, part, lang)
        return Text(template, values) if template is not None else None

    meaning = text("meaning") or Text(page_text("no_text", lang))
    who = [
        t for lead in alert.lead if (t := patient_text("lead", lead.role, "text", lang)) is not None
    ]
    sources = [alert.code] if entry else []
    sources.extend(f"lead:{lead.role}" for lead in alert.lead)
    return PatientFinding(
        name=name,
        meaning=meaning,
        team=text("team"),
        you=text("you"),
        who=who,
        severity=alert.severity,
        sources=sources,
    )


def _unit(unit: str | None) -> str:
    from cvrisk.units import display_unit

    return display_unit(unit) if unit else ""


def _quiet_results(ctx: Context) -> list[PatientResult]:
    """Last results that raised no alert: within the applicable thresholds, or without any
    threshold in the evaluated protocols (then: ask the care team)."""
    lang, report = ctx.lang, ctx.report
    alerted = {e.analyte for a in report.alerts for e in a.evidence}
    out = []
    for index, test in enumerate(report.tests):
        if test.last_result is None:
            continue
        parts: list[ResultPart] = result_parts(ctx, test.test, test.last_result)
        shown = [p for p in parts if p.analyte not in alerted]
        if not shown or len(shown) < len(parts):
            continue
        limits: list[Threshold] = [t for p in shown for t in ctx.thresholds(p.analyte)]
        name = patient_text("test", test.test, "name", lang) or test.label
        pieces = " · ".join(
            (f"{_plain(p.analyte, p.label, lang)} " if len(shown) > 1 else "")
            + f"{{v{k}}} {p.unit}"
            for k, p in enumerate(shown)
        )
        values: dict[str, Num | Day | str | Quote] = {f"v{k}": p.value for k, p in enumerate(shown)}
        values["date"] = Day(test.last_result, f"report.tests[{index}].last_result", lang, "long")
        value = Text(page_text("result_value", lang).replace("{values}", pieces), values)
        out.append(PatientResult(name, value, bool(limits)))
    return out


def _risk(ctx: Context, index: int) -> PatientRisk | None:
    lang, score = ctx.lang, ctx.report.scores[index]
    base = f"report.scores[{index}]"
    info = get_model(score.model).info
    outcome = patient_text("score", score.model, "outcome", lang)
    title = page_text("risk_title", lang)
    sources = [f"model:{score.model}"]
    if score.risk is None:
        return PatientRisk(title, Text(page_text("risk_missing", lang)), None, [], sources)
    if outcome is None or not info.horizon_years:
        return PatientRisk(title, Text(page_text("risk_no_text", lang)), None, [], sources)
    sentence = Text(
        page_text("risk_sentence", lang),
        {
            "n": Num(score.risk, f"{base}.risk", lang, kind="per100"),
            "denominator": Num(100, "const.denominator", lang),
            "outcome": outcome,
            "years": Num(info.horizon_years, f"model.{score.model}.horizon_years", lang),
        },
    )
    caveats = []
    if not info.smi_term:
        caveats.append(Text(page_text("risk_smi", lang)))
        sources.append(f"model:{score.model}#smi_term")
    count = Num(score.risk, f"{base}.risk", lang, kind="per100")
    return PatientRisk(title, sentence, int(count.text), caveats, sources)


def _ask(ctx: Context) -> list[Text]:
    lang = ctx.lang
    roles = []
    for alert in ctx.report.alerts:
        for lead in alert.lead:
            if lead.role not in roles:
                roles.append(lead.role)
    texts = [
        Text(t) for role in roles if (t := patient_text("lead", role, "ask", lang)) is not None
    ]
    return texts or [Text(page_text("ask_default", lang))]


def _capital(text: str) -> str:
    """``clozapine`` -> ``Clozapine`` (a name opening a sentence)."""
    return text[:1].upper() + text[1:]


def _plain(analyte: str, short: str, lang: str) -> str:
    """An analyte's plain name for patients (its short name when no plainer one is set)."""
    from cvrisk.data import load_data

    entry = load_data("summary_labels.toml").get("analyte_plain", {}).get(analyte)
    return str(entry.get(lang) or entry["en"]) if entry else short
