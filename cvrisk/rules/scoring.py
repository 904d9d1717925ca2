"""Stage 5 of an evaluation: the risk scores of the report.

Which models: those named by ``scores`` (exactly those; ``[]`` means none), else the
jurisdiction's usual ones that fit the patient (age range and the guidance's population,
``cvrisk/data/jurisdictions.toml``; :mod:`cvrisk.rules.default_scores`) and those the
applicable protocols' rules read. A rule whose score is not computed is said, not
silently skipped. Each score comes from :func:`cvrisk.scores.score_record`, with the caller's
``score_inputs`` and the jurisdiction's model options; what it cannot compute is a data issue,
and so is each ``score_inputs`` value the record contradicts (a ``conflict`` warning).
A computed score also becomes a ``score`` fact, which alert rules match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cvrisk.data import load_data
from cvrisk.errors import CvriskError
from cvrisk.issues import DataIssue
from cvrisk.record import PatientRecord
from cvrisk.rules.default_scores import fitting_scores
from cvrisk.rules.facts import FactSet, add_score
from cvrisk.rules.messages import phrase
from cvrisk.rules.report import ScoreEntry
from cvrisk.scores.registry import get_model

if TYPE_CHECKING:
    from cvrisk.scores.from_record.results import Evidence


@dataclass(frozen=True)
class ScoreOptions:
    """What the caller and the jurisdiction say about the scores."""

    given: Mapping[str, Mapping[str, Any]]  # score_inputs, by model
    record_complete: bool
    model_options: Mapping[str, Any]  # from the jurisdiction (score2's region)


def default_scores(jurisdiction: str | None) -> dict[str, Any]:
    """The jurisdiction's default scores and options (cvrisk/data/jurisdictions.toml)."""
    table = load_data("jurisdictions.toml")
    return dict(table.get(jurisdiction or "default", table["default"]))


def wanted_models(
    requested: Collection[str] | None,
    rule_models: Collection[str],
    jurisdiction: str | None,
    record: PatientRecord,
    as_of: dt.date,
    lang: str,
) -> tuple[list[str], dict[str, Any], list[DataIssue]]:
    """(models to compute, the jurisdiction's model options, issues about the choice)."""
    defaults = default_scores(jurisdiction)
    options = dict(defaults.get("options", {}))
    issues = []
    if requested is not None:
        for model in sorted(set(rule_models) - set(requested)):
            text = phrase("issue.score_not_requested", lang, model=model)
            issues.append(DataIssue(kind="not_computable", field=model, message=text))
        return sorted(set(requested)), options, issues
    fitting, unfit = fitting_scores(defaults, record, as_of, lang)
    issues.extend(unfit)
    return sorted(set(rule_models) | set(fitting)), options, issues


def compute_scores(
    record: PatientRecord,
    models: list[str],
    as_of: dt.date,
    lang: str,
    facts: FactSet,
    options: ScoreOptions,
) -> tuple[list[ScoreEntry], list[DataIssue]]:
    """Each model's score entry, and the data issues of those not (fully) computable."""
    issues: list[DataIssue] = []
    entries = [score_entry(record, m, as_of, lang, facts, issues, options) for m in models]
    return entries, issues


def score_entry(
    record: PatientRecord,
    model: str,
    as_of: dt.date,
    lang: str,
    facts: FactSet,
    issues: list[DataIssue],
    options: ScoreOptions,
) -> ScoreEntry:
    """One model's score (adding its fact), or why it is not computable (adding issues)."""
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
        basis=_basis(record, result.inputs.sources.values()),
    )


def _basis(record: PatientRecord, sources: Iterable[Iterable[Evidence]]) -> list[str]:
    """Ids of the record entries behind a score's inputs, in order, once each."""
    lists: dict[str, Sequence[Any]] = {
        "observation": record.observations,
        "condition": record.conditions,
        "medication": record.medications,
    }
    out: dict[str, None] = {}
    for evidence in (e for group in sources for e in group):
        entries = lists.get(evidence.kind)
        if entries is not None and evidence.index is not None:
            entry_id = entries[evidence.index].id
            if entry_id:
                out.setdefault(entry_id)
    return list(out)
