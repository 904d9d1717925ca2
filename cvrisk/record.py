"""The patient record: demographics, diagnoses, prescriptions and dated measurements.

Native JSON in and out (pydantic v2), with FHIR's code-system URIs and UCUM unit spellings.
Validation is strict and explains itself: an unknown unit, a weight in mmHg, cholesterol
213 "mmol/L", a prescription stopping before it starts are all :class:`RecordError` s that
name the field (``observations[3].value``), the value and what was probably meant. Nothing
is coerced or filled in: a missing value stays missing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    model_validator,
)

from cvrisk import plausibility, vocab
from cvrisk.cached import cached_value
from cvrisk.codes import code_problem
from cvrisk.errors import CvriskError, Problem, RecordError, quoted
from cvrisk.issues import DataIssue
from cvrisk.limits import date_problem, limits
from cvrisk.plausibility import Verdict
from cvrisk.units import convert, is_convertible, parse_unit
from cvrisk.vocab import Ethnicity

Sex = Literal["female", "male"]
Race = Literal["white", "black", "other"]
DateLike = dt.date | dt.datetime


def _iso_date(value: Any) -> Any:
    """Read an ISO 8601 calendar date text; refuse numbers (pydantic would take epoch seconds).

    Raises:
        ValueError: the value is a number, or a text that is not an ISO 8601 date.
    """
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{quoted(value)} is not an ISO 8601 date (YYYY-MM-DD)") from None
    if isinstance(value, int | float):
        raise ValueError(
            f"{quoted(value)} is a number, not a date: give an ISO 8601 date (YYYY-MM-DD)"
        )
    return value


def _supported(value: Any) -> Any:
    """Refuse a date outside the supported range (docs/limits.md).

    Raises:
        ValueError: the date (or a date-time's day) is outside ``limits.toml [dates]``.
    """
    day = value.date() if isinstance(value, dt.datetime) else value
    if isinstance(day, dt.date) and (problem := date_problem(day)) is not None:
        raise ValueError(problem)
    return value


#: A calendar date: ``date`` object or ISO 8601 text; numbers are refused.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_supported)]
#: A finite number given as a number (a JSON string such as "70" is refused, not coerced).
Number = Annotated[float, Strict()]


def _date_or_datetime(value: Any) -> Any:
    """Read an ISO 8601 text as a date (``2024-03-01``) or a date-time (with a time part).

    Without this, pydantic reads ``2024-03-01T00:00:00`` as a date from a Python dict but as
    a date-time from JSON text; here both give the same result. Other values pass through.

    Raises:
        ValueError: the text is neither (reported as one problem at the field's path).
    """
    if isinstance(value, dt.date):  # a date or date-time object (the FHIR reader's): as is
        return value
    if isinstance(value, int | float):
        raise ValueError(
            f"{quoted(value)} is a number, not a date: give an ISO 8601 date or date-time text"
        )
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text:
                return dt.datetime.fromisoformat(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{quoted(value)} is not an ISO 8601 date (YYYY-MM-DD) or date-time "
                "(YYYY-MM-DDThh:mm:ss, optional offset)"
            ) from None
    return value


def day_of(value: DateLike) -> dt.date:
    """The calendar day of a date or date-time."""
    return value.date() if isinstance(value, dt.datetime) else value


class FieldError(ValueError):
    """A validator's complaint about one field of a record entry.

    :func:`record_error` appends ``field`` to the entry's path and reports ``value`` (not the
    whole entry), so ``observations[3].value=213`` is named rather than ``observations[3]``.
    """

    def __init__(self, message: str, *, field: str, value: Any) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        allow_inf_nan=False,
        str_max_length=limits().max_field_length,  # docs/limits.md
        ignored_types=(cached_value,),
    )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (pydantic's), without the values cached from this instance's fields when
        ``update`` changes any: pydantic copies the instance's ``__dict__``, cached values
        included, and a record given other observations would keep the first one's
        plausibility verdicts, an observation given another date its day."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            for name in _cached_names(type(self)):
                copied.__dict__.pop(name, None)
        return copied


@cache
def _cached_names(model: type) -> tuple[str, ...]:
    """The names of a model's :class:`cached_value` s, its bases' included."""
    return tuple(
        name
        for klass in model.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, cached_value)
    )


class Patient(_Model):
    """Demographics the protocols and scores need."""

    id: str | None = Field(None, description="Identifier in the source system.")
    birth_date: IsoDate = Field(description="Date of birth (ISO 8601).")
    sex: Sex = Field(description="Sex, as the risk equations use it.")
    ethnicity: Ethnicity | None = Field(
        None, description="QRISK3 ethnicity category; also selects lower BMI thresholds."
    )
    race: Race | None = Field(None, description="Race as the US equations (PCE) use it.")

    def age_issues(self, day: dt.date, on_invalid: str = "raise") -> list[DataIssue]:
        """An ``implausible`` warning (or, with ``on_invalid="raise"``, a RecordError) when
        the patient would be older on ``day`` than any verified human (limits.toml)."""
        age, oldest = self.age_on(day), limits().max_age_years
        if age <= oldest:
            return []
        text = (
            f"patient.birth_date {self.birth_date} makes the patient {int(age)} years old on "
            f"{day}, older than any verified human ({oldest} years): check the date of birth"
        )
        if on_invalid == "raise":
            problem = Problem(None, "patient.birth_date", self.birth_date.isoformat(), text)
            raise RecordError(text, [problem])
        return [
            DataIssue(
                kind="implausible", severity="warning", field="patient.birth_date", message=text
            )
        ]

    def age_on(self, day: dt.date) -> float:
        """Age in completed years on ``day`` (a 29 February birthday counts from 1 March).

        Raises:
            RecordError: ``day`` is before the date of birth.
        """
        if day < self.birth_date:
            raise RecordError(
                f"age on {day} is undefined: it is before patient.birth_date "
                f"{self.birth_date}; check the date of birth or the evaluation date"
            )
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return float(years)


def _system_checked(system: str, allowed: tuple[str, ...], what: str) -> str:
    """Short name of a code system, which must be one of ``allowed`` for ``what``."""
    try:
        name = vocab.normalise_system(system)
    except CvriskError as exc:
        raise FieldError(str(exc), field="system", value=system) from None
    if name not in allowed:
        raise FieldError(
            f"code system {system!r} cannot code {what}: use {' or '.join(allowed)} "
            "(or their FHIR URIs)",
            field="system",
            value=system,
        )
    return name


def _code_checked(code: str, system: str) -> None:
    """Refuse a code malformed in its declared system (:mod:`cvrisk.codes`)."""
    problem = code_problem(code, system)
    if problem is not None:
        raise FieldError(problem, field="code", value=code)


class Condition(_Model):
    """A diagnosis, coded in ICD-10 or SNOMED CT."""

    id: str | None = Field(
        None,
        description="Identifier of the entry in the source system (e.g. FHIR 'Observation/abc'); "
        "data issues about the entry name it.",
    )
    code: str = Field(min_length=1, description="ICD-10 code (e.g. F20.0) or SNOMED CT concept.")
    system: str = Field(description="icd10 | snomed (or the FHIR system URI).")
    onset: IsoDate | None = Field(None, description="Date of onset or diagnosis.")
    abatement: IsoDate | None = Field(None, description="Date of resolution, if resolved.")

    @model_validator(mode="after")
    def _check(self) -> Condition:
        _code_checked(self.code, _system_checked(self.system, ("icd10", "snomed"), "a diagnosis"))
        if self.onset and self.abatement and self.abatement < self.onset:
            raise FieldError(
                f"abatement {self.abatement} is before onset {self.onset}: correct the dates",
                field="abatement",
                value=self.abatement.isoformat(),
            )
        return self


class Dose(_Model):
    """A dose with its unit (e.g. 10 mg)."""

    value: Number = Field(gt=0, description="Amount per administration, > 0.")
    unit: str = Field(min_length=1, description="UCUM unit of the amount, e.g. 'mg'.")

    @model_validator(mode="after")
    def _check(self) -> Dose:
        try:
            parse_unit(self.unit)
        except CvriskError as exc:
            raise FieldError(str(exc), field="unit", value=self.unit) from None
        bounds = limits()
        amount = next((u for u in bounds.dose_units if is_convertible(self.unit, u)), None)
        if amount is None:
            raise FieldError(
                f"dose unit {quoted(self.unit)} is not an amount of medicine: give a mass, "
                f"volume or amount of substance ({', '.join(bounds.dose_units)}...)",
                field="unit",
                value=self.unit,
            )
        in_amount = float(convert(self.value, self.unit, amount))
        if in_amount > bounds.max_dose[amount]:
            raise FieldError(
                f"dose {self.value:g} {self.unit} is implausible for one administration (more "
                f"than {bounds.max_dose[amount]:g} {amount}; docs/limits.md): check the value "
                "and unit",
                field="value",
                value=self.value,
            )
        return self


class Medication(_Model):
    """A prescription: drug (name and/or code), formulation, start, optional stop, dose, route.

    The drug is recognised by :func:`cvrisk.vocab.resolve_drug` from ``drug`` (an INN, salt,
    brand or product text such as "olanzapine 10 mg tablets") and/or ``code``. A name and a
    code that mean different drugs are an error naming both: neither is used.
    """

    id: str | None = Field(
        None,
        description="Identifier of the entry in the source system (e.g. FHIR 'Observation/abc'); "
        "data issues about the entry name it.",
    )
    drug: str | None = Field(
        None,
        description="Drug name: ingredient (INN), salt, brand or product text, e.g. "
        "'olanzapine', 'Zyprexa', 'quetiapine fumarate 25 mg tablets'.",
    )
    code: str | None = Field(None, description="Drug code (ATC, RxNorm, dm+d).")
    system: str | None = Field(
        None, description="atc | rxnorm | snomed (dm+d ids are SNOMED) or the FHIR URI of `code`."
    )
    formulation: str | None = Field(
        None,
        description="Formulation id when its monitoring differs, e.g. 'olanzapine-pamoate' "
        "(long-acting injection); read from the name or code when they say it.",
    )
    start: IsoDate = Field(description="First day of the prescription.")
    stop: IsoDate | None = Field(None, description="Last day; absent while still prescribed.")
    dose: Dose | None = None
    route: str | None = Field(None, description="Route as free text, e.g. 'oral', 'depot'.")

    @model_validator(mode="after")
    def _check(self) -> Medication:
        if self.drug is None and (self.code is None or self.system is None):
            raise ValueError("give 'drug' (ingredient id) or both 'code' and 'system'")
        if self.drug is not None and not self.drug:
            raise FieldError("'drug' is empty: give an ingredient id", field="drug", value="")
        if self.system is not None:
            system = _system_checked(self.system, ("atc", "rxnorm", "snomed"), "a medication")
            if self.code is not None:
                _code_checked(self.code, system)
        if self.stop is not None and self.stop < self.start:
            raise FieldError(
                f"stop {self.stop} is before start {self.start}: correct the dates",
                field="stop",
                value=self.stop.isoformat(),
            )
        try:
            match = self.match
        except vocab.DrugConflictError as exc:
            raise FieldError(str(exc), field="code", value=self.code) from None
        if self.formulation is not None:
            self._check_formulation(match)
        return self

    def _check_formulation(self, match: vocab.DrugMatch | None) -> None:
        known = vocab.formulations()
        entry = known.get(str(self.formulation))
        if entry is None:
            raise FieldError(
                f"unknown formulation {self.formulation!r}; known: {', '.join(sorted(known))}",
                field="formulation",
                value=self.formulation,
            )
        if match is None or match.ingredient != entry["ingredient"]:
            what = match.label() if match is not None else "not recognised"
            raise FieldError(
                f"formulation {self.formulation!r} is a form of {entry['ingredient']}, but the "
                f"drug is {what}: correct the drug or the formulation",
                field="formulation",
                value=self.formulation,
            )
        if match.formulation is not None and match.formulation != self.formulation:
            raise FieldError(
                f"formulation {self.formulation!r} contradicts the drug ({match.matched} is "
                f"{match.formulation}): correct one of them",
                field="formulation",
                value=self.formulation,
            )

    @property
    def match(self) -> vocab.DrugMatch | None:
        """What the drug was recognised as (None: not recognised).

        Raises:
            DrugConflictError: name and code disagree (a validated record never does).
        """
        return vocab.resolve_drug(name=self.drug, code=self.code, system=self.system)

    @property
    def ingredient(self) -> str | None:
        """The recognised ingredient id (a catalogue id for catalogue antipsychotics); the
        lower-cased name for a name cvrisk does not recognise; None for an unknown code."""
        match = self.match
        if match is not None and match.ingredient is not None:
            return match.ingredient
        if self.drug is not None:
            return self.drug.lower()
        return None

    @property
    def formulation_id(self) -> str | None:
        """The formulation: given, or read from the name or code."""
        if self.formulation is not None:
            return self.formulation
        match = self.match
        return match.formulation if match is not None else None

    def active_on(self, day: dt.date) -> bool:
        """True when the prescription covers ``day``."""
        return self.start <= day and (self.stop is None or day <= self.stop)


class Observation(_Model):
    """A dated result: a quantity with its unit, or a coded value (smoking status)."""

    id: str | None = Field(
        None,
        description="Identifier of the entry in the source system (e.g. FHIR 'Observation/abc'); "
        "data issues about the entry name it.",
    )
    analyte: str | None = Field(None, description="Canonical analyte id (analytes.toml).")
    code: str | None = Field(None, description="LOINC code when `analyte` is not given.")
    system: str | None = Field(None, description="loinc (or http://loinc.org).")
    value: Number | None = Field(None, description="Numeric result, in `unit`.")
    unit: str | None = Field(None, description="UCUM unit (or common spelling) of `value`.")
    coded: str | None = Field(None, description="Coded value, e.g. smoking status 'current'.")
    date: Annotated[DateLike, BeforeValidator(_date_or_datetime), AfterValidator(_supported)] = (
        Field(description="Effective date (YYYY-MM-DD) or date-time (ISO 8601, with time).")
    )
    status: Literal["final", "amended", "corrected", "preliminary"] = Field(
        "final", description="FHIR Observation status; cancelled or erroneous results are not sent."
    )

    @model_validator(mode="after")
    def _check(self) -> Observation:
        entry = self._resolve_analyte()
        analyte_id = entry.id
        if entry.coded:
            if self.value is not None or self.unit is not None:
                raise FieldError(
                    f"{analyte_id} is coded: give 'coded' (one of {list(entry.values)}), "
                    "not a numeric value or unit",
                    field="value" if self.value is not None else "unit",
                    value=self.value if self.value is not None else self.unit,
                )
            if self.coded is None:
                raise FieldError(
                    f"{analyte_id} is coded: give 'coded' (one of {list(entry.values)})",
                    field="coded",
                    value=None,
                )
            if entry.values and self.coded not in entry.values:
                raise FieldError(
                    f"{analyte_id} value {self.coded!r} is not one of {list(entry.values)}",
                    field="coded",
                    value=self.coded,
                )
            return self
        if self.coded is not None:
            raise FieldError(
                f"{analyte_id} is a quantity: give 'value' and 'unit', not 'coded'",
                field="coded",
                value=self.coded,
            )
        if self.value is None:
            raise FieldError(
                f"{analyte_id} needs a numeric 'value' with its 'unit'", field="value", value=None
            )
        if self.unit is None:
            raise FieldError(
                f"{analyte_id} value {self.value:g} has no unit: give 'unit' "
                f"(e.g. {entry.unit!r}); units are never guessed",
                field="unit",
                value=None,
            )
        _plausible(entry, self.value, self.unit)
        return self

    def _resolve_analyte(self) -> vocab.Analyte:
        """The analyte of `analyte` and/or `code`+`system`, checking they agree (the entry
        itself: validation then needs no second lookup)."""
        from_code = None
        if self.code is not None or self.system is not None:
            if self.code is None or self.system is None:
                missing = "code" if self.code is None else "system"
                raise FieldError(
                    f"give both 'code' and 'system' (or only 'analyte'); {missing!r} is missing",
                    field=missing,
                    value=None,
                )
            _code_checked(
                self.code, _system_checked(self.system, ("loinc", "cvrisk"), "an observation")
            )
            try:
                from_code = vocab.analyte_for_code(self.code, self.system)
            except CvriskError as exc:
                raise FieldError(str(exc), field="code", value=self.code) from None
        if self.analyte is not None:
            try:
                entry = vocab.analyte(self.analyte)
            except CvriskError as exc:
                raise FieldError(str(exc), field="analyte", value=self.analyte) from None
            if from_code is not None and from_code != self.analyte:
                raise FieldError(
                    f"code {self.system}|{self.code} is {from_code!r}, but 'analyte' says "
                    f"{self.analyte!r}: correct one of them",
                    field="code",
                    value=self.code,
                )
            return entry
        if from_code is None:
            raise ValueError("give 'analyte' or both 'code' and 'system'")
        return vocab.analyte(from_code)

    @cached_value
    def analyte_id(self) -> str:
        """Canonical analyte id (from `analyte`, or the LOINC code; computed once)."""
        if self.analyte is not None:
            return self.analyte
        assert self.code is not None and self.system is not None  # checked on validation
        return vocab.analyte_for_code(self.code, self.system)

    @cached_value
    def day(self) -> dt.date:
        """Calendar day of the result (computed once: every stage orders results by it)."""
        return day_of(self.date)

    @cached_value
    def time_of_day(self) -> dt.time:
        """Wall-clock time of the result (as recorded, offset ignored); a date without a time
        sorts as the start of its day, but is never taken as earlier than a result of that
        day with a time: it is simultaneous with each (:func:`cvrisk.rules.facts._with_last`)."""
        return self.date.time() if isinstance(self.date, dt.datetime) else dt.time.min

    def value_in(self, unit: str | None = None) -> float:
        """The value converted to ``unit`` (default: the analyte's canonical unit).

        Raises:
            RecordError: the observation is coded (it has no numeric value).
            UnitError: ``unit`` cannot express this analyte.
        """
        entry = vocab.analyte(self.analyte_id)
        if self.value is None or self.unit is None or entry.unit is None:
            raise RecordError(
                f"{self.analyte_id} observation is coded ({self.coded!r}): it has no value "
                "to convert; read `coded` instead"
            )
        target = unit or entry.unit
        return float(convert(self.value, self.unit, target, entry.substance))


class PatientRecord(_Model):
    """Everything cvrisk reads about one patient."""

    patient: Patient
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    observations: list[Observation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> PatientRecord:
        born = self.patient.birth_date
        dated: list[tuple[str, dt.date | None]] = [
            *((f"conditions[{i}].onset", c.onset) for i, c in enumerate(self.conditions)),
            *((f"conditions[{i}].abatement", c.abatement) for i, c in enumerate(self.conditions)),
            *((f"medications[{i}].start", m.start) for i, m in enumerate(self.medications)),
            *((f"observations[{i}].date", o.day) for i, o in enumerate(self.observations)),
        ]
        for field, day in dated:
            if day is not None and day < born:
                raise FieldError(
                    f"{field} {day} is before patient.birth_date {born}: correct the dates",
                    field=field,
                    value=day.isoformat(),
                )
        return self

    @cached_value
    def verdicts(self) -> tuple[Verdict | None, ...]:
        """The plausibility verdict of each observation, in order (None for coded results),
        judged at the patient's age on the result's date (:func:`cvrisk.plausibility.check`).

        ``verdicts[i].usable`` is False for a result that is probably in another unit than
        the one stated (HbA1c 19 "%", HDL 0.45 g/L sent as "mmol/L", a neutrophil count in
        10^9/L sent as "/uL"). Such a result stays in the record, as given, but evaluation
        does not use it for alerts or scores and reports it as an ``implausible`` warning
        issue naming the probable unit. (Impossible values never get here: reading them is
        an error.) Computed once per record, on first use.
        """
        out: list[Verdict | None] = []
        for obs in self.observations:
            if obs.value is None or obs.unit is None:
                out.append(None)
                continue
            age = self.patient.age_on(obs.day) if obs.day >= self.patient.birth_date else None
            out.append(plausibility.check(obs.analyte_id, obs.value, obs.unit, age=age))
        return tuple(out)

    def is_usable(self, index: int) -> bool:
        """False when ``observations[index]`` is a probable unit error (:attr:`verdicts`):
        keep it out of alerts, scores and derived values."""
        verdict = self.verdicts[index]
        return verdict is None or verdict.usable

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any]) -> PatientRecord:
        """Read a record from native JSON (text, bytes or parsed), raising :class:`RecordError`.

        Text is parsed as :mod:`cvrisk.sources` parses every input: inside the input limits
        (docs/limits.md), refusing duplicate keys.
        """
        from cvrisk.sources import parsed_json

        parsed = parsed_json(data, paths=False)
        if not isinstance(parsed, dict):
            raise RecordError(
                f"a native record is a JSON object with 'patient', not a JSON "
                f"{type(parsed).__name__}: read FHIR with cvrisk.sources.read_record"
            )
        try:
            return cls.model_validate(parsed)
        except ValidationError as exc:
            raise record_error(exc) from None

    @classmethod
    def from_file(cls, path: str | Path) -> PatientRecord:
        """Read a native JSON record file (``-``: standard input), raising RecordError."""
        if not isinstance(path, str | Path):
            raise RecordError(f"path must be a file path, not {type(path).__name__}")
        from cvrisk.sources import parsed_json

        parsed = parsed_json(Path(path) if path != "-" else path)
        return cls.from_json(parsed)

    def to_json(self, **kwargs: Any) -> str:
        """Native JSON (the same shape :meth:`from_json` reads)."""
        return self.model_dump_json(exclude_none=True, **kwargs)

    def age_on(self, day: dt.date) -> float:
        """The patient's age in completed years on ``day`` (see :meth:`Patient.age_on`)."""
        return self.patient.age_on(day)

    def check_dates(self, as_of: dt.date, on_invalid: str = "raise") -> list[DataIssue]:
        """Check the record can describe a patient on ``as_of``.

        Raises :class:`RecordError` when the date of birth is after ``as_of``, and when the
        patient would be older on ``as_of`` than any verified human (``limits.toml
        [patient]``; a date-of-birth error); with ``on_invalid="report"`` the age is
        returned as an ``implausible`` warning instead, and the evaluation goes on.
        """
        born = self.patient.birth_date
        if born > as_of:
            raise RecordError(
                f"patient.birth_date {born} is after the evaluation date "
                f"{as_of}: check the date of birth or the as_of date",
                [
                    Problem(
                        None,
                        "patient.birth_date",
                        born.isoformat(),
                        f"after the evaluation date {as_of}",
                    )
                ],
            )
        return self.patient.age_issues(as_of, on_invalid)


Record = Annotated[PatientRecord, Field(description="A patient record")]

_SHOWN = 5


def record_error(exc: ValidationError, prefix: str = "") -> RecordError:
    """Turn pydantic's validation error into a RecordError naming each field and value.

    Each problem's ``column`` is the JSON path (``observations[3].value``; ``prefix`` is put
    in front when one entry was validated alone) and ``value`` the offending value as given;
    the message lists the first five.
    """
    problems = []
    lines = []
    for error in exc.errors():
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path
        value = error.get("input")
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            path = f"{path}.{cause.field}" if path else cause.field
            value = cause.value
            message = str(cause)
        else:
            message = error["msg"].removeprefix("Value error, ")
        path = path or "<record>"
        problems.append(Problem(None, path, value, message))
        if error["type"] == "missing" or value is None:
            lines.append(f"{path}: {message}")
        else:
            lines.append(f"{path}={quoted(value)}: {message}")
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    return RecordError(f"invalid patient record: {'; '.join(lines[:_SHOWN])}{more}", problems)


def check_plausible(analyte_id: str, value: float, unit: str) -> None:
    """Raise :class:`FieldError` (a ValueError) when ``value unit`` cannot be a real result.

    Catches units that cannot express the analyte (a weight in mmHg: ``field="unit"``) and
    values impossible in their unit (cholesterol 213 mmol/L: ``field="value"``), suggesting
    the unit that makes the value plausible. The limits are the analyte's ``plausible``
    entry in analytes.toml (the *impossible* tier of :mod:`cvrisk.plausibility`); values
    merely unusual in their unit are not errors (see :attr:`PatientRecord.verdicts`).
    """
    _plausible(vocab.analyte(analyte_id), value, unit)


def _plausible(entry: vocab.Analyte, value: float, unit: str) -> None:
    """:func:`check_plausible` for the analyte ``entry`` already looked up (every validated
    observation: one lookup fewer)."""
    analyte_id = entry.id
    if entry.unit is None:
        return
    try:
        verdict = plausibility.check(analyte_id, value, unit)
    except CvriskError as exc:
        raise FieldError(
            f"{analyte_id} unit {unit!r} cannot express {entry.label.get('en', analyte_id)} "
            f"(expected a unit convertible to {entry.unit!r}): {exc}",
            field="unit",
            value=unit,
        ) from None
    if verdict.tier != "impossible" or entry.plausible is None:
        return
    low, high = entry.plausible
    suggestion = verdict.probable_unit
    hint = f"; did you mean {value:g} {suggestion}?" if suggestion else "; check the value and unit"
    raise FieldError(
        f"{analyte_id} {value:g} {unit} is implausible (plausible range {low:g}-{high:g} "
        f"{entry.unit}){hint}",
        field="value",
        value=value,
    )


def suggest_unit(analyte_id: str, value: float, unit: str) -> str | None:
    """The unit in which ``value`` would be a plausible ``analyte_id`` result, if any
    (candidates as :func:`cvrisk.plausibility.suggest` tries them)."""
    return plausibility.suggest(analyte_id, value, unit)


def load_record(source: Any) -> PatientRecord:
    """A PatientRecord from any source :func:`cvrisk.sources.read_record` reads (a record, its
    native JSON dict or text, FHIR, or a file path), refusing a source whose reading would
    report a data issue. Use ``read_record`` to get the issues instead.

    Raises:
        RecordError: the source cannot be read or is invalid. DataIssueError: reading it met
            an issue (a FHIR resource that could not be used, an assumed date...).
    """
    from cvrisk.sources import read_record

    return read_record(source, strict=True).record


def record_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the native record format (docs/record.schema.json).

    Regenerate the committed copy with ``cvrisk schema record > docs/record.schema.json``.
    The schema describes the shape; the cross-field rules (units, plausibility, dates, codes)
    are checked by :meth:`PatientRecord.from_json` and described in docs/record.md.
    """
    schema = PatientRecord.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "cvrisk patient record",
    }


def dumps_schema(schema: dict[str, Any]) -> str:
    """Stable text form of a JSON Schema, as committed in docs/."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # prefer: cvrisk schema record > docs/record.schema.json
    import sys

    sys.stdout.write(dumps_schema(record_json_schema()))
