"""Diagnoses and prescriptions of a record on a date, as evidence for boolean inputs.

A diagnosis counts when its onset is on or before ``as_of`` or not recorded, whether or not
it has resolved (QRISK3: "at any time prior to the search date"); it is matched to the
condition sets of ``cvrisk/data/conditions.toml``. A prescription counts when it is active
on ``as_of``; it is classified by WHO ATC code prefix (``[medication_classes]`` of
``record_inputs.toml``) or by the antipsychotic catalogue's ``generation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cvrisk import vocab
from cvrisk.cached import cached_value
from cvrisk.errors import CvriskError
from cvrisk.record import Medication, PatientRecord
from cvrisk.scores.from_record.results import Evidence
from cvrisk.scores.from_record.tables import config


def _ingredient(medication: Medication) -> str | None:
    try:
        return medication.ingredient
    except CvriskError:  # an unknown code system: not in the catalogue
        return None


def _atc_code(medication: Medication) -> str | None:
    if medication.code is None or medication.system is None:
        return None
    try:
        system = vocab.normalise_system(medication.system)
    except CvriskError:  # an unknown code system is not ATC
        return None
    return medication.code.strip().upper() if system == "atc" else None


def _prescribed(index: int, medication: Medication) -> Evidence:
    name = medication.drug or f"{medication.system}|{medication.code}"
    stop = f" to {medication.stop}" if medication.stop else ""
    return Evidence("medication", index, medication.start, f"{name} from {medication.start}{stop}")


class Codes:
    """The coded diagnoses and the active prescriptions of one record on one date.

    Each is matched once, on first use, and reused by every input and caveat that asks.
    """

    def __init__(self, record: PatientRecord, as_of: dt.date) -> None:
        self.record = record
        self.as_of = as_of

    @cached_value
    def _diagnoses(self) -> list[tuple[str, Evidence]]:
        """(condition set id, evidence) of every recorded diagnosis, in record order."""
        sets = vocab.condition_sets()
        out = []
        for index, condition in enumerate(self.record.conditions):
            if condition.onset is not None and condition.onset > self.as_of:
                continue
            for set_id in vocab.conditions_matching(condition.code, condition.system):
                label = sets[set_id].get("label", {}).get("en", set_id)
                detail = f"{vocab.normalise_system(condition.system)}|{condition.code} ({label})"
                out.append((set_id, Evidence("condition", index, condition.onset, detail)))
        return out

    def conditions(self, set_ids: list[str]) -> dict[str, list[Evidence]]:
        """Recorded diagnoses in each condition set (onset on or before as_of, or no onset)."""
        wanted = set(set_ids)
        out: dict[str, list[Evidence]] = {}
        for set_id, evidence in self._diagnoses:
            if set_id in wanted:
                out.setdefault(set_id, []).append(evidence)
        return out

    @cached_value
    def active_medications(self) -> list[tuple[int, Medication]]:
        """Prescriptions active on as_of, with their index in ``record.medications``."""
        return [(i, m) for i, m in enumerate(self.record.medications) if m.active_on(self.as_of)]

    @cached_value
    def unclassified(self) -> int:
        """Active prescriptions neither coded in ATC nor in the antipsychotic catalogue."""
        return sum(
            1
            for _, medication in self.active_medications
            if _atc_code(medication) is None
            and not vocab.is_antipsychotic(_ingredient(medication) or "")
        )

    def in_class(self, class_id: str) -> list[Evidence]:
        """Active prescriptions in a drug class (by ATC prefix and, if set, route)."""
        spec = config()["medication_classes"][class_id]
        prefixes = tuple(p.upper() for p in spec["atc_prefixes"])
        routes = {r.lower() for r in spec.get("routes", ())}
        out = []
        for index, medication in self.active_medications:
            code = _atc_code(medication)
            if code is None or not code.startswith(prefixes):
                continue
            if routes and medication.route is not None and medication.route.lower() not in routes:
                continue
            out.append(_prescribed(index, medication))
        return out

    def antipsychotics(self, generation: str) -> list[Evidence]:
        """Active prescriptions of catalogue antipsychotics of one generation."""
        catalogue = vocab.antipsychotics()
        out = []
        for index, medication in self.active_medications:
            entry = catalogue.get(_ingredient(medication) or "")
            if entry is not None and entry.get("generation") == generation:
                out.append(_prescribed(index, medication))
        return out


def recorded_codes(record: PatientRecord, day: dt.date, set_ids: Iterable[str]) -> list[str]:
    """Codes of the record's diagnoses in these condition sets, with an onset on or before
    ``day`` or none (a diagnosis counts after it resolves: a past infarction is established
    CVD)."""
    sets = set(set_ids)
    if not sets:
        return []
    return sorted(
        {
            condition.code
            for condition in record.conditions
            if (condition.onset is None or condition.onset <= day)
            and sets & set(vocab.conditions_matching(condition.code, condition.system))
        }
    )
