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
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError

from cvrisk import vocab
from cvrisk.fhir import dates
from cvrisk.fhir.bundle import Entry
from cvrisk.fhir.context import Context, ResourceNotUsedError, codes
from cvrisk.fhir.model import CodeableConcept, Component, adapter, describe
from cvrisk.fhir.model import Observation as FhirObservation
from cvrisk.fhir.model import codes as codes_in
from cvrisk.issues import IssueKind
from cvrisk.record import FieldError, Observation


@dataclass(frozen=True)
class _Tables:
    """The lookups every result needs, made once."""

    results: frozenset[str]
    loinc: str
    ucum: str
    index: dict[str, str]  # LOINC code -> analyte id
    labels: dict[str, str]  # analyte id -> English label
    coded: frozenset[str]  # coded analytes


@cache
def _tables() -> _Tables:
    table = codes()["observation"]
    analytes = vocab.analytes()
    return _Tables(
        results=frozenset((*table["result"], *table["preliminary"])),
        loinc=table["loinc"],
        ucum=table["ucum"],
        index=vocab.loinc_index(),
        labels={key: a.label.get("en", key) for key, a in analytes.items()},
        coded=frozenset(key for key, a in analytes.items() if a.coded),
    )


def read_observations(entries: list[Entry], ctx: Context) -> list[Observation]:
    """The record results of Observation resources (none, one, or one per component each).

    Resources and results are validated in one call each (a 500-resource Bundle is read in
    milliseconds); when a batch holds an invalid item, its items are validated one by one
    so that each invalid one is named. Results go straight into two parallel lists (the
    record fields, the resource each came from): no temporary list or tuple per resource,
    which would cost both time and garbage collections.
    """
    try:
        resources: list[FhirObservation] = adapter(list[FhirObservation]).validate_python(
            [e.resource for e in entries]
        )
    except ValidationError:
        valid = [(e, m) for e in entries if (m := ctx.validate(FhirObservation, e)) is not None]
        entries = [e for e, _ in valid]
        resources = [m for _, m in valid]
    tables = _tables()
    fields: list[dict[str, Any]] = []  # the record fields of each result
    sources: list[Entry] = []  # the resource of each result
    for entry, obs in zip(entries, resources, strict=True):
        _results(entry, obs, ctx, tables, fields, sources)
    try:
        results: list[Observation] = adapter(list[Observation]).validate_python(fields)
        return results
    except ValidationError:
        out = []
        for entry, item in zip(sources, fields, strict=True):
            result = _validated(item, entry, ctx)
            if result is not None:
                out.append(result)
        return out


def _results(
    entry: Entry,
    obs: FhirObservation,
    ctx: Context,
    tables: _Tables,
    fields: list[dict[str, Any]],
    sources: list[Entry],
) -> None:
    """Append the record fields of each result of one Observation to ``fields`` (and the
    resource to ``sources``); issues for what is not used.

    Called once per Observation: the tables come as an argument and the common resource (no
    components) takes a short path, as function calls and small temporary objects are most
    of the cost here.
    """
    subject = obs.get("subject")
    if (
        subject is not None
        and subject.get("reference") not in ctx.patient_keys  # the patient's: the common case
        and not ctx.about_patient(subject, entry)
    ):
        return
    status = obs["status"]
    if status not in tables.results:
        _not_a_result(status, entry, ctx)
        return
    components = obs.get("component")
    if not components:  # the common case: the resource's own code and value
        analyte_id = _single_analyte(obs["code"], tables)
        if analyte_id is None:
            found = _analytes(obs["code"], tables)
            if found:
                _conflict(found, entry, ctx)
            else:
                _unknown(obs["code"], entry, ctx)
            return
        text = obs.get("effectiveDateTime")  # a full date-time: _when's first, common case
        when: dt.date | dt.datetime | None = (
            dates.full_date_time(text) if text is not None else None
        )
        if when is None and (when := _dated(obs, entry, ctx)) is None:
            return
        item = _fields(analyte_id, obs, when, status, entry, ctx, tables)
        if item is not None:
            fields.append(item)
            sources.append(entry)
        return
    wanted = _wanted(obs, components, entry, ctx, tables)
    if not wanted:
        return
    when = _dated(obs, entry, ctx)
    if when is None:
        return
    for analyte_id, holder in wanted:
        item = _fields(analyte_id, holder, when, status, entry, ctx, tables)
        if item is not None:
            fields.append(item)
            sources.append(entry)


