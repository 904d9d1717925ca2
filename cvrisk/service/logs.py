"""Structured logs (one JSON object a line) with no patient data.

What is logged: the service, the hook, the ``hookInstance`` (a random UUID chosen by the
EHR), each card's identifier, kind (``alert:nice-cg178/bmi-25``) and indicator, counts,
durations, error classes, the JWT issuer and failure reason, and feedback outcomes with the
override reason's code. What is never logged: patient ids, resources, values, dates of care,
messages built from them, free-text user comments, tokens, exception messages (they may quote
input values; only the exception class and code location are logged).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from typing import Any

LOGGER = logging.getLogger("cvrisk.service")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        return json.dumps(out, default=str, ensure_ascii=False)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (the caller passes no patient data)."""
    LOGGER.log(level, name, extra={"fields": fields})


def failure(name: str, exc: BaseException, **fields: Any) -> None:
    """Log an unexpected error: its class and where it happened, not its message."""
    frames = traceback.extract_tb(exc.__traceback__)[-5:]
    where = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in frames]
    event(name, logging.ERROR, error=type(exc).__name__, where=where, **fields)


def log_config(level: str) -> dict[str, Any]:
    """The logging configuration (``logging.config.dictConfig``) of the service and uvicorn:
    JSON lines on standard error; uvicorn's access log is off (the service logs its own)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "cvrisk.service.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "cvrisk.service": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
