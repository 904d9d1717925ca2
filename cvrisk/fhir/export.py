"""A :class:`~cvrisk.rules.report.Report` as FHIR R4 resources.

- One **RiskAssessment** per computed score: ``status`` final, ``subject`` the patient,
  ``occurrenceDateTime`` the evaluation date, ``method`` the model (cvrisk model id, title
  and citation), ``prediction[0]`` with the model's ``outcome``, ``probabilityDecimal`` (the
  risk, 0-1) and ``whenPeriod`` (the evaluation date to the end of the model's horizon),
  ``basis`` the record entries the score read (the source Observations, Conditions and
  medication resources when the record came from FHIR), ``note`` the caveats.
- One **DetectedIssue** per alert: ``status`` final, ``code`` and ``identifier`` the alert
  code (``protocol/rule``), ``severity`` critical -> high, warning -> moderate, info -> low,
  ``detail`` the message and the guideline item it comes from, ``reference`` the
  protocol's URL, ``evidence`` one item per result behind the alert (the source Observation,
  or the RiskAssessment of this output for a score), ``implicated`` the source resources.
- :func:`report_bundle` puts them in a ``collection`` Bundle. Ids are UUIDs derived from the
  patient, the date and the score or alert, so the same report gives the same resources.

Texts are in the report's language (``en`` or ``fr``): messages and caveats come worded from
the evaluation, fixed phrases from ``cvrisk/data/fhir_messages.toml``; model titles,
outcomes and citations are given as their sources state them (English).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from functools import cache
from typing import Any

from cvrisk import vocab
from cvrisk.data import load_data
from cvrisk.fhir.context import codes
from cvrisk.rules.report import Alert, Evidence, Report, ScoreEntry
from cvrisk.scores.registry import get_model
from cvrisk.units import display_unit

_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}|urn:(uuid|oid):\S+|https?://\S+")
_NAMESPACE = uuid.UUID("5d1f7f0e-3c9a-5b0e-9a57-0c7b1f3e2a11")


@cache
def _messages() -> dict[str, Any]:
    return load_data("fhir_messages.toml")


def _phrase(key: str, lang: str, **values: Any) -> str:
    node = _messages()[key]
    return str(node.get(lang) or node["en"]).format(**values)


def report_resources(report: Report) -> list[dict[str, Any]]:
    """The RiskAssessments (computed scores) and DetectedIssues (alerts) of a report."""
    return [resource for _, resource in _entries(report)]


def report_bundle(report: Report) -> dict[str, Any]:
    """The report's resources in a FHIR ``collection`` Bundle (``fullUrl`` urn:uuid)."""
    entries = _entries(report)
    return {
        "resourceType": "Bundle",
        "id": _uuid(report, "bundle"),
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


def _uuid(report: Report, *parts: str) -> str:
    key = "|".join((report.patient_id or "", report.as_of.isoformat(), *parts))
    return str(uuid.uuid5(_NAMESPACE, key))


def _subject(report: Report) -> dict[str, str]:
    patient = report.patient_id
    if not patient:
        return {"display": _phrase("no_patient", report.lang)}
    return {"reference": patient if "/" in patient or ":" in patient else f"Patient/{patient}"}


def _references(ids: list[str]) -> list[dict[str, str]]:
    """References to record entries whose id is a FHIR reference (native ids are not)."""
    return [{"reference": i} for i in dict.fromkeys(ids) if _REFERENCE.fullmatch(i)]


def _entries(report: Report) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    score_urls: dict[str, str] = {}
    for score in report.scores:
        if score.risk is None:
            continue
        resource = _risk_assessment(report, score)
        url = f"urn:uuid:{resource['id']}"
        score_urls[score.model] = url
        out.append((url, resource))
    for index, alert in enumerate(report.alerts):
        resource = _detected_issue(report, alert, index, score_urls)
        out.append((f"urn:uuid:{resource['id']}", resource))
    return out


def _risk_assessment(report: Report, score: ScoreEntry) -> dict[str, Any]:
    info = get_model(score.model).info
    assert score.risk is not None
    prediction: dict[str, Any] = {
        "outcome": {"text": info.outcome},
        "probabilityDecimal": round(score.risk, 6),
    }
    if info.horizon_years:
        prediction["whenPeriod"] = {
            "start": report.as_of.isoformat(),
            "end": _years_later(report.as_of, info.horizon_years).isoformat(),
        }
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": _uuid(report, "score", score.model),
        "status": "final",
        "code": {"text": _phrase("risk_assessment", report.lang)},
        "subject": _subject(report),
        "occurrenceDateTime": report.as_of.isoformat(),
        "method": {
            "coding": [
                {
                    "system": codes()["output"]["model_system"],
                    "code": score.model,
                    "display": info.title,
                }
            ],
            "text": _phrase("method", report.lang, title=info.title, source=info.source),
        },
        "prediction": [prediction],
    }
    basis = _references(score.basis)
    if basis:
        resource["basis"] = basis
    if score.caveats:
        resource["note"] = [{"text": caveat} for caveat in score.caveats]
    return resource


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 3, 1)


