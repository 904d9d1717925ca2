"""The summary as a FHIR R4 document: a Bundle of type ``document`` (for a shared record
such as France's *Mon espace santé*, or for the EHR to file).

The first entry is a **Composition** (type LOINC 60591-5 "Patient summary Document",
author: cvrisk as a Device, subject: the Patient) with sections for the antipsychotic
courses (MedicationStatement entries), the monitoring plan and last results (Observation
entries), the alerts (DetectedIssue entries), the risk scores (RiskAssessment entries) and
the data issues (narrative). Each section carries the summary's narrative in the report's
language, for the chosen audience.

The RiskAssessments and DetectedIssues are :mod:`cvrisk.fhir`'s own mapping of the report
(:func:`cvrisk.fhir.report_resources`), reused as they are; only their references are
pointed at the copies in this document (the Patient, and the Observations a record read from
FHIR names), so that the document is self-contained. Codes and their sources:
``cvrisk/data/summary_fhir.toml``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from markupsafe import escape

from cvrisk import vocab
from cvrisk.data import load_data
from cvrisk.errors import CvriskError
from cvrisk.record import Observation
from cvrisk.rules.messages import drug_label
from cvrisk.summary.clinician import ClinicianView, clinician_view
from cvrisk.summary.context import Context
from cvrisk.summary.patient import PatientView, patient_view
from cvrisk.summary.texts import label, page_text
from cvrisk.units import display_unit, parse_unit

_NAMESPACE = uuid.UUID("8c0f3b8e-6a5d-5b61-9d3e-6f7d0c2b9a41")
_XHTML = "http://www.w3.org/1999/xhtml"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"


def _codes() -> dict[str, Any]:
    return load_data("summary_fhir.toml")


def _uuid(ctx: Context, *parts: str) -> str:
    key = "|".join((ctx.report.patient_id or "", ctx.as_of.isoformat(), *parts))
    return str(uuid.uuid5(_NAMESPACE, key))


def _div(*blocks: str) -> dict[str, str]:
    """A generated Narrative from XHTML blocks (already escaped)."""
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}">{"".join(blocks)}</div>'}


def _list(items: Iterable[object]) -> str:
    entries = "".join(f"<li>{escape(str(item))}</li>" for item in items)
    return f"<ul>{entries}</ul>" if entries else ""


def _p(text: object) -> str:
    return f"<p>{escape(str(text))}</p>"


def _coding(entry: dict[str, Any]) -> dict[str, Any] | None:
    if "code" not in entry:
        return None
    return {"coding": [{k: entry[k] for k in ("system", "code", "display")}]}


class _Document:
    """The resources of one document, with their ``fullUrl`` s."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.entries: list[tuple[str, dict[str, Any]]] = []
        self.observations: dict[int, str] = {}  # record index -> fullUrl

    def add(self, resource: dict[str, Any]) -> str:
        url = f"urn:uuid:{resource['id']}"
        self.entries.append((url, resource))
        return url

    def reference(self, url: str) -> dict[str, str]:
        return {"reference": url}


def summary_document(ctx: Context, audience: str) -> dict[str, Any]:
    """The summary as a FHIR R4 ``document`` Bundle (a JSON-ready dict)."""
    from cvrisk.fhir import report_resources

    doc = _Document(ctx)
    patient_url = doc.add(_patient(ctx))
    device_url = doc.add(_device(ctx))
    subject = doc.reference(patient_url)

    medication_urls = [doc.add(r) for r in _medication_statements(ctx, subject)]
    for index in _shown_observations(ctx):
        obs = ctx.record.observations[index]
        doc.observations[index] = doc.add(_observation(ctx, index, obs, subject))

    rewrite = _reference_map(ctx, patient_url, doc.observations)
    alert_urls: list[str] = []
    risk_urls: list[str] = []
    for resource in report_resources(ctx.report):
        _rewrite(resource, rewrite)
        url = doc.add(resource)
        (risk_urls if resource["resourceType"] == "RiskAssessment" else alert_urls).append(url)

    if audience == "clinician":
        narratives = _clinician_narratives(clinician_view(ctx))
    else:
        narratives = _patient_narratives(patient_view(ctx))
    entries = {
        "medications": medication_urls,
        "monitoring": list(doc.observations.values()),
        "alerts": alert_urls,
        "risk": risk_urls,
        "issues": [],
    }
    sections = []
    for key in ("medications", "monitoring", "alerts", "risk", "issues"):
        section: dict[str, Any] = {
            "title": label(f"fhir.section_{key}", ctx.lang),
            "text": _div(narratives[key] or _p(label("fhir.empty", ctx.lang))),
        }
        code = _coding(_codes()["sections"].get(key, {}))
        if code is not None:
            section["code"] = code
        if entries[key]:
            section["entry"] = [doc.reference(u) for u in entries[key]]
        else:
            section["emptyReason"] = {"text": label("fhir.empty", ctx.lang)}
        sections.append(section)

    title = label(f"fhir.title_{audience}", ctx.lang)
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": _uuid(ctx, "composition", audience, ctx.lang),
        "language": ctx.lang,
        "text": _div(_p(title), _p(narratives["header"])),
        "status": "final",
        "type": _coding(_codes()["composition"]),
        "subject": subject,
        "date": ctx.as_of.isoformat(),
        "author": [doc.reference(device_url)],
        "title": title,
        "section": sections,
    }
    composition_url = f"urn:uuid:{composition['id']}"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "resourceType": "Bundle",
        "id": _uuid(ctx, "document", audience, ctx.lang),
        "language": ctx.lang,
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{_uuid(ctx, 'document-identifier', audience, ctx.lang)}",
        },
        "type": "document",
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": composition_url, "resource": composition},
            *({"fullUrl": url, "resource": resource} for url, resource in doc.entries),
        ],
    }


