"""Stage 6 of an evaluation: run the facts through the compiled rules and word each alert.

Each fired rule becomes an :class:`~cvrisk.rules.report.Alert` citing its protocol item, with
its evidence (the results behind the fact) and its message in the requested language, the
values shown in the rule's unit (or as reported when the rule honours a printed equivalent).
An alert that asks for a repeat test adds it to the tests (``recheck``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cvrisk import vocab
from cvrisk.rules import engine
from cvrisk.rules.due import recheck_entry
from cvrisk.rules.episodes import Episode
from cvrisk.rules.facts import FactSet
from cvrisk.rules.report import Alert, AlertLead, TestEntry
from cvrisk.rules.schema import AlertRule, Protocol
from cvrisk.units import convert, display_unit, parse_unit

#: Order of severities in a report: the most serious first.
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def raise_alerts(
    ruleset: engine.Ruleset,
    facts: FactSet,
    episodes: Mapping[str, Episode],
    as_of: dt.date,
    lang: str,
) -> tuple[list[Alert], list[TestEntry]]:
    """(alerts, in report order; the repeat tests they ask for)."""
    alerts, rechecks = [], []
    fired: set[tuple[str, str]] = set()
    # facts in their order (f0, f1...): when conflicting simultaneous results give a rule
    # several facts, the first that fires speaks for it, whatever order the engine ran them
    runs = sorted(engine.run(ruleset, facts.facts), key=lambda run: int(run[1][1:]))
    for compiled, fact_id in runs:
        key = (compiled.protocol.id, compiled.rule.id)
        if key in fired:
            continue  # one alert per rule
        fired.add(key)
        alert = alert_of(compiled.protocol, compiled.rule, facts, fact_id, lang)
        alerts.append(alert)
        trigger = facts.values[fact_id].get("date")
        if not isinstance(trigger, dt.date):
            continue
        anchor = episodes[compiled.protocol.id].anchor
        for recheck in compiled.rule.recheck:
            rechecks.append(
                recheck_entry(
                    compiled.protocol, compiled.rule, recheck, alert, trigger, anchor, as_of, lang
                )
            )
    alerts.sort(key=lambda a: (SEVERITY_ORDER[a.severity], a.protocol, a.rule))
    return alerts, rechecks


def _reported_equivalent(rule: AlertRule, shown: Mapping[str, Any]) -> str | None:
    """The equivalent's unit when the result was reported in it (and so compared in it)."""
    for equivalent in rule.equivalents:
        if shown.get("u") == str(parse_unit(equivalent.unit)):
            return equivalent.unit
    return None


def _display(rule: AlertRule, canonical: float, change: bool) -> float:
    """A value in the canonical unit shown in the rule's unit."""
    if rule.analyte is None or rule.unit is None or rule.change == "percent":
        return canonical
    entry = vocab.analyte(rule.analyte)
    if entry.unit is None:
        return canonical
    shown = float(convert(canonical, entry.unit, rule.unit, entry.substance))
    if change:
        shown -= float(convert(0.0, entry.unit, rule.unit, entry.substance))
    return shown


def _fmt_risk(percent: float, lang: str) -> str:
    """A risk in percent for a clinician: one decimal, French decimal comma."""
    text = f"{percent:.1f}"
    return text.replace(".", ",") if lang == "fr" else text


def _threshold_decimals(rule: AlertRule) -> int:
    """Decimals of the rule's thresholds as written (42 -> 0, 7.5 -> 1)."""
    found = 0
    for bound in (rule.value, rule.lower, rule.upper):
        if bound is not None:
            text = f"{bound:.6f}".rstrip("0")
            found = max(found, len(text.split(".")[1]) if "." in text else 0)
    return found


def _fmt_like(value: float, decimals: int, lang: str) -> str:
    """``value`` with ``decimals`` decimals, French decimal comma."""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang == "fr" else text


def _fmt(value: float, lang: str = "en") -> str:
    """A value for a clinician: 4 significant digits, French decimal comma."""
    text = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return text.replace(".", ",") if lang == "fr" else text


#: The values of a fired fact each message placeholder is worded from (``threshold``: the
#: rule's own): a message without ``{value}`` or ``{unit}`` does not depend on the value.
MESSAGE_INPUTS = {
    "value": ("value", "u", "orig"),
    "unit": ("value", "u", "orig"),
    "change": ("rise_abs", "rise_pct"),
    "date": ("date",),
    "threshold": (),
}


def alert_message(rule: AlertRule, shown: Mapping[str, Any], lang: str) -> str:
    """The rule's message in ``lang`` worded with a fired fact's values (``shown``: value,
    u, orig, rise_abs, rise_pct, date, as the facts carry them; see MESSAGE_INPUTS)."""
    value = shown.get("value")
    is_change = rule.measure in ("change_from_baseline", "change_within")
    change_key = "rise_pct" if rule.change == "percent" else "rise_abs"
    reported_unit = _reported_equivalent(rule, shown)
    unit_text = display_unit(reported_unit or rule.unit or "")
    if reported_unit is not None:  # compared as reported: show it as reported
        value_text = _fmt(float(shown["orig"]), lang)
        if isinstance(value, float) and rule.unit:
            # and, approximately, in the rule's unit, which the message's own thresholds are
            # written in, to the thresholds' precision ("HbA1c 6.4 % (≈ 46 mmol/mol) is in
            # the 42-47 mmol/mol range"; 6.5 % is 47.5 mmol/mol, the published equivalent
            # of 48)
            canonical = _fmt_like(_display(rule, value, False), _threshold_decimals(rule), lang)
            unit_text = f"{unit_text} (≈ {canonical} {display_unit(rule.unit)})"
    elif rule.measure == "score" and isinstance(value, float):
        value_text = _fmt_risk(value, lang)
    elif isinstance(value, float):
        value_text = _fmt(_display(rule, value, False), lang)
    else:
        value_text = ""
    fields = {
        "value": value_text,
        "unit": unit_text,
        "threshold": _fmt(rule.value, lang)
        if rule.value is not None
        else f"{_fmt(rule.lower or 0.0, lang)}-{_fmt(rule.upper or 0.0, lang)}",
        "date": shown.get("date", ""),
        # a percentage to one decimal ("9.3 %", not "9.342"); an absolute change as a value
        "change": (
            _fmt_like(shown[change_key], 1, lang)
            if rule.change == "percent"
            else _fmt(_display(rule, shown[change_key], True), lang)
        )
        if is_change
        else "",
    }
    try:
        return rule.message.get(lang).format(**fields)
    except (KeyError, IndexError, ValueError):
        return rule.message.get(lang)


def alert_of(protocol: Protocol, rule: AlertRule, facts: FactSet, fact_id: str, lang: str) -> Alert:
    message = alert_message(rule, facts.values[fact_id], lang)
    return Alert(
        code=f"{protocol.id}/{rule.id}",
        severity=rule.severity,
        message=message,
        evidence=facts.evidence[fact_id],
        protocol=protocol.id,
        rule=rule.id,
        source=rule.source,
        evidence_status=rule.status,
        lead=[AlertLead(role=lead.role, leads=lead.leads) for lead in rule.lead],
    )
