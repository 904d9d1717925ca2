"""What every resource reader shares: the input, the patient, and the issues met.

Reading never drops a resource silently. A resource cvrisk cannot use becomes a
:class:`~cvrisk.issues.DataIssue` naming it (``resource="Observation/abc"``) and why; an
*invalid* one (wrong JSON types, a value implausible in its unit, dates in the wrong order)
raises :class:`~cvrisk.errors.RecordError` under ``on_invalid="raise"`` and is skipped with
an issue under ``on_invalid="report"``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar, cast

from pydantic import ValidationError

from cvrisk.data import load_data
from cvrisk.errors import RecordError
from cvrisk.fhir import dates
from cvrisk.fhir.bundle import Entry, Input, reference_key
from cvrisk.fhir.model import Reference, adapter
from cvrisk.issues import DataIssue, IssueKind, Severity

T = TypeVar("T")


@cache
def codes() -> dict[str, Any]:
    """The FHIR code tables (``cvrisk/data/fhir_codes.toml``)."""
    return load_data("fhir_codes.toml")


def validation_text(exc: ValidationError, limit: int = 3) -> str:
    """``field.path: message`` for the first errors of a model validation."""
    parts = []
    for error in exc.errors()[:limit]:
        path = ".".join(str(p) for p in error["loc"]) or "(resource)"
        value = error.get("input")
        shown = "" if isinstance(value, dict | list) else f"={value!r}"
        parts.append(f"{path}{shown}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@dataclass
class Context:
    """One reading: the flattened input, the patient's names, and the issues so far."""

    found: Input
    on_invalid: str
    issues: list[DataIssue] = field(default_factory=list)
    patient_keys: frozenset[str] = frozenset()
    patient_ref: str = ""
    birth_date: dt.date | None = None
    #: (code system, code) -> (what the code is called, resources with it) for codes that
    #: are not cvrisk analytes: reported once per code, naming the resources
    unknown_codes: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)
    #: Medication resources a medication resource referred to (the others are reported)
    used: set[str] = field(default_factory=set)

    def add(
        self,
        kind: IssueKind,
        message: str,
        *,
        resource: str | None = None,
        severity: Severity = "info",
        field: str | None = None,
    ) -> None:
        """Record an issue."""
        self.issues.append(
            DataIssue(kind=kind, message=message, severity=severity, resource=resource, field=field)
        )

    def invalid(
        self, resource: str, message: str, *, kind: IssueKind = "invalid", field: str | None = None
    ) -> None:
        """An invalid resource: an error under ``on_invalid="raise"``, else a warning."""
        if self.on_invalid == "raise":
            raise RecordError(
                f"invalid FHIR resource {resource}: {message}. Correct it, or read leniently "
                "(on_invalid='report') to skip it with a data issue"
            )
        self.add(
            kind,
            f"{resource} was skipped: {message}",
            resource=resource,
            severity="warning",
            field=field,
        )

    def validate(self, kind: type[T], entry: Entry) -> T | None:
        """The resource's elements of typed dict ``kind`` (:mod:`cvrisk.fhir.model`), or None
        (an invalid-resource issue) when they have the wrong JSON types."""
        try:
            value: T = adapter(cast(Any, kind)).validate_python(entry.resource)
            return value
        except ValidationError as exc:
            self.invalid(entry.ref, validation_text(exc))
            return None

    def about_patient(self, subject: Reference | None, entry: Entry) -> bool:
        """False (with a warning) when the resource's subject is someone else."""
        reference = subject.get("reference") if subject else None
        if reference is None:
            return True
        if reference in self.patient_keys or reference_key(reference) in self.patient_keys:
            return True
        self.add(
            "ignored",
            f"{entry.ref} is about {reference}, not {self.patient_ref}: not read (cvrisk "
            "evaluates one patient at a time)",
            resource=entry.ref,
            severity="warning",
        )
        return False

    def date(
        self, text: str | None, entry: Entry, field: str, *, allow_time: bool = True
    ) -> dates.FhirDate | None:
        """A FHIR date element, or None. An unreadable date is an invalid resource; a partial
        date is read with the mid-period convention and an ``assumed`` issue."""
        if text is None:
            return None
        try:
            parsed = dates.parse(text, allow_time=allow_time)
        except dates.DateError as exc:
            self.invalid(entry.ref, f"{field}: {exc}", field=field)
            raise ResourceNotUsedError from None
        if parsed.assumed is not None:
            self.add(
                "assumed", f"{entry.ref} {field} {parsed.assumed}", resource=entry.ref, field=field
            )
        return parsed

    def unknown_code(self, system: str, code: str, name: str, ref: str) -> None:
        """Note a code cvrisk does not use (reported once per code, see :meth:`report`)."""
        known = self.unknown_codes.get((system, code))
        if known is None:
            self.unknown_codes[(system, code)] = (name, [ref])
        elif known[1][-1] != ref:
            known[1].append(ref)

    def report_unknown_codes(self) -> None:
        """One info issue per unused code: its message names up to five of the resources,
        its ``resource`` field all of them (comma-separated: none is lost)."""
        for (system, code), (name, refs) in sorted(self.unknown_codes.items()):
            shown = ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
            self.add(
                "ignored",
                f"{system}|{code}{f' ({name})' if name else ''} is not a code cvrisk reads: "
                f"{len(refs)} "
                f"Observation(s) not used ({shown})",
                resource=", ".join(refs),
                field=code,
            )


class ResourceNotUsedError(Exception):
    """Raised inside a resource reader when the resource cannot be used (already reported)."""
