"""The antipsychotics being ordered: draft MedicationRequests of ``context.draftOrders``.

A MedicationRequest's medication (``medicationCodeableConcept``, or a ``medicationReference``
to a contained resource or to a Medication in the same Bundle) is recognised by
:mod:`cvrisk.vocab` from its codes (RxNorm or ATC ingredient codes of the catalogue). Orders
are usually coded at product level (an RxNorm clinical drug such as "olanzapine 10 MG Oral
Tablet"), whose code the catalogue does not list: the ingredient is then recognised when a
catalogue name (ingredient id or alias) appears as a whole word of the coding's display or
the concept's text, and the card says it was recognised from the text. An order coded in
ATC class N05A (antipsychotics) that cvrisk cannot place is reported, not ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cvrisk import vocab
from cvrisk.errors import VocabularyError

_WORD = re.compile(r"[a-zà-ÿ]+(?:-[a-zà-ÿ]+)*")


@dataclass(frozen=True)
class DraftDrug:
    """An antipsychotic in a draft order."""

    drug: str
    start: dt.date
    reference: str
    recognised_from: str  # "code" or "text"


@dataclass(frozen=True)
class UnknownAntipsychotic:
    """An order coded as an antipsychotic (ATC N05A) that the catalogue does not hold."""

    name: str
    codes: str
    reference: str


class DraftOrderError(ValueError):
    """``context.draftOrders`` is not what the hook defines (HTTP 400)."""


def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for drug_id, entry in vocab.antipsychotics().items():
        names[drug_id] = drug_id
        for alias in entry.get("aliases", ()):
            names[str(alias).lower()] = drug_id
    return names


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _from_codes(codings: Iterable[dict[str, Any]]) -> str | None:
    for coding in codings:
        code, system = coding.get("code"), coding.get("system")
        if not isinstance(code, str) or not isinstance(system, str):
            continue
        try:
            found = vocab.drug_for_code(code, system)
        except VocabularyError:  # a code system cvrisk does not read (local codes)
            continue
        if found is not None:
            return found
    return None


def _from_text(texts: Iterable[str]) -> str | None:
    names = _names()
    for text in texts:
        for word in _WORD.findall(text.lower()):
            if word in names:
                return names[word]
    return None


def _is_antipsychotic_class(codings: Iterable[dict[str, Any]], prefix: str) -> bool:
    return any(
        isinstance(c.get("code"), str)
        and str(c.get("system", "")).rstrip("/") in ("http://www.whocc.no/atc", "atc")
        and str(c["code"]).upper().startswith(prefix)
        for c in codings
    )


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
    for dosage in request.get("dosageInstruction") or []:
        repeat = ((dosage or {}).get("timing") or {}).get("repeat") or {}
        start = (repeat.get("boundsPeriod") or {}).get("start")
        if isinstance(start, str) and len(start) >= 10:
            try:
                return dt.date.fromisoformat(start[:10])
            except ValueError:
                pass
    authored = request.get("authoredOn")
    if isinstance(authored, str) and len(authored) >= 10:
        try:
            return dt.date.fromisoformat(authored[:10])
        except ValueError:
            pass
    return today


def draft_antipsychotics(
    draft_orders: Any,
    *,
    patient_id: str,
    selections: Sequence[str] | None,
    today: dt.date,
    atc_prefix: str,
) -> tuple[list[DraftDrug], list[UnknownAntipsychotic]]:
    """The antipsychotics among the draft MedicationRequests (only the ``selections`` when
    given, as ``order-select`` asks), and the antipsychotic-class orders cvrisk cannot place.

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
    unknown: list[UnknownAntipsychotic] = []
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
        codings = _codings(concept)
        drug = _from_codes(codings)
        how = "code"
        if drug is None:
            texts = [str(c["display"]) for c in codings if isinstance(c.get("display"), str)]
            if concept is not None and isinstance(concept.get("text"), str):
                texts.append(concept["text"])
            drug = _from_text(texts)
            how = "text"
        if drug is not None:
            found.append(DraftDrug(drug, _start(resource, today), reference, how))
        elif _is_antipsychotic_class(codings, atc_prefix):
            name = (concept or {}).get("text") or next(
                (str(c["display"]) for c in codings if c.get("display")), "this medication"
            )
            codes = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings)
            unknown.append(UnknownAntipsychotic(str(name), codes, reference))
    return found, unknown
