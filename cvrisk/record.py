"""The patient record: demographics, diagnoses, prescriptions and dated measurements.

Native JSON in and out (pydantic v2); FHIR R4 Bundles are read by :mod:`cvrisk.fhir`.
Validation is strict and explains itself: an unknown unit, a weight in mmHg, cholesterol
213 "mmol/L", a prescription stopping before it starts are all :class:`RecordError` s that
name the field (``observations[3].value``), the value and what was probably meant. Nothing
is coerced or filled in: a missing value stays missing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cvrisk import vocab
from cvrisk.errors import CvriskError, Problem, RecordError
from cvrisk.units import SUGGESTED_UNITS, convert, converter, parse_unit

Sex = Literal["female", "male"]
Ethnicity = Literal[
    "white",
    "not_stated",
    "indian",
    "pakistani",
    "bangladeshi",
    "other_asian",
    "black_caribbean",
    "black_african",
    "chinese",
    "other",
]
Race = Literal["white", "black", "other"]
DateLike = dt.date | dt.datetime


def day_of(value: DateLike) -> dt.date:
    """The calendar day of a date or date-time."""
    return value.date() if isinstance(value, dt.datetime) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Patient(_Model):
    """Demographics the protocols and scores need."""

    id: str | None = Field(None, description="Identifier in the source system.")
    birth_date: dt.date = Field(description="Date of birth (ISO 8601).")
    sex: Sex = Field(description="Sex, as the risk equations use it.")
    ethnicity: Ethnicity | None = Field(
        None, description="QRISK3 ethnicity category; also selects lower BMI thresholds."
    )
    race: Race | None = Field(None, description="Race as the US equations (PCE) use it.")

    def age_on(self, day: dt.date) -> float:
        """Age in whole years on ``day``."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return float(years)


class Condition(_Model):
    """A diagnosis, coded in ICD-10 or SNOMED CT."""

    code: str = Field(min_length=1)
    system: str = Field(description="icd10 | snomed (or the FHIR system URI).")
    onset: dt.date | None = None
    abatement: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> Condition:
        _vocabulary_checked(vocab.normalise_system, self.system)
        if self.onset and self.abatement and self.abatement < self.onset:
            raise ValueError(
                f"abatement {self.abatement} is before onset {self.onset}: correct the dates"
            )
        return self


class Dose(_Model):
    """A dose with its unit (e.g. 10 mg)."""

    value: float = Field(gt=0)
    unit: str = Field(min_length=1)


class Medication(_Model):
    """A prescription: ingredient (or code), start, optional stop, dose and route."""

    drug: str | None = Field(None, description="Catalogue ingredient id, e.g. 'olanzapine'.")
    code: str | None = Field(None, description="Drug code when `drug` is not given.")
    system: str | None = Field(None, description="atc | rxnorm (or FHIR system URI).")
    start: dt.date
    stop: dt.date | None = None
    dose: Dose | None = None
    route: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Medication:
        if self.drug is None and (self.code is None or self.system is None):
            raise ValueError("give 'drug' (ingredient id) or both 'code' and 'system'")
        if self.stop is not None and self.stop < self.start:
            raise ValueError(f"stop {self.stop} is before start {self.start}: correct the dates")
        return self

    @property
    def ingredient(self) -> str | None:
        """The catalogue ingredient id, or None for a drug outside the catalogue."""
        if self.drug is not None:
            return self.drug.lower()
        assert self.code is not None and self.system is not None
        return vocab.drug_for_code(self.code, self.system)

    def active_on(self, day: dt.date) -> bool:
        """True when the prescription covers ``day``."""
        return self.start <= day and (self.stop is None or day <= self.stop)


class Observation(_Model):
    """A dated result: a quantity with its unit, or a coded value (smoking status)."""

    analyte: str | None = Field(None, description="Canonical analyte id (analytes.toml).")
    code: str | None = Field(None, description="LOINC code when `analyte` is not given.")
    system: str | None = Field(None, description="loinc (or http://loinc.org).")
    value: float | None = None
    unit: str | None = None
    coded: str | None = Field(None, description="Coded value, e.g. smoking status 'current'.")
    date: DateLike = Field(description="Effective date or date-time.")
    status: Literal["final", "amended", "corrected", "preliminary"] = "final"

    @model_validator(mode="after")
    def _check(self) -> Observation:
        analyte_id = _vocabulary_checked(lambda: self.analyte_id)
        entry = vocab.analyte(analyte_id)
        if entry.coded:
            if self.coded is None:
                raise ValueError(f"{analyte_id} is coded: give 'coded' (one of {entry.values})")
            if entry.values and self.coded not in entry.values:
                raise ValueError(
                    f"{analyte_id} value {self.coded!r} is not one of {list(entry.values)}"
                )
            return self
        if self.value is None:
            raise ValueError(f"{analyte_id} needs a numeric 'value' with its 'unit'")
        if self.unit is None:
            raise ValueError(
                f"{analyte_id} value {self.value} has no unit: give 'unit' (e.g. {entry.unit!r});"
                " units are never guessed"
            )
        check_plausible(analyte_id, self.value, self.unit)
        return self

    @property
    def analyte_id(self) -> str:
        """Canonical analyte id (from `analyte`, or the LOINC code)."""
        if self.analyte is not None:
            vocab.analyte(self.analyte)
            return self.analyte
        if self.code is None or self.system is None:
            raise ValueError("give 'analyte' or both 'code' and 'system'")
        return vocab.analyte_for_code(self.code, self.system)

    @property
    def day(self) -> dt.date:
        """Calendar day of the result."""
        return day_of(self.date)

    def value_in(self, unit: str | None = None) -> float:
        """The value converted to ``unit`` (default: the analyte's canonical unit)."""
        entry = vocab.analyte(self.analyte_id)
        target = unit or entry.unit
        assert self.value is not None and self.unit is not None and target is not None
        return float(convert(self.value, self.unit, target, entry.substance))


