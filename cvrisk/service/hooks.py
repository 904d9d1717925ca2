"""The CDS Hooks 2.0.1 request: its envelope, and each hook's context.

Field rules come from the specification ("Calling a CDS Service", the hook pages
patient-view 1.0, order-select 1.0 and order-sign 1.0, and the HL7 build invariant cds-r-1:
``fhirAuthorization`` implies ``fhirServer``). Invalid requests raise :class:`RequestError`
(HTTP 400) naming the field and what is wrong.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Required context fields per hook (the hook pages' "Context" tables), and their JSON type.
CONTEXT: dict[str, dict[str, type]] = {
    "patient-view": {"userId": str, "patientId": str},
    "order-select": {"userId": str, "patientId": str, "selections": list, "draftOrders": dict},
    "order-sign": {"userId": str, "patientId": str, "draftOrders": dict},
}
#: Optional context fields (all three hooks).
OPTIONAL_CONTEXT: dict[str, type] = {"encounterId": str}


class RequestError(ValueError):
    """The request is malformed (HTTP 400, or ``status``)."""

    def __init__(self, message: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class FhirAuthorization(BaseModel):
    """The OAuth 2.0 bearer token the EHR grants the service for its FHIR server."""

    model_config = ConfigDict(extra="allow", frozen=True)

    access_token: str = Field(min_length=1)
    token_type: str
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be 'Bearer'")
        return value

    def __repr__(self) -> str:  # never print the token
        return f"FhirAuthorization(subject={self.subject!r}, scope={self.scope!r})"


class HookRequest(BaseModel):
    """A CDS Service call (extensions and future fields are kept, not refused)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    hook: str = Field(min_length=1)
    hookInstance: str  # noqa: N815 - the specification's names
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("hookInstance must be a UUID") from None
        return value

    @field_validator("fhirServer")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("fhirServer must be an http(s) base URL")
        return value

    @property
    def patient_id(self) -> str:
        return str(self.context["patientId"])


def parse_request(body: Any, hook: str) -> HookRequest:
    """The call for a service of ``hook``, checked.

    Raises:
        RequestError: not an object, a missing or invalid field, another hook, a context
            field missing or of the wrong type, fhirAuthorization without fhirServer.
    """
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, not {type(body).__name__}")
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestError(_problems(exc)) from None
    if request.hook != hook:
        raise RequestError(
            f"this service answers the {hook!r} hook, not {request.hook!r}", code="wrong_hook"
        )
    if request.fhirAuthorization is not None and request.fhirServer is None:
        raise RequestError("fhirAuthorization is given without fhirServer (cds-r-1)")
    for name, kind in CONTEXT[hook].items():
        _context_field(request.context, name, kind, hook, required=True)
    for name, kind in OPTIONAL_CONTEXT.items():
        _context_field(request.context, name, kind, hook, required=False)
    if request.prefetch is not None and not isinstance(request.prefetch, dict):
        raise RequestError("prefetch must be an object of prefetch keys")
    return request


_EXPECTED: dict[type, str] = {str: "a non-empty string", list: "an array", dict: "an object"}


def _context_field(
    context: dict[str, Any], name: str, kind: type, hook: str, *, required: bool
) -> None:
    if name not in context:
        if required:
            raise RequestError(f"context.{name} is required for {hook}", code="missing_context")
        return
    value = context[name]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        expected = _EXPECTED.get(kind, kind.__name__)
        raise RequestError(f"context.{name} must be {expected}", code="bad_context")


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "invalid CDS Hooks request: " + "; ".join(parts)


def language(request: HookRequest, accept_language: str | None, default: str) -> str:
    """The card language: the request extension ``org.cvrisk.lang``, else the first of
    ``Accept-Language`` that cvrisk speaks (``fr-FR`` -> ``fr``), else the default."""
    wanted = (request.extension or {}).get("org.cvrisk.lang")
    if isinstance(wanted, str) and wanted[:2].lower() in ("en", "fr"):
        return wanted[:2].lower()
    if accept_language:
        ranked = []
        for index, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            ranked.append((-quality, index, tag.strip()[:2].lower()))
        for _, _, tag in sorted(ranked):
            if tag in ("en", "fr"):
                return tag
    return default
