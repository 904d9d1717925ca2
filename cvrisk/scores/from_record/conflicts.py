"""Given values that contradict the record (``[conflicts]`` of record_inputs.toml).

A ``given`` value replaces the record's value: the caller may know better. When the record
holds evidence of another value, the contradiction is said as a warning-level
:class:`~cvrisk.issues.DataIssue` of kind ``conflict`` naming both values. Which inputs the
record can contradict, and how a recorded smoking status maps to the given categories, are
data; this module reads the record for each and compares (see the data file's comment).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cvrisk.issues import DataIssue
from cvrisk.scores.base import RiskModel
from cvrisk.scores.from_record.caveats import value_text
from cvrisk.scores.from_record.lookup import Found
from cvrisk.scores.from_record.resolve import Resolver
from cvrisk.scores.from_record.results import Evidence
from cvrisk.scores.from_record.tables import config

#: Inputs compared by completed year: a given 54.5 agrees with 54 completed years.
_AGES = ("age",)


def _recorded(resolver: Resolver, risk_model: RiskModel, name: str) -> Found | None:
    """The record's own reading of ``name`` (ignoring given values), when it has one."""
    if name == "smoking":  # the raw status: 'current' is evidence even without the amount
        found = resolver.observations.smoking_status()
    elif name == "diabetes_type":
        return _recorded_diabetes_type(resolver)
    else:
        found = resolver.resolve(risk_model.inputs[name])
    return found if isinstance(found, Found) else None


def _recorded_diabetes_type(resolver: Resolver) -> Found | None:
    """The coded diabetes types, e.g. ``("type2",)``, with their evidence."""
    coded = resolver.codes.conditions(["diabetes_type1", "diabetes_type2"])
    types = tuple(sorted(t.removeprefix("diabetes_") for t in coded))
    if not types:
        return None
    evidence = tuple(e for items in coded.values() for e in items)
    return Found(types, evidence)


def _contradicts(name: str, given: Any, recorded: Any, one_way: bool) -> bool:
    """True when the given value denies what the record shows (``one_way``: a flag whose
    absence from the record is not evidence, so only a given False can contradict it)."""
    if name == "smoking":
        agreeing = config()["conflicts"]["smoking"].get(str(recorded), [])
        return given not in agreeing
    if name == "diabetes_type":  # recorded: the coded types, e.g. ("type2",)
        return given not in recorded
    if one_way:
        return recorded is True and not bool(given)
    if isinstance(recorded, bool):
        return bool(given) is not recorded
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        if isinstance(given, bool) or not isinstance(given, int | float):
            return True
        if name in _AGES or name in config().get("onset_ages", {}):
            return not (recorded <= float(given) < recorded + 1)
        return not math.isclose(float(given), float(recorded))
    return bool(given != recorded)


def _recorded_text(name: str, recorded: Any, lang: str) -> str:
    if name == "diabetes_type":
        return ", ".join(recorded)
    return value_text(recorded, lang)


def _resource(resolver: Resolver, evidence: tuple[Evidence, ...]) -> str | None:
    """The record item's own id (provenance, e.g. ``Condition/abc``), when it has one."""
    lists: dict[str, Sequence[Any]] = {
        "condition": resolver.record.conditions,
        "medication": resolver.record.medications,
        "observation": resolver.record.observations,
    }
    for item in evidence:
        entries = lists.get(item.kind)
        if entries is not None and item.index is not None:
            item_id = getattr(entries[item.index], "id", None)
            if item_id:
                return str(item_id)
    return None


def find_conflicts(
    risk_model: RiskModel, resolver: Resolver, given: Mapping[str, Any], lang: str
) -> list[DataIssue]:
    """One warning per given value that the record contradicts, in the model's input order."""
    table = config()["conflicts"]
    checked = set(table["inputs"])
    flags = config()["flags"]
    issues = []
    for name in risk_model.inputs:
        if name not in given or name not in checked:
            continue
        found = _recorded(resolver, risk_model, name)
        if found is None:
            continue
        # flags from diagnoses and prescriptions: only a denial of recorded evidence counts;
        # smoker (an observed status) is compared both ways
        if not _contradicts(name, given[name], found.value, name in flags):
            continue
        message = table[lang].format(
            model=risk_model.id,
            input=name,
            given=value_text(given[name], lang),
            recorded=_recorded_text(name, found.value, lang),
            evidence="; ".join(e.detail for e in found.evidence),
        )
        issues.append(
            DataIssue(
                kind="conflict",
                severity="warning",
                message=message,
                field=f"{risk_model.id}.{name}",
                resource=_resource(resolver, found.evidence),
            )
        )
    return issues
