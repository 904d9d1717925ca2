"""Concurrency and endurance at CI size (the full runs are bench/soak.py): threads and
processes give exactly the single-threaded reports, and evaluations start no background
threads (durable-rules' dispatcher timers, which called into the engine outside cvrisk's
lock, stay disabled)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from tests.robust.workload import report_json

SEEDS = list(range(60))


def test_threads_match_the_sequential_reports() -> None:
    expected = {seed: report_json(seed) for seed in SEEDS}
    before = threading.active_count()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for round_ in range(3):
            order = SEEDS[round_:] + SEEDS[:round_]
            got = dict(zip(order, pool.map(report_json, order), strict=True))
            assert got == expected
    assert threading.active_count() == before


def test_no_background_thread_is_left_running() -> None:
    before = {t.ident for t in threading.enumerate()}
    for seed in SEEDS[:10]:
        report_json(seed)
    started = [t.name for t in threading.enumerate() if t.ident not in before]
    assert started == []


def test_processes_match_the_sequential_reports() -> None:
    expected = [report_json(seed) for seed in SEEDS[:30]]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, engine and caches
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        assert list(pool.map(report_json, SEEDS[:30], chunksize=5)) == expected
