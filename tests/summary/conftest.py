"""Fixtures of the summary tests: evaluated example records, and a real headless Chromium.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``) through Playwright, and
run axe-core fetched by ``.ci/fetch-axe``. Where either is missing they are skipped with
the reason, unless ``CVRISK_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing
browser fails the run instead of being skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cvrisk.summary.context import Context
from cvrisk.summary.inputs import summary_context

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patient.json"
EXAMPLE_FHIR = ROOT / "examples" / "patient.fhir.json"
AXE = Path(os.environ.get("CVRISK_AXE", Path(__file__).parent / ".axe" / "axe.min.js"))

#: (name, source, options, lang): the bundled example in each country it is evaluated for
CASES = [
    ("gb-en", EXAMPLE, {"as_of": "2025-06-01", "jurisdiction": "GB"}, "en"),
    ("fr-fr", EXAMPLE, {"as_of": "2025-06-01", "jurisdiction": "FR"}, "fr"),
    (
        "gb-en-scores",
        EXAMPLE,
        {
            "as_of": "2025-06-01",
            "jurisdiction": "GB",
            "record_complete": True,
            "score_inputs": {"qrisk3": {"smoking": "moderate", "family_history_chd": False}},
        },
        "en",
    ),
    ("gb-en-fhir", EXAMPLE_FHIR, {"as_of": "2025-06-01", "jurisdiction": "GB"}, "en"),
]


def _required() -> bool:
    return os.environ.get("CVRISK_REQUIRE_BROWSER") == "1"


def unavailable(reason: str) -> None:
    """Skip (or, under CVRISK_REQUIRE_BROWSER=1, fail) a test whose real part is missing."""
    if _required():
        pytest.fail(f"{reason} (CVRISK_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(reason)


_CONTEXTS: dict[str, Context] = {}


def context(name: str) -> Context:
    """The evaluated context of one case (cached: evaluation is the slow part)."""
    if name not in _CONTEXTS:
        _, source, options, lang = next(c for c in CASES if c[0] == name)
        _CONTEXTS[name] = summary_context(source, lang=lang, options=options)
    return _CONTEXTS[name]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A real headless Chromium (Debian package), shared by the browser tests."""
    from cvrisk.summary.browser import BrowserUnavailableError, chromium

    try:
        with chromium() as launched:
            yield launched
    except BrowserUnavailableError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (fetched by .ci/fetch-axe)."""
    if not AXE.is_file():
        unavailable(f"axe-core not found at {AXE}: run .ci/fetch-axe")
    return AXE.read_text("utf-8")
