"""Stage 3 of an evaluation: the tests each applicable protocol asks for on the evaluation date.

One entry per schedule item that has an occurrence now (baseline, follow-up or recurring,
with its window and status: :mod:`~cvrisk.rules.timeline`), plus the repeat tests alerts ask
for (``recheck``), each citing its protocol item.
"""

from __future__ import annotations

import datetime as dt

from cvrisk.issues import DataIssue
from cvrisk.rules.durations import parse_duration
from cvrisk.rules.episodes import Episode
from cvrisk.rules.facts import Results
from cvrisk.rules.messages import drug_label, duration_text, every_text, phrase, test_label
from cvrisk.rules.report import Alert, TestEntry, Window
from cvrisk.rules.schema import AlertRule, Protocol, Recheck, ScheduleItem, text_in
from cvrisk.rules.selection import Applicable
from cvrisk.rules.timeline import (
    Occurrence,
    lapsed,
    missed_occurrences,
    period_end,
    requirement,
)

#: Order of statuses in a report: what needs doing first.
STATUS_ORDER = {"overdue": 0, "due": 1, "conditional": 2, "upcoming": 3}


def due_tests(
    applicable: Applicable, results: Results, as_of: dt.date, lang: str
) -> list[TestEntry]:
    """The schedule items of every applicable protocol that have an occurrence now."""
    return [
        entry
        for protocol, episode in applicable
        for item in protocol.schedule
        if (entry := test_entry(protocol, episode, item, results, as_of, lang)) is not None
    ]


def lapsed_issues(
    applicable: Applicable, results: Results, as_of: dt.date, lang: str
) -> list[DataIssue]:
    """A ``missing`` issue for each item limited to a period (``applies_for``) whose period
    is over with occurrences not recorded (a baseline troponin never taken): said once, as
    a fact about the record, instead of a test overdue for ever."""
    issues = []
    for protocol, episode in applicable:
        for item in protocol.schedule:
            anchor = episode.anchor_for(item.drugs)
            if anchor is None or not item.observable or not lapsed(item, anchor, as_of):
                continue
            missed = missed_occurrences(item, anchor, results.days_for_test(item.test))
            if missed:
                issues.append(period_missed_issue(protocol, item, anchor, missed, lang))
    return issues


def period_missed_issue(
    protocol: Protocol, item: ScheduleItem, anchor: dt.date, missed: list[Occurrence], lang: str
) -> DataIssue:
    """The ``missing`` issue of an item whose period is over with ``missed`` occurrences
    (also worded by the cohort path)."""
    end = period_end(item, anchor)
    assert item.applies_for is not None and end is not None
    listed = ", ".join(f"{_occurrence_text(o.label, lang)} ({o.start}..{o.end})" for o in missed)
    return DataIssue(
        kind="missing",
        protocol=protocol.id,
        rule=item.id,
        field=item.test,
        message=phrase(
            "issue.period_missed",
            lang,
            protocol=protocol.id,
            rule=item.id,
            test=test_label(item.test, lang),
            period=duration_text(item.applies_for, lang),
            anchor=anchor,
            end=end,
            missed=listed,
        ),
    )


def _occurrence_text(label: str, lang: str) -> str:
    return phrase("table.baseline", lang) if label == "baseline" else duration_text(label, lang)


def _urgency(test: TestEntry) -> tuple[int, dt.date, str, str]:
    return STATUS_ORDER[test.status], test.due_date, test.protocol, test.rule


def ordered(tests: list[TestEntry]) -> list[TestEntry]:
    """Tests in report order: by status (overdue first), due date, protocol, rule."""
    return sorted(tests, key=_urgency)


def merge_requests(tests: list[TestEntry]) -> list[TestEntry]:
    """One entry per test: several protocol items asking for the same test become one entry
    showing the most urgent request, with every request in ``requested_by``."""
    by_test: dict[str, list[TestEntry]] = {}
    for test in tests:
        by_test.setdefault(test.test, []).append(test)
    merged = []
    for same in by_test.values():
        same.sort(key=_urgency)
        lead = same[0]
        merged.append(lead.model_copy(update={"requested_by": [t.request() for t in same]}))
    return merged


def test_entry(
    protocol: Protocol,
    episode: Episode,
    item: ScheduleItem,
    results: Results,
    as_of: dt.date,
    lang: str,
) -> TestEntry | None:
    anchor = episode.anchor_for(item.drugs)
    if anchor is None:
        return None
    req = requirement(item, anchor, results.days_for_test(item.test), as_of)
    if req is None:
        return None
    occurrence = req.occurrence
    label = test_label(item.test, lang)
    drugs = ", ".join(drug_label(d, lang) for d in episode.started_at(anchor))
    if item.each_administration:
        reason = phrase("reason.each_administration", lang, test=label, drugs=drugs)
    elif occurrence.label == "baseline":
        reason = phrase("reason.baseline", lang, test=label, drugs=drugs, anchor=anchor)
    elif occurrence.recurring:
        every = every_text(occurrence.label, lang)
        if req.last_result is not None:
            reason = phrase("reason.recurring", lang, test=label, every=every, last=req.last_result)
        else:
            reason = phrase("reason.recurring_no_result", lang, test=label, every=every)
    else:
        offset = duration_text(occurrence.label, lang)
        reason = phrase(
            "reason.followup", lang, test=label, offset=offset, drugs=drugs, anchor=anchor
        )
    return TestEntry(
        test=item.test,
        label=label,
        status=req.status,
        due_date=occurrence.due,
        window=Window(start=occurrence.start, end=occurrence.end),
        occurrence=occurrence.label,
        protocol=protocol.id,
        rule=item.id,
        reason=reason,
        source=item.source,
        evidence_status=item.status,
        verifiable=item.observable,
        last_result=req.last_result,
        note=text_in(item.note, lang),
    )


def recheck_entry(
    protocol: Protocol,
    rule: AlertRule,
    recheck: Recheck,
    alert: Alert,
    trigger: dt.date,
    anchor: dt.date,
    as_of: dt.date,
    lang: str,
) -> TestEntry:
    """The repeat test an alert asks for: due within its delay after the triggering result,
    and not before the start (a pre-start result is repeated before starting)."""
    label = test_label(recheck.test, lang)
    within = duration_text(recheck.within, lang)
    due = max(parse_duration(recheck.within).add_to(trigger), anchor)
    return TestEntry(
        test=recheck.test,
        label=label,
        status="overdue" if as_of > due else "due",
        due_date=due,
        window=Window(start=trigger, end=due),
        occurrence=f"recheck {recheck.within}",
        protocol=protocol.id,
        rule=rule.id,
        reason=phrase(
            "reason.recheck", lang, test=label, within=within, date=trigger, alert=alert.code
        ),
        source=rule.source,
        evidence_status=rule.status,
        verifiable=True,
        last_result=trigger,
        note=None,
    )