def _patient(ctx: Context) -> dict[str, Any]:
    patient = ctx.record.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _uuid(ctx, "patient"),
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    if patient.id:
        resource["identifier"] = [{"system": "urn:cvrisk:patient-id", "value": patient.id}]
    return resource


def _device(ctx: Context) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": _uuid(ctx, "device"),
        "deviceName": [{"name": "cvrisk", "type": "manufacturer-name"}],
        "version": [{"value": ctx.report.cvrisk_version}],
        "type": {"text": _codes()["device"]["type_text"]},
    }


def _medication_statements(ctx: Context, subject: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for index, course in enumerate(ctx.courses):
        rx = course.prescription
        catalogue = vocab.antipsychotics().get(rx.drug, {})
        concept: dict[str, Any] = {"text": drug_label(rx.drug, ctx.lang)}
        if catalogue.get("atc") and catalogue.get("atc_status") == "confirmed":
            concept["coding"] = [
                {"system": ATC, "code": catalogue["atc"], "display": drug_label(rx.drug, "en")}
            ]
        period = {"start": rx.start.isoformat()}
        if rx.stop is not None:
            period["end"] = rx.stop.isoformat()
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": _uuid(ctx, "medication", str(index), rx.drug, rx.start.isoformat()),
            "status": "active" if rx.active_on(ctx.as_of) else "completed",
            "medicationCodeableConcept": concept,
            "subject": subject,
            "effectivePeriod": period,
            "dateAsserted": ctx.as_of.isoformat(),
        }
        latest = max(course.entries, key=lambda i: ctx.record.medications[i].start, default=None)
        if latest is not None:
            med = ctx.record.medications[latest]
            dose = (
                f"{med.dose.value:g} {display_unit(med.dose.unit)}" if med.dose is not None else ""
            )
            text = " ".join(part for part in (dose, med.route or "") if part)
            if text:
                resource["dosage"] = [{"text": text}]
        if course.event != "start":
            resource["note"] = [{"text": label(f"event.{course.event}", ctx.lang)}]
        out.append(resource)
    return out


def _shown_observations(ctx: Context) -> list[int]:
    """Record indexes of the results the summary shows: each monitored test's last result
    and each result an alert rests on (by its record entry, date and value)."""
    wanted: set[tuple[str, dt.date]] = set()
    for test in ctx.report.tests:
        if test.last_result is not None:
            wanted.update((a, test.last_result) for a in vocab.test_analytes(test.test))
    for alert in ctx.report.alerts:
        wanted.update((e.analyte, e.date) for e in alert.evidence if e.date is not None)
    return [
        i
        for i, obs in enumerate(ctx.record.observations)
        if (obs.analyte_id, obs.day) in wanted and obs.day <= ctx.as_of
    ]


