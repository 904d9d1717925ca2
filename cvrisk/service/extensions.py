"""Extension points of the service: extra routes, and links on patient-view cards.

A shared patient summary (``POST /summary``, rendered by :mod:`cvrisk.summary` once it
exists) plugs in here without touching the CDS Hooks code: an extension object provides

- ``routes(settings)``: Starlette routes to mount (e.g. ``Route("/summary", ..., methods=
  ["POST"])``), served with the same body limit, timeout, CORS and logging; it authenticates
  its own callers (``app.state.verifier`` checks CDS Hooks JWTs);
- ``patient_view_links(report, request)``: :class:`~cvrisk.cdshooks.model.Link` s to put on
  every patient-view card (e.g. "Shared summary" pointing at the page the summary renders).

Extensions are listed by dotted path in :data:`EXTENSIONS` (``"cvrisk.summary.service:
extension"``) or passed to :func:`cvrisk.service.app.create_app`; none ships yet.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from starlette.routing import BaseRoute

from cvrisk.cdshooks.model import Link
from cvrisk.rules.report import Report
from cvrisk.service.hooks import HookRequest
from cvrisk.service.settings import ServiceSettings

#: Dotted paths (``module:attribute``) of the extensions every app loads.
EXTENSIONS: list[str] = []


class ServiceExtension(Protocol):
    """What an extension provides (both methods may return nothing)."""

    def routes(self, settings: ServiceSettings) -> Sequence[BaseRoute]: ...

    def patient_view_links(self, report: Report, request: HookRequest) -> Sequence[Link]: ...


def load_extensions(paths: Sequence[str]) -> list[ServiceExtension]:
    """Import the extensions named by dotted path."""
    found: list[ServiceExtension] = []
    for path in paths:
        module, _, name = path.partition(":")
        found.append(getattr(importlib.import_module(module), name))
    return found
