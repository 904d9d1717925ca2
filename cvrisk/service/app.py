"""The CDS Hooks 2.0.1 ASGI application (Starlette).

Endpoints:

- ``GET /cds-services``: discovery (the three services, their prefetch templates);
- ``POST /cds-services/{id}``: a call; 200 with ``{"cards": [...]}``;
- ``POST /cds-services/{id}/feedback``: outcomes of cards (accepted, overridden), logged
  without patient data; 200 with ``{}``;
- ``GET /health``: liveness, unauthenticated, no data.

Every CDS endpoint verifies the EHR's JWT (:mod:`cvrisk.service.security`) unless auth is
explicitly off. Errors are JSON ``{"error": code, "message": text}``: 400 malformed JSON, a
wrong hook, a missing or invalid context field; 401 authentication; 404 unknown service;
412 prefetch missing and not fetchable; 413 body too large; 503 time limit reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cvrisk._version import __version__
from cvrisk.cdshooks import CdsResponse
from cvrisk.errors import RecordError
from cvrisk.service import logs
from cvrisk.service.drafts import DraftOrderError
from cvrisk.service.extensions import (
    EXTENSIONS,
    ServiceExtension,
    link_provider,
    load_extensions,
)
from cvrisk.service.hooks import HookRequest, RequestError, language, parse_request
from cvrisk.service.prefetch import FhirAccess, FhirFetcher, PrefetchError, gather
from cvrisk.service.security import AuthError, JwtVerifier, KeySets, ReplayStore
from cvrisk.service.services import SERVICES, SERVICES_BY_ID, Call
from cvrisk.service.settings import (
    ServiceSettings,
    fhir_server_allowed,
    settings_from_environment,
)
from cvrisk.sources import strict_json


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


class BodyTooLargeError(Exception):
    pass


class ContentLengthLimit:
    """Refuses (413) a request whose declared Content-Length exceeds the limit before any
    handler runs; :func:`read_body` enforces the same limit on bodies streamed without one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        declared = -1
                    if declared > self.limit or declared < 0:
                        response = error(
                            413 if declared > self.limit else 400,
                            "body_too_large" if declared > self.limit else "bad_length",
                            f"the request body may be at most {self.limit} bytes",
                        )
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (:class:`BodyTooLargeError`)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise RequestError("the request body is empty: send a CDS Hooks JSON object")
    try:
        return strict_json(raw)  # duplicate keys refused: the last one must not win silently
    except RecordError as exc:
        raise RequestError(f"the request body is refused: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno})"
        ) from None
    except (ValueError, RecursionError):
        raise RequestError("the request body is not valid JSON (or is nested too deeply)") from None


class Feedback(BaseModel):
    """One feedback item (CDS Hooks 2.0.1 "Feedback"; HL7 build invariants cds-fb-1..3)."""

    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1)
    outcome: str
    acceptedSuggestions: list[dict[str, Any]] | None = None  # noqa: N815
    overrideReason: dict[str, Any] | None = None  # noqa: N815
    outcomeTimestamp: dt.datetime  # noqa: N815

    @model_validator(mode="after")
    def _rules(self) -> Feedback:
        if self.outcome not in ("accepted", "overridden"):
            raise ValueError("outcome must be 'accepted' or 'overridden' (cds-fb-1)")
        if self.outcome == "accepted":
            ids = [s.get("id") for s in self.acceptedSuggestions or []]
            if not ids or not all(isinstance(i, str) and i for i in ids):
                raise ValueError("an accepted outcome lists acceptedSuggestions ids (cds-fb-2)")
        if self.overrideReason is not None:
            reason = self.overrideReason.get("reason")
            comment = self.overrideReason.get("userComment")
            if reason is None and comment is None:
                raise ValueError("overrideReason needs a reason or a userComment (cds-fb-3)")
            if reason is not None and not (isinstance(reason, dict) and reason.get("code")):
                raise ValueError("overrideReason.reason must be a Coding with a code")
        return self


