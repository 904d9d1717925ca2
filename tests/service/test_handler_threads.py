"""Hook handlers run one at a time in a worker process (``handler_threads``), in arrival
order, while the event loop keeps answering: a real uvicorn server on loopback, real
concurrent HTTP requests."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
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
    """Wraps a handler: counts the handlers running at once, and holds each a while."""

    def __init__(self, handler: Callable[[Any], Any], hold_s: float) -> None:
        self.handler, self.hold_s = handler, hold_s
        self.lock = threading.Lock()
        self.running = self.most = 0

    def __call__(self, call: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.hold_s)  # stands for CPU work; a sleep lets threads overlap
            return self.handler(call)
        finally:
            with self.lock:
                self.running -= 1


def test_handlers_run_one_at_a_time_and_health_answers_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(auth=False, log_level="warning", request_timeout_seconds=20)
    assert settings.handler_threads == 1  # the default
    original = services.SERVICES_BY_ID[SERVICE]
    overlap = Overlap(original.handler, hold_s=0.2)
    monkeypatch.setitem(
        services.SERVICES_BY_ID, SERVICE, dataclasses.replace(original, handler=overlap)
    )
    body = hook_body("patient-view", prefetch(example_resources()))
    with serve_in_thread(create_app(settings)) as url:

        def post(_: int) -> int:
            answer = httpx.post(f"{url}/cds-services/{SERVICE}", json=body, timeout=20)
            return answer.status_code

        with ThreadPoolExecutor(6) as pool:
            calls = [pool.submit(post, i) for i in range(6)]
            time.sleep(0.3)  # the handlers are queued and running now
            started = time.monotonic()
            health = httpx.get(f"{url}/health", timeout=5)
            waited = time.monotonic() - started
            statuses = [c.result() for c in calls]
    assert statuses == [200] * 6
    assert overlap.most == 1  # one handler at a time (the default limiter ran six at once)
    assert health.status_code == 200 and waited < 0.5  # the event loop was not waiting
