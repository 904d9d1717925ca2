"""Headless Chromium, driven by Playwright, for PDF printing (and the browser tests).

The browser is the system's Chromium (Debian package ``chromium``: ``/usr/bin/chromium``),
never one Playwright downloads; set ``CVRISK_CHROMIUM`` to use another executable. It runs
with the flags that work on a closed network (no background networking, component updates,
sync or QUIC), sandboxed unless the process runs as root (Chromium refuses the sandbox to
root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cvrisk.errors import CvriskError

#: Flags for a quiet headless Chromium on a closed network.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--font-render-hinting=none",
)


class SummaryUnavailableError(CvriskError, RuntimeError):
    """A dependency of the summaries is not installed (``cvrisk[summary]``, Chromium)."""


class BrowserUnavailableError(SummaryUnavailableError):
    """Chromium or Playwright is not installed: PDF output cannot be produced."""


def chromium_path() -> Path:
    """The Chromium executable (``CVRISK_CHROMIUM``, else ``/usr/bin/chromium``, else the
    first ``chromium`` or ``chromium-browser`` on the PATH).

    Raises:
        BrowserUnavailableError: none is installed.
    """
    given = os.environ.get("CVRISK_CHROMIUM")
    candidates = [given] if given else ["/usr/bin/chromium"]
    candidates += [shutil.which("chromium") or "", shutil.which("chromium-browser") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise BrowserUnavailableError(
        "PDF summaries are printed by Chromium, which is not installed: on Debian or Ubuntu "
        "'apt-get install chromium' (or set CVRISK_CHROMIUM to a Chromium executable)"
    )


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (a Playwright ``Browser``), closed on exit.

    Raises:
        BrowserUnavailableError: Playwright or Chromium is missing.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailableError(
            "PDF summaries need Playwright: pip install 'cvrisk[summary]'"
        ) from exc
    executable = chromium_path()
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_ARGS),
            chromium_sandbox=not root,
        )
        try:
            yield browser
        finally:
            browser.close()
