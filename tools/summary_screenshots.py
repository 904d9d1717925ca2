"""Regenerate the summary screenshots in docs/summaries/ (PNG), from the bundled example.

    python tools/summary_screenshots.py

The clinician page is shot as printed on A4 (print media, the page's own margins); the
patient page on a desktop screen and on a phone. Uses the same Chromium as the PDF output
(Debian's chromium, driven by Playwright).
"""

from __future__ import annotations

from pathlib import Path

from cvrisk.summary import render_html
from cvrisk.summary.browser import chromium
from cvrisk.summary.inputs import summary_context

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "summaries"
EXAMPLE = ROOT / "examples" / "patient.json"
GB = {
    "as_of": "2025-06-01",
    "jurisdiction": "GB",
    "record_complete": True,
    "score_inputs": {"qrisk3": {"smoking": "moderate", "family_history_chd": False}},
}
FR = {"as_of": "2025-06-01", "jurisdiction": "FR"}
#: A4 at 96 CSS px per inch
A4_WIDTH = round(210 / 25.4 * 96)
#: The print margins of the stylesheets (@page), drawn around the page in the screenshot
MARGINS = {"clinician": "8mm 9mm", "patient": "12mm 13mm"}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    gb = summary_context(EXAMPLE, lang="en", options=GB)
    fr = summary_context(EXAMPLE, lang="fr", options=FR)
    shots = [
        ("clinician-en-a4.png", render_html(gb, "clinician"), A4_WIDTH, "print", 2),
        ("clinician-fr-a4.png", render_html(fr, "clinician"), A4_WIDTH, "print", 2),
        ("patient-en.png", render_html(gb, "patient"), 860, "screen", 1),
        ("patient-fr-phone.png", render_html(fr, "patient"), 375, "screen", 2),
    ]
    with chromium() as browser:
        for name, html, width, media, scale in shots:
            page = browser.new_page(
                viewport={"width": width, "height": 900}, device_scale_factor=scale
            )
            page.emulate_media(media=media)
            page.set_content(html, wait_until="load")
            if media == "print":
                audience = name.split("-")[0]
                page.add_style_tag(content=f"body {{ padding: {MARGINS[audience]}; }}")
            page.screenshot(path=str(OUT / name), full_page=True)
            page.close()
            print(OUT / name)


if __name__ == "__main__":
    main()
