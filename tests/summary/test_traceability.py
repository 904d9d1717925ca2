"""Every number a summary shows equals the one in the report (or its record, protocol,
model) it comes from: the rendered HTML is parsed and each value traced to its source."""

from __future__ import annotations

import pytest

from cvrisk.summary import render_html
from tests.summary.conftest import CASES, context
from tests.summary.traceability import check_page


@pytest.mark.parametrize("audience", ["clinician", "patient"])
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_every_number_is_traced_to_its_source(case: str, audience: str) -> None:
    ctx = context(case)
    html = render_html(ctx, audience)  # type: ignore[arg-type]
    problems, checked = check_page(html, ctx)
    assert not problems, "\n".join(problems)
    assert checked > (40 if audience == "clinician" else 10)


def test_the_clinician_page_shows_the_report_values() -> None:
    """The values the report holds appear on the page, through their source paths."""
    ctx = context("gb-en")
    html = render_html(ctx, "clinician")
    report = ctx.report
    for index, test in enumerate(report.tests):
        assert f'data-ref="report.tests[{index}].due_date"' in html, test.test
    for index in range(len(report.alerts)):
        assert f'data-ref="report.alerts[{index}].message"' in html
        assert f'data-ref="report.alerts[{index}].source"' in html
    for index, score in enumerate(report.scores):
        for k in range(len(score.caveats)):
            assert f'data-ref="report.scores[{index}].caveats[{k}]"' in html
    for index, issue in enumerate(report.data_issues):
        assert f"report.data_issues[{index}].message" in html, issue.message


def test_an_altered_number_is_caught() -> None:
    """The checker fails when a shown value differs from its source (it can fail)."""
    ctx = context("gb-en")
    html = render_html(ctx, "clinician")
    tampered = html.replace(">83.1</data>", ">83.7</data>", 1)
    assert tampered != html
    problems, _ = check_page(tampered, ctx)
    assert any("83.7" in p for p in problems)
    untraced = html.replace("</h1>", " 42</h1>", 1)
    problems, _ = check_page(untraced, ctx)
    assert any("untraced number '42'" in p for p in problems)
