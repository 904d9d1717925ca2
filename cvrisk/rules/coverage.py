"""What the selected protocols leave unassessed for a patient or a plan, said rather than left
silent: no protocol for the drug, the age or the jurisdiction; a drug's own monitoring not
selected; protocols of several countries; protocols without thresholds."""

from __future__ import annotations

from collections.abc import Sequence

from cvrisk.issues import DataIssue
from cvrisk.rules.catalog import shipped_protocols
from cvrisk.rules.messages import drug_label, phrase
from cvrisk.rules.schema import Protocol
from cvrisk.rules.selection import population


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
            listed = "; ".join(f"{p.id} ({population(p, lang)})" for p in covering)
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
            p.id for p in shipped_protocols().values() if p.applies_to.drugs == [drug]
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
