"""The fuzz targets: each feeds one generated input to one public entry point and says how it
ended. ``ok`` and ``typed:<error>`` are the only acceptable outcomes; ``escaped:<exception>``
is a bug (an exception that is not a :class:`~cvrisk.errors.CvriskError`)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cvrisk
from cvrisk.cli import main as cli_main
from cvrisk.errors import CvriskError
from cvrisk.record import PatientRecord
from cvrisk.scores.from_record import score_inputs, score_record
from cvrisk.sources import read_record

AS_OF = "2025-06-01"
_FILES = Path(tempfile.mkdtemp(prefix="cvrisk-fuzz-"))


def outcome(call: Callable[[], Any]) -> str:
    """``ok``, ``typed:<CvriskError subclass>`` or ``escaped:<exception class>``."""
    try:
        call()
    except CvriskError as exc:
        return f"typed:{type(exc).__name__}"
    except Exception as exc:  # what the fuzz looks for
        return f"escaped:{type(exc).__name__}"
    return "ok"


def record_read(data: Any) -> str:
    return outcome(lambda: read_record(data, on_invalid="raise"))


def record_read_lenient(data: Any) -> str:
    return outcome(lambda: read_record(data, on_invalid="report"))


def from_json(data: Any) -> str:
    text = data if isinstance(data, str | bytes) else _dumps(data)
    return outcome(lambda: PatientRecord.from_json(text))


def evaluate_record(data: Any) -> str:
    return outcome(lambda: cvrisk.evaluate(data, as_of=AS_OF, on_invalid="report"))


def evaluate_arguments(data: Any, kwargs: dict[str, Any]) -> str:
    return outcome(lambda: cvrisk.evaluate(data, **kwargs))


def schedule_arguments(kwargs: dict[str, Any]) -> str:
    return outcome(lambda: cvrisk.schedule(**kwargs))


def score_record_arguments(data: Any, kwargs: dict[str, Any]) -> str:
    return outcome(lambda: score_record(data, **kwargs))


def score_inputs_arguments(data: Any, kwargs: dict[str, Any]) -> str:
    return outcome(lambda: score_inputs(data, **kwargs))


def from_file(data: Any) -> str:
    """The record written to a file (JSON if it can be, else its bytes) and read back."""
    path = _FILES / "from_file.json"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else _dumps(data), errors="surrogatepass")
    return outcome(lambda: PatientRecord.from_file(path))


def cli(argv: list[str], record: Any) -> str:
    """The command line on a file holding ``record``: status 0, or 2 with one line."""
    path = _FILES / "record.json"
    path.write_text(_dumps(record))
    garbage = _FILES / "garbage.json"
    garbage.write_bytes(b"\xff\x00{" + b"[" * 3000)
    filled = [a.replace("{record}", str(path)).replace("{garbage}", str(garbage)) for a in argv]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            status = cli_main(filled, out=io.StringIO())
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 2
    except Exception as exc:
        return f"escaped:{type(exc).__name__}"
    if status == 0:
        return "ok"
    lines = err.getvalue().strip().splitlines()
    if status == 2 and len(lines) == 1:
        return "typed:exit-2"
    return f"escaped:exit-{status}-{len(lines)}-lines"


def _dumps(data: Any) -> str:
    try:
        return json.dumps(data, default=str)
    except (ValueError, TypeError, RecursionError):
        return "{"