class FeedbackBody(BaseModel):
    feedback: list[Feedback] = Field(min_length=1)


class CdsApp:
    """The endpoints, over the settings and the shared clients of one process."""

    def __init__(self, settings: ServiceSettings, extensions: Sequence[ServiceExtension]):
        self.settings = settings
        self.extensions = list(extensions)
        #: each extension's patient-view links, checked once (an unusable signature is
        #: refused here, not on every call)
        self.link_providers = [link_provider(e) for e in self.extensions]
        self.http: httpx.AsyncClient | None = None
        self.verifier: JwtVerifier | None = None
        self.fetcher: FhirFetcher | None = None
        self.handlers: ThreadPoolExecutor | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        timeout = httpx.Timeout(
            settings.fhir_timeout_seconds, connect=min(2.0, settings.fhir_timeout_seconds)
        )
        self.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.fetcher = FhirFetcher(
            self.http,
            timeout=settings.fhir_timeout_seconds,
            max_pages=settings.fhir_max_pages,
            max_bytes=settings.fhir_max_bytes,
        )
        if settings.auth:
            store = settings.replay_store or _temporary_store()
            replays = ReplayStore(store, settings.clock_skew_seconds)
            self.verifier = JwtVerifier(
                settings, KeySets(self.http, settings.jwks_cache_seconds), replays
            )
        else:
            logs.event(
                "auth_disabled",
                logging.WARNING,
                message="JWT verification is OFF (--no-auth): local trial mode only; every "
                "caller is trusted",
            )
        app.state.verifier = self.verifier
        # Hook handlers (reading the record, evaluating, building the cards) are CPU-bound
        # Python under one GIL: a second one at once cannot go faster, only slice the first
        # (with four requests in flight each took about four times its own time). One at a
        # time, in arrival order (the default), the first answers after its own time and the
        # fourth after four, so the mean and the tail latency fall at the same throughput;
        # the event loop keeps reading requests, checking tokens and answering meanwhile.
        # A pool of handler_threads threads, not a limiter around a shared pool: a call that
        # times out while queued is cancelled before it runs, and one that times out while
        # running keeps its thread until it ends, so no more than handler_threads ever run
        # (an anyio limiter gave its slot back on the timeout, with the thread still busy).
        # The cost: a call queues behind a long one in the same worker (settings.py).
        self.handlers = ThreadPoolExecutor(settings.handler_threads, "cvrisk-handler")
        loop = asyncio.get_running_loop()
        warm = loop.run_in_executor(self.handlers, _warm_up, settings)  # before any call
        logs.event("started", version=__version__, auth=settings.auth, services=len(SERVICES))
        try:
            yield
        finally:
            warm.cancel()
            self.handlers.shutdown(wait=False, cancel_futures=True)
            await self.http.aclose()
            logs.event("stopped")

    # -- helpers --------------------------------------------------------------------------
    async def _authenticate(self, request: Request, *paths: str) -> Response | None:
        if self.verifier is None:
            return None
        audiences = tuple(f"{self.settings.base_url}{path}" for path in paths)
        try:
            caller = await self.verifier.verify(request.headers.get("authorization"), audiences)
        except AuthError as exc:
            logs.event("auth_refused", logging.WARNING, reason=exc.reason, path=paths[0])
            return error(
                401,
                "unauthorized",
                exc.message,
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request.state.caller = caller
        return None

    async def _timed(self, work: Callable[[], Awaitable[Response]]) -> Response:
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                return await work()
        except TimeoutError:
            logs.event("timeout", logging.WARNING, limit_s=self.settings.request_timeout_seconds)
            return error(
                503,
                "timeout",
                f"no answer within {self.settings.request_timeout_seconds:g} s; try again",
            )

    # -- endpoints ------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def discovery(self, request: Request) -> Response:
        refused = await self._authenticate(request, "/cds-services")
        if refused is not None:
            return refused
        return JSONResponse({"services": [service.discovery() for service in SERVICES]})

    async def call(self, request: Request) -> Response:
        return await self._timed(lambda: self._call(request))

    async def _call(self, request: Request) -> Response:
        started = time.perf_counter()
        service_id = request.path_params["service_id"]
        service = SERVICES_BY_ID.get(service_id)
        if service is None:
            return error(
                404, "unknown_service", f"no CDS service {service_id!r}: see GET /cds-services"
            )
        refused = await self._authenticate(request, f"/cds-services/{service_id}")
        if refused is not None:
            return refused
        settings = self.settings
        try:
            body = _json(await read_body(request, settings.max_body_bytes))
            hook_request = parse_request(body, service.hook)
            access = self._access(hook_request)
            assert self.fetcher is not None
            gathered = await gather(
                service.prefetch, hook_request.prefetch, hook_request.context, access, self.fetcher
            )
            _check_patient(gathered.resources, hook_request.patient_id)
            call = Call(
                request=hook_request,
                gathered=gathered,
                settings=settings,
                lang=language(
                    hook_request, request.headers.get("accept-language"), settings.default_lang
                ),
                today=dt.datetime.now(settings.zone).date(),
                link_providers=self.link_providers,
            )
            loop = asyncio.get_running_loop()
            cards = await loop.run_in_executor(self.handlers, service.handler, call)
        except BodyTooLargeError:
            return error(
                413,
                "body_too_large",
                f"the request body may be at most {settings.max_body_bytes} bytes",
            )
        except RequestError as exc:
            logs.event("bad_request", logging.WARNING, service=service_id, code=exc.code)
            return error(exc.status, exc.code, exc.message)
        except DraftOrderError as exc:
            logs.event("bad_request", logging.WARNING, service=service_id, code="draft_orders")
            return error(400, "draft_orders", str(exc))
        except PrefetchError as exc:
            logs.event("prefetch_failed", logging.WARNING, service=service_id, keys=exc.keys)
            return error(412, "prefetch_unavailable", exc.message)
        except Exception as exc:  # a bug: say so without leaking data
            logs.failure("internal_error", exc, service=service_id)
            return error(
                500, "internal_error", "cvrisk failed on this request; the error is logged"
            )
        logs.event(
            "cards",
            service=service_id,
            hook=service.hook,
            hook_instance=hook_request.hookInstance,
            fetched=gathered.fetched,
            cards=[{"uuid": c.uuid, "kind": c.kind, "indicator": c.indicator} for c in cards],
            ms=round((time.perf_counter() - started) * 1e3, 2),
        )
        return Response(CdsResponse(cards=cards).to_json_bytes(), media_type="application/json")

    def _access(self, hook_request: HookRequest) -> FhirAccess | None:
        server, auth = hook_request.fhirServer, hook_request.fhirAuthorization
        if server is None or auth is None:
            return None
        if not fhir_server_allowed(
            server, self.settings.fhir_server_allowlist, auth=self.settings.auth
        ):
            raise RequestError(
                "fhirServer is not in this service's allow-list of FHIR servers",
                status=403,
                code="fhir_server_refused",
            )
        return FhirAccess(base=server, token=auth.access_token)

    async def feedback(self, request: Request) -> Response:
        return await self._timed(lambda: self._feedback(request))

    async def _feedback(self, request: Request) -> Response:
        service_id = request.path_params["service_id"]
        if service_id not in SERVICES_BY_ID:
            return error(
                404, "unknown_service", f"no CDS service {service_id!r}: see GET /cds-services"
            )
        refused = await self._authenticate(
            request, f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}"
        )
        if refused is not None:
            return refused
        try:
            body = FeedbackBody.model_validate(
                _json(await read_body(request, self.settings.max_body_bytes))
            )
        except BodyTooLargeError:
            return error(
                413,
                "body_too_large",
                f"the request body may be at most {self.settings.max_body_bytes} bytes",
            )
        except RequestError as exc:
            return error(400, exc.code, exc.message)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: "
                + str(e["msg"]).removeprefix("Value error, ")
                for e in exc.errors()[:5]
            )
            return error(400, "bad_feedback", f"invalid feedback: {problems}")
        for item in body.feedback:
            reason = (item.overrideReason or {}).get("reason") or {}
            logs.event(
                "feedback",
                service=service_id,
                card=item.card,
                outcome=item.outcome,
                accepted_suggestions=[s.get("id") for s in item.acceptedSuggestions or []],
                override_reason=reason.get("code"),
                override_reason_system=reason.get("system"),
                has_comment=bool((item.overrideReason or {}).get("userComment")),
                outcome_timestamp=item.outcomeTimestamp.isoformat(),
            )
        return JSONResponse({})


