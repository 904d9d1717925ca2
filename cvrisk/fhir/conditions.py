"""Condition resources: diagnoses, mapped to the record's conditions.

- **Code**: ICD-10 (``http://hl7.org/fhir/sid/icd-10``), ICD-10-CM (``.../icd-10-cm``) and
  SNOMED CT codings. Codings that belong to one of cvrisk's condition sets
  (``conditions.toml``) are kept, one record entry per set they place the patient in;
  otherwise the first supported coding is kept (a diagnosis cvrisk does not use, harmless).
  A Condition coded only in other systems is not read (a warning: it might be a diagnosis
  cvrisk uses).
- **verificationStatus**: refuted and entered-in-error are excluded; unconfirmed,
  provisional and differential are not counted as diagnoses (an issue each); confirmed or
  absent is counted.
- **clinicalStatus**: active, recurrence and relapse are current diagnoses (an abatement date
  then belongs to an earlier episode and is not used); inactive, remission and resolved are
  abated: on their ``abatement[x]`` date, else (``assumed``) on their onset date, else on
  their ``recordedDate``; with none of these the diagnosis cannot be placed and is left out
  with an issue. Risk scores count a diagnosis "at any time" (QRISK3), abated or not; only
  protocol filters look at abatement.
- **onset / abatement**: ``dateTime``, ``Period`` (onset: its start; abatement: its end,
  when the diagnosis had certainly abated), ``Age`` in years (from the birth date, with an
  ``assumed`` issue); a ``Range`` or ``string`` is not read (the date stays unknown, with an
  issue). ``abatementBoolean: true`` is an abatement without a date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk.fhir.bundle import Entry
from cvrisk.fhir.context import Context, ResourceNotUsedError, codes
from cvrisk.fhir.model import CodeableConcept, Period, Quantity, describe
from cvrisk.fhir.model import Condition as FhirCondition
from cvrisk.fhir.model import codes as codes_in
from cvrisk.fhir.observations import record_problem
from cvrisk.record import Condition

_SHORT = {
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    "http://snomed.info/sct": "snomed",
}
_YEARS = ("a", "yr", "year", "years")


def read_condition(entry: Entry, ctx: Context) -> list[Condition]:
    """The record diagnoses of one Condition resource."""
    condition = ctx.validate(FhirCondition, entry)
    if condition is None or not ctx.about_patient(condition.get("subject"), entry):
        return []
    table = codes()["condition"]
    verification = _status(condition.get("verificationStatus"), table["verification_system"])
    if verification in table["excluded"]:
        ctx.add(
            "ignored",
            f"{entry.ref} has verificationStatus {verification}: not a diagnosis, not used",
            resource=entry.ref,
        )
        return []
    if verification in table["not_confirmed"]:
        ctx.add(
            "ignored",
            f"{entry.ref} has verificationStatus {verification}: not a confirmed diagnosis, "
            "not counted",
            resource=entry.ref,
        )
        return []
    coded = _codings(condition.get("code"))
    if not coded:
        said = describe(condition["code"]) if "code" in condition else "no code"
        ctx.add(
            "unreadable",
            f"{entry.ref} ({said}) is not coded in ICD-10, ICD-10-CM or SNOMED CT: not read; "
            "if it is a diagnosis cvrisk uses (diabetes, SMI, CVD...), code it in one of them",
            resource=entry.ref,
            severity="warning",
        )
        return []
    try:
        onset = _onset(condition, entry, ctx)
        abatement = _abatement(condition, onset, entry, ctx)
    except ResourceNotUsedError:
        return []
    out = []
    for system, code in coded:
        try:
            out.append(
                Condition.model_validate(
                    {
                        "id": entry.ref,
                        "code": code,
                        "system": system,
                        "onset": onset,
                        "abatement": abatement,
                    }
                )
            )
        except ValidationError as exc:
            kind, message = record_problem(exc)
            ctx.invalid(entry.ref, message, kind=kind)
            return []
    return out


def _status(concept: CodeableConcept | None, system: str) -> str | None:
    if concept is None:
        return None
    found = codes_in(concept, system)
    return found[0] if found else None


def _codings(concept: CodeableConcept | None) -> list[tuple[str, str]]:
    """(record system, code) of the codings to keep (see the module docstring)."""
    if concept is None:
        return []
    supported = [
        (_SHORT[c["system"]], c["code"].strip())
        for c in concept.get("coding", ())
        if c.get("system") in _SHORT and c.get("code", "").strip()
    ]
    kept: list[tuple[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for system, code in supported:
        sets = tuple(vocab.conditions_matching(code, system))
        if sets and sets not in seen:
            seen.add(sets)
            kept.append((system, code))
    return kept or supported[:1]


def _onset(condition: FhirCondition, entry: Entry, ctx: Context) -> dt.date | None:
    if "onsetDateTime" in condition:
        return _day(ctx, condition["onsetDateTime"], entry, "onsetDateTime")
    if "onsetPeriod" in condition:
        return _period(condition["onsetPeriod"], entry, ctx, "onsetPeriod", prefer="start")
    if "onsetAge" in condition:
        return _age(condition["onsetAge"], entry, ctx, "onsetAge")
    _not_read(entry, ctx, "onset", ("onsetRange", "onsetString"))
    return None


def _abatement(
    condition: FhirCondition, onset: dt.date | None, entry: Entry, ctx: Context
) -> dt.date | None:
    table = codes()["condition"]
    clinical = _status(condition.get("clinicalStatus"), table["clinical_system"])
    abated = clinical in table["abated"] or (
        clinical is None and condition.get("abatementBoolean", False)
    )
    when: dt.date | None = None
    if "abatementDateTime" in condition:
        when = _day(ctx, condition["abatementDateTime"], entry, "abatementDateTime")
    elif "abatementPeriod" in condition:
        when = _period(condition["abatementPeriod"], entry, ctx, "abatementPeriod", prefer="end")
    elif "abatementAge" in condition:
        when = _age(condition["abatementAge"], entry, ctx, "abatementAge")
    else:
        _not_read(entry, ctx, "abatement", ("abatementRange", "abatementString"))
    if clinical is not None and clinical not in table["active"] and clinical not in table["abated"]:
        ctx.add(
            "assumed",
            f"{entry.ref} clinicalStatus {clinical!r} is not an R4 clinical status: read as active",
            resource=entry.ref,
            field="clinicalStatus",
        )
    if clinical is None and when is not None:
        abated = True
    if not abated:
        if when is not None:
            ctx.add(
                "assumed",
                f"{entry.ref} is {clinical} with an abatement date ({when}): the abatement is "
                "taken to be of an earlier episode, and the diagnosis as current",
                resource=entry.ref,
                field="abatement",
            )
        return None
    if when is not None:
        return when
    fallback, what = onset, "its onset date"
    if fallback is None and "recordedDate" in condition:
        fallback, what = _day(ctx, condition["recordedDate"], entry, "recordedDate"), "recordedDate"
    if fallback is None:
        ctx.add(
            "missing",
            f"{entry.ref} is {clinical or 'abated'} but gives no abatement, onset or recorded "
            "date: it cannot be placed in time and was not used",
            resource=entry.ref,
            severity="warning",
        )
        raise ResourceNotUsedError
    ctx.add(
        "assumed",
        f"{entry.ref} is {clinical or 'abated'} without an abatement date: taken as abated on "
        f"{what} ({fallback}); it counts as history (risk scores) but not as a current "
        "diagnosis",
        resource=entry.ref,
        field="abatement",
    )
    return fallback


def _day(ctx: Context, text: str, entry: Entry, field: str) -> dt.date | None:
    parsed = ctx.date(text, entry, field)
    return parsed.day if parsed is not None else None


def _period(
    period: Period, entry: Entry, ctx: Context, field: str, *, prefer: str
) -> dt.date | None:
    start, end = period.get("start"), period.get("end")
    first, second = (start, end) if prefer == "start" else (end, start)
    name = f"{field}.{prefer}" if first else f"{field}.{'end' if prefer == 'start' else 'start'}"
    text = first or second
    return _day(ctx, text, entry, name) if text else None


def _age(age: Quantity, entry: Entry, ctx: Context, field: str) -> dt.date | None:
    """A date from an age in years and the birth date (an ``assumed`` issue)."""
    unit = age.get("code") or age.get("unit")
    value = age.get("value")
    if value is None or unit not in _YEARS or ctx.birth_date is None or value < 0:
        ctx.add(
            "missing",
            f"{entry.ref} {field} ({value} {unit}) is not an age in years: the date is "
            "left unknown",
            resource=entry.ref,
            field=field,
        )
        return None
    born = ctx.birth_date
    years = int(value)
    try:
        day = born.replace(year=born.year + years)
    except ValueError:  # 29 February in a non-leap year
        day = dt.date(born.year + years, 3, 1)
    ctx.add(
        "assumed",
        f"{entry.ref} {field} {value:g} years: read as {day} (the birthday at that age)",
        resource=entry.ref,
        field=field,
    )
    return day


def _not_read(entry: Entry, ctx: Context, what: str, keys: tuple[str, ...]) -> None:
    raw: dict[str, Any] = entry.resource
    for key in keys:
        if key in raw:
            ctx.add(
                "missing",
                f"{entry.ref} {key} is not read (a {key.removeprefix(what)}): the {what} date "
                "is left unknown",
                resource=entry.ref,
                field=key,
            )
