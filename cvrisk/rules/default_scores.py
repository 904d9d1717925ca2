"""Which of a jurisdiction's usual risk scores fit a patient (cvrisk/data/jurisdictions.toml).

A usual score fits when the patient's age is inside the model's validated range and, where
the jurisdiction's guidance restricts it (``[<jurisdiction>.population.<model>]``), the
record holds (``conditions``) or does not hold (``unless_conditions``) a diagnosis of those
condition sets: in France SCORE2 is for people without diabetes and SCORE2-Diabetes for
people with type 2 diabetes. Diagnoses are read as score_record's population exclusions read
them (:func:`cvrisk.scores.from_record.codes.recorded_codes`), so a default score is never
chosen only to be refused. When no usual score fits, one issue says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cvrisk import vocab
from cvrisk.issues import DataIssue
from cvrisk.record import PatientRecord
from cvrisk.rules.messages import phrase
from cvrisk.scores.registry import get_model


def age_fits(model: str, age: float) -> bool:
    """True when ``age`` is inside the model's validated age range."""
    spec = get_model(model).inputs.get("age")
    if spec is None or spec.minimum is None or spec.maximum is None:
        return True
    return spec.minimum <= age <= spec.maximum


def population_misfit(
    model: str, defaults: Mapping[str, Any], record: PatientRecord, as_of: dt.date, lang: str
) -> str | None:
    """Why the guidance does not use ``model`` for this patient (None when it does)."""
    from cvrisk.scores.from_record.codes import recorded_codes

    rule = defaults.get("population", {}).get(model)
    if rule is None:
        return None
    for set_id in rule.get("unless_conditions", ()):
        if recorded_codes(record, as_of, [set_id]):
            return phrase("issue.population_has", lang, model=model, condition=_label(set_id, lang))
    needed = list(rule.get("conditions", ()))
    if needed and not recorded_codes(record, as_of, needed):
        condition = " / ".join(_label(set_id, lang) for set_id in needed)
        return phrase("issue.population_lacks", lang, model=model, condition=condition)
    return None


def fitting_scores(
    defaults: Mapping[str, Any], record: PatientRecord, as_of: dt.date, lang: str
) -> tuple[list[str], list[DataIssue]]:
    """The usual scores that fit the patient, and the issue when none does."""
    age = record.age_on(as_of)
    models = list(defaults["scores"])
    aged = [m for m in models if age_fits(m, age)]
    misfits = {m: population_misfit(m, defaults, record, as_of, lang) for m in aged}
    fitting = [m for m in aged if misfits[m] is None]
    if fitting:
        return fitting, []
    names = ", ".join(models)
    if not aged:
        text = phrase("issue.no_score_for_age", lang, age=int(age), models=names)
    else:
        reasons = "; ".join(reason for reason in misfits.values() if reason)
        text = phrase(
            "issue.no_score_for_patient", lang, age=int(age), models=names, reasons=reasons
        )
    return [], [DataIssue(kind="not_computable", message=text)]


def _label(set_id: str, lang: str) -> str:
    label = vocab.condition_sets().get(set_id, {}).get("label", {})
    return str(label.get(lang) or label.get("en") or set_id)