def _check_patient(resources: Sequence[dict[str, Any]], patient_id: str) -> None:
    for resource in resources:
        if resource.get("resourceType") == "Patient" and resource.get("id") not in (
            None,
            patient_id,
        ):
            raise RequestError(
                f"the prefetched Patient is Patient/{resource.get('id')} but context.patientId "
                f"is {patient_id}: refusing to mix two patients",
                code="patient_mismatch",
            )


def _temporary_store() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="cvrisk-jti-")) / "replay.sqlite"


def _warm_up(settings: ServiceSettings) -> None:
    """Load the protocols and compile the common rulesets before the first call (in the
    background: discovery is served meanwhile)."""
    import cvrisk
    from cvrisk.record import Medication, Patient, PatientRecord

    today = dt.date.today()
    record = PatientRecord(
        patient=Patient(birth_date=dt.date(today.year - 40, 1, 1), sex="female"),
        medications=[Medication(drug="olanzapine", start=today - dt.timedelta(days=30))],
    )
    try:
        cvrisk.evaluate(
            record, as_of=today, jurisdiction=settings.jurisdiction, on_invalid="report"
        )
    except Exception as exc:  # a warm-up failure must not stop the service; it is logged
        logs.failure("warm_up_failed", exc)
    freeze_heap()


def freeze_heap() -> None:
    """Put the objects alive now (modules, protocols, compiled rulesets, pydantic schemas:
    what lives as long as the process) out of the garbage collector's reach.

    A call allocates enough objects to trigger young collections, and every so often one of
    them becomes a full collection, which traverses the whole heap: 20 to 40 ms of CPU on a
    quiet machine, 75 to 170 ms measured in a loaded worker, during which the worker answers
    nothing (a visible part of the service's p99). Frozen objects are never traversed, so a
    full collection then only sees what was allocated since (2.5 ms at most, measured). A
    frozen object is still freed when its last reference goes; only garbage cycles among the
    objects alive now would stay (the collection just before the freeze removes those).
    Called once the process is warm: by the parent of ``cvrisk serve`` before forking (its
    objects also stay shared with the workers, copy-on-write, since a collection no longer
    writes to them) and by each worker after its warm-up.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: ServiceSettings, extensions: Sequence[ServiceExtension] | None = None
) -> Starlette:
    """The ASGI app for ``settings`` (extensions: :mod:`cvrisk.service.extensions`)."""
    chosen = list(extensions) if extensions is not None else load_extensions(EXTENSIONS)
    cds = CdsApp(settings, chosen)
    routes: list[BaseRoute] = [
        Route("/health", cds.health, methods=["GET"]),
        Route("/cds-services", cds.discovery, methods=["GET"]),
        Route("/cds-services/{service_id}", cds.call, methods=["POST"]),
        Route("/cds-services/{service_id}/feedback", cds.feedback, methods=["POST"]),
    ]
    for extension in chosen:
        routes.extend(extension.routes(settings))
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept", "Accept-Language"],
            max_age=600,
        ),
        Middleware(ContentLengthLimit, limit=settings.max_body_bytes),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=cds.lifespan)
    app.state.settings = settings
    return app


def app_from_environment() -> Starlette:
    """The app of a worker process started by ``cvrisk serve`` (uvicorn factory)."""
    return create_app(settings_from_environment())