def _dated(obs: FhirObservation, entry: Entry, ctx: Context) -> dt.date | dt.datetime | None:
    """The result's effective time, or None (with an issue) when it has none or an unreadable
    one."""
    try:
        when = _when(obs, entry, ctx)
    except ResourceNotUsedError:
        return None
    if when is None:
        ctx.add(
            "missing",
            f"{entry.ref} has no effective[x] or issued date: the result cannot be placed in "
            "time and was not used",
            resource=entry.ref,
            severity="warning",
        )
    return when


def _wanted(
    obs: FhirObservation,
    components: list[Component],
    entry: Entry,
    ctx: Context,
    tables: _Tables,
) -> list[tuple[str, FhirObservation | Component]]:
    """(analyte, value holder) of a resource with components: its own code and each
    component's; codes naming several analytes are conflicts, unknown ones are reported (the
    resource's own code only when nothing in it is read)."""
    wanted: list[tuple[str, FhirObservation | Component]] = []
    unknown: list[CodeableConcept] = []
    conflicted = False
    holders: list[tuple[CodeableConcept, FhirObservation | Component]] = [(obs["code"], obs)]
    holders.extend((c["code"], c) for c in components)
    for concept, holder in holders:
        found = _analytes(concept, tables)
        if len(found) == 1:
            wanted.append((next(iter(found)), holder))
        elif found:
            conflicted = True
            _conflict(found, entry, ctx)
        elif holder is not obs:
            unknown.append(concept)
    if not wanted:
        if not conflicted:  # reported once, by its own code (a panel too)
            _unknown(obs["code"], entry, ctx)
        return []
    for concept in unknown:
        _unknown(concept, entry, ctx)
    return wanted


def _conflict(found: dict[str, str], entry: Entry, ctx: Context) -> None:
    ctx.add(
        "conflict",
        f"{entry.ref} is coded as several analytes "
        f"({', '.join(f'{a} ({c})' for a, c in found.items())}): not used",
        resource=entry.ref,
        severity="warning",
    )


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


def _single_analyte(concept: CodeableConcept, tables: _Tables) -> str | None:
    """The one analyte the codings of ``concept`` name, or None when they name none or
    several (:func:`_analytes` then says which): the common case without building a dict."""
    index, loinc = tables.index, tables.loinc
    found: str | None = None
    for coding in concept.get("coding", ()):
        code = coding.get("code")
        if code is not None and code in index and coding.get("system") == loinc:
            analyte_id = index[code]
            if found is None:
                found = analyte_id
            elif analyte_id != found:
                return None
    return found


def _analytes(concept: CodeableConcept, tables: _Tables) -> dict[str, str]:
    """Analyte id -> LOINC code for each coding of ``concept`` that is a known analyte."""
    index, loinc = tables.index, tables.loinc
    found: dict[str, str] = {}
    for coding in concept.get("coding", ()):
        code = coding.get("code")
        if code is not None and code in index and coding.get("system") == loinc:
            found.setdefault(index[code], code)
    return found


def _unknown(concept: CodeableConcept, entry: Entry, ctx: Context) -> None:
    codings = [c for c in concept.get("coding", ()) if c.get("code")]
    loinc = [c for c in codings if c.get("system") == _tables().loinc]
    if not codings:
        ctx.unknown_code("(no code)", concept.get("text", "uncoded"), describe(concept), entry.ref)
        return
    coding = (loinc or codings)[0]
    name = concept.get("text") or coding.get("display") or ""
    ctx.unknown_code(coding.get("system", "(no system)"), coding["code"], name, entry.ref)