class PatientRecord(_Model):
    """Everything cvrisk reads about one patient."""

    patient: Patient
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    observations: list[Observation] = Field(default_factory=list)

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any]) -> PatientRecord:
        """Read a record from native JSON (text or parsed), raising :class:`RecordError`."""
        try:
            if isinstance(data, dict):
                return cls.model_validate(data)
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise record_error(exc) from None

    @classmethod
    def from_file(cls, path: str | Path) -> PatientRecord:
        """Read a native JSON record file."""
        return cls.from_json(Path(path).read_bytes())

    def to_json(self, **kwargs: Any) -> str:
        """Native JSON (the same shape :meth:`from_json` reads)."""
        return self.model_dump_json(exclude_none=True, **kwargs)

    def age_on(self, day: dt.date) -> float:
        """The patient's age in whole years on ``day``."""
        return self.patient.age_on(day)

    def check_dates(self, as_of: dt.date) -> None:
        """Raise :class:`RecordError` when the record cannot describe a patient on ``as_of``."""
        if self.patient.birth_date > as_of:
            raise RecordError(
                f"patient.birth_date {self.patient.birth_date} is after the evaluation date "
                f"{as_of}: check the date of birth or the as_of date"
            )


def _vocabulary_checked(function: Any, *args: Any) -> Any:
    """Call a vocabulary lookup inside a validator: its KeyError becomes a ValueError."""
    try:
        return function(*args)
    except CvriskError as exc:
        raise ValueError(str(exc)) from None


Record = Annotated[PatientRecord, Field(description="A patient record")]


def record_error(exc: ValidationError) -> RecordError:
    """Turn pydantic's validation error into a RecordError naming each field and value."""
    problems = []
    for error in exc.errors():
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        message = error["msg"].removeprefix("Value error, ")
        problems.append(Problem(None, path or "<record>", error.get("input"), message))
    listed = "; ".join(f"{p.column}: {p.reason}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return RecordError(f"invalid patient record: {listed}{more}", problems)


def check_plausible(analyte_id: str, value: float, unit: str) -> None:
    """Raise ValueError when ``value unit`` cannot be a real ``analyte_id`` result.

    Catches wrong dimensions (a weight in mmHg) and values implausible in their unit
    (cholesterol 213 mmol/L), suggesting the unit that makes the value plausible.
    """
    entry = vocab.analyte(analyte_id)
    if entry.unit is None:
        return
    try:
        parse_unit(unit)
        in_canonical = float(converter(unit, entry.unit, entry.substance)(value))
    except CvriskError as exc:
        raise ValueError(
            f"{analyte_id} unit {unit!r} cannot express a {entry.label.get('en', analyte_id)} "
            f"(expected a unit convertible to {entry.unit!r}): {exc}"
        ) from None
    if entry.plausible is None:
        return
    low, high = entry.plausible
    if low <= in_canonical <= high:
        return
    suggestion = suggest_unit(analyte_id, value, unit)
    hint = f"; did you mean {value:g} {suggestion}?" if suggestion else "; check the value and unit"
    raise ValueError(
        f"{analyte_id} {value:g} {unit} is implausible (plausible range {low:g}-{high:g} "
        f"{entry.unit}){hint}"
    )


def suggest_unit(analyte_id: str, value: float, unit: str) -> str | None:
    """The unit in which ``value`` would be a plausible ``analyte_id`` result, if any."""
    entry = vocab.analyte(analyte_id)
    if entry.unit is None or entry.plausible is None:
        return None
    low, high = entry.plausible
    candidates = [entry.unit, *SUGGESTED_UNITS.get(entry.unit, [])]
    for candidate in candidates:
        if candidate == unit:
            continue
        try:
            converted = float(convert(value, candidate, entry.unit, entry.substance))
        except CvriskError:
            continue
        if low <= converted <= high:
            return candidate
    return None


def load_record(source: PatientRecord | dict[str, Any] | str | Path) -> PatientRecord:
    """Accept a PatientRecord, its native JSON dict, JSON text, or a path to a JSON file."""
    if isinstance(source, PatientRecord):
        return source
    if isinstance(source, dict):
        return PatientRecord.from_json(source)
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        return PatientRecord.from_file(source)
    return PatientRecord.from_json(source)


def record_json_schema() -> dict[str, Any]:
    """JSON Schema of the native record format (exported to docs/record.schema.json)."""
    return PatientRecord.model_json_schema()


def dumps_schema(schema: dict[str, Any]) -> str:
    """Stable text form of a JSON Schema, as committed in docs/."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
