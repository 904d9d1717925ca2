"""Draft orders for due tests: FHIR R4 ``ServiceRequest`` s in CDS Hooks suggestions.

A monitoring test (cvrisk/data/tests.toml) is satisfied by a result of any of its analytes;
ordering it drafts one ServiceRequest per analyte (a lipid profile: total, HDL and LDL
cholesterol and triglycerides), each coded with the analyte's preferred LOINC code (the first
of its ``loinc`` list in cvrisk/data/analytes.toml), all in one suggestion (the actions of a
suggestion are accepted together). Tests that records cannot show as done (history taking)
are never ordered.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from cvrisk import vocab
from cvrisk.cdshooks.identity import derived_uuid
from cvrisk.cdshooks.model import Action, Suggestion
from cvrisk.cdshooks.options import CardOptions
from cvrisk.cdshooks.texts import localised, text

LOINC = "http://loinc.org"


@cache
def _orders(test_id: str) -> tuple[str, ...]:
    """The analytes an order of ``test_id`` drafts a ServiceRequest for (those with a LOINC
    code); none when the test cannot be ordered (not observable, unknown, or no analyte
    LOINC-coded). Computed once per test: every due test of every card asks."""
    entry = vocab.tests().get(test_id)
    if entry is None or not entry.get("observable", True):
        return ()
    return tuple(a for a in vocab.test_analytes(test_id) if vocab.analyte(a).loinc)


def service_request(
    analyte_id: str,
    *,
    options: CardOptions,
    due: dt.date | None,
    reason: str,
    rule: str,
    source: str,
) -> dict[str, Any]:
    """A draft ServiceRequest for one analyte (FHIR R4; ``subject`` is required)."""
    if options.patient is None:
        raise ValueError("a ServiceRequest needs a patient reference")
    analyte = vocab.analyte(analyte_id)
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": options.intent,
        "code": {
            "coding": [{"system": LOINC, "code": analyte.loinc[0]}],
            "text": localised(analyte.label, options.lang),
        },
        "subject": {"reference": options.patient},
    }
    if options.encounter:
        resource["encounter"] = {"reference": options.encounter}
    if due is not None:
        resource["occurrenceDateTime"] = due.isoformat()
    if options.requester:
        resource["requester"] = {"reference": options.requester}
    resource["reasonCode"] = [{"text": reason}]
    resource["note"] = [{"text": text("order.note", options.lang, rule=rule, source=source)}]
    return resource


def order_suggestion(
    test_id: str,
    label: str,
    *,
    options: CardOptions,
    due: dt.date | None,
    reason: str,
    rule: str,
    source: str,
    recommended: bool,
    title: str | None = None,
) -> Suggestion | None:
    """The suggestion ordering a test (None when it cannot be ordered, or no patient)."""
    analytes = _orders(test_id)
    if options.patient is None or not analytes:
        return None
    actions = []
    for analyte_id in analytes:
        analyte = vocab.analyte(analyte_id)
        resource = service_request(
            analyte_id, options=options, due=due, reason=reason, rule=rule, source=source
        )
        description = text(
            "order.action",
            options.lang,
            analyte=localised(analyte.label, options.lang),
            code=analyte.loinc[0],
        )
        actions.append(Action(type="create", description=description, resource=resource))
    suggestion_label = title or text("order.label", options.lang, test=label)
    # what the actions' JSON holds (each is a "create" of its resource), without writing it
    content = [suggestion_label, [[a.description, a.resource] for a in actions]]
    return Suggestion(
        label=suggestion_label,
        uuid=derived_uuid(options.seed, content),
        isRecommended=recommended,
        actions=actions,
    )
