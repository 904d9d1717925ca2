"""The shared summary in ``cvrisk serve`` (cvrisk.summary.service), against the real server
(two worker processes, JWT authentication on): POST /summary renders a Bundle in every
format; patient-view cards link to the card's own summary, served by either worker."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.service.conftest import MAX_BODY, Ehr, hook_body
from tests.service.fhir_data import example_resources, prefetch, searchset
from tests.service.support import Service

PV = "cvrisk-patient-view"


def _post(ehr: Ehr, body: bytes, query: str = "", token: bool = True) -> httpx.Response:
    headers = {"Content-Type": "application/fhir+json"}
    if token:
        headers.update(ehr.headers("/summary"))
    return ehr.http.post(f"/summary{query}", content=body, headers=headers, timeout=90.0)


@pytest.fixture(scope="module")
def bundle() -> bytes:
    return json.dumps(searchset(example_resources())).encode()


def test_post_renders_every_format(ehr: Ehr, bundle: bytes) -> None:
    html = _post(ehr, bundle, "?as_of=2025-06-01")
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert "Shared physical-health summary" in html.text and "nice-cg178/bmi-25" in html.text
    patient = _post(ehr, bundle, "?as_of=2025-06-01&audience=patient&lang=fr&format=markdown")
    assert patient.status_code == 200 and patient.text.startswith("# Vos examens")
    document = _post(ehr, bundle, "?as_of=2025-06-01&format=fhir")
    assert document.headers["content-type"].startswith("application/fhir+json")
    assert document.json()["type"] == "document"
    pdf = _post(ehr, bundle, "?as_of=2025-06-01&format=pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


def test_post_refusals(ehr: Ehr, bundle: bytes) -> None:
    unsigned = _post(ehr, bundle, token=False)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "unauthorized"
    other_audience = ehr.http.post(
        "/summary", content=bundle, headers=ehr.headers("/cds-services/cvrisk-patient-view")
    )
    assert other_audience.status_code == 401
    bad = _post(ehr, bundle, "?audience=carer")
    assert bad.status_code == 400 and "audience='carer'" in bad.json()["message"]
    empty = _post(ehr, b"  ")
    assert empty.status_code == 400 and "empty" in empty.json()["message"]
    big = _post(ehr, b" " * (MAX_BODY + 1))
    assert big.status_code == 413
    broken = _post(ehr, b'{"resourceType": "Bundle", "entry": 3}')
    assert broken.status_code == 400


def test_patient_view_cards_link_to_their_summary(ehr: Ehr, service: Service) -> None:
    body = hook_body("patient-view", prefetch=prefetch(example_resources()))
    response = ehr.call(PV, body)
    assert response.status_code == 200, response.text
    links = {link["url"] for card in response.json()["cards"] for link in card.get("links", [])}
    summary_links = sorted(u for u in links if "/summary/" in u)
    assert len(summary_links) == 2, links
    clinician, patient = summary_links
    assert patient == f"{clinician}?audience=patient"
    assert clinician.startswith(f"{service.url}/summary/")
    for _ in range(4):  # whichever worker answers, the summary is there (shared store)
        page = httpx.get(clinician, timeout=60.0)
        assert page.status_code == 200, page.text
        assert "Shared physical-health summary" in page.text
    plain = httpx.get(patient, timeout=60.0)
    assert plain.status_code == 200 and "Your physical health checks" in plain.text
    markdown = httpx.get(f"{clinician}?format=markdown", timeout=60.0)
    assert markdown.headers["content-type"].startswith("text/markdown")
    gone = httpx.get(f"{service.url}/summary/not-a-token", timeout=10.0)
    assert gone.status_code == 404 and gone.json()["error"] == "summary_expired"
    log = service.log_lines()
    assert any(line.get("event") == "summary" for line in log) or any(
        "summary" in json.dumps(line) for line in log
    )
    assert "example-1" not in json.dumps([line for line in log if "summary" in json.dumps(line)])
