"""Parse a rendered summary and check every number it shows against its source.

Used by the tests (and handy by hand): :func:`check_page` parses the HTML, resolves the
``data-ref`` of every ``<data>``, ``<time>``, quoted ``<span>``, SVG point and threshold
label against the report, the record, the evaluation's results, the protocol files and the
risk-model metadata, and returns the problems found: a value that differs from its source,
a shown text that does not say that value, or a number in the visible text that is not
traced at all.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from cvrisk.rules.catalog import get_protocol
from cvrisk.rules.facts import Results
from cvrisk.scores.registry import get_model
from cvrisk.summary.context import Context

#: a number in running text: digits not glued to a letter, ``^`` or a path (HbA1c, x10^9/L)
NUMBER = re.compile(r"(?<![\w^./,\-])\d+(?:[.,]\d+)?(?![\w^])")


def _walk(node: Any, path: str) -> Any:
    """Follow ``tests[0].requested_by[1].due_date`` into dicts and lists."""
    for match in re.finditer(r"\[(\d+)\]|\.?([A-Za-z0-9_\-]+)", path):
        index, key = match.groups()
        node = node[int(index)] if index is not None else node[key]
    return node


def resolve(ref: str, ctx: Context) -> Any:
    """The source value a ``data-ref`` names (see :mod:`cvrisk.summary.values`)."""
    ref, _, suffix = ref.partition("#")
    root, _, rest = ref.partition(".")
    if root == "report":
        node = _walk(ctx.report.model_dump(mode="json"), rest)
        if suffix == "code":
            return f"{node['protocol']}/{node['rule']}"
        if suffix == "ordinal":
            return int(re.findall(r"\[(\d+)\]", rest)[-1]) + 1
        return node
    if root == "record":
        return _walk(ctx.record.model_dump(mode="json"), rest)
    if root == "results":
        analyte, index = re.fullmatch(r"([a-z_0-9]+)\[(\d+)\]", rest).groups()  # type: ignore[union-attr]
        result = Results.from_record(ctx.record, ctx.as_of).by_analyte[analyte][int(index)]
        return result.day.isoformat() if suffix == "day" else result.value
    if root == "protocol":
        protocol_id, _, tail = rest.partition(".alerts.")
        rule_id, _, field_name = tail.partition(".")
        if suffix == "code":
            return f"{protocol_id}/{rule_id}"
        rule = next(r for r in get_protocol(protocol_id).alerts if r.id == rule_id)
        return getattr(rule, field_name)
    if root == "model":
        model, _, field_name = rest.partition(".")
        return getattr(get_model(model).info, field_name)
    if ref == "derived.age":
        return ctx.record.age_on(ctx.as_of)
    if ref == "const.denominator":
        return 100
    raise AssertionError(f"unknown data-ref root {ref!r}")


def shown_number(text: str) -> float:
    """A number as shown (``6,2`` or ``6.2``)."""
    return float(text.strip().replace("\u202f", "").replace(",", "."))


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    in_svg: bool = False
    children_text: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    """Collects traced elements, and number tokens of untraced visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[Element] = []
        self.traced: list[Element] = []
        self.points: list[Element] = []
        self.untraced: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        element.in_svg = tag == "svg" or any(e.in_svg for e in self.stack)
        self.stack.append(element)
        if "data-ref" in element.attrs:
            if element.attrs.get("class") == "point":
                self.points.append(element)
            else:
                self.traced.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            element = self.stack.pop()
            if element.tag == tag:
                break

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            if "data-ref" in element.attrs:
                element.text += data
        if any(e.tag == "title" and e.in_svg for e in self.stack):
            point = next((e for e in reversed(self.stack) if e.attrs.get("class") == "point"), None)
            if point is not None:
                point.children_text.append(data)
        if self._exempt():
            return
        self.untraced.extend(NUMBER.findall(data))

    def _exempt(self) -> bool:
        for element in self.stack:
            if "data-ref" in element.attrs or element.tag in ("head", "style", "script"):
                return True
            if element.in_svg and element.tag in ("title", "desc"):
                return True  # accessible descriptions of a figure whose values are traced
            if element.attrs.get("class") == "tick":
                return True  # axis scale marks, not results
        return False


def _close(shown: float, value: float, decimals: int | None) -> bool:
    if decimals is None:
        return math.isclose(shown, value, rel_tol=0, abs_tol=1e-9)
    return abs(shown - value) <= 0.5 * 10 ** (-decimals) + 1e-9


def _check_number(text: str, value: float, kind: str, decimals: int | None) -> str | None:
    try:
        shown = shown_number(text)
    except ValueError:
        return f"shows {text!r}, not a number"
    if kind == "percent":
        ok = _close(shown, 100.0 * value, decimals if decimals is not None else 1)
    elif kind == "per100":
        ok = shown == math.floor(100.0 * value + 0.5)
    else:
        ok = _close(shown, value, decimals)
    return None if ok else f"shows {text!r} for {value!r} ({kind})"


def check_page(html: str, ctx: Context) -> tuple[list[str], int]:
    """(problems, number of traced values checked) for one rendered page."""
    parser = _Parser()
    parser.feed(html)
    problems: list[str] = []
    checked = 0
    for element in parser.traced:
        ref = element.attrs["data-ref"]
        try:
            source = resolve(ref, ctx)
        except (KeyError, IndexError, StopIteration, AttributeError) as exc:
            problems.append(f"{ref}: does not resolve ({exc!r})")
            continue
        checked += 1
        text = " ".join(element.text.split())
        if element.tag == "data" or element.tag == "tspan":
            value_attr = element.attrs.get("value", element.attrs.get("data-value", ""))
            if float(value_attr) != float(source):
                problems.append(f"{ref}: value {value_attr} but the source holds {source!r}")
                continue
            decimals = element.attrs.get("data-decimals")
            problem = _check_number(
                text,
                float(source),
                element.attrs.get("data-kind", "value"),
                int(decimals) if decimals is not None else None,
            )
            if problem:
                problems.append(f"{ref}: {problem}")
        elif element.tag == "time":
            day = dt.date.fromisoformat(element.attrs["datetime"])
            if str(source) != day.isoformat():
                problems.append(f"{ref}: datetime {day} but the source holds {source!r}")
            elif text != day.isoformat() and not (
                str(day.year) in text and re.search(rf"\b{day.day}(er)?\b", text)
            ):
                problems.append(f"{ref}: shows {text!r} for the date {day}")
        elif str(source) != text and " ".join(str(source).split()) != text:
            problems.append(f"{ref}: shows {text!r} but the source says {source!r}")
    for point in parser.points:
        checked += 1
        ref, date_ref = point.attrs["data-ref"], point.attrs["data-date-ref"]
        value, day = float(point.attrs["data-value"]), point.attrs["data-date"]
        if float(resolve(ref, ctx)) != value:
            problems.append(f"chart point {ref}: {value} differs from its source")
        if resolve(date_ref, ctx) != day:
            problems.append(f"chart point {date_ref}: {day} differs from its source")
        title = "".join(point.children_text)
        numbers = [shown_number(n) for n in NUMBER.findall(title.split("—")[0])]
        if not any(math.isclose(n, value, abs_tol=0.05) for n in numbers):
            problems.append(f"chart point {ref}: its title {title!r} does not show {value}")
    problems.extend(f"untraced number {n!r} in the visible text" for n in parser.untraced)
    return problems, checked
