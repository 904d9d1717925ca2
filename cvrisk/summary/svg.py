"""Inline SVG figures for the HTML summaries: trend charts, the course timeline, icon arrays.

Hand-written SVG (no plotting library): small, self-contained, printable, and accessible —
each figure is ``role="img"`` with a ``<title>`` and a ``<desc>`` saying what it shows; series
differ by marker shape and line style as well as colour; thresholds are dashed lines (bands:
hatched) labelled with their value, so no meaning rests on colour alone. Every plotted value
and threshold label keeps its source path (``data-ref``) like the rest of the page.
Axis tick labels are scale marks, not results (``class="tick"``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from cvrisk.summary.clinician import Chart, CourseRow
from cvrisk.summary.values import Num, Text, number_text

_SERIES_COLOURS = ("#1f4e79", "#7a3e9d", "#0b6e69", "#8a4b08")
_SERIES_DASH = ("", "5 3", "2 2", "8 3 2 3")
_THRESHOLD_COLOUR = "#a4161a"
_counter = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def _marker(shape: int, x: float, y: float, colour: str) -> str:
    """Marker ``shape`` (0 circle, 1 square, 2 triangle, 3 diamond) centred on (x, y)."""
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>'
    if shape == 1:
        return (
            f'<rect x="{x - 2.4:.1f}" y="{y - 2.4:.1f}" width="4.8" height="4.8" fill="{colour}"/>'
        )
    if shape == 2:
        return (
            f'<path d="M{x:.1f} {y - 3:.1f} L{x + 3:.1f} {y + 2.4:.1f} '
            f'L{x - 3:.1f} {y + 2.4:.1f} Z" fill="{colour}"/>'
        )
    return (
        f'<path d="M{x:.1f} {y - 3.2:.1f} L{x + 3.2:.1f} {y:.1f} L{x:.1f} {y + 3.2:.1f} '
        f'L{x - 3.2:.1f} {y:.1f} Z" fill="{colour}"/>'
    )


def legend_marker(index: int) -> Markup:
    """A small inline SVG showing series ``index``'s marker and line (for HTML legends)."""
    colour = _SERIES_COLOURS[index % 4]
    dash = _SERIES_DASH[index % 4]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return Markup(
        f'<svg class="key" width="22" height="10" viewBox="0 0 22 10" aria-hidden="true">'
        f'<line x1="1" y1="5" x2="21" y2="5" stroke="{colour}" stroke-width="1.6"{dash_attr}/>'
        f"{_marker(index % 4, 11, 5, colour)}</svg>"
    )


def threshold_key() -> Markup:
    """The dashed threshold line, for HTML legends."""
    return Markup(
        '<svg class="key" width="22" height="10" viewBox="0 0 22 10" aria-hidden="true">'
        f'<line x1="1" y1="5" x2="21" y2="5" stroke="{_THRESHOLD_COLOUR}" stroke-width="1.4" '
        'stroke-dasharray="4 2"/></svg>'
    )


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _svg_text(text: Text) -> str:
    """A worded label in SVG: numbers become ``<tspan data-ref data-value>``."""
    values = {}
    for key, value in text.values.items():
        if isinstance(value, Num):
            values[key] = (
                f'<tspan data-ref="{escape(value.ref)}" data-value="{value.value!r}" '
                f'data-kind="{value.kind}">{escape(value.text)}</tspan>'
            )
        else:
            values[key] = str(escape(str(value)))
    return str(escape(text.template)).format(**values)


def _x_scale(
    domain: tuple[dt.date, dt.date], left: float, right: float
) -> Callable[[dt.date], float]:
    start, end = domain
    span = max((end - start).days, 1)

    def x(day: dt.date) -> float:
        return left + (right - left) * (day - start).days / span

    return x


def _year_ticks(domain: tuple[dt.date, dt.date]) -> list[dt.date]:
    start, end = domain
    years = [dt.date(y, 1, 1) for y in range(start.year + 1, end.year + 1)]
    if len(years) > 6:
        years = years[:: math.ceil(len(years) / 6)]
    return years


