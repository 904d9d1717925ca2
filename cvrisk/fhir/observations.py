"""Observation resources: dated results, mapped to the record's observations.

- **Code**: the LOINC coding cvrisk knows (``analytes.toml``) among the codings given; other
  codings are ignored. Codings naming two different analytes are a conflict (not used). A
  code cvrisk does not read is reported once per code, naming its resources.
- **Components**: each component with a known LOINC code is a result of its own, with the
  resource's date and id: the blood-pressure panel 85354-9 gives systolic (8480-6) and
  diastolic (8462-4) results; standalone 8480-6 / 8462-4 Observations are read the same way.
- **Value**: ``valueQuantity`` with its UCUM ``code`` (``system`` http://unitsofmeasure.org
  or none), else its display ``unit``; units are never guessed. A ``comparator`` (``<5``) is
  a bound, not a value: not used, with a warning. ``dataAbsentReason`` is a missing value
  (an issue), never a zero. Smoking status (72166-2) reads ``valueCodeableConcept`` SNOMED CT
  answers through ``cvrisk/data/fhir_codes.toml``.
- **Date**: ``effectiveDateTime`` (or ``effectiveInstant``); ``effectivePeriod.start`` (its
  ``end`` when there is no start): the time the measurement or specimen collection began;
  else ``issued``, with an ``assumed`` issue.
- **Status**: final, amended, corrected are results; preliminary is read as preliminary (the
  record keeps the status); entered-in-error and cancelled are ignored, each with an issue;
  registered (no result yet) and unknown are not used.
- Each result is validated by the record's own :class:`~cvrisk.record.Observation` (units,
  plausibility, coded values), so FHIR and native records follow the same rules: a value
  implausible in its unit is an ``implausible`` issue naming the resource (lenient reading).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk.fhir.bundle import Entry
from cvrisk.fhir.context import Context, ResourceNotUsedError, codes
from cvrisk.fhir.model import CodeableConcept, Component, Quantity
from cvrisk.fhir.model import Observation as FhirObservation
from cvrisk.issues import IssueKind
from cvrisk.record import FieldError, Observation


def read_observation(entry: Entry, ctx: Context) -> list[Observation]:
    """The record results of one Observation resource (none, one, or one per component)."""
    obs = ctx.validate(FhirObservation, entry)
    if obs is None or not ctx.about_patient(obs.subject, entry):
        return []
    table = codes()["observation"]
    status = obs.status
    if status not in table["result"] and status not in table["preliminary"]:
        _not_a_result(status, entry, ctx)
        return []
    wanted: list[tuple[str, str, FhirObservation | Component]] = []  # analyte, LOINC, holder
    unknown: list[CodeableConcept] = []
    conflicted = False
    holders: list[tuple[CodeableConcept, FhirObservation | Component]] = [(obs.code, obs)]
    holders.extend((c.code, c) for c in obs.component)
    for concept, holder in holders:
        found = _analytes(concept)
        if len(found) == 1:
            ((analyte_id, loinc),) = found.items()
            wanted.append((analyte_id, loinc, holder))
        elif found:
            conflicted = True
            ctx.add(
                "conflict",
                f"{entry.ref} is coded as several analytes "
                f"({', '.join(f'{a} ({c})' for a, c in found.items())}): not used",
                resource=entry.ref,
                severity="warning",
            )
        elif holder is not obs or not obs.component:
            unknown.append(concept)
    if not wanted:
        if not conflicted:  # reported once, by its own code (a panel too)
            _unknown(obs.code, entry, ctx)
        return []
    for concept in unknown:
        _unknown(concept, entry, ctx)
    try:
        when = _when(obs, entry, ctx)
    except ResourceNotUsedError:
        return []
    if when is None:
        ctx.add(
            "missing",
            f"{entry.ref} has no effective[x] or issued date: the result cannot be placed in "
            "time and was not used",
            resource=entry.ref,
            severity="warning",
        )
        return []
    out = []
    for analyte_id, loinc, holder in wanted:
        value = _value(analyte_id, holder, entry, ctx)
        if value is None:
            continue
        result = _validated(
            {
                "id": entry.ref,
                "analyte": analyte_id,
                "code": loinc,
                "system": "loinc",
                "date": when,
                "status": status,
                **value,
            },
            entry,
            ctx,
        )
        if result is not None:
            out.append(result)
    return out


def _not_a_result(status: str, entry: Entry, ctx: Context) -> None:
    table = codes()["observation"]
    if status in table["ignored"]:
        ctx.add("ignored", f"{entry.ref} has status {status}: not used", resource=entry.ref)
    elif status in table["no_result"]:
        ctx.add(
            "ignored",
            f"{entry.ref} has status {status} (no result yet): not used",
            resource=entry.ref,
        )
    else:
        ctx.add(
            "ignored",
            f"{entry.ref} has status {status!r}, not a result status (final, amended, "
            "corrected, preliminary): not used",
            resource=entry.ref,
            severity="warning",
        )


def _analytes(concept: CodeableConcept) -> dict[str, str]:
    """Analyte id -> LOINC code for each coding of ``concept`` that is a known analyte."""
    index = vocab.loinc_index()
    loinc = codes()["observation"]["loinc"]
    found: dict[str, str] = {}
    for coding in concept.coding:
        if coding.system == loinc and coding.code in index:
            found.setdefault(index[coding.code], coding.code)
    return found


def _unknown(concept: CodeableConcept, entry: Entry, ctx: Context) -> None:
    loinc = codes()["observation"]["loinc"]
    coding = next((c for c in concept.coding if c.system == loinc and c.code), None)
    coding = coding or next((c for c in concept.coding if c.code), None)
    if coding is None:
        ctx.unknown_code("(no code)", concept.text or "uncoded", concept.describe(), entry.ref)
        return
    assert coding.code is not None
    ctx.unknown_code(coding.system or "(no system)", coding.code, concept.describe(), entry.ref)


def _when(obs: FhirObservation, entry: Entry, ctx: Context) -> dt.date | dt.datetime | None:
    """The result's effective time (see the module docstring)."""
    if obs.effectiveDateTime is not None:
        parsed = ctx.date(obs.effectiveDateTime, entry, "effectiveDateTime")
    elif obs.effectiveInstant is not None:
        parsed = ctx.date(obs.effectiveInstant, entry, "effectiveInstant")
    elif obs.effectivePeriod is not None and (obs.effectivePeriod.start or obs.effectivePeriod.end):
        end_only = obs.effectivePeriod.start is None
        text = obs.effectivePeriod.end if end_only else obs.effectivePeriod.start
        parsed = ctx.date(
            text, entry, "effectivePeriod.end" if end_only else "effectivePeriod.start"
        )
    elif obs.issued is not None:
        parsed = ctx.date(obs.issued, entry, "issued")
        if parsed is not None:
            ctx.add(
                "assumed",
                f"{entry.ref} has no effective[x]: dated by issued ({obs.issued}), when the "
                "result was released, which may be later than the measurement",
                resource=entry.ref,
                field="issued",
            )
    else:
        return None
    return parsed.value if parsed is not None else None


