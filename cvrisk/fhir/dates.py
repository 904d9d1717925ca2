"""FHIR ``date`` and ``dateTime`` values, including partial dates, as Python dates.

FHIR allows a year (``1980``), a year and month (``1980-05``), a full date, or a date-time
(``2024-03-01T09:40:00+01:00``; FHIR requires the time zone, cvrisk also reads a date-time
without one, and without seconds). A date-time stays a date-time (its calendar day is the
day at its own offset), a date stays a date.

**Partial dates** are read with one convention everywhere (birth dates, results,
diagnoses, prescriptions): the **middle of the period given**, 1 July for a year and the
15th for a year and month. It halves the largest possible error (six months for a year,
about two weeks for a month) and never moves a date outside the period recorded. Every use
is reported as an ``assumed`` data issue naming the resource and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,  # FHIR's digits are [0-9]: not the other scripts' digits str's \d matches
)
#: Day of the month and month assumed for partial dates (the middle of the period).
MID_MONTH_DAY = 15
MID_YEAR = (7, 1)


class DateError(ValueError):
    """A text that is not a FHIR date or dateTime."""


@dataclass(frozen=True)
class FhirDate:
    """A parsed FHIR date: the value cvrisk uses and, for a partial date, what was assumed."""

    value: dt.date | dt.datetime
    assumed: str | None = None

    @property
    def day(self) -> dt.date:
        """The calendar day (a date-time's day at its own offset)."""
        value = self.value
        return value.date() if isinstance(value, dt.datetime) else value


def full_date_time(text: str) -> dt.datetime | None:
    """The common full date-time (``YYYY-MM-DDThh:mm:ss``, then optionally a fraction of 3
    or 6 digits, then optionally ``Z`` or ``+hh:mm``/``-hh:mm``), read by the C parser;
    None for any other text, which :func:`parse` reads by the general path (or says what is
    wrong with it).

    Only FHIR's own shapes take this path: ``datetime.fromisoformat`` also reads ISO 8601
    forms FHIR does not allow (``+0100``, ``10:00:00,5``, an offset with seconds), which the
    general path refuses. A full date-time is never partial, so it needs no ``assumed``
    issue: readers of many resources call this first and skip building a
    :class:`FhirDate`.
    """
    if not (
        len(text) >= 19
        and text[10] == "T"
        and text[4] == "-"
        and text[7] == "-"
        and text[13] == ":"
        and text[16] == ":"
        and text.isascii()
    ):
        return None
    tail = text[19:]
    if tail[:1] == ".":
        digits = len(tail) - len(tail[1:].lstrip("0123456789")) - 1
        if digits not in (3, 6):
            return None  # other precisions: the general path (which keeps 6 digits)
        tail = tail[1 + digits :]
    if tail and tail != "Z" and not (len(tail) == 6 and tail[0] in "+-" and tail[3] == ":"):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None  # the general path says what is wrong


def parse(text: str, *, allow_time: bool = True) -> FhirDate:
    """A FHIR ``date`` (``allow_time=False``) or ``dateTime`` text.

    Raises:
        DateError: the text is not a FHIR date (or dateTime), or names no real day.
    """
    if not isinstance(text, str):
        raise DateError(f"{text!r} is not a FHIR date text")
    if allow_time and (common := full_date_time(text)) is not None:
        return FhirDate(common)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:  # the common full date (YYYY-MM-DD), read by the C parser
            return FhirDate(dt.date.fromisoformat(text))
        except ValueError:
            pass  # the general path says what is wrong
    match = _DATE_TIME.fullmatch(text.strip())
    if match is None:
        raise DateError(f"{text!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or dateTime")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if hour is not None and not allow_time:
        raise DateError(f"{text!r} has a time: a FHIR date is YYYY, YYYY-MM or YYYY-MM-DD")
    try:
        if month is None:
            mid_month, mid_day = MID_YEAR
            return FhirDate(
                dt.date(int(year), mid_month, mid_day),
                f"{text} has only a year: read as {year}-{mid_month:02d}-{mid_day:02d}, "
                "the middle of the year",
            )
        if day is None:
            value = dt.date(int(year), int(month), MID_MONTH_DAY)
            return FhirDate(
                value,
                f"{text} has no day: read as {value.isoformat()}, the middle of the month",
            )
        if hour is None:
            return FhirDate(dt.date(int(year), int(month), int(day)))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        tz = None
        if zone == "Z":
            tz = dt.UTC
        elif zone is not None:
            sign = 1 if zone[0] == "+" else -1
            offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = dt.timezone(sign * offset)
        return FhirDate(
            dt.datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                micro,
                tzinfo=tz,
            )
        )
    except ValueError as exc:
        raise DateError(f"{text!r} is not a real date or time ({exc})") from None
