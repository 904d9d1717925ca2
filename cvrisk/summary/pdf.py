"""PDF from the same HTML page, printed by headless Chromium.

Why Chromium's print (Playwright ``page.pdf``) rather than a PDF library: the PDF is then
exactly the page the browser tests check (same layout engine, same print stylesheet, same
inline SVG), so there is one layout to keep right, not two; Chromium is a well-kept,
widely deployed engine with full CSS paged-media support for ``@page`` sizes and margins.
WeasyPrint would be the alternative; it lays pages out with its own engine, whose results
differ from the browser's.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from cvrisk.summary.browser import chromium


def html_to_pdf(html: str) -> bytes:
    """The page printed to PDF on A4 (the stylesheet's ``@page`` size), with backgrounds.

    Playwright's synchronous API cannot run inside an event loop (an ASGI service, a
    notebook, another Playwright session): there, the page is printed in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print(html)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print, html).result()


def _print(html: str) -> bytes:
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(html, wait_until="load")
        page.emulate_media(media="print")
        data: bytes = page.pdf(prefer_css_page_size=True, print_background=True)
        page.close()
    return data


def page_count(pdf: bytes) -> int:
    """The number of pages of a PDF Chromium printed (its ``/Type /Page`` objects)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
