"""The FHIR document: a valid R4B document Bundle whose Composition has the medication,
monitoring, alert, risk and data-issue sections, every reference resolved inside it, and
the RiskAssessments and DetectedIssues of cvrisk.fhir reused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from cvrisk.fhir import report_resources
from cvrisk.summary import render
from tests.summary.conftest import CASES, context


def _references(node: Any, top: bool = True) -> list[str]:
    """Every Reference.reference under a resource (DetectedIssue.reference, a uri at the
    resource's top level, is not a Reference)."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and not top and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_references(value, top=False))
    elif isinstance(node, list):
        for value in node:
            out.extend(_references(value, top=False))
    return out


@pytest.mark.parametrize("audience", ["clinician", "patient"])
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_valid_self_contained_document(case: str, audience: str) -> None:
    ctx = context(case)
    doc = render(ctx, audience, "fhir")  # type: ignore[arg-type]
    assert isinstance(doc, dict)
    Bundle.model_validate(copy.deepcopy(doc))  # R4B structure and datatypes
    assert doc["type"] == "document" and doc["identifier"]["value"].startswith("urn:uuid:")
    assert doc["timestamp"].endswith("+00:00")
    entries = doc["entry"]
    composition = entries[0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    assert composition["language"] == ctx.lang
    urls = {e["fullUrl"]: e["resource"] for e in entries}
    assert len(urls) == len(entries)
    for entry in entries:
        for target in _references(entry["resource"]):
            assert target in urls, f"{entry['resource']['resourceType']}: {target}"
    by_key = {s["title"]: s for s in composition["section"]}
    assert len(by_key) == 5
    kinds = {
        s["title"]: {urls[e["reference"]]["resourceType"] for e in s.get("entry", [])}
        for s in composition["section"]
    }
    expected = [
        {"MedicationStatement"},
        {"Observation"},
        {"DetectedIssue"},
        {"RiskAssessment"},
        set(),
    ]
    for section, wanted in zip(composition["section"], expected, strict=True):
        got = kinds[section["title"]]
        assert got <= wanted and (got or "emptyReason" in section), section["title"]
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert urls[composition["subject"]["reference"]]["resourceType"] == "Patient"
    assert urls[composition["author"][0]["reference"]]["resourceType"] == "Device"


def test_reuses_the_fhir_mapping() -> None:
    """RiskAssessments and DetectedIssues are cvrisk.fhir's, only their references moved."""
    ctx = context("gb-en-scores")
    doc = render(ctx, "clinician", "fhir")
    assert isinstance(doc, dict)
    ours = {e["resource"]["id"]: e["resource"] for e in doc["entry"]}
    theirs = report_resources(ctx.report)
    assert any(r["resourceType"] == "RiskAssessment" for r in theirs)
    for resource in theirs:
        copy_ = copy.deepcopy(ours[resource["id"]])
        for key in ("subject", "patient"):
            if key in copy_:
                copy_[key] = resource[key]
        if "evidence" in copy_:
            copy_["evidence"] = resource["evidence"]
            copy_["implicated"] = resource.get("implicated")
            if copy_["implicated"] is None:
                copy_.pop("implicated")
        assert copy_ == resource


def test_fhir_record_observations_are_pointed_at_the_copies() -> None:
    ctx = context("gb-en-fhir")
    doc = render(ctx, "clinician", "fhir")
    assert isinstance(doc, dict)
    issues = [
        e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "DetectedIssue"
    ]
    details = [
        d["reference"] for i in issues for ev in i.get("evidence", []) for d in ev.get("detail", [])
    ]
    assert details and all(d.startswith("urn:uuid:") for d in details)
    observations = [
        e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert all(o["identifier"][0]["value"].startswith("Observation/") for o in observations)
