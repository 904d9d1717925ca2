"""Traceable values: every number, date and quoted text a summary shows, with where it is from.

A summary never prints a bare number. Each one is a :class:`Num` (or a :class:`Day`, or a
:class:`Quote` for a text taken word for word from the report or a protocol) that carries
``ref``, the path of the value it shows in the evaluation's data:

- ``report.<path>``: the :class:`~cvrisk.rules.report.Report` (``report.tests[0].due_date``);
- ``record.<path>``: the patient record (``record.observations[12].value``);
- ``results.<analyte>[<i>]``: the evaluation's results in canonical units, as
  :class:`cvrisk.rules.facts.Results` computes them (BMI derived from weight and height);
- ``protocol.<id>.alerts.<rule>.<field>``: a threshold as the protocol file states it;
- ``model.<id>.<field>``: risk-model metadata (``horizon_years``);
- ``derived.age``: the patient's age on the evaluation date; ``const.denominator``: the 100
  of "6 in 100".

HTML output writes them as ``<data value=... data-ref=...>`` and ``<time datetime=...
data-ref=...>`` elements, so a test (and any reader) can check every shown number against
its source. Plain-text output (Markdown) writes the shown text only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup, escape

NumKind = Literal["value", "percent", "per100"]


def number_text(value: float, lang: str, decimals: int | None = None) -> str:
    """A number as the language writes it: ``6.2`` / ``6,2``; ``decimals=None`` keeps the
    significant digits as recorded (``83.1``, ``0.92``, ``142``)."""
    text = f"{value:g}" if decimals is None else f"{value:.{decimals}f}"
    if text in ("-0", "-0.0"):
        text = text[1:]
    return text.replace(".", ",") if lang == "fr" else text


def date_text(day: dt.date, lang: str, style: Literal["iso", "long"] = "iso") -> str:
    """A date: ISO 8601 (``2025-05-17``, unambiguous for clinicians in every country) or in
    words (``17 May 2025`` / ``17 mai 2025``, for patients)."""
    if style == "iso":
        return day.isoformat()
    from cvrisk.data import load_data

    months = load_data("summary_labels.toml")["months"]
    day_number = "1er" if lang == "fr" and day.day == 1 else str(day.day)
    return f"{day_number} {months.get(lang, months['en'])[day.month - 1]} {day.year}"


def per_hundred(risk: float) -> int:
    """A probability as a natural frequency out of 100 people, rounded to the nearest whole
    person (half up): 0.0601 -> 6."""
    return math.floor(100.0 * risk + 0.5)


@dataclass(frozen=True)
class Num:
    """A number shown in a summary, with its source path (see the module docstring).

    ``value`` is the source value itself; ``kind`` says how the text derives from it:
    ``value`` (the number, rounded to ``decimals`` when given), ``percent`` (100 x value,
    ``decimals`` places) or ``per100`` (:func:`per_hundred`).
    """

    value: float
    ref: str
    lang: str
    decimals: int | None = None
    kind: NumKind = "value"

    @property
    def text(self) -> str:
        if self.kind == "percent":
            return number_text(100.0 * self.value, self.lang, self.decimals)
        if self.kind == "per100":
            return str(per_hundred(self.value))
        return number_text(self.value, self.lang, self.decimals)

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> Markup:
        places = "" if self.decimals is None else f' data-decimals="{self.decimals}"'
        return Markup(
            f'<data value="{self.value!r}" data-ref="{escape(self.ref)}" '
            f'data-kind="{self.kind}"{places}>{escape(self.text)}</data>'
        )


@dataclass(frozen=True)
class Day:
    """A date shown in a summary, with its source path."""

    value: dt.date
    ref: str
    lang: str
    style: Literal["iso", "long"] = "iso"

    @property
    def text(self) -> str:
        return date_text(self.value, self.lang, self.style)

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> Markup:
        return Markup(
            f'<time datetime="{self.value.isoformat()}" data-ref="{escape(self.ref)}">'
            f"{escape(self.text)}</time>"
        )


@dataclass(frozen=True)
class Quote:
    """A text shown word for word from the report or a protocol (an alert's message, a
    guideline source, a protocol title), with its source path."""

    text: str
    ref: str

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> Markup:
        return Markup(f'<span data-ref="{escape(self.ref)}">{escape(self.text)}</span>')


Value = Num | Day | Quote | str


@dataclass(frozen=True)
class Text:
    """A worded sentence (from a data file) with traceable values in its placeholders.

    ``template`` uses ``{name}`` placeholders; ``values`` fill them. Rendered as HTML the
    template is escaped and the values keep their ``data-ref`` markup; as plain text the
    values are their shown text.
    """

    template: str
    values: dict[str, Value] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**{k: str(v) for k, v in self.values.items()})

    def __html__(self) -> Markup:
        return Markup(escape(self.template)).format(**self.values)
