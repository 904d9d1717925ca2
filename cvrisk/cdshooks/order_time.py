"""Cards at the moment an antipsychotic is prescribed (``order-select`` / ``order-sign``).

From :func:`cvrisk.schedule` (the prescribing plan) and, when the record is known, the
record itself and an evaluation of it with the drug started (``findings``):

- one **plan card per protocol**: each baseline item with what the record already holds
  within its window (value and date) or ``missing`` (with a suggestion drafting the order),
  the follow-up dates and the recurring checks after them, with every item's source;
- **drug-specific warnings** (cvrisk/data/order_checks.toml ``[[tier_warnings]]``): a drug of
  a high risk tier in the catalogue prescribed while the record already shows a protocol alert
  on the analytes the tier is about (a prolonged QTc for a high-QT-risk drug; BMI or HbA1c
  above the protocol's threshold for a high-metabolic-risk drug), citing the tier's source
  and the alert's rule;
- the **alerts of the drug's own protocols** (clozapine blood monitoring, olanzapine
  pamoate) that the record already raises with the drug started: a neutrophil count below
  the threshold gives the red-result card with its "do not start" advice, as patient-view
  would once the drug is recorded;
- the country's **registration / prescribing requirement** for drugs that have one
  (clozapine, ``[[registration]]``);
- a card saying so when **no protocol applies** to the drug (silence is the worst failure).

The thresholds are the protocols' own (the alerts of ``findings``): this module adds none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from cvrisk import vocab
from cvrisk.cdshooks import markdown as md
from cvrisk.cdshooks.common import check_same_lang, evidence_table, finish_card, rule_line
from cvrisk.cdshooks.model import Card, Indicator, Source, indicator_rank
from cvrisk.cdshooks.options import CardOptions
from cvrisk.cdshooks.orders import order_suggestion
from cvrisk.cdshooks.patient_view import alert_card
from cvrisk.cdshooks.texts import day as show_day
from cvrisk.cdshooks.texts import (
    localised,
    number,
    protocol_citation,
    short_label,
    text,
    topic,
    unit_display,
    word,
)
from cvrisk.data import load_data
from cvrisk.record import Medication, PatientRecord
from cvrisk.rules.messages import drug_label
from cvrisk.rules.report import Alert, Plan, PlanItem, ProtocolPlan, Report

#: Follow-up dates listed per test before "and N more".
FOLLOWUPS_SHOWN = 4


def with_draft_medication(
    record: PatientRecord, drug: str, start: dt.date, formulation: str | None = None
) -> PatientRecord:
    """The record with ``drug`` (and ``formulation``) started on ``start`` (unchanged when
    the drug is already taken on that day): what :func:`cvrisk.evaluate` reads to find the
    alerts the existing data raise under the protocols of the drug being prescribed."""
    drug = vocab.antipsychotic_id(drug)
    if any(m.ingredient == drug and m.active_on(start) for m in record.medications):
        return record
    draft = Medication(drug=drug, formulation=formulation, start=start)
    return record.model_copy(update={"medications": [*record.medications, draft]})


def order_cards(
    plan: Plan,
    *,
    record: PatientRecord | None = None,
    findings: Report | None = None,
    as_of: dt.date | None = None,
    jurisdiction: str | None = None,
    options: CardOptions | None = None,
) -> list[Card]:
    """The cards for prescribing ``plan.drug`` (see the module docstring), most urgent first.

    Args:
        plan: :func:`cvrisk.schedule` for the drug and its planned start.
        record: the patient's record: the baseline checklist says what it already holds.
        findings: :func:`cvrisk.evaluate` of :func:`with_draft_medication` (same language),
            whose alerts drive the drug-specific warnings.
        as_of: the day of prescribing (default: the plan's start); later results are unused.
        jurisdiction: the country whose registration requirement applies (None: all).
        options: card options (``lang`` must be the plan's).
    """
    options = options or CardOptions(lang=plan.lang)
    if record is not None:
        options = options.with_patient(record.patient.id)
    check_same_lang(options.lang, plan.lang)
    if findings is not None:
        check_same_lang(options.lang, findings.lang)
    as_of = as_of or plan.start
    results = _results(record, as_of)
    offered: set[str] = set()
    cards: list[Card] = [_plan_card(plan, p, results, options, offered) for p in plan.protocols]
    if not plan.protocols or plan.notes:
        cards.append(_coverage_card(plan, options))
    if findings is not None:
        applied = {p.protocol for p in plan.protocols}
        alerts = [a for a in findings.alerts if a.protocol in applied]
        cards.extend(_tier_warnings(plan.drug, alerts, options))
        specific = _drug_specific(applied)
        cards.extend(
            alert_card(a, findings.tests, options, offered)
            for a in findings.alerts
            if a.protocol in specific
        )
    cards.extend(_registration_cards(plan.drug, jurisdiction, options))
    return sorted(cards, key=lambda card: -indicator_rank(card.indicator))


def _drug_specific(protocol_ids: set[str]) -> set[str]:
    """The protocols among ``protocol_ids`` written for named drugs, not the whole class
    (``applies_to.drugs`` without ``antipsychotic``): their alerts are about starting this
    drug. A protocol that is not shipped (a local file) is left to the plan card."""
    from cvrisk.errors import CvriskError
    from cvrisk.rules.catalog import get_protocol

    found = set()
    for protocol_id in protocol_ids:
        try:
            protocol = get_protocol(protocol_id)
        except CvriskError:
            continue
        if "antipsychotic" not in protocol.applies_to.drugs:
            found.add(protocol_id)
    return found


def _results(record: PatientRecord | None, as_of: dt.date) -> Any:
    if record is None:
        return None
    from cvrisk.rules.facts import Results

    return Results.from_record(record, as_of)


def _in_window(results: Any, item: PlanItem, lang: str) -> str | None:
    """The latest recorded result satisfying the item inside its window, as text."""
    if results is None:
        return None
    found = []
    for analyte in vocab.test_analytes(item.test):
        for result in results.by_analyte.get(analyte, ()):
            obs = result.observation
            if obs is not None and item.window.start <= result.day <= item.window.end:
                found.append((result.day, analyte, obs))
    if not found:
        return None
    when, analyte, obs = max(found, key=lambda f: f[0])
    label = localised(vocab.analyte(analyte).label, lang)
    if obs.value is not None:
        value = f"{label} {number(obs.value, lang)} {unit_display(obs.unit)}".strip()
    else:
        value = f"{label} {obs.coded}"
    return text("plan.in_record", lang, value=value, date=show_day(when))


def _plan_card(
    plan: Plan,
    protocol: ProtocolPlan,
    results: Any,
    options: CardOptions,
    offered: set[str],
) -> Card:
    lang = options.lang
    citation = protocol_citation(protocol.protocol, lang)
    drug = drug_label(plan.drug, lang).capitalize()
    rows, missing, suggestions = [], [], []
    for item in protocol.baseline:
        found = _in_window(results, item, lang)
        if not item.verifiable:
            state = text("plan.not_verifiable", lang)
        elif found is not None:
            state = found
        else:
            state = text("plan.missing", lang)
            missing.append(item)
        if item.conditional:
            state = f"{state} ({text('plan.conditional', lang)})"
        rows.append([item.label, state, f"{md.code(f'{item.protocol}/{item.rule}')}"])
    for item in missing:
        if item.test in offered:
            continue
        suggestion = order_suggestion(
            item.test,
            item.label,
            options=options,
            due=item.due_date,
            reason=item.note or item.label,
            rule=f"{item.protocol}/{item.rule}",
            source=item.source,
            recommended=not item.conditional,
        )
        if suggestion is not None:
            suggestions.append(suggestion)
            offered.add(item.test)
    verifiable = [i for i in protocol.baseline if i.verifiable]
    label = citation.label
    if missing:
        summary = text(
            "plan.summary_missing",
            lang,
            drug=drug,
            label=label,
            missing=len(missing),
            total=len(verifiable),
        )
    elif protocol.baseline:
        summary = text("plan.summary_complete", lang, drug=drug, label=label)
    else:
        summary = text("plan.summary_no_baseline", lang, drug=drug, label=label, start=plan.start)
    detail = md.join(
        f"**{protocol.title}** — {md.cell(protocol.population)}",
        _baseline_block(protocol, rows, plan, lang),
        _followups_block(protocol, lang),
        _sources_block([*protocol.baseline, *protocol.followups], lang),
    )
    indicator: Indicator = "warning" if missing else "info"
    return finish_card(
        kind=f"plan:{plan.drug}:{protocol.protocol}",
        summary=summary,
        detail=detail,
        indicator=indicator,
        citation_source=citation.source("prescribing-plan", lang, options.codes_base),
        options=options,
        suggestions=suggestions,
        links=citation.links("protocol_page", lang),
        overridable=bool(missing),
    )


def _baseline_block(protocol: ProtocolPlan, rows: list[list[str]], plan: Plan, lang: str) -> str:
    if not rows:
        return ""
    first = protocol.baseline[0].window
    title = text(
        "plan.baseline",
        lang,
        start=show_day(first.start),
        end=show_day(first.end),
        anchor=show_day(plan.start),
    )
    header = [word("test", lang), word("in_record", lang), word("rule", lang)]
    return f"**{title}**\n\n{md.table(header, rows)}"


def _followups_block(protocol: ProtocolPlan, lang: str) -> str:
    by_test: dict[str, list[PlanItem]] = {}
    for item in protocol.followups:
        by_test.setdefault(item.label, []).append(item)
    lines = []
    for label, items in by_test.items():
        dates = [show_day(i.due_date) for i in items[:FOLLOWUPS_SHOWN]]
        if len(items) > FOLLOWUPS_SHOWN:
            dates.append(text("plan.more", lang, count=len(items) - FOLLOWUPS_SHOWN))
        lines.append(f"- {md.cell(label)}: {', '.join(dates)}")
    block = f"**{text('plan.followups', lang)}**\n\n" + "\n".join(lines) if lines else ""
    if protocol.then:
        then = "\n".join(f"- {md.cell(line)}" for line in protocol.then)
        block = md.join(block, f"**{text('plan.then', lang)}**\n\n{then}")
    return block


def _sources_block(items: Sequence[PlanItem], lang: str) -> str:
    seen: dict[str, PlanItem] = {}
    for item in items:
        seen.setdefault(f"{item.protocol}/{item.rule}", item)
    return "\n".join(
        f"- {rule_line(code, i.source, i.evidence_status, lang)}"
        + (f" — {md.cell(i.note)}" if i.note else "")
        for code, i in seen.items()
    )


def _coverage_card(plan: Plan, options: CardOptions) -> Card:
    """What the plan leaves out (``plan.notes``): a warning when no protocol applies at all,
    information otherwise (one card per prescription, not repeated on each plan card)."""
    lang = options.lang
    drug = drug_label(plan.drug, lang)
    source = Source(
        label=text("issues.source", lang),
        topic=topic("prescribing-plan", lang, options.codes_base),
    )
    notes = "\n".join(f"- {md.cell(n)}" for n in plan.notes)
    if not plan.protocols:
        summary = text("plan.no_protocol_summary", lang, drug=drug.capitalize())
        detail = md.join(text("plan.no_protocol", lang, drug=drug), notes)
    else:
        summary = text("plan.coverage_summary", lang, drug=drug.capitalize(), count=len(plan.notes))
        detail = f"**{text('plan.notes', lang)}**\n\n{notes}"
    return finish_card(
        kind=f"plan:{plan.drug}:{'none' if not plan.protocols else 'coverage'}",
        summary=summary,
        detail=detail,
        indicator="warning" if not plan.protocols else "info",
        citation_source=source,
        options=options,
        overridable=False,
    )


def _alert_analyte(alert: Alert) -> str | None:
    from cvrisk.rules.catalog import shipped_protocols

    protocol = shipped_protocols().get(alert.protocol)
    if protocol is not None:
        for rule in protocol.alerts:
            if rule.id == alert.rule:
                return rule.analyte
    return alert.evidence[0].analyte if alert.evidence else None


def _tier_warnings(drug: str, alerts: Sequence[Alert], options: CardOptions) -> list[Card]:
    lang = options.lang
    entry = vocab.antipsychotics().get(drug, {})
    cards = []
    for check in load_data("order_checks.toml").get("tier_warnings", []):
        field = str(check["catalogue_field"])
        tier = entry.get(field)
        if tier not in check["tiers"]:
            continue
        matched = [a for a in alerts if _alert_analyte(a) in check["analytes"]]
        if not matched:
            continue
        tier_source = str(entry.get(f"{field}_source", ""))
        tier_status = str(entry.get(f"{field}_status", "unconfirmed"))
        name = drug_label(drug, lang).capitalize()
        analytes = [a for a in (_alert_analyte(m) for m in matched) if a is not None]
        names = ", ".join(dict.fromkeys(localised(vocab.analyte(a).label, lang) for a in analytes))
        indicator: Indicator = max(
            [check["indicator"], *(a.severity for a in matched)], key=indicator_rank
        )
        parts = [
            text_of(check["detail"], lang, drug=name, tier=tier, tier_source=tier_source),
            f"**{text('warning.tier', lang)}**: {md.code(f'{field} = {tier}')} — "
            f"{md.cell(tier_source)} (*{word(tier_status, lang)}*)",
        ]
        for alert in matched:
            parts.append(
                md.join(
                    f"**{text('warning.evidence', lang)}**: {md.cell(alert.message)}",
                    evidence_table(alert.evidence, lang),
                    rule_line(alert.code, alert.source, alert.evidence_status, lang),
                )
            )
        parts.append(f"*{md.cell(check['source'])} ({word(check['status'], lang)})*")
        source = Source(
            label=short_label(tier_source) or field,
            topic=topic("drug-warning", lang, options.codes_base),
        )
        cards.append(
            finish_card(
                kind=f"warning:{drug}:{check['id']}",
                summary=text_of(check["summary"], lang, drug=name, finding=names),
                detail=md.join(*parts),
                indicator=indicator,
                citation_source=source,
                options=options,
            )
        )
    return cards


def text_of(entry: Any, lang: str, **values: Any) -> str:
    """A data file's ``{en, fr}`` template in ``lang`` with placeholders filled."""
    return localised(entry, lang).format(**values)


def _registration_cards(drug: str, jurisdiction: str | None, options: CardOptions) -> list[Card]:
    lang = options.lang
    entries = [
        e for e in load_data("order_checks.toml").get("registration", []) if e["drug"] == drug
    ]
    if not entries:
        return []
    chosen = [e for e in entries if jurisdiction is None or e["jurisdiction"] == jurisdiction]
    if not chosen:
        source = Source(
            label=text("issues.source", lang),
            topic=topic("registration", lang, options.codes_base),
        )
        message = text("registration.none", lang, jurisdiction=jurisdiction)
        return [
            finish_card(
                kind=f"registration:{drug}:{jurisdiction}",
                summary=message,
                detail=message,
                indicator="warning",
                citation_source=source,
                options=options,
                overridable=False,
            )
        ]
    cards = []
    for entry in chosen:
        source = Source(
            label=f"{entry['label']} ({entry['jurisdiction']})",
            url=entry.get("url"),
            topic=topic("registration", lang, options.codes_base),
        )
        detail = md.join(
            localised(entry["detail"], lang),
            f"**{word('source', lang)}**: {md.cell(entry['source'])} "
            f"(*{word(entry['status'], lang)}*)",
        )
        cards.append(
            finish_card(
                kind=f"registration:{drug}:{entry['jurisdiction']}",
                summary=localised(entry["summary"], lang),
                detail=detail,
                indicator=entry["indicator"],
                citation_source=source,
                options=options,
                overridable=False,
            )
        )
    return cards


def unknown_antipsychotic_card(
    name: str,
    codes: str,
    reference: str,
    options: CardOptions,
    conflict: str = "",
    *,
    unrecognised: bool = False,
    suggestions: Sequence[str] = (),
) -> Card:
    """The card for an order cvrisk cannot plan: an antipsychotic outside the catalogue,
    (``conflict``, the reason) a name and a code that mean different drugs, or
    (``unrecognised``) a medication cvrisk does not know at all, with close antipsychotic
    ``suggestions``. The prescriber is told that its monitoring is not assessed, and why."""
    lang = options.lang
    source = Source(
        label=text("issues.source", lang), topic=topic("unknown-drug", lang, options.codes_base)
    )
    if unrecognised:
        return finish_card(
            kind="unknown-drug",
            summary=text("drug.unrecognised_summary", lang, name=name),
            detail=text(
                "drug.unrecognised_detail",
                lang,
                reference=md.code(reference),
                codes=md.code(codes) if codes else text("drug.no_code", lang),
                names=md.cell(", ".join(suggestions)),
            ),
            indicator="warning",
            citation_source=source,
            options=options,
            overridable=False,
        )
    if conflict:
        summary = text("drug.conflict_summary", lang, name=name)
        detail = f"{md.code(reference)}: {md.cell(conflict)}"
    else:
        summary = text("drug.unknown_summary", lang, name=name)
        detail = text(
            "drug.unknown_detail", lang, reference=md.code(reference), codes=md.code(codes or "—")
        )
    return finish_card(
        kind="unknown-drug" if not conflict else "drug-conflict",
        summary=summary,
        detail=detail,
        indicator="warning",
        citation_source=source,
        options=options,
        overridable=False,
    )


__all__ = [
    "order_cards",
    "unknown_antipsychotic_card",
    "with_draft_medication",
]
