"""The service's settings: one typed object, read once at start-up.

Sources, strongest first: command-line flags (``cvrisk serve --port 8080``), environment
variables (``CVRISK_PORT=8080``; lists and the trusted clients as JSON, e.g.
``CVRISK_CORS_ORIGINS='["https://ehr.example.org"]'``), the ``--config`` file (TOML or JSON),
then the defaults below. Worker processes receive the resolved object itself (JSON in
``CVRISK_SERVICE_SETTINGS``), so every worker runs with exactly what the parent checked.

Security is on unless ``auth = false`` is set explicitly (``--no-auth``): the service then
refuses to start without at least one trusted client (an allowed issuer and its keys).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cvrisk.errors import OptionError

#: Environment variable carrying the resolved settings (JSON) from ``cvrisk serve`` to its
#: worker processes.
SETTINGS_ENV = "CVRISK_SERVICE_SETTINGS"

#: Asymmetric JWS algorithms the service can verify. CDS Hooks 2.0.1 (Trusting CDS Clients):
#: "JWTs SHALL NOT be signed using the none algorithm" nor "any symmetric algorithm"; ES384
#: and RS384 are RECOMMENDED (the default).
ASYMMETRIC = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


class TrustedClient(BaseModel):
    """An EHR (CDS Client) allowed to call the service: its ``iss`` and where its public
    keys are (a JWKS file or URL configured here; or the JWT's ``jku`` header, only when the
    URL is in ``jku_allowlist``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, description="The exact `iss` claim of its JWTs.")
    jwks_file: Path | None = Field(None, description="A JWK Set file (RFC 7517).")
    jwks_url: str | None = Field(None, description="A JWK Set URL fetched by the service.")
    jku_allowlist: list[str] = Field(
        default_factory=list, description="JWK Set URLs its JWT `jku` header may name."
    )

    @model_validator(mode="after")
    def _has_keys(self) -> TrustedClient:
        if self.jwks_file is None and self.jwks_url is None and not self.jku_allowlist:
            raise ValueError(
                f"trusted client {self.issuer!r} has no keys: give jwks_file, jwks_url or "
                "jku_allowlist"
            )
        for url in [*([self.jwks_url] if self.jwks_url else []), *self.jku_allowlist]:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"JWKS URL {url!r} of {self.issuer!r} is not an http(s) URL")
        return self


