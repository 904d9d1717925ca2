"""``schedule``: the prescribing prompt (baseline checklist and every follow-up date) for a drug.

It reads the same protocol data as :func:`~cvrisk.rules.evaluate.evaluate`, anchored on the
planned start, and says in ``notes`` what the plan leaves out (coverage gaps).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk._version import __version__
from cvrisk.errors import ProtocolError, RecordError
from cvrisk.record import Patient, record_error
from cvrisk.rules.courses import formulation_notes
from cvrisk.rules.coverage import after_stop_note, coverage_issues, end_note
from cvrisk.rules.messages import check_lang, colon, every_text, test_label
from cvrisk.rules.options import as_date, check_jurisdiction
from cvrisk.rules.report import Plan, PlanItem, ProtocolPlan, Window
from cvrisk.rules.schema import Protocol, ScheduleItem, text_in
from cvrisk.rules.selection import population, select_protocols
from cvrisk.rules.timeline import Occurrence, fixed_occurrences, recurring_occurrence


def schedule(
    drug: str,
    start: dt.date,
    *,
    protocol: str | Path | None = None,
    patient: Patient | dict[str, Any] | None = None,
    jurisdiction: str | None = None,
    lang: str = "en",
) -> Plan:
    """Baseline checklist and every follow-up date for ``drug`` started on ``start``.

    Args:
        drug: an antipsychotic of the catalogue by ingredient (``"olanzapine"``), salt or
            brand (``"Zyprexa"``; ``"Zypadhera"`` and ``"olanzapine pamoate"`` name the
            long-acting injection, whose own protocol is then included). An unknown name is
            a VocabularyError with suggestions, brands included.
        start: the (planned) start date (a date or ISO text): the anchor of every date.
        protocol: one protocol id or file; default: every shipped protocol covering the drug
            (and the patient's age on ``start`` when ``patient`` is given).
        patient: optional Patient (or its JSON dict), for age-restricted protocols. Without
            it, protocols for a restricted age group are included and say so (``population``).
        jurisdiction: ISO country code restricting the default selection (as for evaluate).
        lang: ``en`` or ``fr``.

    Raises:
        VocabularyError: unknown drug. ProtocolError: the named protocol does not apply to
        the drug or the patient. RecordError: invalid patient. OptionError: invalid date.
    """
    lang = check_lang(lang)
    start = as_date(start, "start")
    match = vocab.antipsychotic_match(drug)
    assert match.ingredient is not None  # a catalogue match names its ingredient
    drug, formulation = match.ingredient, match.formulation
    person = _patient(patient)
    if person is not None:
        person.age_issues(start)  # RecordError: older than any verified human on the start
    jurisdiction = check_jurisdiction(jurisdiction)
    chosen = select_protocols([protocol] if protocol is not None else None, jurisdiction)
    plans = []
    for proto in chosen:
        if not proto.applies_to.covers_course(drug, formulation):
            if protocol is not None:
                what = f"{drug} ({formulation})" if formulation else drug
                raise ProtocolError(f"protocol {proto.id!r} does not apply to {what}")
            continue
        if person is not None and not proto.applies_to.covers_age(person.age_on(start)):
            if protocol is not None:
                raise ProtocolError(
                    f"protocol {proto.id!r} does not apply to a patient aged "
                    f"{int(person.age_on(start))} ({population(proto, 'en')})"
                )
            continue
        plans.append(_protocol_plan(proto, drug, start, lang))
    age = person.age_on(start) if person is not None else None
    applied = {p.protocol for p in plans}
    notes = [
        i.message
        for i in coverage_issues(
            chosen, applied, [drug], age, jurisdiction, lang, unchecked_results=False
        )
    ]
    notes.extend(
        end_note(proto, start, lang) for proto in chosen if proto.id in applied and proto.ends
    )
    notes.extend(
        after_stop_note(proto, drug, lang)
        for proto in chosen
        if proto.id in applied and proto.after_stop
    )
    notes.extend(formulation_notes(drug, formulation, applied, lang))
    return Plan(
        drug=drug,
        formulation=formulation,
        start=start,
        lang=lang,
        protocols=plans,
        notes=notes,
        cvrisk_version=__version__,
    )


def _patient(patient: Patient | dict[str, Any] | None) -> Patient | None:
    if patient is None or isinstance(patient, Patient):
        return patient
    if not isinstance(patient, dict):
        raise RecordError(
            f"patient must be a Patient or its JSON dict, not {type(patient).__name__}"
        )
    try:
        return Patient.model_validate(patient)
    except ValidationError as exc:
        raise record_error(exc) from None


def _plan_item(proto: Protocol, item: ScheduleItem, occurrence: Occurrence, lang: str) -> PlanItem:
    return PlanItem(
        protocol=proto.id,
        rule=item.id,
        test=item.test,
        label=test_label(item.test, lang),
        occurrence=occurrence.label,
        recurring=occurrence.recurring,
        due_date=occurrence.due,
        window=Window(start=occurrence.start, end=occurrence.end),
        conditional=item.when_risk_factors,
        verifiable=item.observable,
        source=item.source,
        evidence_status=item.status,
        note=text_in(item.note, lang),
    )


def _protocol_plan(proto: Protocol, drug: str, start: dt.date, lang: str) -> ProtocolPlan:
    baseline: list[PlanItem] = []
    followups: list[PlanItem] = []
    then: list[str] = []
    for item in proto.schedule:
        if item.drugs is not None and drug not in item.drugs:
            continue
        occurrences = fixed_occurrences(item, start)
        for occurrence in occurrences:
            target = baseline if occurrence.label == "baseline" else followups
            target.append(_plan_item(proto, item, occurrence, lang))
        if item.then_every is not None:
            base = occurrences[-1].due if occurrences else start
            first = recurring_occurrence(item, base)
            assert first is not None
            followups.append(_plan_item(proto, item, first, lang))
            then.append(
                f"{test_label(item.test, lang)}{colon(lang)} {every_text(item.then_every, lang)}"
            )
    followups.sort(key=lambda p: (p.due_date, p.rule))
    return ProtocolPlan(
        protocol=proto.id,
        title=proto.title_in(lang),
        citation=proto.citation,
        population=population(proto, lang),
        baseline=baseline,
        followups=followups,
        then=then,
    )
