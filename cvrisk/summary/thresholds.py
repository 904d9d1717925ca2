"""The protocol thresholds that apply to this patient, read from the protocol files.

Trend charts draw them and the patient summary words them; neither retypes a value. A
threshold is a ``latest`` alert rule of a protocol the report evaluated (``op`` with
``value``, or a ``range``), kept when its population filters (sex, ethnicity, age,
excluding conditions, drugs) admit the patient, as the compiled rule would
(:func:`cvrisk.rules.engine.rule_condition` builds the same filters from the same fields).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cvrisk import vocab
from cvrisk.record import PatientRecord
from cvrisk.rules.catalog import shipped_protocols
from cvrisk.rules.engine import threshold
from cvrisk.rules.facts import active_condition_sets
from cvrisk.rules.schema import AlertRule, Protocol


@dataclass(frozen=True)
class Threshold:
    """One threshold of one alert rule, in the rule's unit and in the analyte's canonical
    unit (what charts plot)."""

    protocol: Protocol
    rule: AlertRule
    #: the rule's own numbers as the protocol states them (value, or lower and upper)
    value: float | None
    lower: float | None
    upper: float | None
    #: the same, converted to the analyte's canonical unit
    canonical_value: float | None
    canonical_lower: float | None
    canonical_upper: float | None

    @property
    def code(self) -> str:
        return f"{self.protocol.id}/{self.rule.id}"

    def ref(self, field: str) -> str:
        """The source path of one of the rule's numbers (see :mod:`cvrisk.summary.values`)."""
        return f"protocol.{self.protocol.id}.alerts.{self.rule.id}.{field}"


def report_protocols(ids: Iterable[str]) -> tuple[list[Protocol], list[str]]:
    """The shipped protocols among ``ids``, and the ids that are not shipped (local protocol
    files, whose thresholds the summary cannot read back)."""
    shipped = shipped_protocols()
    found = [shipped[i] for i in ids if i in shipped]
    missing = [i for i in ids if i not in shipped]
    return found, missing


def admits(rule: AlertRule, record: PatientRecord, as_of: dt.date, drugs: Iterable[str]) -> bool:
    """True when the rule's population filters admit the patient on ``as_of``."""
    patient = record.patient
    if rule.sex is not None and patient.sex != rule.sex:
        return False
    ethnicity = patient.ethnicity or "unknown"
    if rule.ethnicity_in and ethnicity not in vocab.expand_ethnicities(rule.ethnicity_in):
        return False
    if rule.ethnicity_not_in and ethnicity in vocab.expand_ethnicities(rule.ethnicity_not_in):
        return False
    age = record.age_on(as_of)
    if rule.min_age_years is not None and age < rule.min_age_years:
        return False
    if rule.max_age_years is not None and age > rule.max_age_years:
        return False
    if set(rule.unless_conditions) & active_condition_sets(record, as_of):
        return False
    return not (rule.drugs and not set(rule.drugs) & set(drugs))


def thresholds_for(
    analyte: str,
    protocols: Iterable[Protocol],
    record: PatientRecord,
    as_of: dt.date,
    drugs: Iterable[str],
) -> list[Threshold]:
    """The ``latest`` thresholds on ``analyte`` that apply to the patient, in protocol order."""
    active = list(drugs)
    found = []
    for protocol in protocols:
        for rule in protocol.alerts:
            if rule.measure != "latest" or rule.analyte != analyte or rule.op is None:
                continue
            if not admits(rule, record, as_of, active):
                continue
            found.append(
                Threshold(
                    protocol=protocol,
                    rule=rule,
                    value=rule.value,
                    lower=rule.lower,
                    upper=rule.upper,
                    canonical_value=_canonical(rule, rule.value),
                    canonical_lower=_canonical(rule, rule.lower),
                    canonical_upper=_canonical(rule, rule.upper),
                )
            )
    return found


def _canonical(rule: AlertRule, value: float | None) -> float | None:
    return None if value is None else threshold(rule, value)
