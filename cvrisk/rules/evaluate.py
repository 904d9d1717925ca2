"""``evaluate`` (record -> tests due and alerts) and ``schedule`` (the prescribing prompt).

Protocol selection (``protocols=None``): every shipped protocol whose ``applies_to`` covers
an antipsychotic the patient takes on ``as_of``, whose age bounds include the patient's age,
and — when ``jurisdiction`` is given — whose jurisdiction is that country or ``INT``.
Naming protocols explicitly skips the jurisdiction filter but not the drug and age checks: a
protocol whose drug the patient does not take produces nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk._version import __version__
from cvrisk.data import load_data
from cvrisk.errors import CvriskError, OptionError, ProtocolError, RecordError
from cvrisk.record import Medication, Patient, PatientRecord, load_record, record_error
from cvrisk.rules import engine
from cvrisk.rules.catalog import get_protocol, load_protocol_file, shipped_protocols
from cvrisk.rules.default_scores import fitting_scores
from cvrisk.rules.durations import parse_duration
from cvrisk.rules.episodes import Episode, Prescription, current_episode, merge_courses
from cvrisk.rules.facts import (
    FactSet,
    Results,
    add_change_from_baseline,
    add_change_within,
    add_latest,
    add_score,
    patient_fields,
)
from cvrisk.rules.messages import (
    check_lang,
    drug_label,
    duration_text,
    every_text,
    phrase,
    test_label,
)
from cvrisk.rules.report import (
    Alert,
    DataIssue,
    Plan,
    PlanItem,
    ProtocolPlan,
    Report,
    ScoreEntry,
    TestEntry,
    Window,
)
from cvrisk.rules.schema import AlertRule, Protocol, Recheck, ScheduleItem, text_in
from cvrisk.rules.timeline import (
    BASELINE_WINDOW_DAYS,
    Occurrence,
    fixed_occurrences,
    recurring_occurrence,
    requirement,
)
from cvrisk.scores.registry import MODEL_MODULES, get_model
from cvrisk.units import convert, display_unit, parse_unit

_STATUS_ORDER = {"overdue": 0, "due": 1, "conditional": 2, "upcoming": 3}
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def select_protocols(
    names: Sequence[str | Path] | None, jurisdiction: str | None
) -> list[Protocol]:
    """Protocols by id or file path; all shipped ones (filtered by jurisdiction) for None."""
    if names is None:
        chosen = list(shipped_protocols().values())
        if jurisdiction is not None:
            chosen = [p for p in chosen if p.jurisdiction in (jurisdiction, "INT")]
        return chosen
    out = []
    for name in names:
        if isinstance(name, Path) or str(name).endswith(".toml"):
            out.append(load_protocol_file(name))
        else:
            out.append(get_protocol(str(name)))
    return out


def _known_non_antipsychotic(med: Medication) -> bool:
    """An ATC code outside N05A (antipsychotics) is known not to concern the protocols."""
    if med.system is None or med.code is None:
        return False
    return vocab.normalise_system(med.system) == "atc" and not med.code.startswith("N05A")


def courses_of(
    record: PatientRecord, lang: str = "en"
) -> tuple[list[Prescription], list[DataIssue]]:
    """The record's antipsychotic prescriptions. A drug the catalogue does not know is
    reported as a data issue (it may be an antipsychotic cvrisk cannot recognise), unless
    its ATC code shows it is not an antipsychotic."""
    courses, issues = [], []
    for index, med in enumerate(record.medications):
        drug = med.ingredient
        if drug is not None and vocab.is_antipsychotic(drug):
            courses.append(Prescription(drug, med.start, med.stop))
        elif not _known_non_antipsychotic(med):
            code = med.drug or f"{med.system}|{med.code}"
            issues.append(
                DataIssue(
                    kind="unknown_drug",
                    message=phrase("issue.unknown_drug", lang, code=code),
                    field=f"medications[{index}]",
                )
            )
    return courses, issues


def evaluate(
    record: PatientRecord | dict[str, Any] | str | Path,
    *,
    as_of: dt.date | None = None,
    protocols: Sequence[str | Path] | None = None,
    jurisdiction: str | None = None,
    lang: str = "en",
    scores: Sequence[str] | None = None,
    score_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    record_complete: bool = False,
) -> Report:
    """Required tests (with due dates and windows), alerts, scores and data issues.

    Args:
        record: a PatientRecord, its native JSON (dict or text) or a path to a JSON file.
        as_of: evaluation date (default: today). Results dated later are not used.
        protocols: protocol ids (or paths of local protocol files); None selects the
            shipped protocols that apply (see the module docstring).
        jurisdiction: ISO country code (``GB``, ``US``, ``FR``...) restricting the
            automatic selection to that country's protocols and international ones.
        lang: ``en`` or ``fr`` for messages and reasons.
        scores: risk models to compute for the report (default: those the protocols' rules
            use, and the jurisdiction's usual scores that fit the patient's age:
            cvrisk/data/jurisdictions.toml; QRISK3 without a jurisdiction).
        score_inputs: values the caller supplies per model, e.g.
            ``{"qrisk3": {"smoking": "moderate", "family_history_chd": False}}`` (structured
            EHR fields a record does not carry); they replace record-derived values.
        record_complete: the record holds every diagnosis and prescription (a full primary
            care record): risk-factor flags without record evidence are then false, not
            missing. Leave False unless the source system guarantees it.

    Raises:
        RecordError: the record is invalid. ProtocolError: unknown protocol id or bad file.
    """
    lang = check_lang(lang)
    rec = load_record(record)
    as_of = dt.date.today() if as_of is None else as_date(as_of, "as_of")
    if isinstance(protocols, str | Path):  # one id or file, not its characters
        protocols = [protocols]
    if isinstance(scores, str):
        scores = [scores]
    if not isinstance(record_complete, bool):
        raise OptionError(f"record_complete={record_complete!r}: give True or False")
    for model_id, given in (score_inputs or {}).items():
        if not isinstance(given, Mapping):
            raise OptionError(
                f"score_inputs[{model_id!r}] must map input names to values, "
                f"e.g. {{'smoking': 'non'}}; got {given!r}"
            )
    jurisdiction = check_jurisdiction(jurisdiction)
    unknown_models = sorted(set(score_inputs or {}) - set(MODEL_MODULES))
    if unknown_models:
        raise OptionError(
            f"score_inputs names unknown models {unknown_models}; models: "
            f"{', '.join(sorted(MODEL_MODULES))}"
        )
    rec.check_dates(as_of)
    results = Results.from_record(rec, as_of)
    courses, issues = courses_of(rec, lang)
    age = rec.age_on(as_of)

    applicable: list[tuple[Protocol, Episode]] = []
    selected = select_protocols(protocols, jurisdiction)
    for protocol in selected:
        if not protocol.applies_to.covers_age(age):
            continue
        episode = current_episode(courses, protocol.applies_to, as_of)
        if episode is not None:
            applicable.append((protocol, episode))

    active = sorted({c.drug for c in courses if c.active_on(as_of)})
    if active:
        applied = {p.id for p, _ in applicable}
        issues.extend(coverage_issues(selected, applied, active, age, jurisdiction, lang))
    else:
        text = phrase("issue.no_antipsychotic", lang, as_of=as_of)
        issues.append(DataIssue(kind="no_protocol", message=text))
    tests = [
        entry
        for protocol, episode in applicable
        for item in protocol.schedule
        if (entry := _test_entry(protocol, episode, item, results, as_of, lang)) is not None
    ]
    if results.excluded_future:
        issues.append(
            DataIssue(
                kind="excluded",
                message=phrase(
                    "issue.future_results", lang, count=results.excluded_future, as_of=as_of
                ),
            )
        )
    ruleset = engine.compile_ruleset([p for p, _ in applicable])
    facts = FactSet(
        patient_fields(rec, as_of, active, ruleset.needs.conditions),
        drug_starts=_current_starts(courses, as_of),
    )
    add_latest(facts, results, ruleset.needs.latest)
    episodes = {p.id: e for p, e in applicable}
    for protocol_id, analyte in sorted(ruleset.needs.baseline):
        anchor = episodes[protocol_id].anchor
        has_baseline = add_change_from_baseline(facts, results, protocol_id, analyte, anchor)
        if not has_baseline and results.latest(analyte) is not None:
            issues.append(_no_baseline(protocol_id, analyte, anchor, lang))
    for analyte, within in sorted(ruleset.needs.within):
        add_change_within(facts, results, analyte, within)

    # Scores: the rules' and the jurisdiction's defaults while a protocol applies; explicit
    # ones always.
    defaults = default_scores(jurisdiction)
    model_options = dict(defaults.get("options", {}))
    if scores is not None:
        wanted = sorted(set(scores) | set(ruleset.needs.scores))
    else:  # the jurisdiction's usual scores that fit the patient, with or without a protocol
        fitting, unfit = fitting_scores(defaults, rec, as_of, lang)
        issues.extend(unfit)
        wanted = sorted(set(ruleset.needs.scores) | set(fitting))
    options = _ScoreOptions(dict(score_inputs or {}), record_complete, model_options)
    score_entries = [_score(rec, model, as_of, lang, facts, issues, options) for model in wanted]

    alerts = []
    for compiled, fact_id in engine.run(ruleset, facts.facts):
        alert = _alert(compiled.protocol, compiled.rule, facts, fact_id, lang)
        alerts.append(alert)
        trigger = facts.values[fact_id].get("date")
        if not isinstance(trigger, dt.date):
            continue
        anchor = episodes[compiled.protocol.id].anchor
        for recheck in compiled.rule.recheck:
            entry = _recheck(
                compiled.protocol, compiled.rule, recheck, alert, trigger, anchor, as_of, lang
            )
            tests.append(entry)
    alerts.sort(key=lambda a: (_SEVERITY_ORDER[a.severity], a.protocol, a.rule))
    tests.sort(key=lambda t: (_STATUS_ORDER[t.status], t.due_date, t.protocol, t.rule))
    return Report(
        as_of=as_of,
        patient_id=rec.patient.id,
        lang=lang,
        protocols=sorted(p.id for p, _ in applicable),
        tests=tests,
        alerts=alerts,
        scores=score_entries,
        data_issues=issues,
        cvrisk_version=__version__,
    )


def _test_entry(
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
    if occurrence.label == "baseline":
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


def _current_starts(courses: list[Prescription], as_of: dt.date) -> dict[str, dt.date]:
    """Start of the current (merged) course of each antipsychotic active on ``as_of``."""
    return {c.drug: c.start for c in merge_courses(courses) if c.active_on(as_of)}


def coverage_issues(
    selected: Sequence[Protocol],
    applied: set[str],
    drugs: Sequence[str],
    age: float | None,
    jurisdiction: str | None,
    lang: str,
) -> list[DataIssue]:
    """Say what the selected protocols leave unassessed, rather than stay silent.

    ``selected``: the protocols chosen (after the jurisdiction filter); ``applied``: the ids
    of those that apply to the patient; ``drugs``: the active antipsychotics; ``age``: the
    patient's age (None when unknown, as in a plan without a patient).
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
        issues.append(DataIssue(kind="no_protocol", message=text))
    national = [p for p in selected if p.jurisdiction != "INT"]
    for drug in drugs:
        label = drug_label(drug, lang)
        covering = [p for p in national if p.applies_to.covers(drug)]
        fitting = [p for p in covering if age is None or p.applies_to.covers_age(age)]
        if covering and not fitting:
            listed = "; ".join(f"{p.id} ({_population(p, lang)})" for p in covering)
            text = phrase("issue.no_protocol_for_age", lang, drug=label, age=age, protocols=listed)
            issues.append(DataIssue(kind="no_protocol", message=text, field=drug))
        elif national and not covering:
            text = phrase("issue.no_protocol_for_drug", lang, drug=label)
            issues.append(DataIssue(kind="no_protocol", message=text, field=drug))
        # protocols for this one drug only (clozapine's blood monitoring), not class protocols
        specific = sorted(
            p.id for p in shipped_protocols().values() if p.applies_to.drugs == [drug]
        )
        if specific and not applied & set(specific):
            text = phrase(
                "issue.drug_protocol_not_selected",
                lang,
                drug=label,
                protocols=", ".join(specific),
            )
            issues.append(DataIssue(kind="no_protocol", message=text, field=drug))
    chosen = [p for p in selected if p.id in applied]
    jurisdictions = sorted({p.jurisdiction for p in chosen} - {"INT"})
    if len(jurisdictions) > 1:
        listed = "; ".join(
            f"{j}: {', '.join(sorted(p.id for p in chosen if p.jurisdiction == j))}"
            for j in jurisdictions
        )
        text = phrase("issue.several_jurisdictions", lang, jurisdictions=listed)
        issues.append(DataIssue(kind="several_jurisdictions", message=text))
    for protocol in chosen:
        if not protocol.alerts:
            text = phrase("issue.no_thresholds", lang, protocol=protocol.id)
            issues.append(DataIssue(kind="no_protocol", message=text, protocol=protocol.id))
    return issues


