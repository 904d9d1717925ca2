"""Prefetch: the FHIR data each service asks for, taken from the request or fetched.

Each service declares its prefetch templates (CDS Hooks 2.0.1, "Prefetch Template"). The
EHR may satisfy none, some or all of them. For each key:

- a resource or Bundle: used (a paginated Bundle's ``next`` pages are fetched);
- ``null``: the EHR has no data for it (an empty result), unless the service can ask the FHIR
  server itself, which it then does (the server's answer is authoritative);
- absent, or an ``OperationOutcome`` (the EHR's prefetch failed): fetched from
  ``fhirServer`` with the ``fhirAuthorization`` bearer token;

and when a needed key can be neither used nor fetched, the call fails with **412
Precondition Failed**, as the specification requires (``PrefetchError``).

Fetching: ``GET {fhirServer}/{template with tokens replaced}``, JSON, bounded in time
(``fhir_timeout_seconds``), size (``fhir_max_bytes``) and pages (``fhir_max_pages``, following
Bundle ``link[relation=next]`` only on the FHIR server's own origin, so the token is never
sent elsewhere). A search cut short by the page bound becomes a warning data issue on the
cards: the record may be incomplete.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from cvrisk import vocab
from cvrisk.errors import RecordError
from cvrisk.issues import DataIssue
from cvrisk.sources import strict_json

_TOKEN = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def observation_codes() -> str:
    """Every LOINC code cvrisk reads (cvrisk/data/analytes.toml) and the panels whose
    components carry them (the blood-pressure panel, cvrisk/data/fhir_codes.toml), as a token
    search value."""
    from cvrisk.data import load_data

    panels = load_data("fhir_codes.toml")["observation"]["panels"]
    codes = sorted(
        {code for analyte in vocab.analytes().values() for code in analyte.loinc} | set(panels)
    )
    return ",".join(f"http://loinc.org|{code}" for code in codes)


def record_templates() -> dict[str, str]:
    """The prefetch templates of a patient's record: demographics, diagnoses, prescriptions,
    and the results cvrisk reads (only the LOINC codes it knows)."""
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
        "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}&code=" + observation_codes(),
    }


class PrefetchError(Exception):
    """The data the service needs cannot be had (HTTP 412)."""

    def __init__(self, message: str, keys: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.keys = keys


def render(template: str, context: Mapping[str, Any]) -> str:
    """A template with its ``{{context.x}}`` tokens replaced (URL-encoded).

    Only root-level primitive context fields are tokens (CDS Hooks 2.0.1, "Prefetch tokens").

    Raises:
        PrefetchError: a token's context field is absent or not a primitive.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith("context.") or name.count(".") != 1:
            raise PrefetchError(f"prefetch token {{{{{name}}}}} is not supported", [])
        value = context.get(name.removeprefix("context."))
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            raise PrefetchError(f"context field for {{{{{name}}}}} is missing or not a value", [])
        return urllib.parse.quote(str(value), safe="")

    return _TOKEN.sub(replace, template)


@dataclass
class Gathered:
    """The FHIR resources gathered for a call, and what limited them."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    issues: list[DataIssue] = field(default_factory=list)


@dataclass(frozen=True)
class FhirAccess:
    """How to reach the EHR's FHIR server for this call (None when it was not offered)."""

    base: str
    token: str

    @property
    def origin(self) -> tuple[str, str]:
        parts = urllib.parse.urlsplit(self.base)
        return parts.scheme, parts.netloc


