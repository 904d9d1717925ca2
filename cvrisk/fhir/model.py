"""The FHIR R4 elements cvrisk reads, and only those, as pydantic-validated typed dicts.

Each resource is validated by pydantic v2 against a ``TypedDict`` of the elements cvrisk
uses; every other element is dropped, so a resource is never refused for content cvrisk does
not use. What is read is checked with FHIR's JSON types: numbers must be JSON numbers,
booleans JSON booleans, strings strings (``"value": "5.2"`` is an error naming the field, not
a coerced number). Dates stay text here and are parsed by :mod:`cvrisk.fhir.dates`, which
knows FHIR's partial dates.

Typed dicts rather than model classes: validating into dicts costs about a quarter of
building model instances (a 500-resource Bundle must map in a few milliseconds), and mypy
still checks every access. The full ``fhir.resources`` models validate every element and
cost about 0.4 ms per Observation; the tests use them to check example inputs and everything
:mod:`cvrisk.fhir.export` writes.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Required

from pydantic import Strict, StrictBool, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

#: A FHIR decimal or integer, given as a JSON number.
Decimal = Annotated[float, Strict()]


class Coding(TypedDict, total=False):
    system: str
    code: str
    display: str


class CodeableConcept(TypedDict, total=False):
    coding: list[Coding]
    text: str


class Quantity(TypedDict, total=False):
    value: Decimal
    comparator: str
    unit: str
    system: str
    code: str


class Reference(TypedDict, total=False):
    reference: str
    display: str


class Period(TypedDict, total=False):
    start: str
    end: str


class Extension(TypedDict, total=False):
    url: Required[str]
    valueCodeableConcept: CodeableConcept
    valueCoding: Coding
    valueString: str
    extension: list[Extension]


class Patient(TypedDict, total=False):
    id: str
    gender: str
    birthDate: str
    deceasedBoolean: StrictBool
    deceasedDateTime: str
    extension: list[Extension]


class Component(TypedDict, total=False):
    code: Required[CodeableConcept]
    valueQuantity: Quantity
    valueCodeableConcept: CodeableConcept
    dataAbsentReason: CodeableConcept


class Observation(TypedDict, total=False):
    id: str
    status: Required[str]
    code: Required[CodeableConcept]
    subject: Reference
    effectiveDateTime: str
    effectiveInstant: str
    effectivePeriod: Period
    issued: str
    valueQuantity: Quantity
    valueCodeableConcept: CodeableConcept
    dataAbsentReason: CodeableConcept
    component: list[Component]


class Condition(TypedDict, total=False):
    id: str
    clinicalStatus: CodeableConcept
    verificationStatus: CodeableConcept
    code: CodeableConcept
    subject: Reference
    onsetDateTime: str
    onsetPeriod: Period
    onsetAge: Quantity
    abatementDateTime: str
    abatementPeriod: Period
    abatementAge: Quantity
    abatementBoolean: StrictBool
    recordedDate: str


class Ingredient(TypedDict, total=False):
    itemCodeableConcept: CodeableConcept
    itemReference: Reference


class Medication(TypedDict, total=False):
    id: str
    code: CodeableConcept
    ingredient: list[Ingredient]


class Repeat(TypedDict, total=False):
    boundsPeriod: Period
    boundsDuration: Quantity


class Timing(TypedDict, total=False):
    repeat: Repeat


class DoseAndRate(TypedDict, total=False):
    doseQuantity: Quantity


class Dosage(TypedDict, total=False):
    text: str
    timing: Timing
    route: CodeableConcept
    doseAndRate: list[DoseAndRate]


class AdministrationDosage(TypedDict, total=False):
    route: CodeableConcept
    dose: Quantity


class MedicationRequest(TypedDict, total=False):
    id: str
    status: Required[str]
    intent: Required[str]
    doNotPerform: StrictBool
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    subject: Reference
    authoredOn: str
    dosageInstruction: list[Dosage]


class MedicationStatement(TypedDict, total=False):
    id: str
    status: Required[str]
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    subject: Reference
    effectiveDateTime: str
    effectivePeriod: Period
    dateAsserted: str
    dosage: list[Dosage]


class MedicationDispense(TypedDict, total=False):
    id: str
    status: Required[str]
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    subject: Reference
    whenPrepared: str
    whenHandedOver: str
    daysSupply: Quantity
    dosageInstruction: list[Dosage]


class MedicationAdministration(TypedDict, total=False):
    id: str
    status: Required[str]
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    subject: Reference
    effectiveDateTime: str
    effectivePeriod: Period
    dosage: AdministrationDosage
    request: Reference


#: The medication resources cvrisk reads.
MedicationUse = (
    MedicationRequest | MedicationStatement | MedicationDispense | MedicationAdministration
)


@cache
def adapter(kind: Any) -> TypeAdapter[Any]:
    """The (cached) pydantic validator of a typed dict, or of a list of them."""
    return TypeAdapter(kind)


def codes(concept: CodeableConcept | None, system: str) -> list[str]:
    """The codes of ``concept`` in ``system``, in order."""
    if not concept:
        return []
    return [
        c["code"] for c in concept.get("coding", ()) if c.get("system") == system and "code" in c
    ]


def texts(concept: CodeableConcept | None) -> list[str]:
    """Every human text of a concept: ``text``, then the codings' displays."""
    if not concept:
        return []
    out = [concept["text"]] if concept.get("text") else []
    out.extend(c["display"] for c in concept.get("coding", ()) if c.get("display"))
    return out


def describe(concept: CodeableConcept | None) -> str:
    """A short human text: the text, else the first display, else ``system|code``."""
    found = texts(concept)
    if found:
        return found[0]
    for coding in (concept or {}).get("coding", ()):
        if coding.get("code"):
            return f"{coding.get('system', '?')}|{coding['code']}"
    return "(no code)"