def _detected_issue(
    report: Report, alert: Alert, index: int, score_urls: dict[str, str]
) -> dict[str, Any]:
    lang = report.lang
    system = codes()["output"]["alert_system"]
    detail = f"{alert.message}\n\n{_phrase('source', lang, source=alert.source)}"
    if alert.evidence_status == "unconfirmed":
        detail += f" {_phrase('unconfirmed', lang)}"
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": _uuid(report, "alert", alert.code, str(index)),
        "identifier": [{"system": system, "value": alert.code}],
        "status": "final",
        "code": {"coding": [{"system": system, "code": alert.code}], "text": alert.code},
        "severity": codes()["output"]["severity"][alert.severity],
        "patient": _subject(report),
        "identifiedDateTime": report.as_of.isoformat(),
        "detail": detail,
    }
    url = _protocol_url(alert.protocol)
    if url:
        resource["reference"] = url
    evidence = [_evidence(item, lang, score_urls) for item in alert.evidence]
    if evidence:
        resource["evidence"] = evidence
    implicated = _references([e.resource for e in alert.evidence if e.resource])
    if implicated:
        resource["implicated"] = implicated
    return resource


def _protocol_url(protocol: str) -> str | None:
    from cvrisk.rules.catalog import protocol_infos

    info = protocol_infos().get(protocol)
    return info.url if info is not None else None


def _evidence(item: Evidence, lang: str, score_urls: dict[str, str]) -> dict[str, Any]:
    role, _, derived = item.role.partition(" (")
    roles = _messages()["role"]
    role_text = roles.get(role, {}).get(lang, role)
    if derived:
        role_text = f"{role_text}, {roles['derived'][lang]}"
    if item.role == "score":
        label = get_model(item.analyte).info.title if item.analyte in score_urls else item.analyte
    else:
        entry = vocab.analytes().get(item.analyte)
        label = entry.label.get(lang, item.analyte) if entry is not None else item.analyte
    if item.coded is not None:
        value = item.coded
    elif item.value is not None:
        number = f"{item.value:.4g}" if abs(item.value) < 1e4 else f"{item.value:.0f}"
        number = number.replace(".", ",") if lang == "fr" else number
        value = f"{number} {display_unit(item.unit) if item.unit else ''}".strip()
    else:
        value = "-"
    if item.date is not None:
        text = _phrase("evidence", lang, label=label, value=value, date=item.date, role=role_text)
    else:
        text = _phrase("evidence_undated", lang, label=label, value=value, role=role_text)
    out: dict[str, Any] = {"code": [{"text": text}]}
    target = score_urls.get(item.analyte) if item.role == "score" else item.resource
    if target and (target.startswith("urn:uuid:") or _REFERENCE.fullmatch(target)):
        out["detail"] = [{"reference": target}]
    return out