class FhirFetcher:
    """Reads FHIR searches and reads from an EHR's server (bounded; see the module docstring)."""

    def __init__(
        self, http: httpx.AsyncClient, *, timeout: float, max_pages: int, max_bytes: int
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.max_pages = max_pages
        self.max_bytes = max_bytes

    async def read(self, access: FhirAccess, relative: str) -> tuple[list[dict[str, Any]], bool]:
        """The resources of ``relative`` (a read or a search) and whether paging was cut."""
        url = f"{access.base.rstrip('/')}/{relative.lstrip('/')}"
        data = await self._get(access, url)
        return await self.rest(access, data)

    async def rest(self, access: FhirAccess, data: Any) -> tuple[list[dict[str, Any]], bool]:
        """Resources of ``data`` and of the ``next`` pages it links to."""
        resources = list(resources_in(data))
        pages = 1
        next_url = next_link(data)
        while next_url is not None:
            if pages >= self.max_pages:
                return resources, True
            if _origin(next_url) != access.origin:
                raise PrefetchError(
                    "a FHIR Bundle's next link leaves the FHIR server's origin: not followed", []
                )
            data = await self._get(access, next_url)
            resources.extend(resources_in(data))
            pages += 1
            next_url = next_link(data)
        return resources, False

    async def _get(self, access: FhirAccess, url: str) -> Any:
        headers = {"Authorization": f"Bearer {access.token}", "Accept": "application/fhir+json"}
        try:
            async with asyncio.timeout(self.timeout):
                async with self.http.stream("GET", url, headers=headers) as response:
                    if response.status_code != 200:
                        raise PrefetchError(
                            f"the FHIR server answered {response.status_code} to a "
                            f"{_resource_type(url)} request",
                            [],
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise PrefetchError(
                                f"a FHIR response exceeds {self.max_bytes} bytes", []
                            )
        except TimeoutError:
            raise PrefetchError(
                f"the FHIR server did not answer a {_resource_type(url)} request within "
                f"{self.timeout:g} s",
                [],
            ) from None
        except httpx.HTTPError as exc:
            raise PrefetchError(
                f"the FHIR server could not be reached ({type(exc).__name__})", []
            ) from None
        try:
            return strict_json(bytes(body))
        except RecordError as exc:
            raise PrefetchError(f"the FHIR server's answer is refused: {exc}", []) from None
        except ValueError:
            raise PrefetchError("the FHIR server's answer is not JSON", []) from None


def resources_in(data: Any) -> list[dict[str, Any]]:
    """The resources of a prefetch value: a Bundle's entries, or the resource itself."""
    if not isinstance(data, dict) or "resourceType" not in data:
        return []
    if data["resourceType"] == "Bundle":
        out = []
        for entry in data.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
                out.append(resource)
        return out
    if data["resourceType"] == "OperationOutcome":
        return []
    return [data]


def next_link(data: Any) -> str | None:
    """The ``next`` page URL of a Bundle, if any."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return None
    for link in data.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def _resource_type(url: str) -> str:
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    segments = [s for s in path.split("/") if s]
    for segment in reversed(segments):
        if segment[:1].isupper():
            return segment
    return "FHIR"


def _is_failure(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


async def gather(
    templates: Mapping[str, str],
    prefetch: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    access: FhirAccess | None,
    fetcher: FhirFetcher,
) -> Gathered:
    """The resources for ``templates`` (see the module docstring).

    Raises:
        PrefetchError: data is missing and cannot be fetched (HTTP 412).
    """
    prefetch = prefetch or {}
    out = Gathered()
    to_fetch: list[str] = []
    unavailable: list[str] = []
    for key in templates:
        value = prefetch.get(key, ...)
        if value is ... or _is_failure(value):
            (to_fetch if access else unavailable).append(key)
        elif value is None:
            if access is not None:
                to_fetch.append(key)
            elif key == "patient":
                unavailable.append(key)
        elif next_link(value) is None:
            out.resources.extend(resources_in(value))
        elif access is None:
            unavailable.append(key)  # a paginated prefetch whose other pages cannot be read
        else:
            resources, cut = await fetcher.rest(access, value)
            out.resources.extend(resources)
            if cut:
                out.issues.append(_cut_issue(key, fetcher.max_pages))
    if unavailable:
        raise PrefetchError(
            "prefetch "
            + ", ".join(repr(k) for k in unavailable)
            + " missing (or incomplete) and no fhirServer with fhirAuthorization to fetch it: "
            "send the prefetch, or fhirServer and fhirAuthorization",
            unavailable,
        )
    if to_fetch:
        assert access is not None
        relatives = {key: render(templates[key], context) for key in to_fetch}
        results = await asyncio.gather(*(fetcher.read(access, relatives[key]) for key in to_fetch))
        for key, (resources, cut) in zip(to_fetch, results, strict=True):
            out.resources.extend(resources)
            out.fetched.append(key)
            if cut:
                out.issues.append(_cut_issue(key, fetcher.max_pages))
    out.resources = _unique(out.resources)
    return out


def _cut_issue(key: str, pages: int) -> DataIssue:
    return DataIssue(
        kind="missing",
        severity="warning",
        field=f"prefetch.{key}",
        message=f"the {key} search was stopped after {pages} pages: older entries were not "
        "read, so tests may show as due and alerts may be missing",
    )


def _unique(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources without duplicates (same type and id, e.g. a search and a read overlap)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for resource in resources:
        rid = resource.get("id")
        if isinstance(rid, str):
            key = (str(resource.get("resourceType")), rid)
            if key in seen:
                continue
            seen.add(key)
        out.append(resource)
    return out
