"""What a card builder needs to know besides the report: language, who and what the cards
are about (FHIR references for the drafted orders), and the call they answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cvrisk.cdshooks.model import Link
from cvrisk.cdshooks.texts import DEFAULT_CODES_BASE
from cvrisk.errors import OptionError
from cvrisk.rules.messages import check_lang

#: ServiceRequest.intent values cvrisk may draft (FHIR R4 request-intent): a CDS suggestion is
#: a ``proposal`` unless the site lets accepted suggestions become ``order`` s directly.
Intent = Literal["proposal", "plan", "order"]
INTENTS: tuple[Intent, ...] = ("proposal", "plan", "order")


@dataclass(frozen=True)
class CardOptions:
    """Options of the card builders.

    Attributes:
        lang: ``en`` or ``fr``.
        patient: FHIR reference of the patient (``Patient/123``): the ``subject`` of drafted
            ServiceRequests. Without it (and without a record id) no order is suggested.
        encounter: FHIR reference of the encounter in context, if any.
        requester: FHIR reference of the user (``Practitioner/abc``), if known.
        intent: ``ServiceRequest.intent`` of drafted orders.
        seed: makes identifiers unique per call (the service passes ``hookInstance``).
        codes_base: base URI of cvrisk's code systems (topics, override reasons).
        links: extra links put on every patient-view card (e.g. a shared summary page).
        info_issues: show a card when the only data issues are informational.
    """

    lang: str = "en"
    patient: str | None = None
    encounter: str | None = None
    requester: str | None = None
    intent: Intent = "proposal"
    seed: str = ""
    codes_base: str = DEFAULT_CODES_BASE
    links: tuple[Link, ...] = field(default_factory=tuple)
    info_issues: bool = True

    def __post_init__(self) -> None:
        check_lang(self.lang)
        if self.intent not in INTENTS:
            raise OptionError(f"intent={self.intent!r}: use one of {', '.join(INTENTS)}")
        for name in ("patient", "encounter", "requester"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or "/" not in value):
                raise OptionError(f"{name}={value!r}: give a FHIR reference such as 'Patient/123'")

    def with_patient(self, patient_id: str | None) -> CardOptions:
        """These options with ``Patient/<patient_id>`` as the patient when none is set."""
        if self.patient is not None or not patient_id:
            return self
        from dataclasses import replace

        reference = patient_id if "/" in patient_id else f"Patient/{patient_id}"
        return replace(self, patient=reference)
