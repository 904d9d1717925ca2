"""Small pydantic models of the FHIR R4 elements cvrisk reads, and only those.

Every other element of a resource is ignored (``extra="ignore"``), so a resource is never
refused for content cvrisk does not use; what is read is checked with FHIR's JSON types:
numbers must be JSON numbers, booleans JSON booleans, strings strings (``"value": "5.2"`` is
an error naming the field, not a coerced number). Dates stay text here and are parsed by
:mod:`cvrisk.fhir.dates`, which knows FHIR's partial dates.

The full ``fhir.resources`` models validate every element and cost about 0.4 ms per
Observation, too slow for the service path; the tests use them to check example inputs and
everything :mod:`cvrisk.fhir.export` writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Strict, StrictBool

#: A FHIR decimal or integer, given as a JSON number.
Decimal = Annotated[float, Strict()]


class Element(BaseModel):
    """Base of every model: unknown elements are ignored, values are not coerced."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class Coding(Element):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(Element):
    coding: list[Coding] = []
    text: str | None = None

    def codes(self, system: str) -> list[str]:
        """The codes of this concept in ``system``, in order."""
        return [c.code for c in self.coding if c.system == system and c.code]

    def has(self, system: str, code: str) -> bool:
        return any(c.system == system and c.code == code for c in self.coding)

    def describe(self) -> str:
        """A short human text: the text, else the first display, else ``system|code``."""
        if self.text:
            return self.text
        for coding in self.coding:
            if coding.display:
                return coding.display
        for coding in self.coding:
            if coding.code:
                return f"{coding.system or '?'}|{coding.code}"
        return "(no code)"

    def texts(self) -> list[str]:
        """Every human text of the concept: ``text`` then the codings' displays."""
        out = [self.text] if self.text else []
        out.extend(c.display for c in self.coding if c.display)
        return out


class Quantity(Element):
    value: Decimal | None = None
    comparator: str | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class Reference(Element):
    reference: str | None = None
    display: str | None = None


class Period(Element):
    start: str | None = None
    end: str | None = None


class Extension(Element):
    url: str
    valueCodeableConcept: CodeableConcept | None = None
    valueCoding: Coding | None = None
    valueString: str | None = None
    extension: list[Extension] = []


class Patient(Element):
    id: str | None = None
    gender: str | None = None
    birthDate: str | None = None
    deceasedBoolean: StrictBool | None = None
    deceasedDateTime: str | None = None
    extension: list[Extension] = []


class Component(Element):
    code: CodeableConcept
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    dataAbsentReason: CodeableConcept | None = None


class Observation(Element):
    id: str | None = None
    status: str
    code: CodeableConcept
    subject: Reference | None = None
    effectiveDateTime: str | None = None
    effectiveInstant: str | None = None
    effectivePeriod: Period | None = None
    issued: str | None = None
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    dataAbsentReason: CodeableConcept | None = None
    component: list[Component] = []


class Condition(Element):
    id: str | None = None
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    onsetDateTime: str | None = None
    onsetPeriod: Period | None = None
    onsetAge: Quantity | None = None
    abatementDateTime: str | None = None
    abatementPeriod: Period | None = None
    abatementAge: Quantity | None = None
    abatementBoolean: StrictBool | None = None
    recordedDate: str | None = None


class Ingredient(Element):
    itemCodeableConcept: CodeableConcept | None = None
    itemReference: Reference | None = None


class Medication(Element):
    id: str | None = None
    code: CodeableConcept | None = None
    ingredient: list[Ingredient] = []


class Repeat(Element):
    boundsPeriod: Period | None = None


class Timing(Element):
    repeat: Repeat | None = None
    event: list[str] = []


class DoseAndRate(Element):
    doseQuantity: Quantity | None = None


class Dosage(Element):
    text: str | None = None
    timing: Timing | None = None
    route: CodeableConcept | None = None
    doseAndRate: list[DoseAndRate] = []


class AdministrationDosage(Element):
    route: CodeableConcept | None = None
    dose: Quantity | None = None


class DispenseRequest(Element):
    validityPeriod: Period | None = None


class _MedicationUse(Element):
    """What every medication resource has: a status, the drug and the patient."""

    id: str | None = None
    status: str
    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    subject: Reference | None = None
    contained: list[dict[str, Any]] = []


class MedicationRequest(_MedicationUse):
    intent: str
    doNotPerform: StrictBool | None = None
    authoredOn: str | None = None
    dosageInstruction: list[Dosage] = []
    dispenseRequest: DispenseRequest | None = None


class MedicationStatement(_MedicationUse):
    effectiveDateTime: str | None = None
    effectivePeriod: Period | None = None
    dateAsserted: str | None = None
    dosage: list[Dosage] = []


class MedicationDispense(_MedicationUse):
    whenPrepared: str | None = None
    whenHandedOver: str | None = None
    daysSupply: Quantity | None = None
    dosageInstruction: list[Dosage] = []


class MedicationAdministration(_MedicationUse):
    effectiveDateTime: str | None = None
    effectivePeriod: Period | None = None
    dosage: AdministrationDosage | None = None
    request: Reference | None = None


#: The medication resources cvrisk reads.
MedicationUse = (
    MedicationRequest | MedicationStatement | MedicationDispense | MedicationAdministration
)
