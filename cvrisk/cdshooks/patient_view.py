"""A :class:`~cvrisk.rules.report.Report` as CDS Hooks cards (the ``patient-view`` answer).

Cards, most urgent first:

- one card per **alert**: the protocol's message, the evidence (values and dates), the rule
  and its source with its evidence status; a suggestion drafts the repeat test the alert asks
  for (``recheck``);
- one card per **protocol with tests to do** (overdue, due, if indicated; or, when nothing is
  due, its next check): a table of the tests with due dates, windows, last results and the
  reason; one suggestion per orderable test drafts its ServiceRequests (a test asked for by
  several protocols is offered once, on the most urgent card);
- one card per **risk score** (value, or why it is not computable, with caveats);
- one card for the **data issues** (warning when decision support may be incomplete).

Every card cites its source: the protocol (label, URL, rule and item source) or the score's
publication. Nothing here decides anything clinical: statuses, severities, messages and
sources are the report's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cvrisk.cdshooks import markdown as md
from cvrisk.cdshooks.common import check_same_lang, evidence_table, finish_card, rule_line
from cvrisk.cdshooks.model import Card, Indicator, Source, Suggestion, fit_summary, indicator_rank
from cvrisk.cdshooks.options import CardOptions
from cvrisk.cdshooks.orders import order_suggestion
from cvrisk.cdshooks.texts import day as show_day
from cvrisk.cdshooks.texts import (
    model_citation,
    model_info,
    percent,
    protocol_citation,
    text,
    topic,
    word,
)
from cvrisk.issues import DataIssue
from cvrisk.rules.messages import phrase
from cvrisk.rules.report import Alert, Report, ScoreEntry, TestEntry

ACTIONABLE = ("overdue", "due", "conditional")


def patient_view_cards(report: Report, options: CardOptions | None = None) -> list[Card]:
    """The cards for one evaluated record, most urgent first (see the module docstring).

    ``options.patient`` defaults to ``Patient/<report.patient_id>``.
    """
    options = (options or CardOptions(lang=report.lang)).with_patient(report.patient_id)
    check_same_lang(options.lang, report.lang)
    offered: set[str] = set()
    alerts = [alert_card(alert, report.tests, options, offered) for alert in report.alerts]
    tests = _test_cards(report.tests, options, offered)
    scores = [_score_card(entry, options) for entry in report.scores]
    issues = data_issues_card(report.data_issues, options)
    cards = [*alerts, *tests, *scores, *([issues] if issues else [])]
    # Stable sort: most urgent first, then the order above (alerts, tests, scores, issues).
    return sorted(cards, key=lambda card: -indicator_rank(card.indicator))


def alert_summary(message: str) -> str:
    """A card summary from an alert message: the finding before its first ': ' (the action
    follows), or the first sentence when that head is a bare label (``Red result``)."""
    head, sep, _ = message.partition(": ")
    if sep and len(head.split()) >= 3 and ". " not in head:  # not a sentence and a half
        return fit_summary(head)
    sentence = message.split(". ", 1)[0].rstrip(".")
    return fit_summary(sentence)


def alert_card(
    alert: Alert, tests: Sequence[TestEntry], options: CardOptions, offered: set[str]
) -> Card:
    """The card of one alert: its message, evidence and rule, with draft orders for the
    rechecks it asks for (``offered`` collects the tests so offered)."""
    lang = options.lang
    citation = protocol_citation(alert.protocol, lang)
    rechecks = [
        t
        for t in tests
        if t.protocol == alert.protocol
        and t.rule == alert.rule
        and t.occurrence.startswith("recheck")
    ]
    suggestions = []
    for entry in rechecks:
        suggestion = order_suggestion(
            entry.test,
            entry.label,
            options=options,
            due=entry.due_date,
            reason=entry.reason,
            rule=alert.code,
            source=entry.source,
            recommended=True,
            title=text("alert.recheck_label", lang, test=entry.label),
        )
        if suggestion is not None:
            suggestions.append(suggestion)
            offered.add(entry.test)
    detail = md.join(
        alert.message,
        evidence_table(alert.evidence, lang),
        rule_line(alert.code, alert.source, alert.evidence_status, lang),
    )
    return finish_card(
        kind=f"alert:{alert.code}",
        summary=alert_summary(alert.message),
        detail=detail,
        indicator=alert.severity,
        citation_source=citation.source("alert", lang, options.codes_base),
        options=options,
        suggestions=suggestions,
        links=citation.links("protocol_page", lang),
    )


def _test_cards(tests: Sequence[TestEntry], options: CardOptions, offered: set[str]) -> list[Card]:
    by_protocol: dict[str, list[TestEntry]] = {}
    for entry in tests:
        if not entry.occurrence.startswith("recheck"):
            by_protocol.setdefault(entry.protocol, []).append(entry)
    # Protocols with overdue tests first, so a test asked for twice is offered where urgent.
    order = sorted(
        by_protocol,
        key=lambda p: (not any(t.status == "overdue" for t in by_protocol[p]), p),
    )
    return [
        card for p in order if (card := _protocol_tests_card(p, by_protocol[p], options, offered))
    ]


def _labels(entries: Iterable[TestEntry]) -> str:
    seen: list[str] = []
    for entry in entries:
        if entry.label not in seen:
            seen.append(entry.label)
    return ", ".join(seen)


def _tests_summary(label: str, entries: Sequence[TestEntry], lang: str) -> str:
    overdue = [t for t in entries if t.status == "overdue"]
    due = [t for t in entries if t.status == "due"]
    conditional = [t for t in entries if t.status == "conditional"]
    if overdue and due:
        return text(
            "tests.summary_overdue_due",
            lang,
            label=label,
            overdue=_labels(overdue),
            due=_labels(due),
        )
    if overdue:
        return text("tests.summary_overdue", lang, label=label, tests=_labels(overdue))
    if due:
        return text("tests.summary_due", lang, label=label, tests=_labels(due))
    if conditional:
        return text("tests.summary_conditional", lang, label=label, tests=_labels(conditional))
    first = min(entries, key=lambda t: t.due_date)
    return text(
        "tests.summary_upcoming", lang, label=label, test=first.label, date=show_day(first.due_date)
    )


def _protocol_tests_card(
    protocol_id: str, entries: list[TestEntry], options: CardOptions, offered: set[str]
) -> Card | None:
    lang = options.lang
    citation = protocol_citation(protocol_id, lang)
    actionable = [t for t in entries if t.status in ACTIONABLE]
    shown = actionable or entries
    rows = [
        [
            phrase(f"status.{t.status}", lang),
            t.label,
            show_day(t.due_date),
            f"{show_day(t.window.start)} – {show_day(t.window.end)}",
            show_day(t.last_result),
            t.reason,
        ]
        for t in shown
    ]
    header = [word(k, lang) for k in ("status", "test", "due", "window", "last", "why")]
    suggestions: list[Suggestion] = []
    notes: list[str] = []
    assessments = [t for t in actionable if not t.verifiable]
    for entry in actionable:
        if not entry.verifiable:
            continue
        if entry.test in offered:
            notes.append(text("tests.already_suggested", lang, test=entry.label))
            continue
        suggestion = order_suggestion(
            entry.test,
            entry.label,
            options=options,
            due=entry.due_date,
            reason=entry.reason,
            rule=f"{entry.protocol}/{entry.rule}",
            source=entry.source,
            recommended=entry.status != "conditional",
        )
        if suggestion is not None:
            suggestions.append(suggestion)
            offered.add(entry.test)
    if actionable and options.patient is None:
        notes.append(text("tests.no_patient", lang))
    if assessments:
        notes.append(text("tests.assessments", lang, tests=_labels(assessments)))
    sources = "\n".join(
        f"- {rule_line(f'{t.protocol}/{t.rule}', t.source, t.evidence_status, lang)}"
        + (f" — {md.cell(t.note)}" if t.note else "")
        for t in shown
    )
    indicator: Indicator = "warning" if any(t.status == "overdue" for t in shown) else "info"
    return finish_card(
        kind=f"tests:{protocol_id}",
        summary=_tests_summary(citation.label, shown, lang),
        detail=md.join(md.table(header, rows), " ".join(notes), sources),
        indicator=indicator,
        citation_source=citation.source("monitoring", lang, options.codes_base),
        options=options,
        suggestions=suggestions,
        links=citation.links("protocol_page", lang),
        overridable=bool(actionable),
    )


def _score_card(entry: ScoreEntry, options: CardOptions) -> Card:
    lang = options.lang
    citation = model_citation(entry.model)
    info = model_info(entry.model)
    name = info.title if info else entry.model
    short = entry.model.upper()
    if entry.risk is not None:
        horizon = info.horizon_years if info else None
        summary = (
            text(
                "score.summary",
                lang,
                model=short,
                horizon=horizon,
                percent=percent(entry.risk, lang),
            )
            if horizon
            else f"{short}: "
            + text("score.horizon_unknown", lang, percent=percent(entry.risk, lang))
        )
    else:
        summary = text("score.not_computable", lang, model=short, count=len(entry.missing))
    parts = [f"**{name}**"]
    if entry.missing:
        parts.append(text("score.missing", lang, missing=", ".join(entry.missing)))
    if entry.caveats:
        parts.append(
            f"{text('score.caveats', lang)}:\n"
            + "\n".join(f"- {md.cell(c)}" for c in entry.caveats)
        )
    if info is not None:
        parts.append(f"**{word('source', lang)}**: {md.cell(info.source)}")
    return finish_card(
        kind=f"score:{entry.model}",
        summary=summary,
        detail=md.join(*parts),
        indicator="info",
        citation_source=citation.source("risk-score", lang, options.codes_base),
        options=options,
        links=citation.links("model_page", lang),
        overridable=False,
    )


#: Data issues listed on the card (warnings first); the rest are counted. A record with
#: thousands of unreadable entries must not give a card no one can read (or a huge response).
ISSUES_SHOWN = 30


def data_issues_card(issues: Sequence[DataIssue], options: CardOptions) -> Card | None:
    """One card listing data issues (warnings first); None when there are none, or only
    informational ones and ``options.info_issues`` is off."""
    lang = options.lang
    warnings = [i for i in issues if i.severity == "warning"]
    if not issues or (not warnings and not options.info_issues):
        return None
    lines = []
    ordered = sorted(issues, key=lambda i: i.severity != "warning")
    for issue in ordered[:ISSUES_SHOWN]:
        where = issue.resource or issue.field
        mark = "**⚠**" if issue.severity == "warning" else "ℹ"
        lines.append(
            f"- {mark} {md.cell(issue.kind)}{f' ({md.code(where)})' if where else ''}: "
            f"{md.cell(issue.message)}"
        )
    hidden = ordered[ISSUES_SHOWN:]
    if hidden:
        hidden_warnings = sum(1 for i in hidden if i.severity == "warning")
        lines.append(text("issues.more", lang, count=len(hidden), warnings=hidden_warnings))
    summary = (
        text("issues.summary_warning", lang, count=len(warnings), total=len(issues))
        if warnings
        else text("issues.summary_info", lang, count=len(issues))
    )
    source = Source(
        label=text("issues.source", lang), topic=topic("data-issues", lang, options.codes_base)
    )
    return finish_card(
        kind="issues",
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if warnings else "info",
        citation_source=source,
        options=options,
        overridable=False,
    )


def error_card(kind: str, message: str, options: CardOptions) -> Card:
    """The card shown when a record cannot be evaluated at all (an invalid patient, an
    unreadable input): the clinician is told that no advice is shown, and why."""
    lang = options.lang
    source = Source(
        label=text("issues.source", lang), topic=topic("data-issues", lang, options.codes_base)
    )
    return finish_card(
        kind=f"error:{kind}",
        summary=text("error.summary", lang),
        detail=text("error.detail", lang, kind=kind, message=md.cell(message)),
        indicator="warning",
        citation_source=source,
        options=options,
        overridable=False,
    )
