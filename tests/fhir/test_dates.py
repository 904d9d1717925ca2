"""FHIR date texts: the fast paths (full dates and date-times, read by the C parser) give
what the general reading gives, and refuse what it refuses (``datetime.fromisoformat``
alone reads ISO 8601 forms FHIR does not allow)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvrisk.fhir import dates
from cvrisk.fhir.dates import DateError, parse


def _general(text: str, allow_time: bool = True) -> dates.FhirDate:
    """The general reading alone: the same text with a trailing blank skips the fast paths
    (they take exact lengths) and is stripped by the general one."""
    return parse(text + " ", allow_time=allow_time)


@given(st.dates(min_value=dt.date(1, 1, 1)), st.booleans())
def test_a_full_date_reads_as_the_general_path_reads_it(day: dt.date, allow_time: bool) -> None:
    text = day.isoformat()
    assert parse(text, allow_time=allow_time) == _general(text, allow_time) == dates.FhirDate(day)


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",  # no such day
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-1a-01",
        "2024-01-1 ",
        "２０２４-01-01",  # full-width digits: FHIR dates are ASCII
    ],
)
def test_a_date_of_ten_characters_that_is_not_a_date_is_refused(text: str) -> None:
    with pytest.raises(DateError):
        parse(text)


def test_partial_dates_still_take_the_middle_of_the_period() -> None:
    assert parse("1980").value == dt.date(1980, 7, 1)
    assert parse("1980-05").value == dt.date(1980, 5, 15)
    assert parse("1980-05").assumed is not None
    assert parse("1980-05-09").assumed is None


@pytest.mark.parametrize(
    "text",
    [
        "2024-06-15T10:20:30",
        "2024-06-15T10:20:30Z",
        "2024-06-15T10:20:30+01:00",
        "2024-06-15T10:20:30-05:30",
        "2024-06-15T10:20:30.123Z",
        "2024-06-15T10:20:30.123456+02:00",
        "2024-06-15T10:20:30.1234567Z",  # 7 digits: the general path keeps 6
        "2024-06-15T10:20:30.1+01:00",
        "2024-06-15T10:20",
    ],
)
def test_a_fhir_date_time_reads_as_the_general_path_reads_it(text: str) -> None:
    assert parse(text) == _general(text)
    assert parse(text).value == _general(text).value
    assert parse(text).value.utcoffset() == _general(text).value.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "2024-06-15T10:20:30+0100",  # ISO 8601 basic offset: FHIR writes +01:00
        "2024-06-15T10:20:30,5Z",  # decimal comma
        "2024-06-15T10:20:30+01:00:30",  # an offset with seconds
        "2024-06-15T10:20:30z",
        "2024-06-15T24:00:00Z",
        "2024-02-30T10:20:30Z",
    ],
)
def test_a_date_time_fhir_does_not_allow_is_refused(text: str) -> None:
    with pytest.raises(DateError):
        parse(text)