def line_chart(
    chart: Chart,
    domain: tuple[dt.date, dt.date],
    lang: str,
    width: int = 220,
    height: int = 124,
) -> Markup:
    """One trend chart: each series as a line with markers, thresholds as dashed lines (a
    range as a hatched band), years on the x axis, the value scale on the y axis."""
    left, right, top, bottom = 28.0, width - 4.0, 10.0, height - 16.0
    title_id, desc_id = _id("t"), _id("d")
    values = [p.y for s in chart.series for p in s.points]
    limits = [v for t in chart.thresholds for v in (t.y, t.low, t.high) if v is not None]
    shown = values + limits
    if shown:
        low, high = min(shown), max(shown)
        pad = (high - low) * 0.12 or abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    else:
        low, high = 0.0, 1.0
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    x = _x_scale(domain, left, right)

    def y(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart_description(chart, lang))}</desc>',
        f'<defs><pattern id="{title_id}h" width="5" height="5" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" '
        f'stroke="{_THRESHOLD_COLOUR}" stroke-width="1" stroke-opacity="0.35"/></pattern></defs>',
        '<g class="axis" aria-hidden="true">',
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left:.1f}" y1="{ty:.1f}" x2="{right:.1f}" y2="{ty:.1f}" '
            'stroke="#d0d5dc" stroke-width="0.6"/>'
            f'<text class="tick" x="{left - 4:.1f}" y="{ty + 3:.1f}" text-anchor="end">'
            f"{escape(_tick_text(tick, ticks, lang))}</text>"
        )
    for year in _year_ticks(domain):
        tx = x(year)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{bottom:.1f}" x2="{tx:.1f}" y2="{bottom + 3:.1f}" '
            'stroke="#5b6470" stroke-width="0.8"/>'
            f'<text class="tick" x="{tx:.1f}" y="{height - 5:.1f}" text-anchor="middle">'
            f"{year.year}</text>"
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}" '
        'stroke="#5b6470" stroke-width="0.8"/></g>'
    )
    # Threshold labels go at the right end of their line, else above/below it, else at the
    # left end: wherever they cross neither the data (points and lines) nor another label.
    samples = []
    for series in chart.series:
        xy = [(x(p.day.value), y(p.y)) for p in series.points]
        samples.extend(xy)
        for (x0, y0), (x1, y1) in itertools.pairwise(xy):
            steps = max(int(abs(x1 - x0) / 2), 1)
            samples.extend(
                (x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(steps)
            )
    placed: list[tuple[float, float, float]] = []  # (x0, x1, baseline) of placed labels

    def place(text: str, wanted: float, alternative: float) -> tuple[float, str, float]:
        width = 4.8 * len(text) + 4
        options = []
        for baseline in (wanted, alternative):
            options.append((right - 2, "end", right - 2 - width, right, baseline))
            options.append((left + 2, "start", left, left + 2 + width, baseline))
        for anchor_x, anchor, x0, x1, baseline in options:
            if not top + 6 <= baseline <= bottom + 2:
                continue
            if any(
                x0 - 2 <= px <= x1 + 2 and baseline - 9 <= py <= baseline + 2.5
                for px, py in samples
            ):
                continue
            if any(a < x1 and x0 < b and abs(baseline - c) < 9 for a, b, c in placed):
                continue
            placed.append((x0, x1, baseline))
            return anchor_x, anchor, baseline
        placed.append((right - 2 - width, right, wanted))
        return right - 2, "end", wanted

    for threshold in chart.thresholds:
        label = _svg_text(threshold.label)
        code = escape(threshold.code.text)
        if threshold.low is not None and threshold.high is not None:
            y_top, y_bottom = y(threshold.high), y(threshold.low)
            lx, anchor, ly = place(str(threshold.label), y_bottom - 3, y_top + 9)
            parts.append(
                f'<g class="threshold band" data-code="{code}">'
                f'<rect x="{left:.1f}" y="{y_top:.1f}" width="{right - left:.1f}" '
                f'height="{max(y_bottom - y_top, 0.5):.1f}" fill="url(#{title_id}h)" '
                f'stroke="{_THRESHOLD_COLOUR}" stroke-width="0.7" stroke-dasharray="4 2"/>'
                f'<text class="limit" x="{lx:.1f}" y="{ly:.1f}" '
                f'text-anchor="{anchor}">{label}</text></g>'
            )
        elif threshold.y is not None:
            ty = y(threshold.y)
            lx, anchor, ly = place(str(threshold.label), ty - 2.5, ty + 9)
            parts.append(
                f'<g class="threshold" data-code="{code}">'
                f'<line x1="{left:.1f}" y1="{ty:.1f}" x2="{right:.1f}" y2="{ty:.1f}" '
                f'stroke="{_THRESHOLD_COLOUR}" stroke-width="1.1" stroke-dasharray="4 2"/>'
                f'<text class="limit" x="{lx:.1f}" y="{ly:.1f}" '
                f'text-anchor="{anchor}">{label}</text></g>'
            )
    for index, series in enumerate(chart.series):
        colour = _SERIES_COLOURS[index % 4]
        dash = _SERIES_DASH[index % 4]
        points = [(x(p.day.value), y(p.y)) for p in series.points]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="1.5"{dash_attr} stroke-linejoin="round"/>'
            )
        parts.append(f'<g class="series" data-analyte="{series.analyte}">')
        for point, (px, py) in zip(series.points, points, strict=True):
            parts.append(
                f'<g class="point" data-ref="{escape(point.value.ref)}" '
                f'data-value="{point.value.value!r}" data-kind="{point.value.kind}" '
                f'data-date="{point.day.value.isoformat()}" '
                f'data-date-ref="{escape(point.day.ref)}">'
                f"<title>{escape(series.label)} {escape(point.value.text)} {escape(series.unit)}"
                f" — {escape(point.day.text)}</title>{_marker(index % 4, px, py, colour)}</g>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _tick_text(value: float, ticks: Sequence[float], lang: str) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    if step < 1 and round(step * 10**decimals) % 1:
        decimals += 1
    return number_text(value, lang, decimals)


def chart_description(chart: Chart, lang: str) -> str:
    """What a chart shows, in words (its SVG ``<desc>``): each series' first and last
    result, and the thresholds drawn."""
    from cvrisk.summary.texts import label

    parts = []
    for series in chart.series:
        if not series.points:
            continue
        first, last = series.points[0], series.points[-1]
        parts.append(
            label(
                "chart.series_desc",
                lang,
                series=series.label,
                count=len(series.points),
                first=f"{first.value.text} {series.unit}",
                first_date=first.day.text,
                last=f"{last.value.text} {series.unit}",
                last_date=last.day.text,
            )
        )
    for threshold in chart.thresholds:
        parts.append(
            label(
                "chart.threshold_desc", lang, limit=str(threshold.label), code=threshold.code.text
            )
        )
    if chart.note:
        parts.append(chart.note)
    return " ".join(parts)


def timeline(
    courses: Sequence[CourseRow],
    domain: tuple[dt.date, dt.date],
    lang: str,
    width: int = 720,
) -> Markup:
    """The antipsychotic courses as bars on the shared time axis, one row per drug; an open
    bar end (arrow) marks a course still running on the evaluation date."""
    from cvrisk.summary.texts import label

    drugs = list(dict.fromkeys(c.drug for c in courses))
    row_height, top = 15, 4
    height = top + row_height * max(len(drugs), 1) + 18
    left, right = 96.0, width - 10.0
    x = _x_scale(domain, left, right)
    title_id, desc_id = _id("t"), _id("d")
    description = "; ".join(
        label(
            "timeline.course_desc" if c.stop else "timeline.course_open_desc",
            lang,
            drug=c.drug,
            start=c.start.text,
            stop=c.stop.text if c.stop else "",
            event=c.event_label,
        )
        for c in courses
    ) or label("timeline.none", lang)
    parts = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" preserveAspectRatio="xMinYMid meet">',
        f'<title id="{title_id}">{escape(label("timeline.title", lang))}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        '<g class="axis" aria-hidden="true">',
    ]
    axis_y = top + row_height * max(len(drugs), 1) + 2
    for year in _year_ticks(domain):
        tx = x(year)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top:.1f}" x2="{tx:.1f}" y2="{axis_y:.1f}" '
            'stroke="#d0d5dc" stroke-width="0.6"/>'
            f'<text class="tick" x="{tx:.1f}" y="{axis_y + 11:.1f}" text-anchor="middle">'
            f"{year.year}</text>"
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{axis_y:.1f}" x2="{right:.1f}" y2="{axis_y:.1f}" '
        'stroke="#5b6470" stroke-width="0.8"/></g>'
    )
    for row, drug in enumerate(drugs):
        cy = top + row_height * row + row_height / 2
        parts.append(
            f'<text class="drug" x="{left - 6:.1f}" y="{cy + 3.5:.1f}" text-anchor="end">'
            f"{escape(drug)}</text>"
        )
        for course in (c for c in courses if c.drug == drug):
            x0 = x(course.start.value)
            x1 = x(course.stop.value) if course.stop else x(domain[1])
            fill = "#1f4e79" if course.active else "#5b6675"
            parts.append(
                f'<g class="course" data-start="{course.start.value.isoformat()}" '
                f'data-start-ref="{escape(course.start.ref)}">'
                f"<title>{escape(course.drug)}: {escape(course.start.text)} – "
                f"{escape(course.stop.text if course.stop else label('timeline.ongoing', lang))}"
                f" ({escape(course.event_label)})</title>"
                f'<rect x="{x0:.1f}" y="{cy - 4.5:.1f}" width="{max(x1 - x0, 1.5):.1f}" '
                f'height="9" rx="2" fill="{fill}"/>'
            )
            if not course.stop:
                parts.append(
                    f'<path d="M{x1:.1f} {cy - 6:.1f} L{x1 + 6:.1f} {cy:.1f} L{x1:.1f} '
                    f'{cy + 6:.1f} Z" fill="{fill}"/>'
                )
            if course.event in ("switch", "addition"):
                parts.append(
                    f'<text class="event" x="{x0 + 3:.1f}" y="{cy + 3:.1f}" fill="#ffffff">'
                    f"{escape(course.event_label)}</text>"
                )
            parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def icon_array(count: int, denominator: int, label_text: str) -> Markup:
    """``count`` of ``denominator`` people shaded, as a grid of person icons (10 per row),
    filled (dark) versus outlined (light): the frequency is read without colour."""
    columns = 10
    rows = math.ceil(denominator / columns)
    size = 13.0
    width, height = columns * size, rows * size * 1.25
    parts = [
        f'<svg class="icons" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(label_text)}">'
    ]
    for index in range(denominator):
        col, row = index % columns, index // columns
        cx = col * size + size / 2
        cy = row * size * 1.25 + 3.6
        affected = index < count
        fill = "#b3261e" if affected else "#ffffff"
        stroke = "#7a1a14" if affected else "#8a94a3"
        parts.append(
            f'<g class="{"affected" if affected else "unaffected"}">'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.4" fill="{fill}" stroke="{stroke}" '
            'stroke-width="0.8"/>'
            f'<path d="M{cx - 3.6:.1f} {cy + 10.6:.1f} Q{cx - 3.6:.1f} {cy + 3.4:.1f} '
            f"{cx:.1f} {cy + 3.4:.1f} Q{cx + 3.6:.1f} {cy + 3.4:.1f} {cx + 3.6:.1f} "
            f'{cy + 10.6:.1f} Z" fill="{fill}" stroke="{stroke}" stroke-width="0.8"/></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
