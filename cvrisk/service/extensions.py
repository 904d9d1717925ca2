"""Extension points of the service: extra routes, and links on patient-view cards.

A shared patient summary (``POST /summary``, rendered by :mod:`cvrisk.summary`) plugs in
here without touching the CDS Hooks code: an extension object provides

- ``routes(settings)``: Starlette routes to mount (e.g. ``Route("/summary", ..., methods=
  ["POST"])``), served with the same body limit, timeout, CORS and logging; it authenticates
  its own callers (``app.state.verifier`` checks CDS Hooks JWTs);
- ``patient_view_links(report, request, resources, record)``:
  :class:`~cvrisk.cdshooks.model.Link` s to put on every patient-view card (e.g. "Shared
  summary" pointing at the page the summary renders); ``resources`` are the FHIR resources
  the report was evaluated from and ``record`` the patient record read from them (a summary
  needs the record's courses and dated results, which the report does not repeat; reading
  the resources again would double the cost of a call).

Extensions are listed by dotted path in :data:`EXTENSIONS` or passed to
:func:`cvrisk.service.app.create_app`. The shared summary ships:
``cvrisk.summary.service:extension`` (``POST /summary``, ``GET /summary/{token}`` and the
patient-view links).
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from starlette.routing import BaseRoute

from cvrisk.cdshooks.model import Link
from cvrisk.record import PatientRecord
from cvrisk.rules.report import Report
from cvrisk.service.hooks import HookRequest
from cvrisk.service.settings import ServiceSettings

#: Dotted paths (``module:attribute``) of the extensions every app loads.
EXTENSIONS: list[str] = ["cvrisk.summary.service:extension"]


class ServiceExtension(Protocol):
    """What an extension provides (both methods may return nothing)."""

    def routes(self, settings: ServiceSettings) -> Sequence[BaseRoute]: ...

    def patient_view_links(
        self,
        report: Report,
        request: HookRequest,
        resources: Sequence[dict[str, Any]],
        record: PatientRecord,
    ) -> Sequence[Link]: ...


def link_provider(
    extension: ServiceExtension,
) -> Callable[[Report, HookRequest, Sequence[dict[str, Any]], PatientRecord], Sequence[Link]]:
    """The extension's ``patient_view_links`` as the service calls it (four arguments).

    An extension written for the earlier three-argument form ``(report, request,
    resources)`` keeps working: it is called without the record, and a warning at start-up
    says how to update it. Any other signature is refused when the app is created, naming
    the expected one, rather than failing every call.
    """
    method = extension.patient_view_links
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a builtin): called as documented
        return method
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters) or len(positional) >= 4:
        return method
    if len(positional) == 3:
        warnings.warn(
            f"{type(extension).__name__}.patient_view_links(report, request, resources) is the "
            "earlier form: add a fourth parameter, record (the PatientRecord read from the "
            "resources), as docs/integrators.md says; it is called without it meanwhile",
            DeprecationWarning,
            stacklevel=2,
        )

        def without_record(
            report: Report,
            request: HookRequest,
            resources: Sequence[dict[str, Any]],
            record: PatientRecord,
        ) -> Sequence[Link]:
            return method(report, request, resources)  # type: ignore[call-arg]

        return without_record
    raise TypeError(
        f"{type(extension).__name__}.patient_view_links must take (report, request, resources, "
        f"record); it takes {len(positional)} positional argument(s) (docs/integrators.md)"
    )


def load_extensions(paths: Sequence[str]) -> list[ServiceExtension]:
    """Import the extensions named by dotted path."""
    found: list[ServiceExtension] = []
    for path in paths:
        module, _, name = path.partition(":")
        found.append(getattr(importlib.import_module(module), name))
    return found
