"""Find, load and validate the shipped protocol files.

Installed from a wheel, the files are in ``cvrisk/_protocols``; in a source checkout
(editable install) they are read from the repository's top-level ``protocols/`` folder.
Each file is validated against :class:`~cvrisk.rules.schema.Protocol` once and cached.
"""

from __future__ import annotations

import os
import stat
import tomllib
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from cvrisk.errors import ProtocolError, quoted
from cvrisk.limits import limits
from cvrisk.rules.schema import Protocol, ProtocolInfo

_PACKAGE = Path(__file__).resolve().parent.parent


def protocol_dir() -> Path:
    """The folder holding the shipped protocol files."""
    for candidate in (_PACKAGE / "_protocols", _PACKAGE.parent / "protocols"):
        if candidate.is_dir():
            return candidate
    raise ProtocolError(
        "no protocol folder found (expected cvrisk/_protocols in an installed package or "
        "protocols/ in a source checkout): reinstall cvrisk"
    )


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate one protocol file (TOML).

    Raises:
        ProtocolError: the file is not valid TOML or does not follow the schema; the message
            names the file and each offending field.
    """
    path = Path(path)
    name = quoted(path.name)
    cap = limits().max_protocol_bytes
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe would block the open
            raise ProtocolError(f"{name}: not a regular file (a device, pipe or directory)")
        with open(path, "rb") as handle:
            raw = handle.read(cap + 1)
    except ProtocolError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: embedded null byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ProtocolError(
            f"cannot read the protocol file {quoted(str(path))}: {reason}"
        ) from None
    if len(raw) > cap:
        raise ProtocolError(
            f"{name}: more than {cap:,} bytes, larger than any protocol (docs/limits.md)"
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"{name}: not UTF-8 text (byte {exc.start}): a protocol file is TOML"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ProtocolError(f"{name}: nested too deeply to be a protocol") from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:8]
        )
        raise ProtocolError(f"{name}: invalid protocol: {problems}") from None


@cache
def shipped_protocols() -> dict[str, Protocol]:
    """Every shipped protocol, by id (validated once, cached)."""
    found: dict[str, Protocol] = {}
    for path in sorted(protocol_dir().glob("*.toml")):
        protocol = load_protocol_file(path)
        if protocol.id != path.stem:
            raise ProtocolError(f"{path.name}: declares id {protocol.id!r}; name the file after it")
        found[protocol.id] = protocol
    return found


def get_protocol(protocol_id: str) -> Protocol:
    """The shipped protocol with this id; raises ProtocolError listing the known ids."""
    protocols = shipped_protocols()
    if protocol_id not in protocols:
        raise ProtocolError(
            f"unknown protocol {quoted(protocol_id)}; shipped protocols: "
            f"{', '.join(sorted(protocols))}"
        )
    return protocols[protocol_id]


def protocol_infos(lang: str = "en") -> dict[str, ProtocolInfo]:
    """Metadata of every shipped protocol, by id, titles in ``lang`` (``en`` or ``fr``).

    Raises:
        OptionError: ``lang`` is not a supported language.
    """
    from cvrisk.rules.messages import check_lang

    lang = check_lang(lang)
    return {pid: p.info(lang) for pid, p in shipped_protocols().items()}
