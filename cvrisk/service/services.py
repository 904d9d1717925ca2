"""The CDS Services cvrisk offers, and what each does with a call.

Thin on purpose: a handler reads the gathered FHIR resources with the same functions a
library user calls (:func:`cvrisk.evaluate` reads them through :mod:`cvrisk.sources`, which
dispatches FHIR to :func:`cvrisk.fhir.read_fhir`; :func:`cvrisk.schedule` plans the drug
being ordered) and renders the result with :mod:`cvrisk.cdshooks`. No clinical logic lives
here. Handlers are synchronous (CPU work, serialised in the rules engine); the app runs them
in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cvrisk
from cvrisk.cdshooks import (
    Card,
    CardOptions,
    Link,
    data_issues_card,
    error_card,
    order_cards,
    patient_view_cards,
    with_draft_medication,
)
from cvrisk.cdshooks.order_time import unknown_antipsychotic_card
from cvrisk.errors import CvriskError
from cvrisk.issues import DataIssue
from cvrisk.record import PatientRecord
from cvrisk.rules.report import Report
from cvrisk.service.drafts import draft_antipsychotics
from cvrisk.service.hooks import HookRequest
from cvrisk.service.prefetch import Gathered, record_templates
from cvrisk.service.settings import ServiceSettings
from cvrisk.sources import read_record

#: Links a patient-view card may carry beyond its own (the extension point for pages such as
#: a shared summary: see :mod:`cvrisk.service.extensions`).
LinkProvider = Callable[
    [Report, HookRequest, Sequence[dict[str, Any]], PatientRecord], Sequence[Link]
]


@dataclass(frozen=True)
class Call:
    """One call, as the handler sees it."""

    request: HookRequest
    gathered: Gathered
    settings: ServiceSettings
    lang: str
    today: dt.date
    link_providers: Sequence[LinkProvider] = field(default_factory=tuple)

    def options(self, links: Sequence[Link] = ()) -> CardOptions:
        context = self.request.context
        user = context.get("userId")
        encounter = context.get("encounterId")
        return CardOptions(
            lang=self.lang,
            patient=f"Patient/{self.request.patient_id}",
            encounter=f"Encounter/{encounter}" if isinstance(encounter, str) else None,
            requester=user if isinstance(user, str) and "/" in user else None,
            intent=self.settings.order_intent,
            seed=self.request.hookInstance,
            codes_base=self.settings.codes_base,
            links=tuple(links),
            info_issues=self.settings.info_issues,
        )


Handler = Callable[[Call], list[Card]]


@dataclass(frozen=True)
class CdsService:
    """A service of the discovery document, and its handler."""

    id: str
    hook: str
    title: str
    description: str
    handler: Handler
    usage_requirements: str | None = None

    @property
    def prefetch(self) -> dict[str, str]:
        return prefetch_templates()

    def discovery(self) -> dict[str, Any]:
        """The service's entry of ``GET /cds-services``."""
        out: dict[str, Any] = {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": self.prefetch,
        }
        if self.usage_requirements:
            out["usageRequirements"] = self.usage_requirements
        return out


@cache
def prefetch_templates() -> dict[str, str]:
    return record_templates()


def _error(call: Call, exc: CvriskError) -> list[Card]:
    return [error_card(type(exc).__name__, str(exc), call.options())]


def patient_view(call: Call) -> list[Card]:
    """Tests due and overdue, alerts, risk scores and data issues for the patient."""
    settings = call.settings
    try:
        # read once: the evaluation and the link providers (the shared summary keeps the
        # record) use the same record, as a second read_record of the resources would give
        read = read_record(call.gathered.resources, on_invalid="report")
        report = cvrisk.evaluate(
            read,
            as_of=call.today,
            jurisdiction=settings.jurisdiction,
            lang=call.lang,
            record_complete=settings.record_complete,
            on_invalid="report",
        )
    except CvriskError as exc:
        return _error(call, exc)
    if call.gathered.issues:
        issues = [*call.gathered.issues, *report.data_issues]
        report = report.model_copy(update={"data_issues": issues})
    resources = call.gathered.resources
    links = [
        link
        for provider in call.link_providers
        for link in provider(report, call.request, resources, read.record)
    ]
    return patient_view_cards(report, call.options(links))


