"""Measurements from a record's observations: the latest usable result inside its window.

A result is usable when its status is accepted (``[observations] statuses`` of
``record_inputs.toml``), it is dated on or before ``as_of``, and it is not a probable unit
error (``PatientRecord.verdicts``, :mod:`cvrisk.plausibility`). The latest wins, ordered by
date and time (a date without a time counts as the start of its day); simultaneous results
are ordered by value, so the highest is the latest whatever the order of the record.
Windows come from ``[windows.<analyte>]``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from cvrisk import vocab
from cvrisk.record import Observation, PatientRecord
from cvrisk.scores.from_record.lookup import Found, Lookup, NotFound
from cvrisk.scores.from_record.results import Evidence
from cvrisk.scores.from_record.tables import config, window
from cvrisk.units import convert

#: One usable result: its day, time of day and index in ``record.observations``, then the
#: item. Tuples sort in the order "latest wins" needs (the index is unique, so the item
#: itself is never compared).
Dated = tuple[dt.date, dt.time, int, Observation]


def _dated(index: int, observation: Observation) -> Dated:
    when = observation.date
    time = when.time() if isinstance(when, dt.datetime) else dt.time.min
    return (observation.day, time, index, observation)


def _order(result: Dated) -> tuple[Any, ...]:
    """Date, time, then what the result says: simultaneous results sort by value (the highest
    is the latest), whatever their order in the record (docs/record.md, conflicting results)."""
    day, time, index, observation = result
    value = observation.value_in() if observation.value is not None else -math.inf
    return (day, time, value, observation.coded or "", observation.unit or "", index)


def _evidence(result: Dated, value: float, unit: str) -> Evidence:
    day, _, index, observation = result
    return Evidence("observation", index, day, f"{observation.analyte_id} {value:g} {unit}")


class Observations:
    """The usable results of one record on one date, by analyte.

    Each method returns a :class:`~cvrisk.scores.from_record.lookup.Found` value with its
    evidence, or a :class:`~cvrisk.scores.from_record.lookup.NotFound` saying why not.
    """

    def __init__(self, record: PatientRecord, as_of: dt.date) -> None:
        self.record = record
        self.as_of = as_of
        self._by_analyte: dict[str, list[tuple[int, Observation]]] = {}
        for index, observation in enumerate(record.observations):
            self._by_analyte.setdefault(observation.analyte_id, []).append((index, observation))
        self._usable: dict[str, list[Dated]] = {}

    def usable(self, analyte: str) -> list[Dated]:
        """Every usable result of ``analyte``, whatever its window, oldest first."""
        found = self._usable.get(analyte)
        if found is None:  # sorted on first use: a model reads a few of a record's analytes
            accepted = config()["observations"]["statuses"]
            found = sorted(
                (
                    _dated(index, observation)
                    for index, observation in self._by_analyte.get(analyte, ())
                    if observation.status in accepted
                    and observation.day <= self.as_of
                    and self.record.is_usable(index)  # not a probable unit error
                ),
                key=_order,
            )
            self._usable[analyte] = found
        return found

    def results(self, analyte: str) -> list[Dated]:
        """Usable results of ``analyte`` inside its window, oldest first."""
        limits = window(analyte)
        start = limits.start(self.as_of)
        minimum_age = limits.min_age_years
        born = self.record.patient.birth_date
        out = []
        for result in self.usable(analyte):
            day = result[0]
            if start is not None and day < start:
                continue
            if minimum_age is not None and (day < born or self.record.age_on(day) < minimum_age):
                continue
            out.append(result)
        return out

    def _not_found(self, analyte: str, what: str) -> NotFound:
        older = self.usable(analyte)
        if older:
            limits = window(analyte)
            return NotFound(
                f"no {what} in {limits.describe()} before {self.as_of} (latest {older[-1][0]} "
                f"is outside the window{limits.age_note()})",
                hint="measure it, or pass the value with given=",
            )
        return NotFound(f"no {what} in the record", hint="measure it, or pass it with given=")

    def measurement(self, analyte: str, unit: str | None) -> Lookup:
        """The latest result of ``analyte`` in its window, converted to ``unit``."""
        found = self.results(analyte)
        if not found:
            return self._not_found(analyte, analyte)
        latest = found[-1]
        entry = vocab.analyte(analyte)
        canonical = latest[3].value_in()
        value = canonical
        if unit is not None and entry.unit is not None:
            value = float(convert(canonical, entry.unit, unit, entry.substance))
        return Found(value, (_evidence(latest, canonical, entry.unit or ""),))

    def lipid_pair(self) -> tuple[Lookup, Lookup]:
        """Total and HDL cholesterol (mmol/L) from the latest day on which both were measured."""
        total = self.results("total_cholesterol")
        hdl = self.results("hdl_cholesterol")
        hdl_by_day = {result[0]: result for result in hdl}  # the latest of each day
        for result in reversed(total):
            same_day = hdl_by_day.get(result[0])
            if same_day is not None:
                found = [self._in_mmol(item) for item in (result, same_day)]
                return found[0], found[1]
        if total and hdl:
            reason = (
                f"total and HDL cholesterol were not measured on the same day in "
                f"{window('total_cholesterol').describe()}; measure a lipid profile"
            )
            return NotFound(reason), NotFound(reason)
        return (
            self._not_found("total_cholesterol", "total cholesterol")
            if not total
            else NotFound("no HDL cholesterol measured on the day of the latest total cholesterol"),
            self._not_found("hdl_cholesterol", "HDL cholesterol")
            if not hdl
            else NotFound("no total cholesterol measured on the day of the latest HDL cholesterol"),
        )

    @staticmethod
    def _in_mmol(result: Dated) -> Found:
        value = result[3].value_in()
        return Found(value, (_evidence(result, value, "mmol/L"),))

    def bmi(self) -> Lookup:
        """Latest BMI (kg/m2): recorded, or from the latest weight and the latest adult height."""
        recorded = self.results("bmi")
        weights = self.results("weight")
        heights = self.results("height")
        # (day, rank, time, index): the latest wins; on the same day a recorded BMI (rank 1)
        # wins over a computed one (rank 0)
        candidates: list[tuple[tuple[dt.date, int, dt.time, int], Found]] = []
        if recorded:
            latest = recorded[-1]
            value = latest[3].value_in()
            found = Found(value, (_evidence(latest, value, "kg/m2"),))
            candidates.append(((latest[0], 1, latest[1], latest[2]), found))
        if weights and heights:
            weight, height = weights[-1], heights[-1]
            kg, cm = weight[3].value_in("kg"), height[3].value_in("cm")
            evidence = (_evidence(weight, kg, "kg"), _evidence(height, cm, "cm"))
            found = Found(kg / (cm / 100.0) ** 2, evidence)
            candidates.append(((weight[0], 0, weight[1], weight[2]), found))
        if candidates:
            return max(candidates, key=lambda candidate: candidate[0])[1]
        if weights:
            return self._not_found("height", "height measured in adulthood")
        if heights:
            return self._not_found("weight", "weight")
        return self._not_found("bmi", "BMI, or weight and height,")

    def smoking_status(self) -> Lookup:
        """The latest smoking status (never, former, current) in its window."""
        found = self.results("smoking_status")
        if not found:
            return self._not_found("smoking_status", "smoking status")
        day, _, index, observation = found[-1]
        evidence = Evidence("observation", index, day, f"smoking_status {observation.coded}")
        return Found(observation.coded, (evidence,))
