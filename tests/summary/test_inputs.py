"""What a summary is made from: a record (evaluated) or a Report with its record; bad
combinations are typed errors naming what to do."""

from __future__ import annotations

import json

import pytest

import cvrisk
from cvrisk.errors import DataIssueError, OptionError
from cvrisk.record import PatientRecord
from cvrisk.summary import summarize
from cvrisk.summary.inputs import EVALUATE_OPTIONS, summary_context
from tests.summary.conftest import EXAMPLE

OPTIONS = {"as_of": "2025-06-01", "jurisdiction": "GB"}


def test_record_and_report_give_the_same_summary() -> None:
    report = cvrisk.evaluate(EXAMPLE, **OPTIONS)
    from_report = summarize(report, record=EXAMPLE, format="markdown")
    from_record = summarize(EXAMPLE, format="markdown", **OPTIONS)
    assert from_report == from_record


def test_the_public_api_exports_summarize() -> None:
    text = cvrisk.summarize(EXAMPLE, format="markdown", audience="patient", **OPTIONS)
    assert isinstance(text, str) and text.startswith("# Your physical health checks")


def test_evaluate_options_are_the_evaluations() -> None:
    """Every keyword of cvrisk.evaluate but lang (which the summary takes) is accepted."""
    import inspect

    keywords = set(inspect.signature(cvrisk.evaluate).parameters) - {"record", "lang"}
    assert set(EVALUATE_OPTIONS) == keywords


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"as_off": "2025-06-01"}, "unknown summary option"),
        ({"audience": "carer"}, "audience="),
        ({"format": "docx"}, "format="),
        ({"record": EXAMPLE}, "record= goes with a Report"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        summarize(EXAMPLE, **kwargs)  # type: ignore[arg-type]


def test_a_report_needs_its_record_and_no_options() -> None:
    report = cvrisk.evaluate(EXAMPLE, **OPTIONS)
    with pytest.raises(OptionError, match="pass record="):
        summarize(report)
    with pytest.raises(OptionError, match="do not apply to a Report"):
        summarize(report, record=EXAMPLE, jurisdiction="FR")
    with pytest.raises(OptionError, match="lang='fr'"):
        summarize(report, record=EXAMPLE, lang="fr")
    other = json.loads(EXAMPLE.read_text())
    other["patient"]["id"] = "someone-else"
    with pytest.raises(OptionError, match="someone-else"):
        summarize(report, record=PatientRecord.from_json(other))


def test_reading_issues_stay_in_the_report() -> None:
    """A lenient reading's skipped entries are data issues of the summary's report."""
    data = json.loads(EXAMPLE.read_text())
    data["observations"].append(
        {"analyte": "weight", "value": 80, "unit": "mmHg", "date": "2025-05-01"}
    )
    ctx = summary_context(json.dumps(data), options={**OPTIONS, "on_invalid": "report"})
    assert any(i.kind == "invalid" for i in ctx.report.data_issues)
    html = summarize(json.dumps(data), on_invalid="report", **OPTIONS)
    assert "observations[" in html


def test_strict_refuses() -> None:
    with pytest.raises(DataIssueError):
        summarize(EXAMPLE, as_of="2025-06-01", jurisdiction="FR", strict=True)
