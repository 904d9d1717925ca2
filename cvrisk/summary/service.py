"""Shared summaries in ``cvrisk serve``: the service extension (:mod:`cvrisk.service.extensions`).

- ``POST /summary``: a patient record in the body (a FHIR Bundle, resources or NDJSON, or
  native record JSON) and the summary back. Query parameters: ``audience`` (clinician |
  patient), ``lang`` (en | fr; default: the service's), ``format`` (html | pdf | fhir |
  markdown), ``as_of`` (default: today in the clinic's time zone). The deployment's
  jurisdiction and ``record_complete`` apply, and invalid entries are reported, not
  refused, as on the CDS Hooks endpoints. The caller is authenticated like a CDS Hooks call
  (JWT ``aud`` = the service's base URL + ``/summary``).
- patient-view cards carry two links, "shared summary" (clinician) and "patient summary":
  the card's evaluation and record are kept for ``summary_ttl_seconds`` in a SQLite store
  shared by the workers (a private temporary directory by default), under an unguessable
  token; ``GET /summary/{token}?audience=patient`` renders the page. The token is the
  capability (256 random bits, short-lived); expired entries are deleted.

Rendering runs in a worker thread (CPU work; PDF printing drives Chromium), bounded by the
service's time limit; errors are JSON ``{"error", "message"}`` like the other endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cvrisk.cdshooks.model import Link
from cvrisk.errors import CvriskError, OptionError
from cvrisk.record import PatientRecord
from cvrisk.rules.report import Report
from cvrisk.service import logs
from cvrisk.service.hooks import HookRequest
from cvrisk.service.settings import ServiceSettings
from cvrisk.summary import AUDIENCES, FORMATS, Audience, Format, render
from cvrisk.summary.context import Context
from cvrisk.summary.texts import label

_MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "fhir": "application/fhir+json; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class SummaryStore:
    """Evaluations linked from cards, by token, for a limited time (SQLite, shared by the
    worker processes).

    A patient-view call writes one row, so the store is on the hot path of the service:

    - one connection per process, opened on first use (never carried across ``fork``: the
      parent creates the store before forking the workers) and shared by its threads under
      a lock, rather than a connection opened, and a file locked, per call;
    - the database is in WAL mode with ``synchronous=NORMAL``: a write does not wait for the
      disk (two ``fsync`` per call in the default rollback-journal mode, which under load
      made calls wait tens to hundreds of milliseconds, and the other worker's writes queue
      behind them with SQLite's sleeping busy handler). WAL keeps every committed row
      against a crash of the process; a power failure may lose the last rows, i.e. links of
      the last moments answer "expired", which a short-lived cache of summaries may do;
    - expired rows are found through an index on ``created`` (the table holds up to
      ``ttl`` seconds of calls: a scan per call grew with the load);
    - the log is copied into the database file (a checkpoint, which waits for the disk) by
      a thread of each process every :attr:`CHECKPOINT_SECONDS`, never by a call: SQLite's
      automatic checkpoint (at 1,000 pages of log) fell on one put in about 170 (a
      patient-view row is about 6 pages), which then waited 18 to 29 ms (measured; 4 to 5
      ms of it CPU), near the service's p99.
    """

    #: Seconds between two checkpoints of the write-ahead log (in the background).
    CHECKPOINT_SECONDS = 1.0

    def __init__(self, path: Path, ttl_seconds: int) -> None:
        self.path = path
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            with db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS summaries (token TEXT PRIMARY KEY, "
                    "created REAL NOT NULL, report TEXT NOT NULL, record TEXT NOT NULL)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS summaries_created ON summaries (created)")
            db.execute("PRAGMA journal_mode=WAL")  # kept by the file, for every worker
        finally:
            db.close()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, in a transaction, with the process's lock held."""
        with self._lock:
            if self._db is None or self._pid != os.getpid():
                # after a fork the inherited connection (if any) is the parent's: left alone
                self._db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA wal_autocheckpoint=0")  # see _checkpoints
                self._pid = os.getpid()
                threading.Thread(
                    target=self._checkpoints, name="summary-checkpoints", daemon=True
                ).start()
            with self._db:
                yield self._db

    def _checkpoints(self) -> None:
        """Checkpoint the log every :attr:`CHECKPOINT_SECONDS` on a connection of this
        thread, until the process forks (the child starts its own) or the file is gone (a
        test's temporary folder). PASSIVE: writers go on meanwhile; a checkpoint that meets
        the other worker's is skipped (the next one catches up)."""
        pid = os.getpid()
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            while self._pid == pid and self.path.exists():
                time.sleep(self.CHECKPOINT_SECONDS)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def put(self, report: Report, record: PatientRecord) -> str:
        token = secrets.token_urlsafe(32)
        rows = (report.model_dump_json(), record.to_json())  # outside the lock
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM summaries WHERE created < ?", (now - self.ttl,))
            db.execute("INSERT INTO summaries VALUES (?, ?, ?, ?)", (token, now, *rows))
        return token

    def get(self, token: str) -> tuple[Report, PatientRecord] | None:
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM summaries WHERE created < ?", (now - self.ttl,))
            row = db.execute(
                "SELECT report, record FROM summaries WHERE token = ?", (token,)
            ).fetchone()
        if row is None:
            return None
        return Report.model_validate_json(row[0]), PatientRecord.from_json(row[1])


class SummaryExtension:
    """The shared-summary routes and card links of ``cvrisk serve``."""

    def __init__(self) -> None:
        self.settings: ServiceSettings | None = None
        self.store: SummaryStore | None = None

    # -- the extension point --------------------------------------------------------------
    def routes(self, settings: ServiceSettings) -> Sequence[BaseRoute]:
        self.settings = settings
        if settings.summary_store is not None and settings.summary_ttl_seconds > 0:
            self.store = SummaryStore(settings.summary_store, settings.summary_ttl_seconds)
        return [
            Route("/summary", self.post, methods=["POST"]),
            Route("/summary/{token}", self.linked, methods=["GET"]),
        ]

    def patient_view_links(
        self,
        report: Report,
        request: HookRequest,
        resources: Sequence[dict[str, Any]],
        record: PatientRecord,
    ) -> Sequence[Link]:
        """Links to the clinician and patient summaries of this card's evaluation (of
        ``record``, read from ``resources`` by the service)."""
        if self.store is None or self.settings is None:
            return []
        token = self.store.put(report, record)
        base = f"{self.settings.base_url}/summary/{token}"
        lang = report.lang
        return [
            Link(label=label("service.link_clinician", lang), url=base, type="absolute"),
            Link(
                label=label("service.link_patient", lang),
                url=f"{base}?audience=patient",
                type="absolute",
            ),
        ]

    # -- endpoints ------------------------------------------------------------------------
    async def post(self, request: Request) -> Response:
        from cvrisk.service.app import BodyTooLargeError, read_body

        settings = self._settings()
        refused = await self._authenticate(request)
        if refused is not None:
            return refused
        try:
            audience, lang, fmt = self._choices(request, settings.default_lang)
            as_of = request.query_params.get("as_of")
            body = await read_body(request, settings.max_body_bytes)
            if not body.strip():
                raise OptionError("the request body is empty: send a FHIR Bundle or a record")
            options: dict[str, Any] = {
                "as_of": as_of or dt.datetime.now(settings.zone).date(),
                "jurisdiction": settings.jurisdiction,
                "record_complete": settings.record_complete,
                "on_invalid": "report",
            }
        except BodyTooLargeError:
            return _error(
                413,
                "body_too_large",
                f"the request body may be at most {settings.max_body_bytes} bytes",
            )
        except CvriskError as exc:
            return _error(400, "bad_request", str(exc))

        def work() -> str | bytes | dict[str, Any]:
            from cvrisk.summary.inputs import summary_context

            ctx = summary_context(body, lang=lang, options=options)
            return render(ctx, audience, fmt)

        return await self._rendered(work, fmt, "post")

    async def linked(self, request: Request) -> Response:
        if self.store is None:
            return _error(404, "no_summaries", "this service keeps no summaries")
        try:
            audience, _, fmt = self._choices(request, None)
        except CvriskError as exc:
            return _error(400, "bad_request", str(exc))
        stored = self.store.get(request.path_params["token"])
        if stored is None:
            return _error(
                404,
                "summary_expired",
                "no summary for this link: it has expired; open the patient's record again",
            )
        report, record = stored

        def work() -> str | bytes | dict[str, Any]:
            return render(Context(report=report, record=record, lang=report.lang), audience, fmt)

        return await self._rendered(work, fmt, "link")

    # -- helpers --------------------------------------------------------------------------
    def _settings(self) -> ServiceSettings:
        assert self.settings is not None, "routes() is called before any request"
        return self.settings

    async def _authenticate(self, request: Request) -> Response | None:
        from cvrisk.service.security import AuthError

        verifier = request.app.state.verifier
        if verifier is None:
            return None
        audience = f"{self._settings().base_url}/summary"
        try:
            request.state.caller = await verifier.verify(
                request.headers.get("authorization"), (audience,)
            )
        except AuthError as exc:
            logs.event("auth_refused", logging.WARNING, reason=exc.reason, path="/summary")
            return JSONResponse(
                {"error": "unauthorized", "message": exc.message},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return None

    @staticmethod
    def _choices(request: Request, default_lang: str | None) -> tuple[Audience, str | None, Format]:
        query = request.query_params
        audience = query.get("audience", "clinician")
        fmt = query.get("format", "html")
        lang = query.get("lang", default_lang)
        if audience not in AUDIENCES:
            raise OptionError(f"audience={audience!r}: use one of {', '.join(AUDIENCES)}")
        if fmt not in FORMATS:
            raise OptionError(f"format={fmt!r}: use one of {', '.join(FORMATS)}")
        if lang is not None and lang not in ("en", "fr"):
            raise OptionError(f"lang={lang!r}: use en or fr")
        return audience, lang, fmt  # type: ignore[return-value]

    async def _rendered(self, work: Any, fmt: str, route: str) -> Response:
        from cvrisk.summary.browser import SummaryUnavailableError

        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings().request_timeout_seconds * 3):
                result = await anyio.to_thread.run_sync(work)
        except TimeoutError:
            return _error(503, "timeout", "the summary took too long to render; try again")
        except SummaryUnavailableError as exc:  # the deployment lacks Chromium or Jinja2
            return _error(503, "summary_unavailable", str(exc))
        except CvriskError as exc:
            return _error(400, type(exc).__name__, str(exc))
        except Exception as exc:  # a bug: logged without patient data
            logs.failure("internal_error", exc, route=f"summary-{route}")
            return _error(500, "internal_error", "cvrisk failed on this request; it is logged")
        logs.event(
            "summary",
            route=route,
            format=fmt,
            ms=round((time.perf_counter() - started) * 1e3, 2),
        )
        if isinstance(result, dict):
            return JSONResponse(result, media_type=_MEDIA["fhir"])
        return Response(result, media_type=_MEDIA[fmt])


#: The object :data:`cvrisk.service.extensions.EXTENSIONS` names.
extension = SummaryExtension()