def _recheck(
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


def _no_baseline(protocol_id: str, analyte: str, anchor: dt.date, lang: str) -> DataIssue:
    before, after = BASELINE_WINDOW_DAYS
    return DataIssue(
        kind="missing",
        protocol=protocol_id,
        field=analyte,
        message=phrase(
            "issue.no_baseline",
            lang,
            analyte=analyte,
            start=anchor - dt.timedelta(days=before),
            end=anchor + dt.timedelta(days=after),
            anchor=anchor,
        ),
    )


@dataclass(frozen=True)
class _ScoreOptions:
    given: dict[str, Mapping[str, Any]]
    record_complete: bool
    model_options: dict[str, Any]  # from the jurisdiction (score2's region)


def default_scores(jurisdiction: str | None) -> dict[str, Any]:
    """The jurisdiction's default scores and options (cvrisk/data/jurisdictions.toml)."""
    table = load_data("jurisdictions.toml")
    return dict(table.get(jurisdiction or "default", table["default"]))


def _score(
    record: PatientRecord,
    model: str,
    as_of: dt.date,
    lang: str,
    facts: FactSet,
    issues: list[DataIssue],
    options: _ScoreOptions,
) -> ScoreEntry:
    from cvrisk.scores.from_record import score_record

    try:
        accepted = get_model(model).info.options
        result = score_record(
            record,
            model,
            as_of=as_of,
            lang=lang,
            given=options.given.get(model),
            record_complete=options.record_complete,
            **{k: v for k, v in options.model_options.items() if k in accepted},
        )
    except CvriskError as exc:
        text = str(exc) if str(exc).startswith(model) else f"{model}: {exc}"
        issues.append(DataIssue(kind="not_computable", field=model, message=text))
        return ScoreEntry(model=model, risk=None, caveats=[str(exc)])
    missing = [m.name for m in result.missing]
    issues.extend(result.conflicts)  # given values the record contradicts (warnings)
    for problem in result.invalid:
        field = f"{model}.{problem.column}"
        issues.append(DataIssue(kind="not_computable", field=field, message=str(problem)))
    if result.risk is not None:
        add_score(facts, model, result.risk)
    elif missing:
        issues.append(
            DataIssue(
                kind="not_computable",
                field=model,
                message=phrase(
                    "issue.score_missing",
                    lang,
                    model=model,
                    missing=", ".join(m.label or m.name for m in result.missing),
                ),
            )
        )
    return ScoreEntry(
        model=model,
        risk=result.risk,
        missing=missing,
        caveats=[caveat.text for caveat in result.caveats],
    )


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


def _fmt(value: float, lang: str = "en") -> str:
    """A value for a clinician: 4 significant digits, French decimal comma."""
    text = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return text.replace(".", ",") if lang == "fr" else text


def _alert(protocol: Protocol, rule: AlertRule, facts: FactSet, fact_id: str, lang: str) -> Alert:
    shown = facts.values[fact_id]
    value = shown.get("value")
    is_change = rule.measure in ("change_from_baseline", "change_within")
    change_key = "rise_pct" if rule.change == "percent" else "rise_abs"
    reported_unit = _reported_equivalent(rule, shown)
    if reported_unit is not None:  # compared as reported: show it as reported
        value_text = _fmt(float(shown["orig"]), lang)
    elif isinstance(value, float):
        value_text = _fmt(_display(rule, value, False), lang)
    else:
        value_text = ""
    fields = {
        "value": value_text,
        "unit": display_unit(reported_unit or rule.unit or ""),
        "threshold": _fmt(rule.value, lang)
        if rule.value is not None
        else f"{_fmt(rule.lower or 0.0, lang)}-{_fmt(rule.upper or 0.0, lang)}",
        "date": shown.get("date", ""),
        "change": _fmt(_display(rule, shown[change_key], True), lang) if is_change else "",
    }
    try:
        message = rule.message.get(lang).format(**fields)
    except (KeyError, IndexError, ValueError):
        message = rule.message.get(lang)
    return Alert(
        code=f"{protocol.id}/{rule.id}",
        severity=rule.severity,
        message=message,
        evidence=facts.evidence[fact_id],
        protocol=protocol.id,
        rule=rule.id,
        source=rule.source,
        evidence_status=rule.status,
    )


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
        drug: ingredient id from the antipsychotic catalogue (e.g. ``"olanzapine"``).
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
    drug = vocab.antipsychotic_id(drug)
    person = _patient(patient)
    jurisdiction = check_jurisdiction(jurisdiction)
    chosen = select_protocols([protocol] if protocol is not None else None, jurisdiction)
    plans = []
    for proto in chosen:
        if not proto.applies_to.covers(drug):
            if protocol is not None:
                raise ProtocolError(f"protocol {proto.id!r} does not apply to {drug}")
            continue
        if person is not None and not proto.applies_to.covers_age(person.age_on(start)):
            if protocol is not None:
                raise ProtocolError(
                    f"protocol {proto.id!r} does not apply to a patient aged "
                    f"{int(person.age_on(start))} ({_population(proto, 'en')})"
                )
            continue
        plans.append(_protocol_plan(proto, drug, start, lang))
    age = person.age_on(start) if person is not None else None
    applied = {p.protocol for p in plans}
    notes = [i.message for i in coverage_issues(chosen, applied, [drug], age, jurisdiction, lang)]
    return Plan(
        drug=drug,
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


def _population(proto: Protocol, lang: str) -> str:
    """The ages a protocol is for, as text ("all ages" when unrestricted)."""
    low, high = proto.applies_to.min_age_years, proto.applies_to.max_age_years
    return phrase(
        "population.ages"
        if low is not None and high is not None
        else "population.from"
        if low is not None
        else "population.to"
        if high is not None
        else "population.all",
        lang,
        low=low,
        high=high,
    )


def as_date(value: Any, name: str) -> dt.date:
    """A date from a date, a date-time (its day) or ISO 8601 text; OptionError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise OptionError(f"{name}={value!r} is not a date: give a datetime.date or 'YYYY-MM-DD'")


def check_jurisdiction(jurisdiction: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 country code (or INT), upper-cased; OptionError otherwise."""
    if jurisdiction is None:
        return None
    code = jurisdiction.strip().upper()
    code = {"UK": "GB"}.get(code, code)  # ISO 3166 reserves UK for the United Kingdom (GB)
    if not (len(code) == 2 and code.isalpha()) and code != "INT":
        raise OptionError(
            f"jurisdiction={jurisdiction!r}: use an ISO 3166-1 alpha-2 country code "
            "(GB, US, FR...) or INT"
        )
    return code


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
            then.append(f"{test_label(item.test, lang)}: {every_text(item.then_every, lang)}")
    followups.sort(key=lambda p: (p.due_date, p.rule))
    return ProtocolPlan(
        protocol=proto.id,
        title=proto.title,
        citation=proto.citation,
        population=_population(proto, lang),
        baseline=baseline,
        followups=followups,
        then=then,
    )
