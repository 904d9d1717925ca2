"""Load test of the CDS Hooks service on loopback (self-contained; not a timed test).

Starts ``cvrisk serve`` itself (``--workers``, default 2), then:

1. **discovery after start**: time from launching the command to the first 200 of
   ``GET /cds-services`` (target: within 2 s);
2. **patient-view**: a 50-resource prefetch (Patient, 2 Conditions, 3 MedicationRequests,
   44 Observations from the bundled example), sustained for ``--duration`` seconds (target:
   >= 300 requests/s and p99 < 50 ms);
3. **order-select**: an olanzapine draft order with the same prefetch (target: p99 < 50 ms).

Load generator: a small asyncio HTTP/1.1 client in this file (keep-alive connections sending
pre-built requests; no third-party client on the hot path), on the same machine as the
server, so the two share the cores. Closed loop by default (``--connections`` requests in
flight, as fast as answers come: the throughput figure); ``--rate R`` paces requests at R/s
instead (open loop: the latency figure at that rate, with the time waited for a free
connection counted). ``--auth`` runs the service with JWT verification on and sends a fresh
ES384-signed JWT per request (pre-signed before the run).

    python bench/service_bench.py                      # 60 s, 2 workers, 8 connections
    python bench/service_bench.py --duration 10 --rate 300
    python bench/service_bench.py --duration 5 --auth   # quick check

Needs the service extra and the FHIR reader (cvrisk.fhir). Reports requests/s, p50/p90/p99/
max latency in ms, and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cvrisk import vocab  # noqa: E402

EXAMPLE = REPO / "examples" / "patient.json"


def fifty_resources() -> list[dict[str, Any]]:
    """Patient, 2 Conditions, 3 MedicationRequests and 44 Observations (the example's most
    recent results), as FHIR R4 JSON."""
    native = json.loads(EXAMPLE.read_text())
    patient = native["patient"]
    ref = {"reference": f"Patient/{patient['id']}"}
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": patient["id"],
            "gender": patient["sex"],
            "birthDate": patient["birth_date"],
        }
    ]
    for i, code in enumerate(["F20.0", "F17.2"]):
        out.append(
            {
                "resourceType": "Condition",
                "id": f"c{i}",
                "subject": ref,
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
                "onsetDateTime": "2019-11-02",
            }
        )
    for i, med in enumerate(native["medications"]):
        bounds = {"start": med["start"], **({"end": med["stop"]} if med.get("stop") else {})}
        rx = vocab.antipsychotics()[med["drug"]]["rxnorm"]
        out.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"m{i}",
                "status": "stopped" if med.get("stop") else "active",
                "intent": "order",
                "subject": ref,
                "authoredOn": med["start"],
                "medicationCodeableConcept": {
                    "coding": [
                        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": str(rx)}
                    ]
                },
                "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bounds}}}],
            }
        )
    quantities = [o for o in native["observations"] if "value" in o][-44:]
    for i, obs in enumerate(quantities):
        out.append(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "subject": ref,
                "code": {
                    "coding": [
                        {
                            "system": "http://loinc.org",
                            "code": vocab.analyte(obs["analyte"]).loinc[0],
                        }
                    ]
                },
                "effectiveDateTime": obs["date"],
                "valueQuantity": {
                    "value": obs["value"],
                    "unit": obs["unit"],
                    "system": "http://unitsofmeasure.org",
                    "code": obs["unit"],
                },
            }
        )
    assert len(out) == 50
    return out


def prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    def bundle(kind: str) -> dict[str, Any]:
        entries = [{"resource": r} for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}

    return {
        "patient": resources[0],
        "conditions": bundle("Condition"),
        "medicationRequests": bundle("MedicationRequest"),
        "medicationStatements": None,
        "observations": bundle("Observation"),
    }


def bodies(hook: str, resources: list[dict[str, Any]]) -> bytes:
    context: dict[str, Any] = {"userId": "Practitioner/bench", "patientId": resources[0]["id"]}
    if hook != "patient-view":
        context["selections"] = ["MedicationRequest/draft"]
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "id": "draft",
                        "status": "draft",
                        "intent": "order",
                        "subject": {"reference": f"Patient/{resources[0]['id']}"},
                        "medicationCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                    "code": "61381",
                                    "display": "olanzapine",
                                }
                            ]
                        },
                    }
                }
            ],
        }
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch(resources),
    }
    return json.dumps(body).encode()


def request_bytes(path: str, body: bytes, port: int, token: str | None) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def load(
    port: int, make: Any, duration: float, connections: int, rate: float | None
) -> dict[str, float]:
    """Send requests for ``duration`` s; ``make()`` returns the bytes of the next request."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration
    queue: asyncio.Queue[float] = asyncio.Queue()

    async def pacer() -> None:
        assert rate is not None
        start = time.perf_counter()
        sent = 0
        while time.perf_counter() < stop_at:
            due = start + sent / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(due)
            sent += 1

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                if rate is not None:
                    try:
                        began = await asyncio.wait_for(queue.get(), timeout=0.5)
                    except TimeoutError:
                        continue
                else:
                    began = time.perf_counter()
                writer.write(make())
                await writer.drain()
                status = await _read_response(reader)
                if status != 200:
                    errors += 1
                latencies.append((time.perf_counter() - began) * 1e3)
        finally:
            writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    if rate is not None:
        tasks.append(asyncio.create_task(pacer()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": len(ordered) / elapsed,
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
        "max": ordered[-1] if ordered else 0,
        "mean": statistics.fmean(ordered) if ordered else float("nan"),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, seconds) of a process and its children (Linux /proc): the
    server's cost per request, robust to other load on a shared machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    workers: int, auth: bool, folder: Path
) -> tuple[subprocess.Popen[bytes], int, float, Any]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "cvrisk",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--jurisdiction",
        "GB",
        "--log-level",
        "warning",
    ]
    key = None
    if auth:
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        key = ec.generate_private_key(ec.SECP384R1())
        jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "bench", "alg": "ES384"}
        (folder / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
        args += ["--jwks", str(folder / "jwks.json"), "--allowed-issuer", "https://bench.ehr"]
    else:
        args.append("--no-auth")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    launched = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=REPO, stderr=subprocess.DEVNULL)
    import urllib.error
    import urllib.request

    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/cds-services")
            if key is not None:
                request.add_header("Authorization", f"Bearer {sign(key, port, '/cds-services')}")
            urllib.request.urlopen(request, timeout=1)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if process.poll() is not None:
                raise SystemExit("cvrisk serve exited during start-up") from None
            time.sleep(0.01)
    return process, port, time.perf_counter() - launched, key


