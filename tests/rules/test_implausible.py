"""evaluate() never alerts on a probable unit error: suspect results, implausible derived
BMIs and implausible changes are left out of the facts, each with a warning data issue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cvrisk.errors import DataIssueError
from cvrisk.record import PatientRecord
from cvrisk.rules.evaluate import evaluate
from cvrisk.scores.from_record import score_record

AS_OF = dt.date(2025, 6, 1)


def _record(
    *observations: dict[str, Any], drug: str = "olanzapine", born: str = "1975-01-01"
) -> dict[str, Any]:
    return {
        "patient": {"id": "t", "birth_date": born, "sex": "male", "ethnicity": "white"},
        "medications": [{"drug": drug, "start": "2025-01-01"}],
        "observations": list(observations),
    }


def _obs(analyte: str, value: float, unit: str, date: str = "2025-05-01", **extra: Any) -> dict:
    return {"analyte": analyte, "value": value, "unit": unit, "date": date, **extra}


def _implausible(report: Any) -> list[Any]:
    return [i for i in report.data_issues if i.kind == "implausible"]


def test_hba1c_19_percent_is_not_a_diabetes_alert() -> None:
    record = _record(_obs("hba1c", 19, "%", id="Observation/a1c"))
    report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert not {a.rule for a in report.alerts} & {"hba1c-diabetes", "hba1c-high-risk"}
    (issue,) = _implausible(report)
    assert issue.severity == "warning" and issue.resource == "Observation/a1c"
    assert issue.field == "observations[0]"
    assert "mmol/mol" in issue.message and "19" in issue.message
    assert "not used for alerts" in issue.message


def test_hba1c_11_mmol_per_mol_is_flagged_not_read_as_normal() -> None:
    report = evaluate(
        _record(_obs("hba1c", 11, "mmol/mol")), as_of=AS_OF, protocols=["nice-cg178"], scores=[]
    )
    (issue,) = _implausible(report)
    assert "%" in issue.message


def test_hdl_in_g_per_litre_sent_as_mmol_gives_no_false_low_hdl_alert() -> None:
    record = _record(_obs("hdl_cholesterol", 0.45, "mmol/L"), born="2010-01-01")  # CAMESA age
    report = evaluate(record, as_of=AS_OF, protocols=["camesa-2011"], scores=[])
    assert "hdl-below-normal" not in {a.rule for a in report.alerts}
    (issue,) = _implausible(report)
    assert "g/L" in issue.message


def test_a_real_agranulocytosis_in_cells_per_microlitre_raises_the_alerts() -> None:
    # ANC calculated as WBC x neutrophil % (400/uL x 1 % = 4/uL): a real count, never a
    # unit error to be left out (it was, with a message saying it was probably 4 x10^9/L)
    record = _record(
        _obs("neutrophils", 4, "/uL", "2025-05-30"),
        _obs("wbc", 400, "/uL", "2025-05-30"),
        drug="clozapine",
    )
    uk = evaluate(record, as_of=AS_OF, protocols=["clozapine-uk"], scores=[])
    assert "fbc-red-neutrophils" in {a.rule for a in uk.alerts if a.severity == "critical"}
    assert not _implausible(uk)
    fda = evaluate(record, as_of=AS_OF, protocols=["clozapine-fda"], scores=[])
    assert [a for a in fda.alerts if a.rule.startswith("anc-")]


def test_neutrophils_in_10e9_per_litre_sent_as_per_microlitre_are_a_false_alarm() -> None:
    # 4.5 '/uL' cannot be told from a real count of 4.5/uL: read as given (a false red alert
    # that a clinician resolves), never discarded
    record = _record(
        _obs("neutrophils", 4.5, "/uL", "2025-05-30"),
        _obs("wbc", 7.0, "10*9/L", "2025-05-30"),
        drug="clozapine",
    )
    report = evaluate(record, as_of=AS_OF, protocols=["clozapine-uk"], scores=[])
    assert "fbc-red-neutrophils" in {a.rule for a in report.alerts}


def test_height_in_inches_sent_as_cm_gives_no_bmi_alert() -> None:
    record = _record(_obs("weight", 80, "kg"), _obs("height", 68, "cm"))
    report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert not {a.rule for a in report.alerts} & {"bmi-25", "bmi-23-asian"}
    (issue,) = _implausible(report)
    assert "in" in issue.message and issue.field == "observations[1]"


def test_an_implausible_derived_bmi_is_not_used() -> None:
    # each result is typical on its own (250 kg, 120 cm), their BMI (174) is not
    record = _record(_obs("weight", 250, "kg"), _obs("height", 120, "cm"))
    report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert not {a.rule for a in report.alerts} & {"bmi-25", "bmi-23-asian"}
    (issue,) = _implausible(report)
    assert issue.field == "bmi" and "174" in issue.message and "250 kg" in issue.message


def test_weight_gain_of_100_kg_in_3_months_is_not_alerted() -> None:
    record = _record(
        _obs("weight", 70, "kg", "2025-02-01"),
        _obs("weight", 170, "kg", "2025-05-01"),
    )
    report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert "weight-gain-5kg-3m" not in {a.rule for a in report.alerts}
    (issue,) = _implausible(report)
    assert issue.field == "weight" and "+100" in issue.message


def test_a_plausible_weight_gain_is_still_alerted() -> None:
    record = _record(
        _obs("weight", 70, "kg", "2025-02-01"),
        _obs("weight", 77, "kg", "2025-05-01"),
    )
    report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert "weight-gain-5kg-3m" in {a.rule for a in report.alerts}
    assert not _implausible(report)


def test_implausible_change_from_baseline_is_not_alerted() -> None:
    record = _record(
        _obs("weight", 70, "kg", "2024-12-28"),
        _obs("weight", 170, "kg", "2025-05-01"),
    )
    report = evaluate(record, as_of=AS_OF, protocols=["ada-apa-2004"], scores=[])
    assert not [a for a in report.alerts if "weight" in a.rule]
    assert [i.field for i in _implausible(report)] == ["weight"]
    assert not [i for i in report.data_issues if i.kind == "missing" and i.field == "weight"]


def test_french_messages() -> None:
    report = evaluate(
        _record(_obs("hba1c", 19, "%")), as_of=AS_OF, protocols=["nice-cg178"], scores=[], lang="fr"
    )
    (issue,) = _implausible(report)
    assert "erreur d'unité probable" in issue.message


def test_strict_mode_refuses_implausible_warnings() -> None:
    with pytest.raises(DataIssueError, match="implausible"):
        evaluate(
            _record(_obs("hba1c", 19, "%")),
            as_of=AS_OF,
            protocols=["nice-cg178"],
            scores=[],
            strict=True,
        )


def test_the_record_keeps_the_result_and_carries_the_verdict() -> None:
    record = PatientRecord.from_json(_record(_obs("hba1c", 19, "%"), _obs("hba1c", 6.5, "%")))
    assert len(record.observations) == 2
    first, second = record.verdicts
    assert first is not None and not first.usable and first.probable_unit == "mmol/mol"
    assert second is not None and second.usable


def test_scores_from_a_record_skip_probable_unit_errors() -> None:
    lipids = [
        _obs("total_cholesterol", 5.5, "mmol/L", "2025-03-01"),
        _obs("hdl_cholesterol", 1.2, "mmol/L", "2025-03-01"),
        _obs("total_cholesterol", 2.4, "mmol/L", "2025-05-01"),  # 2.4 g/L sent as mmol/L
        _obs("hdl_cholesterol", 1.2, "mmol/L", "2025-05-01"),
        _obs("sbp", 130, "mm[Hg]", "2025-05-01"),
    ]
    record = PatientRecord.from_json(_record(*lipids))
    result = score_record(record, "score2", as_of=AS_OF)
    assert result.inputs.row["total_cholesterol"] == pytest.approx(5.5)  # the earlier pair
    (source,) = result.inputs.sources["total_cholesterol"]
    assert source.date == dt.date(2025, 3, 1)


def test_non_hdl_from_a_total_below_its_hdl_is_reported_not_used() -> None:
    """Non-HDL cholesterol is derived as total minus HDL of the same day: a total not above
    its HDL (one of the two results is wrong) gives no non-HDL alert and a warning, in both
    languages; a plausible pair gives the derived value to the rules."""
    record = _record(
        _obs("total_cholesterol", 3.0, "mmol/L"), _obs("hdl_cholesterol", 3.2, "mmol/L")
    )
    for lang in ("en", "fr"):
        report = evaluate(record, as_of=AS_OF, protocols=["nice-cg178"], scores=[], lang=lang)
        (issue,) = [i for i in _implausible(report) if i.field == "non_hdl_cholesterol"]
        assert issue.severity == "warning" and "3.2" in issue.message
    high = _record(_obs("total_cholesterol", 9.5, "mmol/L"), _obs("hdl_cholesterol", 1.0, "mmol/L"))
    report = evaluate(high, as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    (alert,) = [a for a in report.alerts if a.rule == "non-hdl"]
    assert alert.message.startswith("Non-HDL cholesterol 8.5 mmol/L")
    assert {e.analyte for e in alert.evidence} >= {"total_cholesterol", "hdl_cholesterol"}
