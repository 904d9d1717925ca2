"""``read_fhir``: FHIR R4 resources in, a :class:`~cvrisk.record.PatientRecord` out.

The reader :mod:`cvrisk.sources` dispatches FHIR input to (registered by ``cvrisk``). Order:
flatten the input (:mod:`~cvrisk.fhir.bundle`), read the one Patient
(:mod:`~cvrisk.fhir.patient`), then every Observation, Condition and medication resource
(:mod:`~cvrisk.fhir.observations`, :mod:`~cvrisk.fhir.conditions`,
:mod:`~cvrisk.fhir.medications`). Resource types cvrisk does not read are listed, one issue
per type with its count. Every record entry carries the resource's name (``id``,
``Observation/abc``) so that later issues and the FHIR output name it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cvrisk.fhir.bundle import Entry, read_input
from cvrisk.fhir.conditions import read_condition
from cvrisk.fhir.context import Context
from cvrisk.fhir.medications import RESOURCE_TYPES, read_administrations, read_medication_use
from cvrisk.fhir.observations import read_observations
from cvrisk.fhir.patient import read_patient
from cvrisk.issues import raise_if_strict
from cvrisk.record import Condition, Medication, Observation, PatientRecord
from cvrisk.sources import OnInvalid, ReadResult, check_on_invalid

#: Resource types read into the record (Medication through the resources that name it).
READ_TYPES = ("Patient", "Observation", "Condition", "Medication", *RESOURCE_TYPES)


def read_fhir(data: Any, *, on_invalid: OnInvalid = "raise", strict: bool = False) -> ReadResult:
    """The patient record in parsed FHIR R4 JSON (a Bundle, a resource, a list of resources).

    Args:
        data: parsed JSON: a Bundle (collection, searchset, transaction, batch, document,
            message), one resource, or a list of resources (a JSON array or NDJSON lines).
        on_invalid: ``"raise"``: an invalid resource (wrong JSON types, a value implausible
            in its unit, dates in the wrong order) is a :class:`~cvrisk.errors.RecordError`;
            ``"report"``: it is skipped with a data issue naming it. Resources cvrisk does not
            use (other codes or types, entered-in-error) are always issues, never errors.
        strict: every reading issue raises :class:`~cvrisk.errors.DataIssueError`.

    Raises:
        RecordError: no Patient, several Patients, a Patient without usable gender or
            birthDate, a refused Bundle type, or (``on_invalid="raise"``) an invalid resource.
        DataIssueError: ``strict=True`` and reading met an issue.
    """
    on_invalid = check_on_invalid(on_invalid)
    found = read_input(data)
    ctx = Context(found=found, on_invalid=on_invalid)
    patient = read_patient(ctx)
    observations: list[Observation] = []
    conditions: list[Condition] = []
    medications: list[Medication] = []
    administrations = []
    results = []
    named: list[Entry] = []  # the Medication resources, in input order
    unread: Counter[str] = Counter()
    for entry in found.entries:
        kind = entry.type
        if kind == "Observation":
            results.append(entry)
        elif kind == "DiagnosticReport":
            results.extend(_contained_results(entry))
            unread[kind] += 1
        elif kind == "Condition":
            conditions.extend(read_condition(entry, ctx))
        elif kind == "MedicationAdministration":
            administrations.append(entry)
        elif kind in RESOURCE_TYPES:
            medications.extend(read_medication_use(entry, ctx))
        elif kind == "Medication":
            named.append(entry)
        elif kind not in READ_TYPES:
            unread[kind] += 1
    observations.extend(read_observations(results, ctx))
    medications.extend(read_administrations(administrations, ctx))
    ctx.report_unknown_codes()
    _report_unread(unread, ctx)
    _report_unused_medications(named, ctx)
    record = _record(patient, conditions, medications, observations, ctx)
    issues = [*found.issues, *ctx.issues]
    raise_if_strict(issues, strict=strict, read=True)
    return ReadResult(record, issues, found.kind)


def _contained_results(report: Entry) -> list[Entry]:
    """The Observations contained in a DiagnosticReport (some laboratory feeds send results
    so), named ``DiagnosticReport/id#obs``."""
    contained = report.resource.get("contained")
    out: list[Entry] = []
    for item in contained if isinstance(contained, list) else ():
        if isinstance(item, dict) and item.get("resourceType") == "Observation":
            ref = f"{report.ref}#{item.get('id', len(out))}"
            out.append(Entry(resource=item, type="Observation", ref=ref, keys=()))
    return out


def _report_unread(unread: Counter[str], ctx: Context) -> None:
    for kind, count in sorted(unread.items()):
        ctx.add(
            "ignored",
            f"{count} {kind} resource(s) not read"
            + (" (the Observations they contain are read)" if kind == "DiagnosticReport" else "")
            + ": cvrisk reads Patient, Observation, Condition, MedicationRequest, "
            "MedicationStatement, MedicationDispense, MedicationAdministration (and the "
            "Medications they name)",
            field=kind,
        )


def _report_unused_medications(named: list[Entry], ctx: Context) -> None:
    """One issue listing the Medication resources (``named``, in input order) that no
    medication resource referred to."""
    unused = [e.ref for e in named if e.ref not in ctx.used]
    if unused:
        shown = ", ".join(unused[:5]) + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
        ctx.add(
            "ignored",
            f"{len(unused)} Medication resource(s) are named by no prescription, statement, "
            f"dispense or administration, so they say nothing about treatment: not read "
            f"({shown})",
            resource=unused[0],
            field="Medication",
        )


def _record(
    patient: Any,
    conditions: list[Condition],
    medications: list[Medication],
    observations: list[Observation],
    ctx: Context,
) -> PatientRecord:
    """The record; entries dated before the birth date are invalid (as in native records)."""
    born = patient.birth_date

    def after_birth(entry: Condition | Medication | Observation, day: Any, field: str) -> bool:
        if day is None or day >= born:
            return True
        ctx.invalid(
            entry.id or "?",
            f"{field} {day} is before the birth date {born}",
            field=field,
        )
        return False

    # Each entry is a validated record entry and the one cross-entry rule of PatientRecord
    # (nothing dated before birth) was applied above, leniently: construct without
    # validating again (tests/fhir check the result equals PatientRecord.model_validate's).
    # One comprehension per kind of entry, each with its own date field (hundreds of results:
    # no type tests per entry).
    return PatientRecord.model_construct(
        patient=patient,
        conditions=[c for c in conditions if after_birth(c, c.onset, "onset")],
        medications=[m for m in medications if after_birth(m, m.start, "start")],
        observations=[o for o in observations if after_birth(o, o.day, "date")],
    )
