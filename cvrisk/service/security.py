"""Verifying the EHR's JWT, as CDS Hooks 2.0.1 requires ("Trusting CDS Clients").

Every call (discovery, services, feedback) carries ``Authorization: Bearer <JWT>``. The token
is accepted only when all of these hold:

- header: ``alg`` is an allowed asymmetric algorithm (never ``none``, never HMAC), ``kid``
  is given, ``typ`` is ``JWT``; a ``jku`` header is followed only when that URL is in the
  issuer's allow-list;
- ``iss`` is a configured trusted client, and the signature verifies with the key ``kid``
  of that client's JWK Set (the configured file or URL, or the allowed ``jku``);
- ``aud`` is (or contains) the URL of the endpoint being called;
- ``exp`` and ``iat`` are present and valid within a small leeway, and the token's lifetime
  is bounded;
- ``jti`` was never seen before from that issuer (a shared store refuses replays across the
  worker processes).

Failures raise :class:`AuthError` (HTTP 401) saying which check failed, never echoing the
token itself.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from cvrisk.service.settings import ServiceSettings, TrustedClient


class AuthError(Exception):
    """The request is not authenticated (HTTP 401); ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who made an authenticated call (for logs: the issuer and the token id only)."""

    issuer: str
    jti: str
    tenant: str | None = None


class ReplayStore:
    """Seen ``(iss, jti)`` pairs, in an SQLite file shared by every worker process.

    The primary key makes the check-and-record atomic across processes; entries are dropped
    once their token has expired (plus the leeway), so the file stays small.
    """

    def __init__(self, path: Path, leeway: int) -> None:
        self.path = path
        self.leeway = leeway
        self._local = threading.local()
        self._inserts = 0
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS seen (iss TEXT NOT NULL, jti TEXT NOT NULL, "
                "exp INTEGER NOT NULL, PRIMARY KEY (iss, jti))"
            )

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def first_use(self, issuer: str, jti: str, exp: int) -> bool:
        """Record the token; False when it was already used (a replay)."""
        db = self._connect()
        try:
            db.execute("INSERT INTO seen (iss, jti, exp) VALUES (?, ?, ?)", (issuer, jti, exp))
        except sqlite3.IntegrityError:
            return False
        self._inserts += 1
        if self._inserts % 500 == 0:
            db.execute("DELETE FROM seen WHERE exp < ?", (int(time.time()) - self.leeway,))
        return True


class KeySets:
    """JWK Sets by source (file or URL), cached; URLs are refetched when a ``kid`` is
    unknown (key rotation), at most once per ``min_refresh`` seconds."""

    def __init__(self, http: httpx.AsyncClient, cache_seconds: int, min_refresh: float = 10.0):
        self.http = http
        self.cache_seconds = cache_seconds
        self.min_refresh = min_refresh
        self._cache: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        self._lock = asyncio.Lock()

    async def key(self, source: str, kid: str) -> dict[str, Any] | None:
        """The JWK with ``kid`` in the set at ``source`` (a path or an http(s) URL)."""
        keys = await self._keys(source, refresh=False)
        if kid not in keys and source.startswith(("https://", "http://")):
            fetched_at = self._cache.get(source, (0.0, {}))[0]
            if time.monotonic() - fetched_at >= self.min_refresh:
                keys = await self._keys(source, refresh=True)
        return keys.get(kid)

    async def _keys(self, source: str, *, refresh: bool) -> dict[str, dict[str, Any]]:
        cached = self._cache.get(source)
        now = time.monotonic()
        if cached is not None and not refresh and now - cached[0] < self.cache_seconds:
            return cached[1]
        async with self._lock:
            if source.startswith(("https://", "http://")):
                try:
                    response = await self.http.get(source, headers={"Accept": "application/json"})
                    response.raise_for_status()
                    data = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    if cached is not None:
                        return cached[1]
                    raise AuthError(
                        "jwks_unavailable", f"the JWK Set at {source} could not be read: {exc}"
                    ) from None
            else:
                try:
                    data = json.loads(Path(source).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise AuthError(
                        "jwks_unavailable", f"the JWK Set file {source} could not be read: {exc}"
                    ) from None
            keys = {
                str(k["kid"]): k
                for k in (data.get("keys", []) if isinstance(data, dict) else [])
                if isinstance(k, dict) and "kid" in k
            }
            self._cache[source] = (now, keys)
            return keys


class JwtVerifier:
    """Checks the bearer JWT of each call (see the module docstring)."""

    def __init__(self, settings: ServiceSettings, keysets: KeySets, replays: ReplayStore) -> None:
        self.settings = settings
        self.keysets = keysets
        self.replays = replays
        self.clients: dict[str, TrustedClient] = {c.issuer: c for c in settings.clients}

    async def verify(self, authorization: str | None, audiences: tuple[str, ...]) -> Caller:
        """The caller of a request whose endpoint URL is one of ``audiences``.

        Raises:
            AuthError: the first check that failed.
        """
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed", "the bearer token is not a well-formed JWT") from None
        alg = str(header.get("alg", ""))
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise AuthError(
                "alg_refused",
                f"JWT alg {alg!r} refused: CDS Hooks forbids 'none' and symmetric (HMAC) "
                "signatures",
            )
        if alg not in self.settings.algorithms:
            raise AuthError(
                "alg_refused",
                f"JWT alg {alg!r} is not accepted here (accepted: "
                f"{', '.join(self.settings.algorithms)})",
            )
        if str(header.get("typ", "")).upper() != "JWT":
            raise AuthError("typ", "the JWT header must have typ 'JWT' (CDS Hooks 2.0.1)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("kid_missing", "the JWT header has no 'kid' (required)")
        issuer = unverified.get("iss")
        client = self.clients.get(issuer) if isinstance(issuer, str) else None
        if client is None or not isinstance(issuer, str):
            raise AuthError("unknown_issuer", f"issuer {issuer!r} is not a trusted CDS client")
        source = self._key_source(client, header.get("jku"))
        jwk = await self.keysets.key(source, kid)
        if jwk is None:
            raise AuthError("unknown_kid", f"no key {kid!r} in the JWK Set of {issuer!r}")
        if jwk.get("alg") not in (None, alg):
            raise AuthError("alg_mismatch", f"key {kid!r} is for {jwk.get('alg')}, not {alg}")
        try:
            key = PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=issuer,
                leeway=self.settings.clock_skew_seconds,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("expired", "the JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(
                "audience", f"the JWT aud is not this endpoint ({audiences[0]})"
            ) from None
        except jwt.ImmatureSignatureError:
            raise AuthError("not_yet_valid", "the JWT iat/nbf is in the future") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("claim_missing", f"the JWT has no {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("signature", "the JWT signature does not verify") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError("invalid", f"the JWT is invalid: {type(exc).__name__}") from None
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        for name, value in (("exp", exp), ("iat", iat)):
            # PyJWT reads a numeric string ("1700000000") as a date; RFC 7519 says a JSON
            # number (NumericDate), and arithmetic on a string below would fail
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AuthError(
                    "invalid", f"the JWT {name} must be a number (NumericDate), not {value!r}"
                )
        if not isinstance(jti, str) or not jti:
            raise AuthError("claim_missing", "the JWT jti must be a non-empty string")
        if exp - iat > self.settings.max_token_lifetime_seconds:
            raise AuthError(
                "lifetime",
                f"the JWT lives {int(exp - iat)} s; at most "
                f"{self.settings.max_token_lifetime_seconds} s is accepted",
            )
        if not self.replays.first_use(issuer, jti, int(exp)):
            raise AuthError("replay", "this JWT (jti) was already used")
        tenant = claims.get("tenant")
        return Caller(issuer=issuer, jti=jti, tenant=tenant if isinstance(tenant, str) else None)

    @staticmethod
    def _key_source(client: TrustedClient, jku: Any) -> str:
        if jku is not None:
            if jku not in client.jku_allowlist:
                raise AuthError("jku_refused", f"jku {jku!r} is not in the issuer's allow-list")
            return str(jku)
        if client.jwks_file is not None:
            return str(client.jwks_file)
        if client.jwks_url is not None:
            return client.jwks_url
        raise AuthError("jku_missing", "this issuer's JWTs must name their JWK Set with jku")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing", "no Authorization header: send 'Bearer <JWT>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing", "the Authorization header must be 'Bearer <JWT>'")
    return token.strip()
