"""Medication resources: treatment courses, mapped to the record's medications.

Read: MedicationRequest, MedicationStatement, MedicationDispense and MedicationAdministration.

**The drug** is ``medicationCodeableConcept``, or the Medication that ``medicationReference``
names (contained ``#id``, or in the input), read through its ``code`` and then its
``ingredient[].itemCodeableConcept``. Codings in ATC, RxNorm, SNOMED CT or dm+d are looked
up (:func:`identify`); then the texts (``text``, displays). The record entry keeps the drug's
catalogue ingredient when recognised, and one coding (ATC first: the risk scores classify
drugs by ATC prefix).

**The course** (record ``start``/``stop``, both days included):

- MedicationRequest: ``start`` is the earliest ``dosageInstruction[].timing.repeat.
  boundsPeriod.start``, else ``authoredOn``; ``stop`` is the latest end when every dosage
  instruction is bounded (``boundsPeriod.end``, or ``boundsDuration`` in days or weeks from
  the start), else open. ``intent`` must be an order (``plan``,
  ``proposal``... are not prescriptions); ``doNotPerform`` orders are not treatment.
- MedicationStatement: ``effectivePeriod`` start/end, else ``effectiveDateTime`` as the
  start, else ``dateAsserted`` (``assumed``).
- MedicationDispense: from ``whenHandedOver`` (else ``whenPrepared``, ``assumed``) for
  ``daysSupply`` days (in days or weeks); without ``daysSupply`` the supply is taken as the
  day it was handed over (an issue).
- MedicationAdministration (long-acting injections: every administration is an entry): each
  administration covers the days up to the next administration of the same drug; the last
  one covers the interval between the last two administrations (the patient's own dosing
  interval, from the data); a single administration covers its day only, with a warning
  (the interval is unknown: send the order too).
- Status (``cvrisk/data/fhir_codes.toml``): active/on-hold/unknown courses are current until
  their stop; completed and stopped ones end (without an end date: on their start date, an
  ``assumed`` issue); cancelled, entered-in-error, not-taken, declined are ignored; draft,
  intended, in preparation are not current. Each is an issue naming the resource.
- A start after the evaluation date is not current: the evaluation says so (``excluded``).

An entry that cannot be read (no start date, a drug that cannot be named, a reference to a
Medication not in the input) is an issue; a **warning** unless the drug is known not to be an
antipsychotic, since that is where drug-specific monitoring would be lost.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk.errors import CvriskError
from cvrisk.fhir.bundle import Entry
from cvrisk.fhir.context import Context, ResourceNotUsedError, codes, validation_text
from cvrisk.fhir.model import (
    CodeableConcept,
    Dosage,
    MedicationAdministration,
    MedicationDispense,
    MedicationRequest,
    MedicationStatement,
    MedicationUse,
    Quantity,
    adapter,
    texts,
)
from cvrisk.fhir.model import Medication as FhirMedication
from cvrisk.fhir.observations import record_problem
from cvrisk.issues import Severity
from cvrisk.record import Medication
from cvrisk.units import parse_unit
from cvrisk.vocab import DrugMatch

#: FHIR code system -> the record's drug code system (dm+d concept ids are SNOMED CT ids)
_SYSTEMS = {
    "http://www.whocc.no/atc": "atc",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "http://snomed.info/sct": "snomed",
    "https://dmd.nhs.uk": "snomed",
}
_MODELS: dict[str, Any] = {
    "MedicationRequest": MedicationRequest,
    "MedicationStatement": MedicationStatement,
    "MedicationDispense": MedicationDispense,
    "MedicationAdministration": MedicationAdministration,
}
_STATUS_TABLE = {
    "MedicationRequest": "request",
    "MedicationStatement": "statement",
    "MedicationDispense": "dispense",
    "MedicationAdministration": "administration",
}
RESOURCE_TYPES = tuple(_MODELS)


@dataclass(frozen=True)
class Drug:
    """What a medication resource names.

    ``ingredient``: the catalogue antipsychotic, when recognised. ``system``/``code``: the
    coding the record entry keeps. ``name``: a human text. ``antipsychotic``: True for a
    catalogue antipsychotic, False when the codes show it is not one (an ATC code outside
    N05A), None when cvrisk cannot tell (the case that must be said loudly).
    """

    ingredient: str | None
    system: str | None
    code: str | None
    name: str | None
    antipsychotic: bool | None

    @property
    def label(self) -> str:
        if self.ingredient:
            return self.ingredient
        if self.name:
            return repr(self.name)
        if self.code:
            return f"{self.system}|{self.code}"
        return "an uncoded medication"

    @property
    def severity(self) -> Severity:
        """How loudly to report a course of this drug that cannot be used."""
        return "info" if self.antipsychotic is False else "warning"


def identify(concepts: list[CodeableConcept]) -> Drug:
    """The drug named by a medication's concepts (code first, then its ingredients).

    This is the one place that recognises drugs, through :func:`cvrisk.vocab.resolve_drug`
    (INNs, salts, brands, product texts; ATC, RxNorm at every term type it lists, dm+d):
    the record entry keeps the first text as its ``drug`` and one coding (one that names a
    catalogue antipsychotic, its formulation preferred; else ATC, which the risk scores
    classify; else the first), so the record resolves the same drug, formulation included,
    by the same rules as a native record.
    """
    codings = [
        (_SYSTEMS[c["system"]], c["code"].strip())
        for concept in concepts
        for c in concept.get("coding", ())
        if c.get("system") in _SYSTEMS and c.get("code", "").strip()
    ]
    names = [text for concept in concepts for text in texts(concept)]
    name = names[0] if names else None
    catalogued = []
    for system, code in codings:
        match = _resolved(None, code, system)
        if match is not None and match.catalogued:
            catalogued.append((match, (system, code)))
    kept: tuple[str, str] | None
    if catalogued:
        kept = next((c for m, c in catalogued if m.formulation), catalogued[0][1])
    else:
        kept = next((c for c in codings if c[0] == "atc"), codings[0] if codings else None)
    kept_system, kept_code = (kept[0], kept[1]) if kept is not None else (None, None)
    match = _resolved(name, kept_code, kept_system)
    atc = [c for s, c in codings if s == "atc"]
    if match is not None and match.catalogued:
        return Drug(match.ingredient, kept_system, kept_code, name, antipsychotic=True)
    known_other = (match is not None and match.category == "not_covered") or (
        bool(atc) and not any(c.upper().startswith("N05A") for c in atc)
    )
    return Drug(None, kept_system, kept_code, name, antipsychotic=False if known_other else None)


def _resolved(name: str | None, code: str | None, system: str | None) -> DrugMatch | None:
    """What cvrisk recognises a name and/or code as (None when nothing, or a conflict: the
    record entry then says which)."""
    try:
        return vocab.resolve_drug(name=name, code=code, system=system)
    except CvriskError:
        return None


def read_medication_use(entry: Entry, ctx: Context) -> list[Medication]:
    """The record entry of a MedicationRequest, MedicationStatement or MedicationDispense."""
    use = ctx.validate(_MODELS[entry.type], entry)
    if use is None or not ctx.about_patient(use.get("subject"), entry):
        return []
    try:
        drug = _drug(use, entry, ctx)
        if not _current_status(use, drug, entry, ctx):
            return []
        if entry.type == "MedicationRequest":
            request = cast(MedicationRequest, use)
            start, stop = _request_course(request, drug, entry, ctx)
            dosages = request.get("dosageInstruction", [])
        elif entry.type == "MedicationStatement":
            statement = cast(MedicationStatement, use)
            start, stop = _statement_course(statement, drug, entry, ctx)
            dosages = statement.get("dosage", [])
        else:
            dispense = cast(MedicationDispense, use)
            start, stop = _dispense_course(dispense, drug, entry, ctx)
            dosages = dispense.get("dosageInstruction", [])
    except ResourceNotUsedError:
        return []
    dosage: Dosage = dosages[0] if dosages else {}
    rates = dosage.get("doseAndRate", [])
    dose = rates[0].get("doseQuantity") if rates else None
    made = _record_entry(drug, start, stop, dose, dosage.get("route"), entry, ctx)
    return [made] if made is not None else []


def read_administrations(entries: list[Entry], ctx: Context) -> list[Medication]:
    """The record entries of every MedicationAdministration (see the module docstring)."""
    given: dict[str, list[tuple[dt.date, Drug, Entry, MedicationAdministration]]] = defaultdict(
        list
    )
    for entry in entries:
        use = ctx.validate(MedicationAdministration, entry)
        if use is None or not ctx.about_patient(use.get("subject"), entry):
            continue
        try:
            drug = _drug(use, entry, ctx)
            if not _current_status(use, drug, entry, ctx):
                continue
            day = _administered(use, drug, entry, ctx)
        except ResourceNotUsedError:
            continue
        given[drug.ingredient or drug.code or drug.name or ""].append((day, drug, entry, use))
    out = []
    for items in given.values():
        items.sort(key=lambda item: (item[0], item[2].ref))
        days = sorted({item[0] for item in items})
        for day, drug, entry, use in items:
            later = [d for d in days if d > day]
            if later:
                stop = later[0] - dt.timedelta(days=1)
            else:
                stop = _last_cover(day, days, drug, entry, ctx)
            dosage = use.get("dosage", {})
            made = _record_entry(
                drug, day, stop, dosage.get("dose"), dosage.get("route"), entry, ctx
            )
            if made is not None:
                out.append(made)
    return out


def _last_cover(
    day: dt.date, days: list[dt.date], drug: Drug, entry: Entry, ctx: Context
) -> dt.date:
    if len(days) >= 2:
        interval = days[-1] - days[-2]
        stop = day + interval - dt.timedelta(days=1)
        ctx.add(
            "assumed",
            f"{entry.ref} is the last administration of {drug.label} ({day}): treatment is "
            f"taken to continue until the next dose was due, {interval.days} days later (the "
            f"interval between the last two administrations), i.e. up to {stop}",
            resource=entry.ref,
        )
        return stop
    ctx.add(
        "assumed",
        f"{entry.ref} is the only administration of {drug.label} ({day}): the dosing interval "
        "is unknown, so treatment is not assumed to continue after that day; send the order "
        "(MedicationRequest) or the other administrations",
        resource=entry.ref,
        severity=drug.severity,
    )
    return day


def _drug(use: MedicationUse, entry: Entry, ctx: Context) -> Drug:
    """The drug a medication resource names (ResourceNotUsedError, with an issue, when none)."""
    if "medicationCodeableConcept" in use:
        return identify([use["medicationCodeableConcept"]])
    reference = use.get("medicationReference") or {}
    target = reference.get("reference")
    display = reference.get("display")
    if target is None:
        if display:
            return identify([{"text": display}])
        ctx.add(
            "unreadable",
            f"{entry.ref} names no medication (medication[x]): not read",
            resource=entry.ref,
            severity="warning",
        )
        raise ResourceNotUsedError
    raw = ctx.found.resolve(target, entry)
    if raw is None or raw.get("resourceType") != "Medication":
        ctx.add(
            "unreadable",
            f"{entry.ref} refers to {target}, which is not a Medication in the input "
            "(contained or in the Bundle): the drug is unknown, the entry not read; include "
            "the Medication",
            resource=entry.ref,
            severity="warning",
        )
        raise ResourceNotUsedError
    if not target.startswith("#"):
        named = ctx.found.lookup(target)
        if named is not None:
            ctx.used.add(named.ref)
    try:
        medication: FhirMedication = adapter(FhirMedication).validate_python(raw)
    except ValidationError as exc:
        ctx.invalid(entry.ref, f"its Medication {target}: {validation_text(exc)}")
        raise ResourceNotUsedError from None
    concepts = [medication["code"]] if "code" in medication else []
    concepts.extend(
        i["itemCodeableConcept"]
        for i in medication.get("ingredient", ())
        if "itemCodeableConcept" in i
    )
    if not concepts and display:
        concepts.append({"text": display})
    return identify(concepts)


def _current_status(use: MedicationUse, drug: Drug, entry: Entry, ctx: Context) -> bool:
    """False (with an issue) when the status, intent or doNotPerform means no treatment."""
    table = codes()["medication"]
    status = use["status"]
    meaning = table[_STATUS_TABLE[entry.type]].get(status)
    what = f"{entry.ref} ({drug.label})"
    if meaning is None:
        ctx.add(
            "ignored",
            f"{what} has status {status!r}, not an R4 {entry.type} status: not read",
            resource=entry.ref,
            severity=drug.severity,
        )
        return False
    if meaning == "ignored":
        ctx.add("ignored", f"{what} has status {status}: not used", resource=entry.ref)
        return False
    if meaning == "not_current":
        ctx.add(
            "ignored",
            f"{what} has status {status}: not a current treatment, not used",
            resource=entry.ref,
        )
        return False
    if entry.type == "MedicationRequest":
        request = cast(MedicationRequest, use)
        intent = request["intent"]
        if intent not in table["order_intents"]:
            ctx.add(
                "ignored",
                f"{what} has intent {intent!r}: a {intent}, not a prescription; not used",
                resource=entry.ref,
            )
            return False
        if request.get("doNotPerform"):
            ctx.add(
                "ignored",
                f"{what} is a do-not-perform order (the drug is NOT to be given): not a "
                "treatment course",
                resource=entry.ref,
            )
            return False
    assumed = table["assumed"].get(status)
    if assumed is not None:
        ctx.add("assumed", f"{what} {assumed}", resource=entry.ref, field="status")
    return True


def _ended(use: MedicationUse, entry: Entry) -> bool:
    meanings = codes()["medication"][_STATUS_TABLE[entry.type]]
    return bool(meanings.get(use["status"]) == "ended")


def _day(ctx: Context, text: str | None, entry: Entry, field: str) -> dt.date | None:
    parsed = ctx.date(text, entry, field)
    return parsed.day if parsed is not None else None


def _no_start(drug: Drug, entry: Entry, ctx: Context, fields: str) -> ResourceNotUsedError:
    ctx.add(
        "missing",
        f"{entry.ref} ({drug.label}) has no start date ({fields}): the course cannot be placed "
        "in time and was not used",
        resource=entry.ref,
        severity=drug.severity,
    )
    return ResourceNotUsedError()


def _ended_on_start(
    use: MedicationUse, start: dt.date, drug: Drug, entry: Entry, ctx: Context
) -> dt.date:
    ctx.add(
        "assumed",
        f"{entry.ref} ({drug.label}) is {use['status']} without an end date: the course is "
        f"taken as ended on its start date, {start}",
        resource=entry.ref,
    )
    return start


def _request_course(
    use: MedicationRequest, drug: Drug, entry: Entry, ctx: Context
) -> tuple[dt.date, dt.date | None]:
    instructions = use.get("dosageInstruction", [])
    field = "dosageInstruction.timing.repeat"
    bounds: list[tuple[dt.date | None, dt.date | None, int | None]] = []
    for instruction in instructions:
        repeat = instruction.get("timing", {}).get("repeat", {})
        period = repeat.get("boundsPeriod", {})
        bounds.append(
            (
                _day(ctx, period.get("start"), entry, f"{field}.boundsPeriod.start"),
                _day(ctx, period.get("end"), entry, f"{field}.boundsPeriod.end"),
                _days_supply(repeat.get("boundsDuration")),
            )
        )
    starts = [begin for begin, _, _ in bounds if begin is not None]
    start = min(starts) if starts else _day(ctx, use.get("authoredOn"), entry, "authoredOn")
    if start is None:
        raise _no_start(drug, entry, ctx, "boundsPeriod.start, authoredOn")
    ends = []
    for _, end, days in bounds:  # bounds[x] is a choice: a period or a duration from the start
        if end is not None:
            ends.append(end)
        elif days is not None:
            ends.append(start + dt.timedelta(days=days - 1))
    bounded = bool(instructions) and len(ends) == len(instructions)
    stop = max(ends) if bounded else None
    if stop is None and _ended(use, entry):
        stop = _ended_on_start(use, start, drug, entry, ctx)
    return start, stop


def _statement_course(
    use: MedicationStatement, drug: Drug, entry: Entry, ctx: Context
) -> tuple[dt.date, dt.date | None]:
    start = stop = None
    if "effectivePeriod" in use:
        period = use["effectivePeriod"]
        start = _day(ctx, period.get("start"), entry, "effectivePeriod.start")
        stop = _day(ctx, period.get("end"), entry, "effectivePeriod.end")
    elif "effectiveDateTime" in use:
        start = _day(ctx, use["effectiveDateTime"], entry, "effectiveDateTime")
    if start is None and "dateAsserted" in use:
        start = _day(ctx, use["dateAsserted"], entry, "dateAsserted")
        ctx.add(
            "assumed",
            f"{entry.ref} ({drug.label}) has no effective start: the course is taken to start "
            f"when the statement was made (dateAsserted {start})",
            resource=entry.ref,
            field="dateAsserted",
        )
    if start is None:
        raise _no_start(drug, entry, ctx, "effectivePeriod.start, effectiveDateTime, dateAsserted")
    if stop is None and _ended(use, entry):
        stop = _ended_on_start(use, start, drug, entry, ctx)
    return start, stop


def _dispense_course(
    use: MedicationDispense, drug: Drug, entry: Entry, ctx: Context
) -> tuple[dt.date, dt.date]:
    start = _day(ctx, use.get("whenHandedOver"), entry, "whenHandedOver")
    if start is None and "whenPrepared" in use:
        start = _day(ctx, use["whenPrepared"], entry, "whenPrepared")
        ctx.add(
            "assumed",
            f"{entry.ref} ({drug.label}) has no whenHandedOver: dated by whenPrepared ({start})",
            resource=entry.ref,
            field="whenPrepared",
        )
    if start is None:
        raise _no_start(drug, entry, ctx, "whenHandedOver, whenPrepared")
    days = _days_supply(use.get("daysSupply"))
    if days is None:
        ctx.add(
            "assumed",
            f"{entry.ref} ({drug.label}) gives no daysSupply in days or weeks: the supply is "
            f"taken to cover only the day it was handed over, {start}",
            resource=entry.ref,
            severity=drug.severity,
            field="daysSupply",
        )
        return start, start
    return start, start + dt.timedelta(days=days - 1)


def _days_supply(quantity: Quantity | None) -> int | None:
    value = quantity.get("value") if quantity else None
    if quantity is None or value is None or value < 1:
        return None
    unit = (quantity.get("code") or quantity.get("unit") or "").strip().lower()
    if unit in ("d", "day", "days"):
        return int(value)
    if unit in ("wk", "week", "weeks"):
        return int(value * 7)
    return None


def _administered(use: MedicationAdministration, drug: Drug, entry: Entry, ctx: Context) -> dt.date:
    day = None
    if "effectiveDateTime" in use:
        day = _day(ctx, use["effectiveDateTime"], entry, "effectiveDateTime")
    elif "effectivePeriod" in use:
        day = _day(ctx, use["effectivePeriod"].get("start"), entry, "effectivePeriod.start")
    if day is None:
        raise _no_start(drug, entry, ctx, "effectiveDateTime, effectivePeriod.start")
    return day


def _dose(quantity: Quantity | None, entry: Entry, ctx: Context) -> dict[str, Any] | None:
    if quantity is None:
        return None
    ucum = codes()["observation"]["ucum"]
    code = quantity.get("code")
    unit = code if code and quantity.get("system", ucum) == ucum else quantity.get("unit")
    value = quantity.get("value")
    try:
        if value is not None and value > 0 and unit:
            parse_unit(unit)
            return {"value": value, "unit": unit}
    except CvriskError:
        pass
    ctx.add(
        "ignored",
        f"{entry.ref} dose {value} {unit or ''} is not a positive amount in a known unit: the "
        "dose is not recorded",
        resource=entry.ref,
        field="dose",
    )
    return None


def _route(concept: CodeableConcept | None) -> str | None:
    if not concept:
        return None
    found = texts(concept)
    if found:
        return found[0]
    return next((c["code"] for c in concept.get("coding", ()) if c.get("code")), None)


def _record_entry(
    drug: Drug,
    start: dt.date,
    stop: dt.date | None,
    dose: Quantity | None,
    route: CodeableConcept | None,
    entry: Entry,
    ctx: Context,
) -> Medication | None:
    if drug.code is None and not drug.name:
        ctx.add(
            "unreadable",
            f"{entry.ref} names its drug neither by an ATC, RxNorm, SNOMED CT or dm+d code "
            "nor by a text: not read",
            resource=entry.ref,
            severity="warning",
        )
        return None
    fields: dict[str, Any] = {
        "id": entry.ref,
        "drug": drug.name,
        "code": drug.code,
        "system": drug.system,
        "start": start,
        "stop": stop,
        "dose": _dose(dose, entry, ctx),
        "route": _route(route),
    }
    try:
        return Medication.model_validate(fields)
    except ValidationError as exc:
        kind, message = record_problem(exc)
        ctx.invalid(entry.ref, message, kind=kind)
        return None