def _observation(
    ctx: Context, index: int, obs: Observation, subject: dict[str, str]
) -> dict[str, Any]:
    analyte = vocab.analyte(obs.analyte_id)
    code: dict[str, Any] = {"text": analyte.label.get(ctx.lang) or analyte.label.get("en", "")}
    if analyte.loinc:
        code["coding"] = [
            {"system": LOINC, "code": analyte.loinc[0], "display": analyte.label.get("en", "")}
        ]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _uuid(ctx, "observation", str(index)),
        "status": obs.status,
        "code": code,
        "subject": subject,
        "effectiveDateTime": obs.date.isoformat(),
    }
    if obs.value is not None and obs.unit is not None:
        try:
            ucum_code = parse_unit(obs.unit).code
        except CvriskError:  # a validated record's unit always parses; said, not hidden
            ucum_code = None
        quantity: dict[str, Any] = {"value": obs.value, "unit": display_unit(obs.unit)}
        if ucum_code is not None:
            quantity.update(system=UCUM, code=ucum_code)
        resource["valueQuantity"] = quantity
    elif obs.coded is not None:
        resource["valueCodeableConcept"] = {"text": obs.coded}
    if obs.id:
        resource["identifier"] = [{"system": "urn:cvrisk:record-entry", "value": obs.id}]
    return resource


def _reference_map(ctx: Context, patient_url: str, observations: dict[int, str]) -> dict[str, str]:
    """References of the cvrisk.fhir resources to point at this document's copies."""
    mapping = {}
    if ctx.report.patient_id:
        pid = ctx.report.patient_id
        mapping[pid if "/" in pid or ":" in pid else f"Patient/{pid}"] = patient_url
    for index, url in observations.items():
        entry_id = ctx.record.observations[index].id
        if entry_id:
            mapping[entry_id] = url
    return mapping


def _rewrite(node: Any, mapping: dict[str, str]) -> None:
    """Replace, in place, every ``reference`` found in ``mapping``."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in mapping:
            node["reference"] = mapping[ref]
        for value in node.values():
            _rewrite(value, mapping)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value, mapping)


def _clinician_narratives(v: ClinicianView) -> dict[str, str]:
    lang = v.lang
    colon = label("punct.colon", lang)
    courses = []
    for c in v.courses:
        stop = str(c.stop) if c.stop else label("timeline.ongoing", lang)
        event = f" ({c.event_label})" if c.event != "start" else ""
        dose = f" {c.dose}" if c.dose else ""
        courses.append(f"{c.drug}{dose}{colon} {c.start} → {stop}{event}")
    monitoring = []
    for r in v.monitoring:
        last = " · ".join(f"{p.label} {p.value} {p.unit}" for p in r.parts)
        when = f" ({r.last})" if r.last else ""
        items = ", ".join(str(q.code) for q in r.requests)
        monitoring.append(
            f"{r.label}{colon} {r.status_label}, {label('clinician.col_due', lang).lower()} "
            f"{r.due}; {label('clinician.col_last', lang).lower()} {last or '—'}{when} [{items}]"
        )
    alerts = [
        f"{a.severity_label}{colon} {a.message} [{a.code}]"
        + (f" — {label('clinician.lead', lang)} {', '.join(a.leads)}" if a.leads else "")
        for a in v.alerts
    ]
    risk = []
    for s in v.scores:
        value = f"{s.risk} %" if s.risk is not None else label("clinician.not_computable", lang)
        risk.append(f"{s.title}{colon} {value}")
        risk.extend(str(c) for c in s.caveats)
    issues = [str(i.message) for i in (*v.warnings, *v.infos)] + v.notes
    years, as_of = label("clinician.years", lang), label("clinician.as_of", lang)
    header = f"{v.sex}, {v.age} {years} — {as_of} {v.as_of}"
    return {
        "header": header,
        "medications": _list(courses),
        "monitoring": _list(monitoring),
        "alerts": _list(alerts),
        "risk": _list(risk),
        "issues": _list(issues),
    }


def _patient_narratives(v: PatientView) -> dict[str, str]:
    lang = v.lang
    checks = [
        f"{c.name}{label('punct.colon', lang)} {c.when}" + (f" {c.why}" if c.why else "")
        for c in (*v.due_now, *v.coming, *v.maybe)
    ]
    findings = [" ".join(str(t) for t in (f.meaning, f.team) if t is not None) for f in v.findings]
    risk = [f"{r.sentence} " + " ".join(str(c) for c in r.caveats) for r in v.risks]
    return {
        "header": str(v.intro),
        "medications": _list(v.medicines),
        "monitoring": _list(checks),
        "alerts": _list([*findings, *v.you_can]),
        "risk": _list(risk),
        "issues": _list([*([v.warning] if v.warning else []), *v.ask, v.closing])
        or _p(page_text("ask_default", lang)),
    }
