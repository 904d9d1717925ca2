"""What the summaries say, for records that exercise each part: thresholds that follow the
rule's population, course events, the patient's checks, risks and warnings."""

from __future__ import annotations

import json
from typing import Any

from cvrisk.summary import render_html
from cvrisk.summary.clinician import clinician_view
from cvrisk.summary.inputs import summary_context
from cvrisk.summary.markdown import clinician_markdown, patient_markdown
from cvrisk.summary.patient import patient_view
from cvrisk.summary.values import per_hundred
from tests.summary.conftest import EXAMPLE, context

OPTIONS = {"as_of": "2025-06-01", "jurisdiction": "GB"}


def _record(**patient: Any) -> str:
    data = json.loads(EXAMPLE.read_text())
    data["patient"].update(patient)
    return json.dumps(data)


def _codes(chart_key: str, source: str) -> list[str]:
    view = clinician_view(summary_context(source, options=OPTIONS))
    chart = next(c for c in view.charts if c.key == chart_key)
    return [t.code.text for t in chart.thresholds]


def test_thresholds_follow_the_rules_population() -> None:
    """BMI 25 for most people, 23 for South Asian or Chinese people (Lester)."""
    assert _codes("weight", _record()) == ["nice-cg178/bmi-25"]
    assert _codes("weight", _record(ethnicity="indian")) == ["nice-cg178/bmi-23-asian"]
    bp = _codes("blood_pressure", _record())
    assert bp == ["nice-cg178/sbp-140", "nice-cg178/dbp-90"]


def test_thresholds_are_the_protocol_values() -> None:
    view = clinician_view(context("gb-en"))
    glycaemia = next(c for c in view.charts if c.key == "glycaemia")
    band = next(t for t in glycaemia.thresholds if t.code.text == "nice-cg178/hba1c-high-risk")
    assert (band.low, band.high) == (42.0, 48.0) and band.y is None
    line = next(t for t in glycaemia.thresholds if t.code.text == "nice-cg178/hba1c-diabetes")
    assert line.y == 48.0
    assert str(line.label) == "≥ 48 mmol/mol"
    lipids = next(c for c in view.charts if c.key == "lipids")
    codes = {t.code.text: str(t.label) for t in lipids.thresholds}
    assert codes["nice-cg178/tc-6"] == "> 6 mmol/L"  # Lester 2012
    assert codes["nice-cg178/tg-10-20"] == "≥ 10, ≤ 20 mmol/L"  # NICE: "between 10 and 20"


def test_courses_with_their_events() -> None:
    view = clinician_view(context("gb-en"))
    assert [(c.drug, c.event, c.active) for c in view.courses] == [
        ("olanzapine", "start", False),
        ("clozapine", "switch", True),
        ("aripiprazole", "addition", True),
    ]
    assert str(view.courses[0].stop) == "2023-05-10"


def test_patient_checks_and_findings() -> None:
    ctx = context("gb-en")
    view = patient_view(ctx)
    assert [c.test for c in view.due_now] == [
        t.test for t in ctx.report.tests if t.status in ("overdue", "due")
    ]
    assert len(view.findings) == len(ctx.report.alerts)
    smoking = next(f for f in view.findings if "smoke" in str(f.meaning))
    assert smoking.who
    assert "Ask for help to stop smoking." in [str(y) for y in view.you_can]
    assert view.risks and view.risks[0].count is None  # QRISK3 not computable: said so
    assert view.warning is None


def test_patient_risk_as_natural_frequency_and_icon_array() -> None:
    ctx = context("gb-en-scores")
    risk = next(s for s in ctx.report.scores if s.risk is not None)
    assert risk.risk is not None
    view = patient_view(ctx)
    assert view.risks[0].count == per_hundred(risk.risk)
    html = render_html(ctx, "patient")
    assert html.count('class="affected"') == per_hundred(risk.risk)
    assert html.count('class="unaffected"') == 100 - per_hundred(risk.risk)
    assert f"About {per_hundred(risk.risk)} in 100 people like you" in patient_markdown(ctx)


def test_smi_caveat_in_plain_words_for_a_score_without_an_smi_term() -> None:
    view = patient_view(context("fr-fr"))  # SCORE2 has no SMI term
    assert view.risks[0].caveats
    assert "trouble psychique sévère" in str(view.risks[0].caveats[0])
    clinician = clinician_view(context("fr-fr"))
    assert any("sous-estimer" in str(c) for c in clinician.scores[0].caveats)


def test_warnings_are_said_first_to_clinicians_and_gently_to_patients() -> None:
    ctx = context("fr-fr")  # clozapine-specific protocols not selected in France: a warning
    assert any(i.severity == "warning" for i in ctx.report.data_issues)
    html = render_html(ctx, "clinician")
    assert html.index('class="warnings"') < html.index('class="courses"')
    assert patient_view(ctx).warning
    assert "**!**" in patient_markdown(ctx)
    assert "⚠" in clinician_markdown(ctx)


def test_a_text_missing_for_an_alert_says_to_ask(monkeypatch: Any) -> None:
    """Without plain words for an alert, the page says to ask; it invents nothing."""
    from cvrisk.summary import patient

    monkeypatch.setattr(patient, "patient_entry", lambda section, key: None)
    monkeypatch.setattr(patient, "patient_text", lambda *args: None)
    view = patient_view(context("gb-en"))
    assert all("Please ask them" in str(f.meaning) for f in view.findings)