def sign(key: Any, port: int, path: str) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "iss": "https://bench.ehr",
        "aud": f"http://127.0.0.1:{port}{path}",
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "bench", "typ": "JWT"})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None, help="requests/s (open loop)")
    parser.add_argument("--auth", action="store_true", help="JWT verification on")
    args = parser.parse_args()
    resources = fifty_resources()
    with tempfile.TemporaryDirectory() as folder:
        process, port, startup, key = start_service(args.workers, args.auth, Path(folder))
        try:
            print(
                f"discovery answered {startup:.2f} s after launching cvrisk serve "
                f"({args.workers} workers, auth {'on' if args.auth else 'off'})"
            )
            for hook, service in [
                ("patient-view", "cvrisk-patient-view"),
                ("order-select", "cvrisk-order-select"),
            ]:
                body = bodies(hook, resources)
                path = f"/cds-services/{service}"
                if key is None:
                    fixed = request_bytes(path, body, port, None)

                    def make(fixed: bytes = fixed) -> bytes:
                        return fixed
                else:
                    count = int(args.duration * (args.rate or 600) * 1.2) + 100
                    prepared = [
                        request_bytes(path, body, port, sign(key, port, path)) for _ in range(count)
                    ]
                    iterator = iter(prepared)

                    def make(iterator: Any = iterator) -> bytes:
                        return next(iterator)

                asyncio.run(load(port, make, 2.0, args.connections, None))  # warm-up
                cpu_before = cpu_seconds(process.pid) if sys.platform == "linux" else 0.0
                stats = asyncio.run(load(port, make, args.duration, args.connections, args.rate))
                cpu = cpu_seconds(process.pid) - cpu_before if sys.platform == "linux" else 0.0
                mode = f"rate {args.rate:g}/s" if args.rate else f"{args.connections} connections"
                print(
                    f"{hook:13s} {mode}: {stats['rps']:7.1f} req/s  p50 {stats['p50']:6.2f}  "
                    f"p90 {stats['p90']:6.2f}  p99 {stats['p99']:6.2f}  max {stats['max']:7.2f} ms"
                    f"  ({int(stats['requests'])} requests, {int(stats['errors'])} errors; "
                    f"server CPU {cpu * 1e3 / max(1, stats['requests']):.2f} ms/request)"
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
