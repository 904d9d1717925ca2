"""``cvrisk serve``: run the CDS Hooks service on uvicorn with worker processes.

The parent process resolves and checks the settings once, imports the application (the
costly imports happen once), opens the listening sockets, then forks the workers, which
start serving at once (so discovery answers within about a second of the command starting,
not after each worker has re-imported everything). On Linux each worker listens on its own
socket of the port (``SO_REUSEPORT``), so that the kernel spreads new connections over the
workers; elsewhere they share one socket. The workers share
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


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A bound, listening TCP socket (``reuse_port``: with ``SO_REUSEPORT``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """The sockets of ``count`` workers on ``host:port``: one each, with ``SO_REUSEPORT``,
    on Linux; one shared by all elsewhere (the list then holds it ``count`` times).

    With one shared socket, the worker whose event loop wakes first accepts every
    connection waiting (an event loop accepts in a loop until none is left), so a client
    opening its connections together gets them all on one worker while the others idle:
    measured with the 8 connections of bench/service_bench.py, all 8 went to one of the 2
    workers in 2 runs out of 7. With a socket per worker, Linux gives each new connection to
    one of them by a hash of its addresses, independently of the others. (Only Linux
    spreads connections so; BSD and macOS give them all to one socket. Linux lets only the
    same user bind a port already so bound, so no other user can take connections.)
    """
    if count == 1 or not sys.platform.startswith("linux"):
        return [listening_socket(host, port)] * count
    first = listening_socket(host, port, reuse_port=True)
    bound = first.getsockname()[1]  # port 0: the others join the port the first one got
    return [first] + [listening_socket(host, bound, reuse_port=True) for _ in range(count - 1)]


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
    single = settings.workers == 1 or not hasattr(os, "fork")
    sockets = listening_sockets(settings.host, settings.port, 1 if single else settings.workers)
    host, port = sockets[0].getsockname()[:2]
    logs.event("listening", url=f"http://{host}:{port}", workers=settings.workers)
    if single:
        _worker(settings, sockets[0])
        return
    _supervise(settings, sockets)


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


def _supervise(settings: ServiceSettings, sockets: list[socket.socket]) -> None:
    # worker pid -> its socket; a replacement takes over the socket of the worker it
    # replaces (the parent keeps them all open: connections queued meanwhile wait for it)
    workers = {_spawn(settings, sock): sock for sock in sockets}
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
        sock = workers.pop(pid, None)
        if sock is None:  # pragma: no cover - os.wait only returns our children
            continue
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
        workers[_spawn(settings, sock)] = sock
    for sock in set(sockets):
        sock.close()
    logs.event("stopped_all")