def _value(
    analyte_id: str, holder: FhirObservation | Component, entry: Entry, ctx: Context
) -> dict[str, Any] | None:
    """The record's value fields for one result (``value``/``unit`` or ``coded``), or None
    with an issue when there is no usable value."""
    label = vocab.analyte(analyte_id).label.get("en", analyte_id)
    if holder.dataAbsentReason is not None:
        ctx.add(
            "missing",
            f"{entry.ref} {label}: no value (dataAbsentReason "
            f"{holder.dataAbsentReason.describe()}); read as a missing result, not a zero",
            resource=entry.ref,
            field=analyte_id,
        )
        return None
    if vocab.analyte(analyte_id).coded:
        return _coded(analyte_id, label, holder.valueCodeableConcept, entry, ctx)
    quantity = holder.valueQuantity
    if quantity is None or quantity.value is None:
        said = "a coded value, not a quantity" if holder.valueCodeableConcept else "no value"
        ctx.add(
            "missing",
            f"{entry.ref} {label}: {said}; not used",
            resource=entry.ref,
            severity="warning" if holder.valueCodeableConcept else "info",
            field=analyte_id,
        )
        return None
    unit = _unit(quantity)
    if quantity.comparator is not None:
        ctx.add(
            "ignored",
            f"{entry.ref} {label} is {quantity.comparator}{quantity.value:g} {unit or ''}: a "
            "bound, not a measured value; not used (check it: it may be outside the assay "
            "range)",
            resource=entry.ref,
            severity="warning",
            field=analyte_id,
        )
        return None
    return {"value": quantity.value, "unit": unit}


def _unit(quantity: Quantity) -> str | None:
    """The UCUM code when the quantity is coded in UCUM (or uncoded), else the display unit."""
    if quantity.code and quantity.system in (None, codes()["observation"]["ucum"]):
        return quantity.code
    return quantity.unit


def _coded(
    analyte_id: str, label: str, concept: CodeableConcept | None, entry: Entry, ctx: Context
) -> dict[str, Any] | None:
    table = codes()["smoking"]
    if analyte_id != "smoking_status" or concept is None:
        ctx.add(
            "missing",
            f"{entry.ref} {label}: no coded value (valueCodeableConcept); not used",
            resource=entry.ref,
            field=analyte_id,
        )
        return None
    mapped = {table["codes"][c] for c in concept.codes(table["system"]) if c in table["codes"]}
    if len(mapped) == 1:
        return {"coded": mapped.pop()}
    reasons = [
        table["unmappable"][c] for c in concept.codes(table["system"]) if c in table["unmappable"]
    ]
    why = (
        "answers that disagree"
        if mapped
        else reasons[0]
        if reasons
        else f"{concept.describe()!r} is not a SNOMED CT smoking-status answer cvrisk maps"
    )
    ctx.add(
        "missing",
        f"{entry.ref} {label}: {why}; smoking status left unrecorded",
        resource=entry.ref,
        field=analyte_id,
    )
    return None


def _validated(fields: dict[str, Any], entry: Entry, ctx: Context) -> Observation | None:
    """The record observation, checked by the record's own rules (an issue when invalid)."""
    try:
        return Observation.model_validate(fields)
    except ValidationError as exc:
        kind, message = record_problem(exc)
        ctx.invalid(entry.ref, message, kind=kind)
        return None


def record_problem(exc: ValidationError) -> tuple[IssueKind, str]:
    """(issue kind, message) of a record entry's validation error: ``implausible`` for a value
    outside its plausible range, ``invalid`` otherwise."""
    messages = []
    kind: IssueKind = "invalid"
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            if cause.field == "value" and "implausible" in str(cause):
                kind = "implausible"
            messages.append(str(cause))
        else:
            where = ".".join(str(p) for p in error["loc"])
            messages.append(f"{where}: {error['msg']}" if where else error["msg"])
    return kind, "; ".join(m.removeprefix("Value error, ") for m in messages)
