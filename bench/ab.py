"""A/B CPU cost of the EHR path: a base revision's code against the work tree's, alternately.

On a shared, noisy machine absolute timings drift by ±50 % from one minute to the next;
a ratio measured by running both versions in turn, many times, in the same minutes, does
not. For each workload, each round starts one process per version (the base revision
exported with ``git archive`` to a temporary folder, and this work tree), each timing
``--batches`` batches of ``--calls`` calls after a warm-up and reporting its best batch
(CPU time of the process, ``time.process_time``). The best over the rounds is kept per
version, and the ratio new / base.

    python bench/ab.py --base main                 # every workload, 5 rounds
    python bench/ab.py --base 0b5a70d --rounds 9 --only evaluate fhir
    python bench/ab.py --base main --callgrind     # instructions per call (valgrind)

``--callgrind`` counts instructions instead (valgrind's callgrind tool, which a loaded
machine does not disturb): each version runs twice under valgrind, with the warm-up only and
with ``--calls`` more calls, and the difference is divided by the calls (a full garbage
collection before the counted calls, in both). Slow (valgrind runs Python about 50 times
slower), but repeatable to about 1 % (the same tree, twice: 16.79 and 16.61 M instructions
an evaluate call, 2026-12-03; without the collection, 17.25 to 17.96 M): compare ratios
well away from 1, or run it twice.

Workloads (the same inputs for both versions; only public or service entry points):

- ``evaluate``: ``cvrisk.evaluate`` on examples/patient.json parsed once as a PatientRecord
  (bench/evaluate_bench.py's first case);
- ``fhir``: ``cvrisk.fhir.read_fhir`` on the 500-resource Bundle of bench/fhir_bench.py;
- ``fhir_text``: ``cvrisk.sources.read_record`` on that Bundle's JSON text (parsing with
  the duplicate-key check included);
- ``patient_view`` / ``order_select``: one CDS Hooks call with bench/service_bench.py's
  50-resource prefetch, through the whole ASGI app in-process (Starlette, middleware, JSON
  in and out; the handler run inline instead of in a worker thread);
- ``patient_view_served``: the same call with the settings ``cvrisk serve`` runs with
  (``cvrisk.service.server.prepare``: the store of the summaries the cards link to is on, so
  each call also writes its evaluation and record there, as every served call does).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

CHILD = r"""
import asyncio, datetime as dt, json, os, sys, time
sys.path.insert(0, BENCH)
# the version measured: this tree's cvrisk, imported before service_bench (which puts the
# repository holding bench/ first on sys.path, and so would import the work tree's cvrisk)
import cvrisk
assert cvrisk.__file__.startswith(os.getcwd()), (cvrisk.__file__, os.getcwd())
workload, calls, batches, warmup = WORKLOAD, CALLS, BATCHES, WARMUP

def setup():
    if workload == "evaluate":
        import cvrisk
        from cvrisk.record import PatientRecord
        record = PatientRecord.from_json(json.load(open(EXAMPLE)))
        return lambda: cvrisk.evaluate(record, as_of=dt.date(2025, 6, 1))
    if workload in ("fhir", "fhir_text"):
        from fhir_bench import native_record
        from fhir_bundles import bundle
        native, extras = native_record(500)
        data = bundle(native, ethnicity="uk", extra=extras)
        if workload == "fhir":
            from cvrisk.fhir import read_fhir
            return lambda: read_fhir(data)
        from cvrisk.sources import read_record
        text = json.dumps(data)
        return lambda: read_record(text)
    import anyio.to_thread
    import service_bench as sb
    from cvrisk.service import app as appmod
    from cvrisk.service.app import create_app
    from cvrisk.service.settings import ServiceSettings

    async def inline(function, *args, **kwargs):
        return function(*args)

    if hasattr(appmod, "anyio"):  # trees before 3be7692+: handlers through anyio's pool
        appmod.anyio.to_thread.run_sync = inline
    else:  # later trees: a handler pool of their own, replaced by a call in this thread
        class Inline:
            def submit(self, function, *args):
                import concurrent.futures
                done = concurrent.futures.Future()
                done.set_result(function(*args))
                return done
            def shutdown(self, wait=True, cancel_futures=False):
                pass
        appmod.ThreadPoolExecutor = lambda *args, **kwargs: Inline()
    served = workload.endswith("_served")
    hook = workload.removesuffix("_served").replace("_", "-")
    service = {"patient-view": "cvrisk-patient-view", "order-select": "cvrisk-order-select"}
    body = sb.bodies(hook, sb.fifty_resources())
    settings = ServiceSettings(auth=False, jurisdiction="GB")
    if served:
        from cvrisk.service.server import prepare
        settings = prepare(settings)
    app = create_app(settings)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/cds-services/" + service[hook], "raw_path": b"",
        "query_string": b"", "root_path": "", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }
    loop = asyncio.new_event_loop()
    import contextlib
    stack = contextlib.AsyncExitStack()
    loop.run_until_complete(stack.enter_async_context(app.router.lifespan_context(app)))
    # the service warms up in a background thread: let it finish before anything is counted
    # (running alongside the first calls, it made callgrind counts vary by 10 % between runs)
    loop.run_until_complete(loop.shutdown_default_executor())

    async def call():
        sent = []
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}
        async def send(message):
            sent.append(message)
        await app(dict(scope), receive, send)
        assert sent[0]["status"] == 200, sent
        return sent

    return lambda: loop.run_until_complete(call())

