"""Traceable values: formatting per language, natural frequencies, escaping."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cvrisk.summary.values import Day, Num, Quote, Text, date_text, number_text, per_hundred


def test_number_text() -> None:
    assert number_text(6.2, "en") == "6.2"
    assert number_text(6.2, "fr") == "6,2"
    assert number_text(28.0923, "en", 1) == "28.1"
    assert number_text(142.0, "en") == "142"
    assert number_text(-0.0, "en", 1) == "0.0"


def test_dates() -> None:
    day = dt.date(2024, 9, 1)
    assert date_text(day, "en") == "2024-09-01"
    assert date_text(day, "en", "long") == "1 September 2024"
    assert date_text(day, "fr", "long") == "1er septembre 2024"
    assert date_text(dt.date(2025, 5, 17), "fr", "long") == "17 mai 2025"


@given(st.floats(min_value=0, max_value=1))
def test_per_hundred_is_the_nearest_whole_person(risk: float) -> None:
    n = per_hundred(risk)
    assert 0 <= n <= 100
    assert abs(n - 100 * risk) <= 0.5 + 1e-9


def test_markup_keeps_its_source_and_escapes_text() -> None:
    num = Num(6.2, "report.scores[0].risk", "fr", 1)
    assert num.__html__() == (
        '<data value="6.2" data-ref="report.scores[0].risk" data-kind="value" '
        'data-decimals="1">6,2</data>'
    )
    day = Day(dt.date(2025, 6, 1), "report.as_of", "en")
    assert str(day.__html__()).startswith('<time datetime="2025-06-01"')
    quote = Quote("<b>x</b> & y", "report.alerts[0].message")
    assert "&lt;b&gt;" in quote.__html__() and "<b>" not in quote.__html__()
    text = Text("Your BMI is {value} <ok>.", {"value": num})
    assert "&lt;ok&gt;" in text.__html__() and "<data" in text.__html__()
    assert str(text) == "Your BMI is 6,2 <ok>."
