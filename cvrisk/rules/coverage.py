"""What the selected protocols leave unassessed for a patient or a plan, said rather than left
silent: no protocol for the drug, the age or the jurisdiction; a drug's own monitoring not
selected; protocols of several countries; protocols without thresholds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cvrisk import vocab
from cvrisk.issues import DataIssue
from cvrisk.rules.catalog import shipped_protocols
from cvrisk.rules.durations import parse_duration
from cvrisk.rules.episodes import Episode, Prescription
from cvrisk.rules.messages import colon, drug_label, duration_text, phrase, semicolon, test_label
from cvrisk.rules.schema import Protocol
from cvrisk.rules.selection import population


def coverage_issues(
    selected: Sequence[Protocol],
    applied: set[str],
    drugs: Sequence[str],
    age: float | None,
    jurisdiction: str | None,
    lang: str,
    *,
    unchecked_results: bool = True,
) -> list[DataIssue]:
    """Say what the selected protocols leave unassessed, rather than stay silent.

    ``unchecked_results``: also name the scheduled tests whose results no applied protocol
    checks against a threshold (an evaluation's note; a prescribing plan judges no result).

    ``selected``: the protocols chosen (after the jurisdiction filter); ``applied``: the ids
    of those that apply to the patient; ``drugs``: the active antipsychotics; ``age``: the
    patient's age (None when unknown, as in a plan without a patient). A gap that leaves a
    drug without its monitoring is a warning.
    """
    if not drugs:
        text = phrase("issue.no_antipsychotic", lang, as_of="-")
        return [DataIssue(kind="no_protocol", message=text)]
    issues: list[DataIssue] = []
    shipped_jurisdictions = {p.jurisdiction for p in shipped_protocols().values()}
    if jurisdiction is not None and jurisdiction not in shipped_jurisdictions:
        text = phrase(
            "issue.unknown_jurisdiction",
            lang,
            jurisdiction=jurisdiction,
            shipped=", ".join(sorted(shipped_jurisdictions - {"INT"})),
        )
        issues.append(DataIssue(kind="no_protocol", severity="warning", message=text))
    national = [p for p in selected if p.jurisdiction != "INT"]
    for drug in drugs:
        label = drug_label(drug, lang)
        covering = [p for p in national if p.applies_to.covers(drug)]
        fitting = [p for p in covering if age is None or p.applies_to.covers_age(age)]
        if covering and not fitting:
            listed = semicolon(lang).join(f"{p.id} ({population(p, lang)})" for p in covering)
            text = phrase("issue.no_protocol_for_age", lang, drug=label, age=age, protocols=listed)
            issues.append(
                DataIssue(kind="no_protocol", severity="warning", message=text, field=drug)
            )
        elif national and not covering:
            text = phrase("issue.no_protocol_for_drug", lang, drug=label)
            issues.append(
                DataIssue(kind="no_protocol", severity="warning", message=text, field=drug)
            )
        # protocols for this one drug only (clozapine's blood monitoring), not class protocols
        specific = sorted(
            p.id
            for p in shipped_protocols().values()
            if p.applies_to.drugs == [drug] and p.applies_to.formulations is None
        )
        if specific and not applied & set(specific):
            text = phrase(
                "issue.drug_protocol_not_selected",
                lang,
                drug=label,
                protocols=", ".join(specific),
            )
            issues.append(
                DataIssue(kind="no_protocol", severity="warning", message=text, field=drug)
            )
    chosen = [p for p in selected if p.id in applied]
    jurisdictions = sorted({p.jurisdiction for p in chosen} - {"INT"})
    if len(jurisdictions) > 1:
        listed = semicolon(lang).join(
            f"{j}{colon(lang)} {', '.join(sorted(p.id for p in chosen if p.jurisdiction == j))}"
            for j in jurisdictions
        )
        text = phrase("issue.several_jurisdictions", lang, jurisdictions=listed)
        # a warning: advice that differs by country (clozapine ANC thresholds, lipid
        # targets) must not be read side by side without the user noticing
        issues.append(DataIssue(kind="several_jurisdictions", severity="warning", message=text))
    for protocol in chosen:
        if not protocol.alerts:
            text = phrase("issue.no_thresholds", lang, protocol=protocol.id)
            issues.append(DataIssue(kind="no_protocol", message=text, protocol=protocol.id))
    if unchecked_results:
        issues.extend(_unchecked_tests(chosen, lang))
    return issues


def _unchecked_tests(chosen: Sequence[Protocol], lang: str) -> list[DataIssue]:
    """A ``no_protocol`` note naming the tests the protocols with thresholds schedule but
    whose results no applied protocol checks against a threshold (ADA/APA 2004 alerts on
    weight gain only: a fasting glucose of 11 mmol/L raises nothing), so that the silence
    about those results is said. Protocols without any threshold have their own note."""
    checked = {rule.analyte for p in chosen for rule in p.alerts if rule.analyte is not None}
    unchecked: dict[str, None] = {}  # tests, in schedule order
    for protocol in chosen:
        if not protocol.alerts:
            continue
        for item in protocol.schedule:
            if item.observable and not set(vocab.test_analytes(item.test)) & checked:
                unchecked[item.test] = None
    if not unchecked:
        return []
    tests = ", ".join(test_label(test, lang) for test in unchecked)
    return [
        DataIssue(
            kind="no_protocol",
            message=phrase("issue.results_not_checked", lang, tests=tests),
        )
    ]


def ended_issues(
    applicable: Sequence[tuple[Protocol, Episode]], as_of: dt.date, lang: str
) -> list[DataIssue]:
    """A ``protocol_ended`` warning for each applicable protocol whose schedule has ended
    (its ``[ends]``) while treatment continues: it schedules nothing more, and says so."""
    issues = []
    for protocol, episode in applicable:
        if protocol.ends is None:
            continue
        end = parse_duration(protocol.ends.after).add_to(episode.anchor)
        if as_of < end:
            continue
        text = phrase(
            "issue.protocol_ended",
            lang,
            protocol=protocol.id,
            date=end,
            after=duration_text(protocol.ends.after, lang),
            advice=protocol.ends.message.get(lang),
        )
        issues.append(
            DataIssue(kind="protocol_ended", message=text, severity="warning", protocol=protocol.id)
        )
    return issues


def end_note(protocol: Protocol, start: dt.date, lang: str) -> str:
    """A plan note: where the protocol's schedule ends and what its source says to do next."""
    assert protocol.ends is not None
    return phrase(
        "plan.protocol_ends",
        lang,
        protocol=protocol.id,
        date=parse_duration(protocol.ends.after).add_to(start),
        after=duration_text(protocol.ends.after, lang),
        advice=protocol.ends.message.get(lang),
    )


def after_stop_issues(
    selected: Sequence[Protocol],
    applied: set[str],
    courses: Sequence[Prescription],
    age: float,
    as_of: dt.date,
    lang: str,
) -> list[DataIssue]:
    """A ``protocol_ended`` warning for each selected protocol with ``[after_stop]`` whose
    drug was stopped less than ``monitor_for`` before ``as_of`` and is not taken now: the
    source asks for monitoring after stopping (clozapine blood counts), which cvrisk does
    not schedule, so it says so with the source's advice.

    ``applied``: ids of the protocols that apply on ``as_of`` (a drug they cover is taken).
    """
    issues = []
    for protocol in selected:
        after = protocol.after_stop
        if after is None or protocol.id in applied or not protocol.applies_to.covers_age(age):
            continue
        stopped = [
            c
            for c in courses
            if protocol.applies_to.covers_course(c.drug, c.formulation)
            and c.start <= as_of
            and c.stop is not None
            and c.stop < as_of
        ]
        if not stopped:
            continue
        last = max(stopped, key=lambda c: (c.stop, c.drug))
        assert last.stop is not None
        until = parse_duration(after.monitor_for).add_to(last.stop)
        if as_of > until:
            continue
        text = phrase(
            "issue.after_stop",
            lang,
            protocol=protocol.id,
            drug=drug_label(last.drug, lang),
            stop=last.stop,
            period=duration_text(after.monitor_for, lang),
            until=until,
            advice=after.message.get(lang),
        )
        issues.append(
            DataIssue(
                kind="protocol_ended",
                severity="warning",
                message=text,
                protocol=protocol.id,
                field=last.drug,
            )
        )
    return issues


def after_stop_note(protocol: Protocol, drug: str, lang: str) -> str:
    """A plan note: the monitoring the protocol's source asks for after stopping the drug."""
    assert protocol.after_stop is not None
    return phrase(
        "plan.after_stop",
        lang,
        protocol=protocol.id,
        drug=drug_label(drug, lang),
        period=duration_text(protocol.after_stop.monitor_for, lang),
        advice=protocol.after_stop.message.get(lang),
    )
