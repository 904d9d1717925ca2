"""JWT verification against the real server: every way a token must be refused (CDS Hooks
2.0.1, "Trusting CDS Clients"), and the ones that must pass."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from tests.service.conftest import JKU_PATH, Ehr
from tests.service.support import FhirServer, Service, SigningKey


def _refused(response, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "unauthorized"
    assert reason in body["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_es384_and_rs384_tokens_open_discovery(
    service: Service, keys: dict[str, SigningKey]
) -> None:
    for name in ("es", "rs"):
        response = Ehr(service, keys[name]).discovery()
        assert response.status_code == 200, response.text
        ids = [s["id"] for s in response.json()["services"]]
        assert ids == ["cvrisk-patient-view", "cvrisk-order-select", "cvrisk-order-sign"]


def test_no_token(service: Service, ehr: Ehr) -> None:
    _refused(ehr.http.get("/cds-services"), "no Authorization header")
    _refused(ehr.http.get("/cds-services", headers={"Authorization": "Basic abc"}), "Bearer")


def test_expired(ehr: Ehr) -> None:
    _refused(ehr.discovery(now=time.time() - 3600, lifetime=300), "expired")


def test_issued_in_the_future(ehr: Ehr) -> None:
    _refused(ehr.discovery(now=time.time() + 600), "future")


def test_wrong_audience(ehr: Ehr) -> None:
    token = ehr.key.sign(f"{ehr.service.url}/cds-services/cvrisk-patient-view")
    response = ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    _refused(response, "aud is not this endpoint")
    token = ehr.key.sign("https://another.example/cds-services")
    _refused(ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"}), "aud")


def test_audience_may_be_a_list(ehr: Ehr) -> None:
    token = ehr.key.sign([f"{ehr.service.url}/cds-services"])  # type: ignore[arg-type]
    response = ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_unknown_issuer(ehr: Ehr) -> None:
    _refused(ehr.discovery(iss="https://rogue.example"), "not a trusted CDS client")


def test_bad_signature(service: Service, keys: dict[str, SigningKey]) -> None:
    # signed by another key that claims the trusted key's kid
    _refused(Ehr(service, keys["stranger"]).discovery(), "signature does not verify")


def test_tampered_payload(ehr: Ehr) -> None:
    token = ehr.token("/cds-services")
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = claims["iss"]  # same issuer, other tenant
    claims["tenant"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = ehr.http.get(
        "/cds-services", headers={"Authorization": f"Bearer {head}.{forged}.{signature}"}
    )
    _refused(response, "signature")


def test_replayed_jti_is_refused_by_every_worker(ehr: Ehr) -> None:
    jti = str(uuid.uuid4())
    token = ehr.token("/cds-services", jti=jti)
    first = ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200
    for _ in range(4):  # two workers: each replay lands on one of them
        again = ehr.http.get(
            "/cds-services",
            headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        )
        _refused(again, "already used")


def test_alg_none(ehr: Ehr) -> None:
    claims = {
        "iss": "https://ehr.test/issuer",
        "aud": f"{ehr.service.url}/cds-services",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, None, algorithm="none", headers={"kid": "ehr-es384"})
    _refused(ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"}), "'none'")


def _hs256(claims: dict[str, object], secret: bytes, kid: str) -> str:
    """An HS256 JWT made by hand (PyJWT refuses key-looking secrets, as it should)."""
    import hashlib
    import hmac

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{part(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_hs256_even_with_the_public_key_as_secret(ehr: Ehr, keys: dict[str, SigningKey]) -> None:
    from cryptography.hazmat.primitives import serialization

    claims: dict[str, object] = {
        "iss": "https://ehr.test/issuer",
        "aud": f"{ehr.service.url}/cds-services",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        "jti": str(uuid.uuid4()),
    }
    public_pem = (
        keys["es"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = _hs256(claims, public_pem, "ehr-es384")  # the classic algorithm-confusion attack
    _refused(ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"}), "HMAC")


def test_unknown_kid(service: Service) -> None:
    _refused(
        Ehr(service, SigningKey.es384("not-in-the-set")).discovery(), "no key 'not-in-the-set'"
    )


def test_missing_kid_and_claims(ehr: Ehr) -> None:
    token = jwt.encode(
        {
            "iss": "https://ehr.test/issuer",
            "aud": f"{ehr.service.url}/cds-services",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": str(uuid.uuid4()),
        },
        ehr.key.private,
        algorithm="ES384",
    )
    _refused(ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"}), "kid")
    _refused(ehr.discovery(drop=("jti",)), "'jti'")
    _refused(ehr.discovery(drop=("exp",)), "'exp'")


def test_wrongly_typed_claims_and_headers_are_401_not_500(ehr: Ehr) -> None:
    now = int(time.time())
    _refused(ehr.discovery(claims={"exp": str(now + 60)}), "exp must be a number")
    _refused(ehr.discovery(claims={"iat": "yesterday"}), "invalid")
    _refused(ehr.discovery(claims={"jti": 42}), "InvalidJTIError")
    _refused(ehr.discovery(headers={"typ": None}), "typ")
    _refused(ehr.discovery(headers={"typ": "at+jwt"}), "typ")


def test_token_lifetime_is_bounded(ehr: Ehr) -> None:
    _refused(ehr.discovery(lifetime=7 * 24 * 3600), "at most 3600 s")


def test_jku_only_from_the_allow_list(
    service: Service, fhir: FhirServer, keys: dict[str, SigningKey]
) -> None:
    allowed = f"http://127.0.0.1:{fhir.port}{JKU_PATH}"
    caller = Ehr(service, keys["jku"])
    ok = caller.discovery(headers={"jku": allowed})
    assert ok.status_code == 200, ok.text
    assert any(path == JKU_PATH for path, _ in fhir.requests)  # keys fetched from the jku
    _refused(
        caller.discovery(headers={"jku": f"http://127.0.0.1:{fhir.port}/other/jwks.json"}),
        "not in the issuer's allow-list",
    )
    _refused(caller.discovery(), "no key 'ehr-jku'")  # without jku: the configured set


def test_service_and_feedback_endpoints_are_protected(ehr: Ehr) -> None:
    _refused(ehr.http.post("/cds-services/cvrisk-patient-view", json={}), "no Authorization")
    _refused(
        ehr.http.post("/cds-services/cvrisk-patient-view/feedback", json={}), "no Authorization"
    )
    token = ehr.token("/cds-services")  # a discovery token is not a service token
    response = ehr.http.post(
        "/cds-services/cvrisk-patient-view", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    _refused(response, "aud")


def test_refusals_are_logged_without_tokens(service: Service, ehr: Ehr) -> None:
    token = ehr.token("/cds-services", now=time.time() - 3600)
    ehr.http.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
    time.sleep(0.3)
    lines = [e for e in service.log_lines() if e.get("event") == "auth_refused"]
    assert any(e.get("reason") == "expired" for e in lines)
    assert token not in service.log.read_text()


@pytest.mark.usefixtures("trial_service")
def test_no_auth_trial_mode_is_explicit_and_warns(trial_service: Service) -> None:
    import httpx

    response = httpx.get(f"{trial_service.url}/cds-services")
    assert response.status_code == 200
    text = trial_service.log.read_text()
    assert "authentication is OFF (--no-auth)" in text
    assert "auth_disabled" in text
