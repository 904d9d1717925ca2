"""CDS Hooks 2.0.1 cards from cvrisk's reports and prescribing plans (pure functions).

No web dependency: the service (:mod:`cvrisk.service`) and any other integration call these
with a :class:`~cvrisk.rules.report.Report` (from :func:`cvrisk.evaluate`) or a
:class:`~cvrisk.rules.report.Plan` (from :func:`cvrisk.schedule`) and get cards that follow
the CDS Hooks 2.0.1 response rules (:mod:`cvrisk.cdshooks.model`).

- :func:`patient_view_cards`: due and overdue tests (with draft ServiceRequests), alerts,
  risk scores and data issues;
- :func:`order_cards`: the prescribing plan of an antipsychotic being ordered (baseline
  checklist against the record, follow-up schedule) and drug-specific warnings.
"""

from __future__ import annotations

from cvrisk.cdshooks.model import (
    Action,
    Card,
    CdsResponse,
    Coding,
    Link,
    Source,
    Suggestion,
)
from cvrisk.cdshooks.options import CardOptions
from cvrisk.cdshooks.order_time import order_cards, with_draft_medication
from cvrisk.cdshooks.patient_view import data_issues_card, error_card, patient_view_cards

__all__ = [
    "Action",
    "Card",
    "CardOptions",
    "CdsResponse",
    "Coding",
    "Link",
    "Source",
    "Suggestion",
    "data_issues_card",
    "error_card",
    "order_cards",
    "patient_view_cards",
    "with_draft_medication",
]
