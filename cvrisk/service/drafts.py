"""The antipsychotics being ordered: draft MedicationRequests of ``context.draftOrders``.

A MedicationRequest's medication (``medicationCodeableConcept``, or a ``medicationReference``
to a contained resource or to a Medication in the same Bundle) is recognised by
:func:`cvrisk.vocab.resolve_drug` (:mod:`cvrisk.drugs`): codes (ATC, RxNorm ingredient and
product codes, dm+d) and names (INN, salt, brand, product text with a strength). What it
finds:

- a catalogue antipsychotic (with its formulation, e.g. olanzapine pamoate): planned;
- an antipsychotic outside the catalogue (an ATC N05A code or a known name): reported on a
  card (its monitoring cannot be assessed), never ignored;
- a name and a code that disagree: reported on a card, neither is used;
- a medication cvrisk does not recognise whose name is close to an antipsychotic's
  (``clozapin``, ``Zyprexxa``): a warning card naming the close names, since a misspelt
  antipsychotic must not pass silently;
- anything else (recognised as not an antipsychotic, e.g. lithium, or a name close to no
  antipsychotic, e.g. amoxicillin): no card. The hook fires for every medication selected,
  and this service advises on antipsychotics only; a card for every other medication would
  bury the ones that matter (docs/integrators.md says so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cvrisk import vocab
from cvrisk.drugs import DrugMatch
from cvrisk.errors import VocabularyError


@dataclass(frozen=True)
class DraftDrug:
    """A catalogue antipsychotic in a draft order."""

    drug: str
    formulation: str | None
    start: dt.date
    reference: str

    @property
    def name(self) -> str:
        """What :func:`cvrisk.schedule` is given: the formulation when there is one."""
        return self.formulation or self.drug


@dataclass(frozen=True)
class UnplacedOrder:
    """An order that is an antipsychotic cvrisk cannot plan, or whose name and code
    disagree; ``why`` is the message for the card."""

    name: str
    codes: str
    reference: str
    why: str
    #: not recognised at all; ``suggestions``: close antipsychotic names
    unrecognised: bool = False
    suggestions: tuple[str, ...] = ()


class DraftOrderError(ValueError):
    """``context.draftOrders`` is not what the hook defines (HTTP 400)."""


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _medication_concept(
    request: Mapping[str, Any], bundle: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    concept = request.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept
    reference = request.get("medicationReference")
    target = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        for contained in request.get("contained") or []:
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                code = contained.get("code")
                return code if isinstance(code, dict) else None
        return None
    medication = bundle.get(target)
    code = medication.get("code") if medication is not None else None
    return code if isinstance(code, dict) else None


def _start(request: Mapping[str, Any], today: dt.date) -> dt.date:
    """The planned start: the first dosage's bounds start, else authoredOn, else today."""
    candidates = []
    for dosage in request.get("dosageInstruction") or []:
        repeat = ((dosage or {}).get("timing") or {}).get("repeat") or {}
        candidates.append((repeat.get("boundsPeriod") or {}).get("start"))
    candidates.append(request.get("authoredOn"))
    for value in candidates:
        if isinstance(value, str) and len(value) >= 10:
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                continue
    return today


def _recognise(concept: dict[str, Any] | None) -> tuple[DrugMatch | None, str | None]:
    """The drug a medication concept means, or the reason it cannot be told (a conflict)."""
    codings = _codings(concept)
    names = [str(c["display"]) for c in codings if isinstance(c.get("display"), str)]
    if concept is not None and isinstance(concept.get("text"), str):
        names.insert(0, concept["text"])
    best: DrugMatch | None = None
    try:
        for coding in codings:
            code, system = coding.get("code"), coding.get("system")
            if not isinstance(code, str) or not isinstance(system, str):
                continue
            try:
                match = vocab.resolve_drug(names[0] if names else None, code, system)
            except VocabularyError as exc:
                if type(exc) is VocabularyError:  # a code system cvrisk does not read
                    continue
                raise
            if match is not None and (best is None or (match.catalogued and not best.catalogued)):
                best = match
        if best is None:
            for name in names:
                best = vocab.resolve_drug(name)
                if best is not None:
                    break
    except VocabularyError as exc:  # DrugConflictError: the name and a code disagree
        return None, str(exc)
    return best, None


def draft_antipsychotics(
    draft_orders: Any,
    *,
    patient_id: str,
    selections: Sequence[str] | None,
    today: dt.date,
) -> tuple[list[DraftDrug], list[UnplacedOrder]]:
    """The catalogue antipsychotics among the draft MedicationRequests (only the
    ``selections`` when given, as ``order-select`` asks), and the orders to report.

    Raises:
        DraftOrderError: ``draftOrders`` is not a Bundle, or an order is for another patient.
    """
    if not isinstance(draft_orders, dict) or draft_orders.get("resourceType") != "Bundle":
        raise DraftOrderError("context.draftOrders must be a FHIR Bundle of draft orders")
    resources = [
        e["resource"]
        for e in draft_orders.get("entry") or []
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    by_reference = {
        f"{r.get('resourceType')}/{r.get('id')}": r for r in resources if r.get("id") is not None
    }
    chosen = set(selections) if selections is not None else None
    found: list[DraftDrug] = []
    unplaced: list[UnplacedOrder] = []
    for resource in resources:
        if resource.get("resourceType") != "MedicationRequest":
            continue
        reference = f"MedicationRequest/{resource.get('id')}"
        if chosen is not None and reference not in chosen:
            continue
        subject = (resource.get("subject") or {}).get("reference")
        if isinstance(subject, str) and subject not in (patient_id, f"Patient/{patient_id}"):
            raise DraftOrderError(
                f"draft order {reference} is for {subject}, not the patient in context "
                f"(Patient/{patient_id})"
            )
        concept = _medication_concept(resource, by_reference)
        match, conflict = _recognise(concept)
        name = str(
            (concept or {}).get("text")
            or next(
                (c["display"] for c in _codings(concept) if c.get("display")), "this medication"
            )
        )
        codes = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in _codings(concept))
        if conflict is not None:
            unplaced.append(UnplacedOrder(name, codes, reference, conflict))
        elif match is not None and match.catalogued and match.ingredient is not None:
            start = _start(resource, today)
            found.append(DraftDrug(match.ingredient, match.formulation, start, reference))
        elif match is not None and match.category == "antipsychotic":
            unplaced.append(UnplacedOrder(name, codes, reference, ""))
        elif match is None and (suggestions := vocab.suggest_drugs(name)):
            unplaced.append(UnplacedOrder(name, codes, reference, "", True, tuple(suggestions)))
    return found, unplaced
