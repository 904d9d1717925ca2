"""``evaluate``: one patient record in; the tests due, alerts, scores and data issues out.

A short pipeline of named stages, each in its own module:

1. read the input (:mod:`cvrisk.sources`: native JSON or FHIR, strict or lenient);
2. the antipsychotic courses (:mod:`~cvrisk.rules.courses`);
3. select the protocols that apply, each with its treatment episode
   (:mod:`~cvrisk.rules.selection`), and say what they leave uncovered
   (:mod:`~cvrisk.rules.coverage`);
4. the tests each protocol asks for now (:mod:`~cvrisk.rules.due`);
5. the facts the compiled rules can match (:mod:`~cvrisk.rules.facts`,
   :mod:`~cvrisk.rules.engine`);
6. the risk scores (:mod:`~cvrisk.rules.scoring`);
7. the alerts and the repeat tests they ask for (:mod:`~cvrisk.rules.alerts`);
8. the report (:mod:`~cvrisk.rules.report`).

Protocol selection (``protocols=None``): every shipped protocol whose ``applies_to`` covers
an antipsychotic the patient takes on ``as_of``, whose age bounds include the patient's age,
and — when ``jurisdiction`` is given — whose jurisdiction is that country or ``INT``.
Naming protocols explicitly skips the jurisdiction filter but not the drug and age checks: a
protocol whose drug the patient does not take produces nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cvrisk._version import __version__
from cvrisk.issues import DataIssue, raise_if_strict
from cvrisk.rules import engine
from cvrisk.rules.alerts import raise_alerts
from cvrisk.rules.courses import (
    active_drugs,
    courses_of,
    current_starts,
    formulation_coverage,
)
from cvrisk.rules.coverage import after_stop_issues, coverage_issues, ended_issues
from cvrisk.rules.due import due_tests, lapsed_issues, merge_requests, ordered
from cvrisk.rules.facts import Results, collect_facts, conflict_issues, future_results_issue
from cvrisk.rules.messages import phrase
from cvrisk.rules.options import EvaluationOptions
from cvrisk.rules.report import Report
from cvrisk.rules.scoring import ScoreOptions, compute_scores, wanted_models
from cvrisk.rules.selection import applicable_protocols, select_protocols
from cvrisk.sources import OnInvalid, ReadResult, read_record


def evaluate(
    record: Any,
    *,
    as_of: dt.date | str | None = None,
    protocols: Sequence[str | Path] | str | Path | None = None,
    jurisdiction: str | None = None,
    lang: str = "en",
    scores: Sequence[str] | None = None,
    score_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    record_complete: bool = False,
    on_invalid: OnInvalid = "raise",
    strict: bool = False,
) -> Report:
    """Required tests (with due dates and windows), alerts, scores and data issues.

    Args:
        record: a PatientRecord; its native JSON (dict, text or bytes); FHIR R4 (a Bundle,
            a list of resources, Bulk Data NDJSON); or the path of such a file (``-``: stdin).
            Or what :func:`cvrisk.sources.read_record` returned for one (a ``ReadResult``:
            not read again, and its reading issues are reported as if read here), for a
            caller that needs the record too.
        as_of: evaluation date (default: today). Results dated later are not used.
        protocols: protocol ids (or paths of local protocol files); None selects the
            shipped protocols that apply (see the module docstring).
        jurisdiction: ISO country code (``GB``, ``US``, ``FR``...) restricting the
            automatic selection to that country's protocols and international ones.
        lang: ``en`` or ``fr`` for messages and reasons.
        scores: risk models to compute, exactly (``[]``: none; a protocol rule reading a
            score not computed is reported). Default: the jurisdiction's usual scores that
            fit the patient's age and population (cvrisk/data/jurisdictions.toml: in France
            SCORE2-Diabetes with type 2 diabetes, SCORE2 without diabetes; QRISK3 without a
            jurisdiction) and those the protocols' rules read.
        score_inputs: values the caller supplies per model, e.g.
            ``{"qrisk3": {"smoking": "moderate", "family_history_chd": False}}`` (structured
            EHR fields a record does not carry); they replace record-derived values, and a
            value the record contradicts is a ``conflict`` warning in ``data_issues``.
        record_complete: the record holds every diagnosis and prescription (a full primary
            care record): risk-factor flags without record evidence are then false, not
            missing. Leave False unless the source system guarantees it.
        on_invalid: ``"raise"`` (default) refuses an invalid record; ``"report"`` skips each
            invalid entry, lists it as a data issue and evaluates the rest (the FHIR reader
            and the CDS Hooks service read this way).
        strict: turn every reading issue, and every warning-level data issue, into a
            :class:`~cvrisk.errors.DataIssueError`.

    Raises:
        RecordError: the record is invalid or unreadable. ProtocolError: unknown protocol id
        or bad file. OptionError / UnknownModelError: an invalid argument. DataIssueError:
        ``strict=True`` and the evaluation met an issue it refuses.
    """
    opts = EvaluationOptions.check(
        as_of=as_of,
        protocols=protocols,
        jurisdiction=jurisdiction,
        lang=lang,
        scores=scores,
        score_inputs=score_inputs,
        record_complete=record_complete,
        on_invalid=on_invalid,
        strict=strict,
    )
    if isinstance(record, ReadResult):  # read already (the CDS Hooks service reads once)
        raise_if_strict(record.issues, strict=opts.strict, read=True)
        read = record
    else:
        read = read_record(record, on_invalid=opts.on_invalid, strict=opts.strict)
    rec, as_of, lang = read.record, opts.as_of, opts.lang
    issues: list[DataIssue] = [*read.issues, *rec.check_dates(as_of, opts.on_invalid)]

    courses, drug_issues = courses_of(rec, lang, as_of)
    issues.extend(drug_issues)
    active = active_drugs(courses, as_of)
    age = rec.age_on(as_of)
    selected = select_protocols(opts.protocols, opts.jurisdiction)
    applicable = applicable_protocols(selected, courses, age, as_of)
    applied = {p.id for p, _ in applicable}
    if active:
        issues.extend(coverage_issues(selected, applied, active, age, opts.jurisdiction, lang))
        issues.extend(formulation_coverage(courses, applied, as_of, lang))
    else:
        text = phrase("issue.no_antipsychotic", lang, as_of=as_of)
        issues.append(DataIssue(kind="no_protocol", message=text))
    issues.extend(ended_issues(applicable, as_of, lang))
    issues.extend(after_stop_issues(selected, applied, courses, age, as_of, lang))

    results = Results.from_record(rec, as_of)
    tests = due_tests(applicable, results, as_of, lang)
    issues.extend(lapsed_issues(applicable, results, as_of, lang))
    issues.extend(future_results_issue(results, as_of, lang))
    issues.extend(conflict_issues(results, lang))

    ruleset = engine.compile_ruleset([p for p, _ in applicable])
    episodes = {p.id: e for p, e in applicable}
    anchors = {protocol_id: episode.anchor for protocol_id, episode in episodes.items()}
    facts, fact_issues = collect_facts(
        rec, results, ruleset.needs, anchors, active, current_starts(courses, as_of), as_of, lang
    )
    issues.extend(fact_issues)

    models, model_options, model_issues = wanted_models(
        opts.scores, ruleset.needs.scores, opts.jurisdiction, rec, as_of, lang
    )
    issues.extend(model_issues)
    score_options = ScoreOptions(opts.score_inputs, opts.record_complete, model_options)
    score_entries, score_issues = compute_scores(rec, models, as_of, lang, facts, score_options)
    issues.extend(score_issues)

    alerts, rechecks = raise_alerts(ruleset, facts, episodes, as_of, lang)
    raise_if_strict(issues, strict=opts.strict, read=False)
    return Report(
        as_of=as_of,
        patient_id=rec.patient.id,
        lang=lang,
        protocols=sorted(episodes),
        tests=ordered(merge_requests([*tests, *rechecks])),
        alerts=alerts,
        scores=score_entries,
        data_issues=issues,
        cvrisk_version=__version__,
    )
