"""The ``cvrisk serve`` subcommand: its flags, and starting the service.

Imports only the standard library at module level, so ``cvrisk --help`` works without the
``service`` extra; running it without the extra says what to install.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO


def add_parser(sub: Any) -> None:
    """Add ``serve`` to the ``cvrisk`` subcommands."""
    se = sub.add_parser(
        "serve",
        help="run the CDS Hooks 2.0 service (needs cvrisk[service])",
        description="Run the CDS Hooks 2.0.1 service. Settings come from these flags, then "
        "CVRISK_* environment variables, then --config, then defaults (docs/integrators.md).",
    )
    se.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    se.add_argument("--port", type=int, help="port (default 8080)")
    se.add_argument("--workers", type=int, help="worker processes (default 2)")
    se.add_argument("--config", type=Path, help="settings file (TOML or JSON)")
    se.add_argument("--jwks", help="JWK Set (file or URL) of the EHR allowed to call")
    se.add_argument("--allowed-issuer", help="the EHR's JWT issuer (iss) trusted with --jwks")
    se.add_argument("--allowed-jku", action="append", help="jku URL the issuer may name")
    se.add_argument(
        "--audience", help="public base URL of the service: JWT aud = URL + endpoint path"
    )
    se.add_argument(
        "--no-auth",
        action="store_true",
        help="local trial mode: accept every caller without a JWT (never with real data)",
    )
    se.add_argument("--jurisdiction", help="ISO country code of the deployment (GB, US, FR...)")
    se.add_argument("--lang", choices=("en", "fr"), help="default card language")
    se.add_argument("--cors-origin", action="append", help="browser origin allowed (CORS)")
    se.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    se.set_defaults(handler=run)


def settings_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (None: not given)."""
    flags: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "jurisdiction": args.jurisdiction,
        "default_lang": args.lang,
        "cors_origins": args.cors_origin,
        "log_level": args.log_level,
    }
    if args.audience:
        flags["public_url"] = args.audience.rstrip("/").removesuffix("/cds-services")
    if args.no_auth:
        flags["auth"] = False
    if args.jwks or args.allowed_issuer or args.allowed_jku:
        from cvrisk.errors import OptionError

        if not args.allowed_issuer:
            raise OptionError("--jwks/--allowed-jku need --allowed-issuer (the EHR's iss)")
        client: dict[str, Any] = {"issuer": args.allowed_issuer}
        if args.jwks:
            key = "jwks_url" if args.jwks.startswith(("https://", "http://")) else "jwks_file"
            client[key] = args.jwks
        client["jku_allowlist"] = args.allowed_jku or []
        flags["clients"] = [client]
    return flags


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Start the service (returns when it stops)."""
    try:
        from cvrisk.service.server import serve
        from cvrisk.service.settings import load_settings
    except ImportError as exc:
        from cvrisk.errors import OptionError

        raise OptionError(
            f"cvrisk serve needs the service extra ({exc.name} is missing): "
            "pip install 'cvrisk[service]'"
        ) from None
    serve(load_settings(args.config, **settings_flags(args)))
    return 0
