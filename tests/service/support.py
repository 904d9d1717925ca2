"""Real parts for the service tests: signing keys and JWTs as an EHR makes them, a small FHIR
server on loopback (search Bundles with paging, a JWK Set for ``jku``), and ``cvrisk serve``
started in a subprocess on a free loopback port, or an app served by uvicorn in a thread."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

REPO = Path(__file__).resolve().parents[2]
ISSUER = "https://ehr.test/issuer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, timeout: float = 30.0) -> Iterator[str]:
    """``app`` served by a real uvicorn server in a thread on a free loopback port; yields
    its base URL once ``/health`` answers, and stops the server on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SigningKey:
    """A key pair of the EHR, with its public JWK."""

    kid: str
    alg: str
    private: Any
    public_jwk: dict[str, Any]

    @classmethod
    def es384(cls, kid: str) -> SigningKey:
        private = ec.generate_private_key(ec.SECP384R1())
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return cls(kid, "ES384", private, {**jwk, "kid": kid, "alg": "ES384", "use": "sig"})

    @classmethod
    def rs384(cls, kid: str) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return cls(kid, "RS384", private, {**jwk, "kid": kid, "alg": "RS384", "use": "sig"})

    def sign(
        self,
        aud: str,
        *,
        iss: str = ISSUER,
        now: float | None = None,
        lifetime: int = 300,
        jti: str | None = None,
        headers: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        issued = int(now if now is not None else time.time())
        payload = {
            "iss": iss,
            "aud": aud,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": jti or str(uuid.uuid4()),
            **(claims or {}),
        }
        for name in drop:
            payload.pop(name, None)
        header = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=header)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in keys]}


@dataclass
class FhirServer:
    """A tiny FHIR server: reads and searches over given resources, paged Bundles."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 50
    delay: float = 0.0
    jwks_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def start(self) -> FhirServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Authorization")))
                if server.delay:
                    time.sleep(server.delay)
                status, body = server.answer(self.path)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the service gave up waiting (timeout tests)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def answer(self, raw_path: str) -> tuple[int, Any]:
        parts = urllib.parse.urlsplit(raw_path)
        if parts.path in self.jwks_documents:
            return 200, self.jwks_documents[parts.path]
        path = parts.path.removeprefix("/fhir/").strip("/")
        query = urllib.parse.parse_qs(parts.query)
        segments = path.split("/")
        if len(segments) == 2:  # a read
            for resource in self.resources:
                if [resource["resourceType"], resource.get("id")] == segments:
                    return 200, resource
            return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
        kind = segments[0]
        patient = (query.get("patient") or [""])[0]
        found = [
            r
            for r in self.resources
            if r["resourceType"] == kind
            and (r.get("subject") or r.get("patient") or {}).get("reference")
            in (patient, f"Patient/{patient}")
        ]
        page = int((query.get("_page") or ["0"])[0])
        chunk = found[page * self.page_size : (page + 1) * self.page_size]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [{"resource": r} for r in chunk],
            "link": [{"relation": "self", "url": f"{self.base}/{path}?{parts.query}"}],
        }
        if (page + 1) * self.page_size < len(found):
            following = {k: v[0] for k, v in query.items()} | {"_page": str(page + 1)}
            url = f"{self.base}/{kind}?{urllib.parse.urlencode(following)}"
            bundle["link"].append({"relation": "next", "url": url})
        return 200, bundle


@dataclass
class Service:
    """``cvrisk serve`` in a subprocess."""

    config: Path
    port: int
    log: Path
    extra_args: tuple[str, ...] = ()

    def start(self, timeout: float = 60.0) -> Service:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        env.pop("CVRISK_SERVICE_SETTINGS", None)
        self._log = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cvrisk",
                "serve",
                "--config",
                str(self.config),
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cvrisk serve exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.get(f"{self.url}/health", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("cvrisk serve did not start")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        finally:
            self._log.close()
        return code

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out
