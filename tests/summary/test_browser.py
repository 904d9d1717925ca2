"""The summaries in a real headless Chromium (Debian's, driven by Playwright).

Rendered on an A4 page (print media) and on a phone-width screen: no horizontal overflow,
every section laid out and visible; printed to PDF (the clinician summary of the bundled
example fits one A4 page); axe-core finds no serious or critical accessibility violation;
the SVG text axe cannot judge (text inside figures) is checked for contrast here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cvrisk.summary import render_html
from cvrisk.summary.pdf import page_count
from tests.summary.conftest import context

#: A4 width minus the clinician stylesheet's print margins (210 mm - 2 x 9 mm), in CSS px
A4_CONTENT_PX = round((210 - 18) / 25.4 * 96)
PHONE = {"width": 375, "height": 812}
PAGES = [
    (case, audience)
    for case in ("gb-en", "fr-fr", "gb-en-scores")
    for audience in ("clinician", "patient")
]

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.position === 'absolute' && style.clip !== 'auto') continue;  // visually hidden
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) out.push(el.tagName + '.' + el.className.baseVal
        + el.className + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
  return {scroll: document.documentElement.scrollWidth, width: width, out: out.slice(0, 5)};
}"""

_SECTIONS = """() => Array.from(document.querySelectorAll('main section, main header, main footer'))
  .map(el => { const b = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return {name: el.className, w: b.width, h: b.height, visible: s.visibility !== 'hidden'
      && s.display !== 'none' && parseFloat(s.opacity) > 0}; })"""

_SVG_TEXT = """() => Array.from(document.querySelectorAll('svg text')).map(el => {
  const course = el.closest('g.course');
  const rect = course ? course.querySelector('rect') : null;
  return {text: el.textContent, fg: getComputedStyle(el).fill,
          bg: rect ? getComputedStyle(rect).fill : 'rgb(255, 255, 255)'};
})"""


def _open(browser: Any, html: str, viewport: dict[str, int], media: str) -> Any:
    page = browser.new_page(viewport=viewport)
    page.emulate_media(media=media)
    page.set_content(html, wait_until="load")
    return page


def _luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio of two CSS rgb() colours."""
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("case", "audience"), PAGES)
def test_a4_print_layout(browser: Any, case: str, audience: str, tmp_path: Path) -> None:
    html = render_html(context(case), audience)  # type: ignore[arg-type]
    page = _open(browser, html, {"width": A4_CONTENT_PX, "height": 1100}, "print")
    layout = page.evaluate(_OVERFLOW)
    assert layout["scroll"] <= layout["width"], layout
    assert not layout["out"], layout["out"]
    sections = page.evaluate(_SECTIONS)
    assert sections and all(s["w"] > 0 and s["h"] > 0 and s["visible"] for s in sections)
    page.screenshot(path=str(tmp_path / f"{case}-{audience}-a4.png"), full_page=True)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF-")
    pages = page_count(pdf)
    if audience == "clinician":
        assert pages == 1, f"the clinician summary of {case} takes {pages} A4 pages"
    else:
        assert 1 <= pages <= 6  # plain language at 11 pt: a leaflet of a few pages
    page.close()


@pytest.mark.parametrize(("case", "audience"), PAGES)
def test_phone_width(browser: Any, case: str, audience: str, tmp_path: Path) -> None:
    html = render_html(context(case), audience)  # type: ignore[arg-type]
    page = _open(browser, html, PHONE, "screen")
    layout = page.evaluate(_OVERFLOW)
    assert layout["scroll"] <= PHONE["width"], layout
    assert not layout["out"], layout["out"]
    sections = page.evaluate(_SECTIONS)
    assert sections and all(
        s["visible"] and 0 < s["w"] <= PHONE["width"] and s["h"] > 0 for s in sections
    ), sections
    font = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 15  # readable without zooming
    page.screenshot(path=str(tmp_path / f"{case}-{audience}-phone.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(("case", "audience"), PAGES)
def test_axe_finds_no_serious_violation(
    browser: Any, axe_source: str, case: str, audience: str
) -> None:
    html = render_html(context(case), audience)  # type: ignore[arg-type]
    viewports = [{"width": 1000, "height": 1200}] + ([PHONE] if case == "gb-en" else [])
    for viewport in viewports:
        page = _open(browser, html, viewport, "screen")
        page.add_script_tag(content=axe_source)
        result = page.evaluate("async () => await axe.run(document)")
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, serious
        assert len(result["passes"]) >= 20  # axe really ran its rules
        page.close()


@pytest.mark.parametrize("case", ["gb-en", "fr-fr"])
def test_figure_text_contrast(browser: Any, case: str) -> None:
    """SVG text (which axe leaves 'incomplete') meets AA contrast on its background."""
    html = render_html(context(case), "clinician")
    page = _open(browser, html, {"width": 1000, "height": 1200}, "screen")
    texts = page.evaluate(_SVG_TEXT)
    assert texts
    low = [
        (t["text"], round(contrast(t["fg"], t["bg"]), 2))
        for t in texts
        if contrast(t["fg"], t["bg"]) < 4.5
    ]
    assert not low, low
    page.close()


def test_pdf_from_the_library(browser: Any) -> None:
    """summarize(format="pdf") prints the clinician page on one A4 page."""
    from cvrisk.summary import render

    pdf = render(context("gb-en"), "clinician", "pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    assert b"/MediaBox [0 0 594.96 841.92]" in pdf or b"841.9" in pdf  # A4 in points
