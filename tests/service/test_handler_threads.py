"""Hook handlers run ``handler_threads`` at a time (default one) in a worker process, in
arrival order, while the event loop keeps answering; a call that times out never frees a
handler's place while the handler still runs. A real uvicorn server on loopback, real
concurrent HTTP requests."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cvrisk.service import services
from cvrisk.service.app import create_app
from cvrisk.service.settings import load_settings
from tests.service.conftest import hook_body
from tests.service.fhir_data import example_resources, prefetch
from tests.service.support import serve_in_thread

SERVICE = "cvrisk-patient-view"


class Overlap:
    """Wraps a handler: counts the handlers running at once, records the order in which
    calls start (by hookInstance), and holds each a while."""

    def __init__(self, handler: Callable[[Any], Any], hold_s: float) -> None:
        self.handler, self.hold_s = handler, hold_s
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.started: list[str] = []

    def __call__(self, call: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(call.request.hookInstance)
        try:
            time.sleep(self.hold_s)  # stands for CPU work; a sleep lets threads overlap
            return self.handler(call)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture()
def overlap(monkeypatch: pytest.MonkeyPatch) -> Overlap:
    original = services.SERVICES_BY_ID[SERVICE]
    wrapper = Overlap(original.handler, hold_s=0.2)
    monkeypatch.setitem(
        services.SERVICES_BY_ID, SERVICE, dataclasses.replace(original, handler=wrapper)
    )
    return wrapper


@contextlib.contextmanager
def _serve(**settings: Any) -> Iterator[str]:
    chosen = load_settings(auth=False, log_level="warning", **settings)
    assert chosen.handler_threads == settings.get("handler_threads", 1)  # default: one
    with serve_in_thread(create_app(chosen)) as url:
        # the warm-up runs in the handler pool first: let it end before anything is counted
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _post(url, timeout=30) != 200:
            time.sleep(0.05)
        yield url


def _post(url: str, timeout: float = 20, **fields: Any) -> int:
    body = {**hook_body("patient-view", prefetch(example_resources())), **fields}
    answer = httpx.post(f"{url}/cds-services/{SERVICE}", json=body, timeout=timeout)
    return answer.status_code


def test_one_handler_at_a_time_in_arrival_order_and_health_answers_meanwhile(
    overlap: Overlap,
) -> None:
    with _serve(request_timeout_seconds=20) as url:
        overlap.started.clear()
        instances = [hook_body("patient-view")["hookInstance"] for _ in range(6)]
        with ThreadPoolExecutor(6) as pool:
            calls = []
            for instance in instances:  # sent 50 ms apart: the order they arrive in
                calls.append(pool.submit(_post, url, hookInstance=instance))
                time.sleep(0.05)
            started = time.monotonic()
            health = httpx.get(f"{url}/health", timeout=5)
            waited = time.monotonic() - started
            statuses = [c.result() for c in calls]
    assert statuses == [200] * 6
    assert overlap.most == 1  # one at a time (anyio's default pool ran all six at once)
    assert overlap.started == instances  # first come, first served
    assert health.status_code == 200 and waited < 1.0  # the event loop was not waiting


def test_a_call_timing_out_keeps_its_place_until_its_handler_ends(overlap: Overlap) -> None:
    """With an anyio limiter, a timed-out call gave its place back while its thread still
    ran, and the next call started a second handler beside it."""
    with _serve(request_timeout_seconds=0.4) as url:
        overlap.started.clear()
        overlap.hold_s = 1.5
        with ThreadPoolExecutor(4) as pool:
            calls = []
            for _ in range(4):  # each times out: the first while running, the rest queued
                calls.append(pool.submit(_post, url))
                time.sleep(0.15)
            statuses = [c.result() for c in calls]
        assert statuses == [503] * 4
        assert overlap.most == 1
        assert len(overlap.started) == 1  # the queued calls were dropped, never run
        deadline = time.monotonic() + 10
        while overlap.running and time.monotonic() < deadline:
            time.sleep(0.05)
        overlap.hold_s = 0.0
        assert _post(url) == 200  # the place is free again once the handler ended


def test_handler_threads_runs_that_many_at_once(overlap: Overlap) -> None:
    with _serve(request_timeout_seconds=20, handler_threads=3) as url:
        overlap.most = 0
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(_post, [url] * 6))
    assert statuses == [200] * 6
    assert overlap.most == 3