def _when(obs: FhirObservation, entry: Entry, ctx: Context) -> dt.date | dt.datetime | None:
    """The result's effective time (see the module docstring)."""
    if "effectiveDateTime" in obs:
        text = obs["effectiveDateTime"]
        common = dates.full_date_time(text)  # most results: no issue possible, no FhirDate
        if common is not None:
            return common
        parsed = ctx.date(text, entry, "effectiveDateTime")
    elif "effectiveInstant" in obs:
        parsed = ctx.date(obs["effectiveInstant"], entry, "effectiveInstant")
    elif (period := obs.get("effectivePeriod") or {}) and (
        period.get("start") or period.get("end")
    ):
        field = "effectivePeriod.start" if period.get("start") else "effectivePeriod.end"
        parsed = ctx.date(period.get("start") or period.get("end"), entry, field)
    elif "issued" in obs:
        parsed = ctx.date(obs["issued"], entry, "issued")
        ctx.add(
            "assumed",
            f"{entry.ref} has no effective[x]: dated by issued ({obs['issued']}), when the "
            "result was released, which may be later than the measurement",
            resource=entry.ref,
            field="issued",
        )
    else:
        return None
    return parsed.value if parsed is not None else None


def _fields(
    analyte_id: str,
    holder: FhirObservation | Component,
    when: dt.date | dt.datetime,
    status: str,
    entry: Entry,
    ctx: Context,
    tables: _Tables,
) -> dict[str, Any] | None:
    """The record fields of one result (its value: ``value``/``unit`` or ``coded``), or None
    with an issue when there is no usable value."""
    if "dataAbsentReason" in holder:
        ctx.add(
            "missing",
            f"{entry.ref} {tables.labels[analyte_id]}: no value (dataAbsentReason "
            f"{describe(holder['dataAbsentReason'])}); read as a missing result, not a zero",
            resource=entry.ref,
            field=analyte_id,
        )
        return None
    concept = holder.get("valueCodeableConcept")
    if analyte_id in tables.coded:
        coded = _coded(analyte_id, tables.labels[analyte_id], concept, entry, ctx)
        if coded is None:
            return None
        return {"id": entry.ref, "analyte": analyte_id, "date": when, "status": status, **coded}
    quantity = holder.get("valueQuantity")
    if quantity is None or "value" not in quantity:
        said = "a coded value, not a quantity" if concept else "no value"
        ctx.add(
            "missing",
            f"{entry.ref} {tables.labels[analyte_id]}: {said}; not used",
            resource=entry.ref,
            severity="warning" if concept else "info",
            field=analyte_id,
        )
        return None
    # the unit: the UCUM code when the quantity is coded in UCUM (or uncoded), else the
    # display unit
    code = quantity.get("code")
    unit = code if code and quantity.get("system", tables.ucum) == tables.ucum else None
    if unit is None:
        unit = quantity.get("unit")
    if "comparator" in quantity:
        ctx.add(
            "ignored",
            f"{entry.ref} {tables.labels[analyte_id]} is {quantity['comparator']}"
            f"{quantity['value']:g} {unit or ''}: a bound, not a measured value; not used "
            "(check it: it may be outside the assay range)",
            resource=entry.ref,
            severity="warning",
            field=analyte_id,
        )
        return None
    return {
        "id": entry.ref,
        "analyte": analyte_id,
        "date": when,
        "status": status,
        "value": quantity["value"],
        "unit": unit,
    }


def _coded(
    analyte_id: str, label: str, concept: CodeableConcept | None, entry: Entry, ctx: Context
) -> dict[str, Any] | None:
    table = codes()["smoking"]
    if analyte_id != "smoking_status" or not concept:
        ctx.add(
            "missing",
            f"{entry.ref} {label}: no coded value (valueCodeableConcept); not used",
            resource=entry.ref,
            field=analyte_id,
        )
        return None
    answers = codes_in(concept, table["system"])
    mapped = {table["codes"][c] for c in answers if c in table["codes"]}
    if len(mapped) == 1:
        return {"coded": mapped.pop()}
    reasons = [table["unmappable"][c] for c in answers if c in table["unmappable"]]
    why = (
        "answers that disagree"
        if mapped
        else reasons[0]
        if reasons
        else f"{describe(concept)!r} is not a SNOMED CT smoking-status answer cvrisk maps"
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
