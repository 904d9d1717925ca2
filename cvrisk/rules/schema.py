"""The protocol file schema: what a monitoring protocol may say, checked before it is used.

A protocol is data (``protocols/*.toml``, see docs/protocol-format.md). These pydantic models
validate it strictly (unknown keys are errors, so a typo cannot silently disable a rule) and
export the JSON Schema committed as ``docs/protocol.schema.json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from cvrisk import vocab
from cvrisk.errors import CvriskError, quoted
from cvrisk.rules.durations import parse_duration
from cvrisk.units import is_convertible

T = TypeVar("T")
Status = Literal["confirmed", "unconfirmed"]
Severity = Literal["info", "warning", "critical"]
Measure = Literal["latest", "change_from_baseline", "change_within", "coded", "score"]
Operator = Literal[">", ">=", "<", "<=", "range"]
RestartEvent = Literal["start", "switch", "addition"]
#: Who the source says leads an action: the general practitioner or the psychiatrist.
LeadRole = Literal["gp", "psychiatrist"]
#: What a lead covers, in the words of the source that assigns it.
LeadScope = Literal["physical_health_interventions", "antipsychotic_change"]
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"id {quoted(value)}: use lower-case letters, digits, dots and hyphens")
    return value


#: Protocol and rule ids: lower-case letters, digits, dots and hyphens.
Identifier = Annotated[str, AfterValidator(_check_id)]


def _check_test(value: str) -> str:
    _vocabulary(vocab.test_analytes, value)
    return value


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


#: A canonical test id (cvrisk/data/tests.toml).
TestId = Annotated[str, AfterValidator(_check_test)]
#: An ISO 8601 duration of one unit: PnD, PnW, PnM or PnY.
DurationText = Annotated[str, AfterValidator(_check_duration)]


def _vocabulary(lookup: Callable[[str], T], value: str) -> T:
    """A vocabulary lookup inside a validator: its KeyError becomes a ValueError, which
    pydantic reports with the field's location."""
    try:
        return lookup(value)
    except CvriskError as exc:
        raise ValueError(str(exc)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Messages(_Strict):
    """A text in English (required) and French."""

    en: str = Field(min_length=1)
    fr: str | None = None

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to English."""
        return (self.fr if lang == "fr" else None) or self.en


def text_in(text: str | Messages | None, lang: str) -> str | None:
    """A note in ``lang``: a plain text is the same in every language."""
    return text.get(lang) if isinstance(text, Messages) else text


class Lead(_Strict):
    """Who the source says leads the action an alert asks for (shared care between the
    general practitioner and the psychiatrist), with that statement's source."""

    role: LeadRole
    leads: LeadScope = Field(description="What this role leads, as the source words it.")
    source: str = Field(min_length=1)
    status: Status


class Ends(_Strict):
    """Where a protocol's schedule ends while treatment may continue, and what its source
    says to do next. Evaluation reports a ``protocol_ended`` data issue once the current
    episode is older than ``after``: the protocol schedules nothing more, and says so."""

    after: DurationText = Field(description="ISO 8601 duration after the episode's start.")
    message: Messages = Field(description="What the source says to do next (en, fr).")
    source: str = Field(min_length=1)
    status: Status


class AfterStop(_Strict):
    """Monitoring the source asks for after the drug is stopped (clozapine: blood counts for
    4 weeks after discontinuation), with that statement's source. cvrisk schedules nothing
    once the drug is stopped: while the stop is more recent than ``monitor_for``, evaluation
    reports a ``protocol_ended`` warning carrying ``message`` instead of staying silent."""

    monitor_for: DurationText = Field(
        description="ISO 8601 duration after the last day of treatment during which the source "
        "asks for monitoring (the issue is reported for this long)."
    )
    message: Messages = Field(description="What the source asks for after stopping (en, fr).")
    source: str = Field(min_length=1)
    status: Status


def _check_drug(drug: str) -> str:
    if drug != "antipsychotic" and drug not in vocab.antipsychotics():
        raise ValueError(
            f"unknown drug id {drug!r}: use ingredient ids from cvrisk/data/antipsychotics.toml "
            "or 'antipsychotic'"
        )
    return drug


#: An ingredient id of the antipsychotic catalogue, or "antipsychotic" (every one).
DrugId = Annotated[str, AfterValidator(_check_drug)]


def _check_formulation(formulation: str) -> str:
    if formulation not in vocab.formulations():
        raise ValueError(
            f"unknown formulation {formulation!r}: use ids from [formulations] of "
            f"cvrisk/data/drug_names.toml ({', '.join(sorted(vocab.formulations()))})"
        )
    return formulation


#: A formulation id ([formulations] of cvrisk/data/drug_names.toml), e.g. olanzapine-pamoate.
FormulationId = Annotated[str, AfterValidator(_check_formulation)]


class AppliesTo(_Strict):
    """Which patients and drugs a protocol applies to, and what (re)starts its schedule."""

    drugs: list[DrugId] = Field(min_length=1, description="Ingredient ids, or 'antipsychotic'.")
    formulations: list[FormulationId] | None = Field(
        None,
        min_length=1,
        description="Only courses of these formulations (e.g. olanzapine-pamoate); "
        "default: every formulation of the drugs.",
    )
    min_age_years: int | None = Field(None, ge=0)
    max_age_years: int | None = Field(None, ge=0)
    restart_on: list[RestartEvent] = Field(default_factory=lambda: list[RestartEvent](["start"]))
    source: str = Field(min_length=1)

    def covers(self, drug: str) -> bool:
        """True when the protocol applies to this ingredient."""
        if drug in self.drugs:
            return True
        return "antipsychotic" in self.drugs and vocab.is_antipsychotic(drug)

    def covers_course(self, drug: str, formulation: str | None) -> bool:
        """True when the protocol applies to a course of this ingredient and formulation."""
        if not self.covers(drug):
            return False
        return self.formulations is None or formulation in self.formulations

    @model_validator(mode="after")
    def _formulations_of_drugs(self) -> AppliesTo:
        for formulation in self.formulations or ():
            ingredient = vocab.formulations()[formulation]["ingredient"]
            if not self.covers(ingredient):
                raise ValueError(
                    f"formulation {formulation!r} is a form of {ingredient}, which drugs "
                    f"{self.drugs} does not cover"
                )
        return self

    def covers_age(self, age: float) -> bool:
        """True when the protocol applies at this age (bounds inclusive)."""
        if self.min_age_years is not None and age < self.min_age_years:
            return False
        return not (self.max_age_years is not None and age > self.max_age_years)


class ScheduleItem(_Strict):
    """One monitored test: baseline, follow-ups after the anchor, then a recurring interval."""

    id: Identifier
    test: TestId = Field(description="Canonical test id (cvrisk/data/tests.toml).")
    baseline: bool = False
    followups: tuple[DurationText, ...] = Field(default=(), description="ISO 8601 durations.")
    then_every: DurationText | None = None
    each_administration: bool = Field(
        False,
        description="Due at every administration (each injection) while the course runs, "
        "not on dates: a standing instruction.",
    )
    drugs: tuple[DrugId, ...] | None = None
    when_risk_factors: bool = False
    tolerance_days: int | None = Field(None, ge=0)
    baseline_window_days: tuple[int, int] | None = Field(
        None,
        description="Days before and after the anchor in which a result counts as the "
        "baseline (default: the cvrisk convention, docs/protocol-format.md); set it when the "
        "source states one (clozapine: a count shortly before starting).",
    )
    applies_for: DurationText | None = Field(
        None,
        description="ISO 8601 duration after the anchor during which the item applies, when "
        "its source limits it (myocarditis surveillance for the first 4 weeks). After it the "
        "item is no longer due; occurrences missed in it are reported once as a `missing` "
        "data issue. Not with `then_every`.",
    )
    source: str = Field(min_length=1)
    status: Status
    note: str | Messages | None = Field(
        None, description="Free text for the clinician: one text, or {en, fr}."
    )

    @model_validator(mode="after")
    def _something_scheduled(self) -> ScheduleItem:
        if not (self.baseline or self.followups or self.then_every or self.each_administration):
            raise ValueError(f"schedule item {self.id!r} schedules nothing")
        if self.applies_for is not None and self.then_every is not None:
            raise ValueError(
                f"schedule item {self.id!r}: applies_for limits an item to a period, "
                "then_every recurs without end; give the period's occurrences as followups"
            )
        return self

    @property
    def observable(self) -> bool:
        """False for assessments records do not carry as results (history taking)."""
        return bool(vocab.tests()[self.test].get("observable", True))


class Equivalent(_Strict):
    """The same threshold as the source states it in another unit (HbA1c 48 mmol/mol and
    6.5 %). A result reported in that unit is compared with this value, so a rounded
    equivalence printed by the guideline is honoured rather than re-derived by conversion
    (6.5 % converts to 47.5 mmol/mol, which would miss ">= 48 mmol/mol (6.5 %)"). For a
    range, a bound left out is the rule's own bound converted to this unit."""

    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    unit: str


class Recheck(_Strict):
    """A repeat test the alert's source asks for, within a time (ANC within 24 hours)."""

    test: TestId = Field(description="Canonical test id (cvrisk/data/tests.toml).")
    within: DurationText = Field(description="ISO 8601 duration after the triggering result.")


class AlertRule(_Strict):
    """A threshold or trend rule that raises an alert (compiled into a durable-rules rule)."""

    id: Identifier
    severity: Severity
    measure: Measure
    analyte: str | None = None
    op: Operator | None = None
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    upper_inclusive: bool = Field(
        False,
        description="With op 'range': the upper bound is included ([lower, upper]), as in "
        "'between 10 and 20 mmol/L' beside 'more than 20'; default [lower, upper).",
    )
    unit: str | None = None
    change: Literal["percent", "absolute"] | None = None
    within: str | None = None
    values: list[str] | None = None
    model: str | None = None
    equivalents: tuple[Equivalent, ...] = Field(
        default=(), description="The threshold in other units, as the source states it."
    )
    recheck: tuple[Recheck, ...] = Field(
        default=(), description="Repeat tests the source asks for after this finding."
    )
    results: Literal["from_baseline", "on_treatment"] = Field(
        "from_baseline",
        description="With `drugs`: the results the rule reads, from the drug's baseline "
        "window on (default; a low count before starting clozapine matters) or only during "
        "treatment (a CRP rise 'in the first weeks of clozapine').",
    )
    unless_conditions: tuple[str, ...] = Field(
        default=(), description="Condition sets (conditions.toml) that exclude the patient."
    )
    sex: Literal["female", "male"] | None = None
    ethnicity_in: list[str] | None = None
    ethnicity_not_in: list[str] | None = None
    drugs: list[DrugId] | None = None
    min_age_years: int | None = None
    max_age_years: int | None = None
    lead: tuple[Lead, ...] = Field(
        default=(),
        description="Who the source says leads the action (GP, psychiatrist), in order.",
    )
    message: Messages
    source: str = Field(min_length=1)
    status: Status
    note: str | Messages | None = Field(
        None, description="Free text for the clinician: one text, or {en, fr}."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        if self.measure == "score":
            if self.model is None or self.op is None or self.value is None:
                raise ValueError(f"alert {self.id!r}: a score rule needs model, op and value")
            return self
        if self.analyte is None:
            raise ValueError(f"alert {self.id!r}: measure {self.measure!r} needs an analyte")
        entry = _vocabulary(vocab.analyte, self.analyte)
        if self.measure == "coded":
            if not self.values:
                raise ValueError(f"alert {self.id!r}: a coded rule needs values")
            return self
        if self.op is None:
            raise ValueError(f"alert {self.id!r}: give op")
        if self.op == "range":
            if self.lower is None or self.upper is None or self.lower >= self.upper:
                raise ValueError(f"alert {self.id!r}: op 'range' needs lower < upper")
        elif self.upper_inclusive:
            raise ValueError(f"alert {self.id!r}: upper_inclusive applies to op 'range'")
        elif self.value is None:
            raise ValueError(f"alert {self.id!r}: op {self.op!r} needs value")
        if self.measure in ("change_from_baseline", "change_within") and self.change is None:
            raise ValueError(f"alert {self.id!r}: a change rule needs change = percent|absolute")
        if self.measure == "change_within":
            if self.within is None:
                raise ValueError(f"alert {self.id!r}: change_within needs within (a duration)")
            parse_duration(self.within)
        unknown_sets = [c for c in self.unless_conditions if c not in vocab.condition_sets()]
        if unknown_sets:
            raise ValueError(
                f"alert {self.id!r}: unknown condition sets {unknown_sets}; use ids from "
                "cvrisk/data/conditions.toml"
            )
        for equivalent in self.equivalents:
            if self.measure != "latest":
                raise ValueError(f"alert {self.id!r}: equivalents apply to measure 'latest'")
            ranged = equivalent.lower is not None or equivalent.upper is not None
            if (self.op == "range") != ranged or (self.op != "range" and equivalent.value is None):
                raise ValueError(f"alert {self.id!r}: an equivalent must match the rule's op")
            if entry.unit and not is_convertible(equivalent.unit, entry.unit, entry.substance):
                raise ValueError(
                    f"alert {self.id!r}: equivalent unit {equivalent.unit!r} cannot express "
                    f"{self.analyte}"
                )
        needs_unit = self.change != "percent"
        if needs_unit:
            if self.unit is None:
                raise ValueError(f"alert {self.id!r}: give the threshold's unit")
            if entry.unit and not is_convertible(self.unit, entry.unit, entry.substance):
                raise ValueError(
                    f"alert {self.id!r}: unit {self.unit!r} cannot express {self.analyte} "
                    f"(canonical unit {entry.unit!r})"
                )
        return self


class Protocol(_Strict):
    """A monitoring protocol: header, applicability, schedule items and alert rules."""

    schema_version: Literal[1]
    id: Identifier
    version: str
    title: str | Messages = Field(description="The protocol's name: one text, or {en, fr}.")
    jurisdiction: str = Field(pattern=r"^([A-Z]{2}|INT)$")
    citation: str
    url: str | None = None
    verification: str
    applies_to: AppliesTo
    schedule: list[ScheduleItem] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(default_factory=list)
    ends: Ends | None = Field(
        None, description="Where the schedule ends and what the source says to do next."
    )
    after_stop: AfterStop | None = Field(
        None, description="Monitoring the source asks for after the drug is stopped."
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Protocol:
        ids = [item.id for item in self.schedule] + [rule.id for rule in self.alerts]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"protocol {self.id!r}: duplicate rule ids {duplicates}")
        return self

    def title_in(self, lang: str) -> str:
        """The protocol's title in ``lang`` (English when no translation is given)."""
        return text_in(self.title, lang) or self.id

    def info(self, lang: str = "en") -> ProtocolInfo:
        """Public metadata of the protocol, its title in ``lang``."""
        return ProtocolInfo(
            id=self.id,
            version=self.version,
            title=self.title_in(lang),
            jurisdiction=self.jurisdiction,
            citation=self.citation,
            url=self.url,
            drugs=self.applies_to.drugs,
            min_age_years=self.applies_to.min_age_years,
            max_age_years=self.applies_to.max_age_years,
            schedule_items=len(self.schedule),
            alert_rules=len(self.alerts),
            unconfirmed_items=sum(1 for r in self.schedule if r.status == "unconfirmed")
            + sum(1 for a in self.alerts if a.status == "unconfirmed")
            + (1 if self.ends is not None and self.ends.status == "unconfirmed" else 0)
            + (1 if self.after_stop is not None and self.after_stop.status == "unconfirmed" else 0),
            ends_after=self.ends.after if self.ends is not None else None,
        )


class ProtocolInfo(_Strict):
    """What :func:`cvrisk.protocols` returns for each protocol."""

    id: Identifier
    version: str
    title: str
    jurisdiction: str
    citation: str
    url: str | None
    drugs: list[str]
    min_age_years: int | None
    max_age_years: int | None
    schedule_items: int
    alert_rules: int
    unconfirmed_items: int
    ends_after: str | None = Field(
        None, description="ISO 8601 duration after which the schedule ends (None: it recurs)."
    )
