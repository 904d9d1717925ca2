"""cvrisk's input limits: how large and deep an input may be, and which dates it supports.

The values live in ``cvrisk/data/limits.toml`` (with their rationale) and are explained in
``docs/limits.md``. They exist because a CDS Hooks service feeds the core from the network:
a hostile or broken input (a Bundle of ten million entries, JSON nested 100,000 deep, a date
in year 9999 whose follow-ups overflow the calendar) must be refused at once with a typed
error, never left to exhaust time, memory or the stack.

Every check here is iterative (no recursion) and linear in the size of the input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from cvrisk.data import load_data
from cvrisk.errors import OptionError, RecordError, quoted


@dataclass(frozen=True)
class Limits:
    """The limits of ``limits.toml``, typed."""

    max_bytes: int
    max_depth: int
    max_values: int
    max_string_length: int
    max_field_length: int
    max_entries: int
    max_protocol_bytes: int
    earliest: dt.date
    latest: dt.date
    max_duration_years: int
    max_age_years: int
    dose_units: tuple[str, ...]
    max_dose: dict[str, float]


@cache
def limits() -> Limits:
    """The limits in force (from ``cvrisk/data/limits.toml``)."""
    data = load_data("limits.toml")
    size, dates, dose = data["input"], data["dates"], data["dose"]
    return Limits(
        max_bytes=int(size["max_bytes"]),
        max_depth=int(size["max_depth"]),
        max_values=int(size["max_values"]),
        max_string_length=int(size["max_string_length"]),
        max_field_length=int(size["max_field_length"]),
        max_entries=int(size["max_entries"]),
        max_protocol_bytes=int(size["max_protocol_bytes"]),
        earliest=dates["earliest"],
        latest=dates["latest"],
        max_duration_years=int(dates["max_duration_years"]),
        max_age_years=int(data["patient"]["max_age_years"]),
        dose_units=tuple(dose["units"]),
        max_dose={unit: float(dose[f"max_{unit.lower()}"]) for unit in dose["units"]},
    )


def date_range_text() -> str:
    """The supported date range, as text for messages."""
    bounds = limits()
    return f"{bounds.earliest.isoformat()} to {bounds.latest.isoformat()}"


def date_problem(day: dt.date) -> str | None:
    """Why ``day`` is outside the supported date range, or None when it is inside."""
    bounds = limits()
    if bounds.earliest <= day <= bounds.latest:
        return None
    return (
        f"{day.isoformat()} is outside the dates cvrisk supports ({date_range_text()}): "
        "check the date (docs/limits.md)"
    )


def date_argument(value: Any, name: str) -> dt.date:
    """A date argument (``as_of``, ``start``): a date, a date-time (its day) or ISO 8601 text,
    inside the supported range.

    Raises:
        OptionError: not a date, or outside the supported range.
    """
    day: dt.date | None = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            day = None
    if day is None:
        raise OptionError(
            f"{name}={quoted(value)} is not a date: give a datetime.date or 'YYYY-MM-DD'"
        )
    problem = date_problem(day)
    if problem is not None:
        raise OptionError(f"{name}={problem}")
    return day


def check_size(size: int, what: str) -> None:
    """Refuse an input text of ``size`` bytes above the limit, before parsing it."""
    bounds = limits()
    if size > bounds.max_bytes:
        raise RecordError(
            f"{what} is {size:,} bytes, more than the {bounds.max_bytes:,} cvrisk reads "
            "(docs/limits.md): split the input or send only the resources the evaluation needs"
        )


def check_structure(data: Any, what: str) -> None:
    """Refuse parsed JSON that nests too deeply, holds too many values or too long a string.

    Walks the structure level by level with plain lists (a recursive walk would itself
    overflow on the inputs it is meant to refuse); a cyclic Python structure is refused by
    the depth or the value limit, whichever it reaches first.
    """
    bounds = limits()
    longest, deepest = bounds.max_string_length, bounds.max_depth
    level: list[Any] = [data]
    depth = seen = 0
    while level:
        depth += 1
        seen += len(level)
        if seen > bounds.max_values:
            raise RecordError(
                f"{what} holds more than {bounds.max_values:,} JSON values, more than cvrisk "
                "reads (docs/limits.md): send only the resources the evaluation needs"
            )
        below: list[Any] = []
        for value in level:
            kind = type(value)  # exact types first: this loop sees every value of the input
            if kind is str or (kind is not dict and kind is not list and isinstance(value, str)):
                if len(value) > longest:
                    _long_string(value, what)
            elif kind is dict or isinstance(value, dict):
                if depth > deepest:
                    _too_deep(what)
                try:  # JSON keys are strings: the fast path
                    key_length = max(map(len, value), default=0)
                except TypeError:  # a Python dict with other keys
                    key_length = max(map(_key_length, value), default=0)
                if key_length > longest:
                    _long_string(next(k for k in value if _key_length(k) > longest), what)
                below.extend(value.values())
            elif kind is list or isinstance(value, list | tuple):
                if depth > deepest:
                    _too_deep(what)
                below.extend(value)
        level = below


def _key_length(key: Any) -> int:
    return len(key) if isinstance(key, str) else 0


def _too_deep(what: str) -> None:
    raise RecordError(
        f"{what} nests objects and arrays more than {limits().max_depth} deep: no patient "
        "record or FHIR resource does (docs/limits.md); check how it was produced"
    )


def _long_string(value: str, what: str) -> None:
    raise RecordError(
        f"{what} holds a string of {len(value):,} characters, more than the "
        f"{limits().max_string_length:,} cvrisk reads (docs/limits.md); it begins "
        f"{value[:40]!r}"
    )


def check_entries(count: int, what: str) -> None:
    """Refuse an input with more entries (or FHIR resources) than cvrisk evaluates."""
    bounds = limits()
    if count > bounds.max_entries:
        raise RecordError(
            f"{what} has {count:,} entries, more than the {bounds.max_entries:,} cvrisk "
            "evaluates in one record (docs/limits.md): send the entries the evaluation needs "
            "(recent results, current prescriptions, active diagnoses)"
        )


def entry_count(data: Any) -> int:
    """Entries in parsed input: record entries (native), or resources (FHIR Bundle, list)."""
    if isinstance(data, list):
        return len(data)
    if not isinstance(data, dict):
        return 0
    if "resourceType" in data:
        entries = data.get("entry")
        return len(entries) if isinstance(entries, list) else 1
    return sum(
        len(entries)
        for key in ("conditions", "medications", "observations")
        if isinstance(entries := data.get(key), list)
    )
