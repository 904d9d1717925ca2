"""FHIR output: RiskAssessment per computed score, DetectedIssue per alert, in a Bundle."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import cvrisk
from cvrisk.cli import main
from cvrisk.fhir import report_bundle, report_resources
from cvrisk.scores import score_record
from tests.fhir.helpers import (
    ICD10,
    SNOMED,
    bp_panel,
    bundle,
    condition,
    observation,
    patient,
    quantity,
    request,
    uk_ethnicity,
    validate_r4b,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QRISK_INPUTS = {"qrisk3": {"smoking": "moderate", "family_history_chd": False}}


def _report(
    name: str = "patient.fhir.json", lang: str = "en", **kwargs: Any
) -> cvrisk.rules.report.Report:
    options: dict[str, Any] = {
        "as_of": "2025-06-01",
        "jurisdiction": "GB",
        "lang": lang,
        "score_inputs": QRISK_INPUTS,
        "record_complete": True,
    }
    options.update(kwargs)
    return cvrisk.evaluate(EXAMPLES / name, **options)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    ("name", "jurisdiction"),
    [
        ("patient.fhir.json", "GB"),
        ("patient.json", "GB"),
        ("olanzapine-start.fhir.json", "US"),
        ("aripiprazole-fr.fhir.ndjson", "FR"),
        ("risperidone-girl.fhir.json", "CA"),
    ],
)
def test_every_resource_and_the_bundle_are_valid_fhir(
    name: str, jurisdiction: str, lang: str
) -> None:
    report = _report(
        name,
        lang,
        jurisdiction=jurisdiction,
        score_inputs=QRISK_INPUTS if jurisdiction == "GB" else None,
    )
    resources = report_resources(report)
    for resource in resources:
        validate_r4b(resource)
    data = report_bundle(report)
    validate_r4b(data)
    assert data["type"] == "collection" and len(data["entry"]) == len(resources)
    assert len(resources) == len(report.alerts) + sum(
        1 for s in report.scores if s.risk is not None
    )


def test_risk_assessment_of_a_computed_score() -> None:
    report = _report()
    (score,) = [s for s in report.scores if s.model == "qrisk3"]
    assert score.risk is not None
    (assessment,) = [r for r in report_resources(report) if r["resourceType"] == "RiskAssessment"]
    assert assessment["status"] == "final"
    assert assessment["subject"] == {"reference": "Patient/example-1"}
    assert assessment["occurrenceDateTime"] == "2025-06-01"
    method = assessment["method"]
    assert method["coding"][0]["code"] == "qrisk3" and "BMJ 2017;357:j2099" in method["text"]
    (prediction,) = assessment["prediction"]
    assert prediction["probabilityDecimal"] == pytest.approx(score.risk, abs=1e-6)
    assert prediction["whenPeriod"] == {"start": "2025-06-01", "end": "2035-06-01"}
    assert "cardiovascular" in prediction["outcome"]["text"]
    basis = {b["reference"] for b in assessment["basis"]}
    # the Observations used (latest weight, the height, blood pressure, lipids), the SMI
    # diagnosis and the atypical antipsychotics; smoking was given, so no smoking Observation
    assert basis == {
        "Observation/weight-158",
        "Observation/height-2",
        "Observation/bp-159",
        "Observation/total-cholesterol-163",
        "Observation/hdl-cholesterol-164",
        "MedicationRequest/medicationrequest-2",
        "MedicationRequest/medicationrequest-3",
        "Condition/condition-1",
    }
    assert all(
        ref.split("/")[0] in ("Observation", "Condition", "MedicationRequest") for ref in basis
    )
    assert [n["text"] for n in assessment["note"]] == score.caveats


def test_a_native_record_gives_no_basis_references() -> None:
    report = _report("patient.json")
    (assessment,) = [r for r in report_resources(report) if r["resourceType"] == "RiskAssessment"]
    assert "basis" not in assessment


def test_detected_issue_of_each_alert() -> None:
    report = _report()
    issues = [r for r in report_resources(report) if r["resourceType"] == "DetectedIssue"]
    assert [i["code"]["coding"][0]["code"] for i in issues] == [a.code for a in report.alerts]
    by_code = {i["identifier"][0]["value"]: i for i in issues}
    sbp = by_code["nice-cg178/sbp-140"]
    alert = next(a for a in report.alerts if a.code == "nice-cg178/sbp-140")
    assert (
        sbp["severity"]
        == {"critical": "high", "warning": "moderate", "info": "low"}[alert.severity]
    )
    assert sbp["detail"].startswith(alert.message) and alert.source in sbp["detail"]
    assert sbp["reference"] == "https://www.nice.org.uk/guidance/cg178"
    assert sbp["patient"] == {"reference": "Patient/example-1"}
    assert sbp["identifiedDateTime"] == "2025-06-01"
    (evidence,) = sbp["evidence"]
    assert evidence["detail"][0]["reference"].startswith("Observation/bp-")
    assert sbp["implicated"] == evidence["detail"]
    assert "Systolic blood pressure: 142 mmHg on 2025-04-30" in evidence["code"][0]["text"]
    # a BMI alert: derived BMI, and the weight and height it came from
    bmi = by_code["nice-cg178/bmi-25"]
    references = [d["reference"] for e in bmi["evidence"] for d in e.get("detail", [])]
    assert len(references) == 2 and "calculated" in bmi["evidence"][0]["code"][0]["text"]


def test_a_score_alert_points_to_its_risk_assessment() -> None:
    resources = [
        patient(birthDate="1970-05-02", extension=[uk_ethnicity("H")]),
        request("m1"),
        condition("c1", [{"system": ICD10, "code": "F20.0"}]),
        observation("h", "8302-2", quantity(170, "cm"), when="2024-01-08"),
        observation("w", "29463-7", quantity(88, "kg"), when="2024-05-20"),
        observation("tc", "2093-3", quantity(240, "mg/dL"), when="2024-05-20"),
        observation("hdl", "2085-9", quantity(40, "mg/dL"), when="2024-05-20"),
        bp_panel("bp", 150, 95, when="2024-05-20"),
        observation(
            "sm",
            "72166-2",
            None,
            when="2024-05-20",
            valueCodeableConcept={"coding": [{"system": SNOMED, "code": "266919005"}]},
        ),
    ]
    report = cvrisk.evaluate(
        bundle(*resources),
        as_of="2024-06-01",
        jurisdiction="GB",
        record_complete=True,
        score_inputs={"qrisk3": {"family_history_chd": False}},
    )
    assert "nice-cg178/qrisk-10" in {a.code for a in report.alerts}
    data = report_bundle(report)
    validate_r4b(data)
    urls = {
        e["resource"]["resourceType"]
        + ":"
        + e["resource"].get("method", {}).get("coding", [{}])[0].get("code", ""): e["fullUrl"]
        for e in data["entry"]
    }
    qrisk = next(
        e["resource"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "DetectedIssue"
        and "qrisk" in e["resource"]["code"]["coding"][0]["code"]
    )
    assert qrisk["evidence"][0]["detail"][0]["reference"] == urls["RiskAssessment:qrisk3"]


def test_french_output() -> None:
    report = _report(lang="fr")
    resources = report_resources(report)
    assessment = next(r for r in resources if r["resourceType"] == "RiskAssessment")
    assert assessment["code"]["text"] == "Évaluation du risque cardiovasculaire"
    issue = next(r for r in resources if r["resourceType"] == "DetectedIssue")
    alert = report.alerts[0]
    assert issue["detail"].startswith(alert.message) and "Source :" in issue["detail"]
    bmi = next(
        r for r in resources if r.get("identifier", [{}])[0].get("value") == "nice-cg178/bmi-25"
    )
    assert bmi["evidence"][0]["code"][0]["text"] == (
        "Indice de masse corporelle : 28,09 kg/m² le 2025-04-30 (dernier résultat, calculé)"
    )


def test_the_same_report_gives_the_same_resources() -> None:
    assert report_bundle(_report()) == report_bundle(_report())
    other = report_bundle(_report(as_of="2025-06-02"))
    assert other["entry"][0]["fullUrl"] != report_bundle(_report())["entry"][0]["fullUrl"]


def test_cli_format_fhir(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "evaluate",
            str(EXAMPLES / "patient.fhir.json"),
            "--as-of",
            "2025-06-01",
            "--jurisdiction",
            "GB",
            "--format",
            "fhir",
            "--lang",
            "fr",
        ]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    validate_r4b(data)
    assert {e["resource"]["resourceType"] for e in data["entry"]} == {"DetectedIssue"}


def test_cli_on_invalid_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((EXAMPLES / "risperidone-girl.fhir.json").read_text(encoding="utf-8"))
    data["entry"][5]["resource"]["valueQuantity"]["value"] = 4850  # a weight in grams given as kg
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["evaluate", str(path), "--as-of", "2025-06-01"]) == 2
    assert "implausible" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--as-of", "2025-06-01", "--lenient"]) == 0
    assert "was skipped" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                str(EXAMPLES / "risperidone-girl.fhir.json"),
                "--as-of",
                "2025-06-01",
                "--strict",
            ]
        )
        == 2
    )
    assert "strict mode refused" in capsys.readouterr().err


def test_score_record_reads_fhir_and_keeps_the_reading_issues() -> None:
    result = score_record(
        EXAMPLES / "olanzapine-start.fhir.json",
        "pce",
        as_of=dt.date(2025, 6, 1),
        given={"bp_treated": False, "diabetes": False},
    )
    assert result.risk is not None
    assert {i.field for i in result.issues} == {"Encounter", "Practitioner"}
    assert result.as_dict()["data_issues"][0]["kind"] == "ignored"
