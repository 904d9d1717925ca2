"""``cvrisk serve``: run the CDS Hooks service on uvicorn with worker processes.

The parent process resolves and checks the settings once, imports the application (the
costly imports happen once), opens the listening socket, then forks the workers, which
share the socket and start serving at once (so discovery answers within about a second of
the command starting, not after each worker has re-imported everything). The workers share
the replay store of JWT ids (an SQLite file). Each worker is one uvicorn server (asyncio),
running evaluations in a thread pool; the rules engine serialises evaluations per process,
so throughput scales with ``--workers`` (one per core is a good start).

SIGINT / SIGTERM stop gracefully: the parent passes the signal on, each worker finishes the
requests in flight (up to ``shutdown_grace_seconds``) and exits; a worker that dies
unexpectedly is replaced (at most a few times a minute). Without ``os.fork`` (Windows) the
service runs one worker in-process.
"""

from __future__ import annotations

import contextlib
import logging.config
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from cvrisk.service import logs
from cvrisk.service.settings import ServiceSettings

#: Worker restarts allowed per minute before the parent gives up (a crash loop).
MAX_RESTARTS_PER_MINUTE = 5


def prepare(settings: ServiceSettings) -> ServiceSettings:
    """The settings the workers run with: a shared replay store, and a shared store of the
    summaries cards link to, chosen when none is set."""
    if settings.auth and settings.replay_store is None:
        store = Path(tempfile.mkdtemp(prefix="cvrisk-jti-")) / "replay.sqlite"
        settings = settings.model_copy(update={"replay_store": store})
    if settings.summary_store is None and settings.summary_ttl_seconds > 0:
        summaries = Path(tempfile.mkdtemp(prefix="cvrisk-summaries-")) / "summaries.sqlite"
        settings = settings.model_copy(update={"summary_store": summaries})
    return settings


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket shared by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(settings: ServiceSettings) -> Any:
    """The uvicorn configuration of a worker."""
    import uvicorn

    from cvrisk.service.app import create_app

    return uvicorn.Config(
        create_app(settings),
        log_config=None,  # configured by the parent
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        server_header=False,
        lifespan="on",
    )


def _worker(settings: ServiceSettings, sock: socket.socket) -> None:
    import uvicorn

    uvicorn.Server(_config(settings)).run(sockets=[sock])


def preload(settings: ServiceSettings) -> None:
    """The imports every worker needs, done once in the parent before forking (the workers'
    memory is the parent's, copied on write): the app's, and uvicorn's event loop, HTTP and
    lifespan implementations (``Config.load`` imports them), which each worker imported
    for itself after the fork. The warm-up evaluation stays in the workers, in the
    background: run here it would delay the first discovery answer."""
    _config(settings).load()


def serve(settings: ServiceSettings) -> None:
    """Run the service until interrupted."""
    settings = prepare(settings)
    logging.config.dictConfig(logs.log_config(settings.log_level))
    if not settings.auth:
        sys.stderr.write(
            "cvrisk serve: WARNING: authentication is OFF (--no-auth). Any caller can use this "
            "service: local trial only, never with real patient data on a network.\n"
        )
    preload(settings)  # the costly imports, once, before forking
    from cvrisk.service.app import freeze_heap

    freeze_heap()  # out of the collector's reach, and shared with the workers
    sock = listening_socket(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    logs.event("listening", url=f"http://{host}:{port}", workers=settings.workers)
    if settings.workers == 1 or not hasattr(os, "fork"):
        _worker(settings, sock)
        return
    _supervise(settings, sock)


def _spawn(settings: ServiceSettings, sock: socket.socket) -> int:
    pid = os.fork()
    if pid == 0:  # the worker
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = 0
        try:
            _worker(settings, sock)
        except BaseException as exc:  # the worker must never return into the parent's code
            logs.failure("worker_failed", exc)
            code = 1
        finally:
            logging.shutdown()
            os._exit(code)
    return pid


def _supervise(settings: ServiceSettings, sock: socket.socket) -> None:
    workers = {_spawn(settings, sock) for _ in range(settings.workers)}
    stopping = False
    restarts: list[float] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while workers:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
        workers.discard(pid)
        if stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        logs.event("worker_exited", logging.WARNING, exit_code=code, restarts=len(restarts))
        if len(restarts) > MAX_RESTARTS_PER_MINUTE:
            logs.event("crash_loop", logging.ERROR, message="workers keep dying: stopping")
            stop(signal.SIGTERM, None)
            continue
        workers.add(_spawn(settings, sock))
    sock.close()
    logs.event("stopped_all")