def is_loopback_host(host: str) -> bool:
    """True for a name or address of this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def fhir_server_allowed(server: str, allowlist: list[str], *, auth: bool) -> bool:
    """Whether the service may call ``server`` (a hook's ``fhirServer``).

    With an allow-list: ``server`` is one of its base URLs or below one (at a ``/``
    boundary: ``https://fhir.example`` does not admit ``https://fhir.example.evil``). Without
    one: any server when the EHR is authenticated (its JWT is verified, it names its own FHIR
    server), only loopback servers in the unauthenticated trial mode (an anonymous caller must
    not make the service fetch arbitrary URLs)."""
    import urllib.parse

    if allowlist:
        for prefix in allowlist:
            base = prefix.rstrip("/")
            if server == base or server.startswith(base + "/"):
                return True
        return False
    if auth:
        return True
    parsed = urllib.parse.urlsplit(server)
    return parsed.scheme in ("http", "https") and is_loopback_host(parsed.hostname or "")


class ServiceSettings(BaseSettings):
    """Every setting of ``cvrisk serve`` (see docs/integrators.md for each one)."""

    model_config = SettingsConfigDict(env_prefix="CVRISK_", extra="forbid", frozen=True)

    # -- where it listens -----------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(2, ge=1, le=64, description="Worker processes (uvicorn).")
    public_url: str | None = Field(
        None,
        description="The base URL the EHR calls (JWT `aud` is this + the endpoint path). "
        "Default: http://HOST:PORT.",
    )
    # -- security -------------------------------------------------------------------------
    auth: bool = Field(True, description="Verify the EHR's JWT. Off only when set false.")
    clients: list[TrustedClient] = Field(default_factory=list)
    algorithms: list[str] = Field(default_factory=lambda: ["ES384", "RS384"])
    clock_skew_seconds: int = Field(30, ge=0, le=300)
    max_token_lifetime_seconds: int = Field(3600, ge=1)
    replay_store: Path | None = Field(
        None, description="SQLite file of seen `jti`s, shared by the workers (default: temp)."
    )
    jwks_cache_seconds: int = Field(300, ge=0)
    cors_origins: list[str] = Field(default_factory=list)
    # -- limits ---------------------------------------------------------------------------
    max_body_bytes: int = Field(5_000_000, ge=1024)
    request_timeout_seconds: float = Field(10.0, gt=0)
    handler_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Hook calls a worker evaluates at once; more wait their turn, in order.",
    )
    fhir_timeout_seconds: float = Field(5.0, gt=0)
    fhir_max_pages: int = Field(20, ge=1)
    fhir_max_bytes: int = Field(20_000_000, ge=1024)
    fhir_server_allowlist: list[str] = Field(
        default_factory=list,
        description="FHIR base URLs the service may call (and URLs below them). Empty: any "
        "with authentication on, loopback ones only with --no-auth.",
    )
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    # -- decision support -----------------------------------------------------------------
    jurisdiction: str | None = Field(None, description="ISO country code of the deployment.")
    default_lang: Literal["en", "fr"] = "en"
    timezone: str = Field("UTC", description="Time zone of the clinic's calendar day.")
    record_complete: bool = False
    order_intent: Literal["proposal", "plan", "order"] = "proposal"
    info_issues: bool = True
    codes_base: str = Field("urn:cvrisk", description="Base URI of cvrisk's code systems.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # -- shared summaries (cvrisk.summary.service) ---------------------------------------
    summary_store: Path | None = Field(
        None,
        description="SQLite file holding, for summary_ttl_seconds, the evaluations that "
        "patient-view cards link to (GET /summary/{token}); shared by the workers "
        "(default: a private temporary directory).",
    )
    summary_ttl_seconds: int = Field(900, ge=0, le=86400, description="0: no summary links.")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        refused = [a for a in value if a not in ASYMMETRIC]
        if refused:
            raise ValueError(
                f"algorithms {refused} refused: CDS Hooks forbids 'none' and symmetric (HMAC) "
                f"algorithms; use asymmetric ones ({', '.join(ASYMMETRIC)})"
            )
        if not value:
            raise ValueError("give at least one algorithm (ES384, RS384)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from cvrisk.rules.options import check_jurisdiction

        return check_jurisdiction(value)

    @model_validator(mode="after")
    def _secure_by_default(self) -> ServiceSettings:
        if self.auth and not self.clients:
            raise ValueError(
                "authentication is on but no trusted client is configured: give --jwks PATH "
                "and --allowed-issuer ISS (or 'clients' in the config file), or run the local "
                "trial mode explicitly with --no-auth"
            )
        if not self.auth and not is_loopback_host(self.host):
            raise ValueError(
                f"--no-auth with host {self.host!r}: without authentication the service "
                "listens on this machine only (127.0.0.1, ::1 or localhost), since any caller "
                "could read its cards and make it fetch URLs; configure trusted clients to "
                "serve a network"
            )
        return self

    @property
    def base_url(self) -> str:
        """The public base URL, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_environment(self) -> str:
        """The settings as JSON for :data:`SETTINGS_ENV`."""
        return self.model_dump_json()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))


class _FileSource(PydanticBaseSettingsSource):
    """The ``--config`` file's values (set by :func:`load_settings` while it builds)."""

    values: ClassVar[dict[str, Any]] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML or JSON file (a ``[service]`` table or the top level)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OptionError(f"cannot read the config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise OptionError(f"config file {str(path)!r} is not valid TOML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OptionError(f"config file {str(path)!r} must hold a table of settings")
    section = data.get("service", data)
    return dict(section) if isinstance(section, dict) else {}


def load_settings(config: str | Path | None = None, **flags: Any) -> ServiceSettings:
    """Build the settings from flags, environment, config file and defaults (in that order).

    Raises:
        OptionError: an invalid setting, naming it and saying what is expected.
    """
    values = {key: value for key, value in flags.items() if value is not None}
    _FileSource.values = read_config_file(config) if config is not None else {}
    try:
        return ServiceSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()[:6]
        )
        raise OptionError(f"invalid service settings: {problems}") from None
    finally:
        _FileSource.values = {}


def settings_from_environment() -> ServiceSettings:
    """The settings a worker process was started with (:data:`SETTINGS_ENV`), or, without
    it, the settings from the environment alone."""
    import os

    carried = os.environ.get(SETTINGS_ENV)
    if carried:
        return ServiceSettings.model_validate_json(carried)
    return load_settings()
