"""``cvrisk cohort DIR|DB -o OUT``: monitor a cohort and write its tables.

Kept apart from :mod:`cvrisk.cli` so that the command line stays light: pandas and the other
cohort dependencies are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TextIO


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``cohort`` sub-command's arguments."""
    parser.add_argument(
        "source",
        help="a folder with patients/conditions/medications/observations as .parquet or .csv "
        "files, or a DuckDB database file (.duckdb, .db) holding those tables",
    )
    parser.add_argument("-o", "--output", required=True, help="folder to write the tables to")
    parser.add_argument("--as-of", type=_date, default=None, help="evaluation date (default today)")
    parser.add_argument(
        "--jurisdiction", help="country code restricting protocol selection (GB...)"
    )
    parser.add_argument("--protocol", action="append", help="protocol id (repeatable)")
    parser.add_argument("--lang", choices=("en", "fr"), default="en", help="message language")
    parser.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="output file format"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes monitoring batches of 100,000 patients side by side (default 1)",
    )
    parser.set_defaults(handler=run)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of processes")
    return value


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Monitor the cohort and write status, requests, alerts, issues and worklist."""
    from cvrisk.cohort import monitor

    result = monitor(
        args.source,
        as_of=args.as_of,
        jurisdiction=args.jurisdiction,
        protocols=args.protocol,
        lang=args.lang,
        progress=sys.stderr.isatty(),
        workers=args.workers,
    )
    paths = result.write(args.output, format=args.format)
    patients = result.status["patient_id"].nunique() if len(result.status) else 0
    overdue = int((result.status["status"] == "overdue").sum())
    warnings = int((result.issues["severity"] == "warning").sum())
    out.write(
        f"{patients} patients with tests to track; {overdue} overdue tests; "
        f"{len(result.alerts)} alerts; {warnings} warning-level data issues\n"
    )
    for path in paths:
        out.write(f"wrote {path}\n")
    return 0
