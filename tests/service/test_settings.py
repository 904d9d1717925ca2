"""Settings: flags over environment over config file over defaults; secure by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvrisk.errors import OptionError
from cvrisk.service.command import settings_flags
from cvrisk.service.settings import (
    SETTINGS_ENV,
    ServiceSettings,
    fhir_server_allowed,
    load_settings,
    settings_from_environment,
)


def test_authentication_is_required_unless_explicitly_off() -> None:
    with pytest.raises(OptionError, match="--no-auth"):
        load_settings()
    assert load_settings(auth=False).auth is False


def test_no_auth_listens_on_this_machine_only() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert load_settings(auth=False, host=host).host == host
    for host in ("0.0.0.0", "::", "10.0.0.5", "cvrisk.example"):
        with pytest.raises(OptionError, match="this machine only"):
            load_settings(auth=False, host=host)


def test_fhir_servers_the_service_may_call() -> None:
    listed = ["https://fhir.example/r4"]
    assert fhir_server_allowed("https://fhir.example/r4", listed, auth=True)
    assert fhir_server_allowed("https://fhir.example/r4/", listed, auth=True)
    assert not fhir_server_allowed("https://fhir.example/r4x", listed, auth=True)
    assert not fhir_server_allowed("https://fhir.example/r4.evil.test", listed, auth=True)
    assert not fhir_server_allowed("https://other.example/r4", listed, auth=True)
    # no list: the authenticated EHR names its server; an anonymous caller reaches loopback only
    assert fhir_server_allowed("https://fhir.example/r4", [], auth=True)
    assert fhir_server_allowed("http://127.0.0.1:8081/fhir", [], auth=False)
    assert not fhir_server_allowed("http://169.254.169.254/latest", [], auth=False)
    assert not fhir_server_allowed("file:///etc/passwd", [], auth=False)


def test_precedence_flags_environment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cvrisk.toml"
    config.write_text('[service]\nauth = false\nport = 7000\nworkers = 3\njurisdiction = "uk"\n')
    assert load_settings(config).port == 7000
    assert load_settings(config).jurisdiction == "GB"  # UK read as GB, as evaluate does
    monkeypatch.setenv("CVRISK_PORT", "7100")
    monkeypatch.setenv("CVRISK_CORS_ORIGINS", json.dumps(["https://ehr.example.org"]))
    settings = load_settings(config)
    assert (settings.port, settings.workers) == (7100, 3)
    assert settings.cors_origins == ["https://ehr.example.org"]
    assert load_settings(config, port=7200).port == 7200


def test_symmetric_and_none_algorithms_cannot_be_configured() -> None:
    for alg in ("HS256", "none"):
        with pytest.raises(OptionError, match="symmetric"):
            load_settings(auth=False, algorithms=[alg])


def test_trusted_clients_need_keys(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="has no keys"):
        load_settings(clients=[{"issuer": "https://ehr"}])
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    settings = load_settings(clients=[{"issuer": "https://ehr", "jwks_file": str(jwks)}])
    assert settings.clients[0].jwks_file == jwks


def test_command_line_flags() -> None:
    from cvrisk.cli import build_parser

    args = build_parser().parse_args(
        [
            "serve",
            "--jwks",
            "keys.json",
            "--allowed-issuer",
            "https://ehr",
            "--audience",
            "https://cds.example.org/cds-services",
            "--port",
            "9000",
        ]
    )
    flags = settings_flags(args)
    assert flags["clients"] == [
        {"issuer": "https://ehr", "jwks_file": "keys.json", "jku_allowlist": []}
    ]
    assert flags["public_url"] == "https://cds.example.org"
    with pytest.raises(OptionError, match="--allowed-issuer"):
        settings_flags(build_parser().parse_args(["serve", "--jwks", "k.json"]))


def test_workers_get_the_parents_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(auth=False, port=9300, jurisdiction="FR", default_lang="fr")
    monkeypatch.setenv(SETTINGS_ENV, settings.to_environment())
    monkeypatch.setenv("CVRISK_PORT", "1")  # ignored: the parent's resolved settings win
    carried = settings_from_environment()
    assert carried == settings and isinstance(carried, ServiceSettings)


def test_invalid_values_name_the_setting() -> None:
    with pytest.raises(OptionError, match="timezone"):
        load_settings(auth=False, timezone="Mars/Olympus")
    with pytest.raises(OptionError, match="workers"):
        load_settings(auth=False, workers=0)