def orders(call: Call) -> list[Card]:
    """The prescribing plan and drug warnings for each antipsychotic being ordered."""
    settings = call.settings
    context = call.request.context
    selections = context.get("selections") if call.request.hook == "order-select" else None
    drafts, unplaced = draft_antipsychotics(
        context["draftOrders"],
        patient_id=call.request.patient_id,
        selections=selections,
        today=call.today,
    )
    options = call.options()
    cards = [
        unknown_antipsychotic_card(
            u.name,
            u.codes,
            u.reference,
            options,
            conflict=u.why,
            unrecognised=u.unrecognised,
            suggestions=u.suggestions,
        )
        for u in unplaced
    ]
    if not drafts:
        return cards
    try:
        read = read_record(call.gathered.resources, on_invalid="report")
    except CvriskError as exc:
        return [*cards, *_error(call, exc)]
    record = read.record
    issues: list[DataIssue] = [*call.gathered.issues, *read.issues]
    for draft in drafts:
        try:
            plan = cvrisk.schedule(
                draft.name,
                draft.start,
                patient=record.patient,
                jurisdiction=settings.jurisdiction,
                lang=call.lang,
            )
            findings = cvrisk.evaluate(
                with_draft_medication(record, draft.drug, draft.start, draft.formulation),
                as_of=max(call.today, draft.start),
                jurisdiction=settings.jurisdiction,
                lang=call.lang,
                scores=[],
                record_complete=settings.record_complete,
            )
        except CvriskError as exc:
            cards.extend(_error(call, exc))
            continue
        cards.extend(
            order_cards(
                plan,
                record=record,
                findings=findings,
                as_of=call.today,
                jurisdiction=settings.jurisdiction,
                options=options,
            )
        )
    warnings = [issue for issue in issues if issue.severity == "warning"]
    issues_card = data_issues_card(warnings, options)
    return [*cards, *([issues_card] if issues_card else [])]


_RECORD_NOTE = (
    "Prefetch: the patient, conditions, medication requests and statements, and the "
    "observations cvrisk reads (LOINC); missing keys are fetched with fhirServer and "
    "fhirAuthorization, or the call fails with 412."
)

SERVICES: tuple[CdsService, ...] = (
    CdsService(
        id="cvrisk-patient-view",
        hook="patient-view",
        title="cvrisk: physical health monitoring on antipsychotics",
        description=(
            "Monitoring tests due and overdue (with draft orders), alerts from the protocols' "
            "thresholds, cardiovascular risk scores and data issues, each citing its guideline "
            "(NICE CG178 with Lester thresholds, ADA/APA 2004, Afssaps 2010, CAMESA 2011, "
            "clozapine FDA/UK, ECG/QTc)."
        ),
        handler=patient_view,
        usage_requirements=_RECORD_NOTE,
    ),
    CdsService(
        id="cvrisk-order-select",
        hook="order-select",
        title="cvrisk: prescribing plan for an antipsychotic",
        description=(
            "When an antipsychotic is selected: its baseline checklist against the record "
            "(missing tests as draft orders), its follow-up schedule, drug-specific warnings "
            "from existing results, and clozapine registration requirements."
        ),
        handler=orders,
        usage_requirements=_RECORD_NOTE,
    ),
    CdsService(
        id="cvrisk-order-sign",
        hook="order-sign",
        title="cvrisk: prescribing plan check at signature",
        description=(
            "When antipsychotic orders are signed: the same plan and warnings as at selection, "
            "for every draft antipsychotic order."
        ),
        handler=orders,
        usage_requirements=_RECORD_NOTE,
    ),
)
SERVICES_BY_ID = {service.id: service for service in SERVICES}