run = setup()
for _ in range(warmup):
    run()
if batches == 0:  # counted by callgrind: the calls only
    # a full collection first (in both counts, so it cancels out): without it, whether the
    # counted calls happened to include one of the old generation moved a count by 4 %
    import gc
    gc.collect()
    for _ in range(calls):
        run()
    raise SystemExit(0)
best = float("inf")
for _ in range(batches):
    began = time.process_time()
    for _ in range(calls):
        run()
    best = min(best, (time.process_time() - began) / calls)
print(json.dumps({"us": best * 1e6}))
"""

#: (calls per batch, warm-up calls) per workload
SIZES = {
    "evaluate": (100, 100),
    "fhir": (30, 20),
    "fhir_text": (20, 10),
    "patient_view": (50, 50),
    "patient_view_served": (50, 50),
    "order_select": (50, 50),
}


def export(revision: str, folder: Path, name: str) -> Path:
    """The tree of ``revision`` written under ``folder`` (``git archive``)."""
    archive = folder / f"{name}.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision], cwd=REPO, stdout=out, check=True)
    tree = folder / name
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def measure(tree: Path, workload: str, calls: int, warmup: int, batches: int) -> float:
    """Best per-call CPU time (µs) of ``workload`` with the cvrisk of ``tree``."""
    code = (
        CHILD.replace("BENCH", repr(str(HERE)))
        .replace("EXAMPLE", repr(str(REPO / "examples" / "patient.json")))
        .replace("WORKLOAD", repr(workload))
        .replace("CALLS", str(calls))
        .replace("BATCHES", str(batches))
        .replace("WARMUP", str(warmup))
    )
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{workload} failed with {tree}:\n{out.stderr[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["us"])


def instructions(tree: Path, workload: str, calls: int, warmup: int) -> float:
    """Instructions per call of ``workload`` with the cvrisk of ``tree`` (callgrind)."""

    def count(n: int) -> int:
        code = (
            CHILD.replace("BENCH", repr(str(HERE)))
            .replace("EXAMPLE", repr(str(REPO / "examples" / "patient.json")))
            .replace("WORKLOAD", repr(workload))
            .replace("CALLS", str(n))
            .replace("BATCHES", "0")
            .replace("WARMUP", str(warmup))
        )
        # a fixed hash seed: set and dict orders, hence instruction counts, repeat exactly
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        out = subprocess.run(
            [*command, sys.executable, "-c", code],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
        )
        collected = [line for line in out.stderr.splitlines() if "Collected" in line]
        if out.returncode != 0 or not collected:
            raise SystemExit(f"{workload} failed under valgrind:\n{out.stderr[-2000:]}")
        return int(collected[-1].split()[-1])

    return (count(calls) - count(0)) / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--new", help="git revision to measure (default: the work tree)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=sorted(SIZES), default=sorted(SIZES))
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--calls", type=int, default=10, help="calls counted (--callgrind)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cvrisk-ab-") as folder:
        base = export(args.base, Path(folder), "base")
        new_tree = export(args.new, Path(folder), "new") if args.new else REPO
        shown = args.new or f"work tree {REPO}"
        if args.callgrind:
            print(f"base {args.base} vs {shown}: instructions per call (callgrind)")
            print(f"{'workload':14s} {'base':>13s} {'new':>13s} {'new/base':>9s}")
            for workload in args.only:
                warmup = min(SIZES[workload][1], 5)
                old = instructions(base, workload, args.calls, warmup)
                new = instructions(new_tree, workload, args.calls, warmup)
                print(f"{workload:14s} {old:13,.0f} {new:13,.0f} {new / old:9.3f}", flush=True)
            return
        print(
            f"base {args.base} vs {shown}; best of {args.rounds} rounds x "
            f"{args.batches} batches, CPU µs per call"
        )
        print(f"{'workload':14s} {'base':>9s} {'new':>9s} {'new/base':>9s}")
        for workload in args.only:
            calls, warmup = SIZES[workload]
            best = {"base": float("inf"), "new": float("inf")}
            for _ in range(args.rounds):
                for side, tree in (("base", base), ("new", new_tree)):
                    us = measure(tree, workload, calls, warmup, args.batches)
                    best[side] = min(best[side], us)
            ratio = best["new"] / best["base"]
            print(f"{workload:14s} {best['base']:9.0f} {best['new']:9.0f} {ratio:9.2f}")


if __name__ == "__main__":
    main()
