"""The record's antipsychotic courses, and what was said about every other prescription.

Each medication is recognised with :func:`cvrisk.vocab.resolve_drug` and ends up as exactly
one of (never silently dropped):

- a course (:class:`Prescription`) of a catalogue antipsychotic, with its formulation;
- a warning ``unknown_drug`` when the name or code is not recognised (with "did you mean"
  suggestions over INNs, salts and brands): if it is an antipsychotic, its monitoring is lost;
- a warning ``unknown_drug`` for an antipsychotic outside the catalogue (trifluoperazine, an
  ATC N05A code the catalogue lacks): recognised, but no protocol applies to it;
- an info ``not_covered`` for a drug cvrisk ignores on purpose (lithium, valproate,
  antidepressants...: ``[[not_covered]]`` of cvrisk/data/drug_names.toml);
- an info ``excluded`` for a prescription starting after the evaluation date (not used);
- nothing for a code whose ATC group is outside the psychotropics listed (metformin A10BA02):
  its ATC code shows it does not concern the protocols.

A course whose formulation may matter but is not recorded (olanzapine by injection, which
may be the pamoate long-acting injection) also gets a warning ``missing``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cvrisk import vocab
from cvrisk.drugs import DrugMatch, fold
from cvrisk.issues import DataIssue
from cvrisk.record import Medication, PatientRecord
from cvrisk.rules.catalog import shipped_protocols
from cvrisk.rules.episodes import Prescription, merge_courses
from cvrisk.rules.messages import drug_label, phrase
from cvrisk.rules.schema import Protocol

#: Route text (folded) that says a medication is injected: whole words, and word parts.
_INJECTION_WORDS = frozenset({"im", "inj", "lai", "depot"})
_INJECTION_PARTS = ("inject", "intramusc", "long acting", "prolonged")


def courses_of(
    record: PatientRecord, lang: str = "en", as_of: dt.date | None = None
) -> tuple[list[Prescription], list[DataIssue]]:
    """The record's catalogue-antipsychotic courses and the data issues about its other
    prescriptions (see the module docstring). ``as_of``: the evaluation date (None: future
    prescriptions are not checked)."""
    courses: list[Prescription] = []
    issues: list[DataIssue] = []
    for index, med in enumerate(record.medications):
        field = f"medications[{index}]"
        shown = _shown(med)
        match = med.match
        if match is None:
            if not _outside_psychotropics(med):
                issues.append(_unknown(med, shown, field, lang))
            continue
        if match.category == "not_covered":
            issues.append(_not_covered(match, shown, field, lang, med.id))
            continue
        if not match.catalogued:
            text = phrase(
                "issue.uncatalogued_antipsychotic", lang, code=shown, drug=match.label(lang)
            )
            issues.append(
                DataIssue(
                    kind="unknown_drug",
                    severity="warning",
                    message=text,
                    field=field,
                    resource=med.id,
                )
            )
            continue
        assert match.ingredient is not None
        if as_of is not None and med.start > as_of:
            text = phrase(
                "issue.future_prescription", lang, code=shown, start=med.start, as_of=as_of
            )
            issues.append(DataIssue(kind="excluded", message=text, field=field, resource=med.id))
            continue
        formulation = med.formulation_id
        courses.append(Prescription(match.ingredient, med.start, med.stop, formulation))
        if formulation is None:
            issues.extend(_formulation_unknown(med, match, field, lang))
    return courses, issues


def _shown(med: Medication) -> str:
    """How a message names the medication: its name, else ``system|code``."""
    return repr(med.drug) if med.drug is not None else f"{med.system}|{med.code}"


def _outside_psychotropics(med: Medication) -> bool:
    """An ATC code not recognised by group: not an antipsychotic, not a listed psychotropic."""
    if med.code is None or med.system is None:
        return False
    return vocab.normalise_system(med.system) == "atc" and not med.code.strip().upper().startswith(
        "N05A"
    )


def _specific_protocols() -> list[str]:
    """Protocols for one drug or formulation (clozapine blood monitoring...)."""
    return sorted(
        p.id
        for p in shipped_protocols().values()
        if "antipsychotic" not in p.applies_to.drugs or p.applies_to.formulations is not None
    )


def _unknown(med: Medication, shown: str, field: str, lang: str) -> DataIssue:
    close = vocab.suggest_drugs(med.drug) if med.drug is not None else []
    hint = phrase("issue.unknown_drug_hint", lang, names=" or ".join(close)) if close else ""
    text = phrase(
        "issue.unknown_drug",
        lang,
        code=shown,
        hint=hint,
        specific=", ".join(_specific_protocols()),
    )
    return DataIssue(
        kind="unknown_drug", severity="warning", message=text, field=field, resource=med.id
    )


def _not_covered(
    match: DrugMatch, shown: str, field: str, lang: str, resource: str | None
) -> DataIssue:
    drug_class = (match.drug_class or {}).get(lang) or (match.drug_class or {}).get("en", "")
    text = phrase(
        "issue.not_covered", lang, code=shown, drug=match.label(lang), drug_class=drug_class
    )
    return DataIssue(kind="not_covered", message=text, field=field, resource=resource)


def _formulation_protocols(ingredient: str) -> list[Protocol]:
    return [
        p
        for p in shipped_protocols().values()
        if p.applies_to.formulations is not None and p.applies_to.covers(ingredient)
    ]


def _says_injected(text: str) -> bool:
    """True when route or product text (folded) names an injection."""
    folded = fold(text)
    return bool(_INJECTION_WORDS & set(folded.split())) or any(
        part in folded for part in _INJECTION_PARTS
    )


def _formulation_unknown(
    med: Medication, match: DrugMatch, field: str, lang: str
) -> list[DataIssue]:
    """A warning when an injected drug has formulation-specific protocols and the record
    does not say which formulation it is."""
    assert match.ingredient is not None
    protocols = _formulation_protocols(match.ingredient)
    # the route, or the product text itself ("olanzapine 405 mg injection"), says injected
    said = next((t for t in (med.route, med.drug) if t and _says_injected(t)), None)
    if not protocols or said is None:
        return []
    ids = sorted({f for p in protocols for f in p.applies_to.formulations or ()})
    labels = [_formulation_label(f, lang) for f in ids]
    text = phrase(
        "issue.formulation_unknown",
        lang,
        drug=drug_label(match.ingredient, lang),
        route=said,
        formulations=" or ".join(labels),
        protocols=", ".join(sorted(p.id for p in protocols)),
        example=ids[0],
    )
    return [
        DataIssue(kind="missing", severity="warning", message=text, field=field, resource=med.id)
    ]


def formulation_coverage(
    courses: list[Prescription],
    applied: set[str],
    as_of: dt.date,
    lang: str,
) -> list[DataIssue]:
    """A warning for each active course of a formulation whose specific protocols exist but
    none is selected (the protocols were named explicitly without it)."""
    issues: list[DataIssue] = []
    seen: set[tuple[str, str]] = set()
    for course in courses:
        if course.formulation is None or not course.active_on(as_of):
            continue
        key = (course.drug, course.formulation)
        if key in seen:
            continue
        seen.add(key)
        specific = sorted(
            p.id
            for p in shipped_protocols().values()
            if p.applies_to.formulations is not None
            and p.applies_to.covers_course(course.drug, course.formulation)
        )
        if specific and not applied & set(specific):
            text = phrase(
                "issue.formulation_protocol_not_selected",
                lang,
                drug=drug_label(course.drug, lang),
                formulation=course.formulation,
                protocols=", ".join(specific),
            )
            issues.append(
                DataIssue(kind="no_protocol", severity="warning", message=text, field=course.drug)
            )
    return issues


def formulation_notes(
    drug: str, formulation: str | None, applied: set[str], lang: str
) -> list[str]:
    """What a prescribing plan leaves out about formulations: the formulation-specific
    protocols of ``drug`` when the plan is for another formulation (or none), and those of
    ``formulation`` when none of them is in the plan."""
    notes: list[str] = []
    specific = _formulation_protocols(drug)
    if formulation is None:
        others = sorted({f for p in specific for f in p.applies_to.formulations or ()})
        if others:
            labels = [_formulation_label(f, lang) for f in others]
            names = [n["name"] for n in vocab.drug_names() if n.get("formulation") in others]
            notes.append(
                phrase(
                    "issue.formulation_other",
                    lang,
                    formulations=" or ".join(labels),
                    protocols=", ".join(sorted(p.id for p in specific)),
                    example=names[0] if names else others[0],
                )
            )
        return notes
    mine = sorted(p.id for p in specific if p.applies_to.covers_course(drug, formulation))
    if mine and not applied & set(mine):
        notes.append(
            phrase(
                "issue.formulation_protocol_not_selected",
                lang,
                drug=drug_label(drug, lang),
                formulation=formulation,
                protocols=", ".join(mine),
            )
        )
    return notes


def _formulation_label(formulation: str, lang: str) -> str:
    label = vocab.formulations()[formulation]["label"]
    return str(label.get(lang) or label["en"])


def active_drugs(courses: Sequence[Prescription], as_of: dt.date) -> list[str]:
    """The antipsychotics taken on ``as_of``, sorted."""
    return sorted({c.drug for c in courses if c.active_on(as_of)})


def current_starts(courses: Sequence[Prescription], as_of: dt.date) -> dict[str, dt.date]:
    """Start of the current (merged) course of each antipsychotic active on ``as_of``."""
    return {c.drug: c.start for c in merge_courses(courses) if c.active_on(as_of)}
