"""``cvrisk summary``: every option of ``cvrisk evaluate``, each format, to a file or out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cvrisk.cli import build_parser, main
from tests.summary.conftest import EXAMPLE, ROOT

BASE = ["summary", str(EXAMPLE), "--as-of", "2025-06-01", "--jurisdiction", "GB"]


def _options(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {o for a in sub.choices[command]._actions for o in a.option_strings}  # type: ignore[attr-defined]


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_takes_every_option_evaluate_takes() -> None:
    assert _options("evaluate") <= _options("summary") | {"--format"}
    assert {"--audience", "--format", "-o", "--output"} <= _options("summary")


def test_html_and_markdown_on_standard_output() -> None:
    code, html = _run(*BASE)
    assert code == 0 and html.startswith("<!DOCTYPE html>") and "nice-cg178/bmi-25" in html
    code, text = _run(*BASE, "--format", "markdown", "--audience", "patient", "--lang", "fr")
    assert code == 0 and text.startswith("# Vos examens de santé physique")


def test_score_inputs_reach_the_summary() -> None:
    code, text = _run(
        *BASE,
        "--format",
        "markdown",
        "--record-complete",
        "--score-input",
        "qrisk3.smoking=moderate",
        "--score-input",
        "qrisk3.family_history_chd=false",
    )
    assert code == 0 and "Natural frequency:" in text and "Not computable" not in text


@pytest.mark.parametrize("fmt", ["html", "fhir", "markdown"])
def test_output_file(fmt: str, tmp_path: Path) -> None:
    target = tmp_path / f"summary.{fmt}"
    code, printed = _run(*BASE, "--format", fmt, "-o", str(target))
    assert code == 0 and printed == "" and target.stat().st_size > 1000
    if fmt == "fhir":
        assert json.loads(target.read_text("utf-8"))["type"] == "document"


def test_lenient_and_strict(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["observations"].append(
        {"analyte": "weight", "value": 80, "unit": "mmHg", "date": "2025-05-01"}
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    args = ["summary", str(bad), "--as-of", "2025-06-01", "--format", "markdown"]
    assert _run(*args)[0] == 2  # refused without --lenient
    code, text = _run(*args, "--lenient")
    assert code == 0 and "observations[" in text
    assert _run(*args, "--lenient", "--strict")[0] == 2


def test_pdf_through_the_installed_command(tmp_path: Path) -> None:
    """The real entry point prints a PDF (needs Chromium; skipped without it)."""
    from cvrisk.summary.browser import BrowserUnavailableError, chromium_path
    from tests.summary.conftest import unavailable

    try:
        chromium_path()
    except BrowserUnavailableError as exc:
        unavailable(str(exc))
    target = tmp_path / "summary.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "cvrisk", *BASE, "--format", "pdf", "-o", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(b"%PDF-")
