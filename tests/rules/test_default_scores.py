"""Default scores by jurisdiction and population (cvrisk/rules/default_scores.py,
jurisdictions.toml), and score conflicts and labels reaching evaluate()'s data issues."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cvrisk.rules.evaluate import evaluate

AS_OF = dt.date(2025, 6, 1)
T2D = {"code": "E11.9", "system": "icd10", "onset": "2015-03-01"}
T1D = {"code": "E10.9", "system": "icd10", "onset": "1990-03-01"}


def record(birth: str = "1965-01-01", conditions: list[dict[str, Any]] | None = None) -> Any:
    return {
        "patient": {"id": "d", "birth_date": birth, "sex": "male"},
        "conditions": conditions or [],
        "medications": [{"drug": "olanzapine", "start": "2025-01-01"}],
        "observations": [
            {"analyte": "total_cholesterol", "value": 5.5, "unit": "mmol/L", "date": "2025-03-01"},
            {"analyte": "hdl_cholesterol", "value": 1.3, "unit": "mmol/L", "date": "2025-03-01"},
            {"analyte": "sbp", "value": 140, "unit": "mm[Hg]", "date": "2025-03-01"},
            {"analyte": "smoking_status", "coded": "current", "date": "2025-03-01"},
            {"analyte": "hba1c", "value": 50, "unit": "mmol/mol", "date": "2025-03-01"},
            {"analyte": "egfr", "value": 90, "unit": "mL/min/{1.73_m2}", "date": "2025-03-01"},
        ],
    }


def fr(rec: Any, **kw: Any) -> Any:
    return evaluate(rec, as_of=AS_OF, jurisdiction="FR", **kw)


def test_fr_uses_score2_diabetes_for_type2_diabetes_without_a_score2_issue() -> None:
    report = fr(record(conditions=[T2D]))
    assert [s.model for s in report.scores] == ["score2-diabetes"]
    (score,) = report.scores
    assert score.risk is not None and 0 < score.risk < 1
    assert not any(i.kind == "not_computable" for i in report.data_issues)


def test_fr_uses_score2_without_diabetes() -> None:
    report = fr(record())
    assert [s.model for s in report.scores] == ["score2"]
    assert report.scores[0].risk is not None


def test_fr_type1_diabetes_gets_one_issue_saying_why() -> None:
    for lang, words in (("en", ["not with Type 1 diabetes"]), ("fr", ["Diabète de type 1"])):
        report = fr(record(conditions=[T1D]), lang=lang)
        assert report.scores == []
        (issue,) = [i for i in report.data_issues if i.kind == "not_computable"]
        assert all(word in issue.message for word in words), issue.message
        assert "score2" in issue.message and "score2-diabetes" in issue.message


def test_fr_older_diabetic_still_gets_score2_op() -> None:
    report = fr(record(birth="1950-01-01", conditions=[T2D]))
    assert [s.model for s in report.scores] == ["score2-op"]


def test_fr_age_gap_message_is_unchanged() -> None:
    report = fr(record(birth="1990-01-01", conditions=[T2D]))
    assert report.scores == [] and any("age 35" in i.message for i in report.data_issues)


def test_explicit_scores_are_still_computed_and_refused_loudly() -> None:
    report = fr(record(conditions=[T2D]), scores=["score2"])
    (score,) = report.scores
    assert score.model == "score2" and score.risk is None
    assert any(i.field and i.field.startswith("score2") for i in report.data_issues)


def test_conflicts_reach_the_data_issues() -> None:
    report = fr(record(conditions=[T2D]), score_inputs={"score2-diabetes": {"smoker": False}})
    (conflict,) = [i for i in report.data_issues if i.kind == "conflict"]
    assert conflict.severity == "warning" and conflict.field == "score2-diabetes.smoker"
    assert report.scores[0].risk is not None  # the given value is used


def test_missing_inputs_are_named_in_french() -> None:
    rec = record(conditions=[T2D])
    rec["observations"] = rec["observations"][:4]  # no HbA1c, no eGFR
    report = fr(rec, lang="fr")
    (issue,) = [i for i in report.data_issues if i.kind == "not_computable"]
    assert "HbA1c" in issue.message and "DFG estimé" in issue.message
    assert report.scores[0].missing == ["hba1c", "egfr"]  # ids stay ids


@pytest.mark.parametrize("jurisdiction", [None, "GB", "US"])
def test_other_jurisdictions_are_unchanged_by_diabetes(jurisdiction: str | None) -> None:
    with_dm = evaluate(record(conditions=[T2D]), as_of=AS_OF, jurisdiction=jurisdiction)
    without = evaluate(record(), as_of=AS_OF, jurisdiction=jurisdiction)
    assert [s.model for s in with_dm.scores] == [s.model for s in without.scores]
