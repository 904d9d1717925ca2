"""The ``cvrisk`` command line: evaluate records, print prescribing plans, score cohorts.

Errors in the user's input (a bad record, an unknown protocol, an invalid score row) print
one clear message on stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from cvrisk._version import __version__
from cvrisk.errors import CvriskError, ProbableUnitWarning
from cvrisk.rules.messages import colon, duration_text, every_text, phrase

if TYPE_CHECKING:
    from cvrisk.rules.report import PlanItem

_STATUS_MARK = {"overdue": "!!", "due": "! ", "conditional": "? ", "upcoming": "  "}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _table(rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    """Print rows as left-aligned columns (the first row is the header)."""
    texts = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in texts) for i in range(len(texts[0]))]
    for index, row in enumerate(texts):
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")
        if index == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def _word(key: str, lang: str) -> str:
    return phrase(f"table.{key}", lang)


def _percent(risk: float, lang: str) -> str:
    text = f"{100 * risk:.1f} %"
    return text.replace(".", ",") if lang == "fr" else text


def _when(item: Any, lang: str) -> str:
    """When a plan item falls: baseline, a delay after the start, or a recurring interval."""
    from cvrisk.rules.timeline import EACH_ADMINISTRATION

    if item.occurrence == "baseline":
        return _word("baseline", lang)
    if item.occurrence == EACH_ADMINISTRATION:
        return _word("each_administration", lang)
    if item.recurring:
        return every_text(item.occurrence, lang)
    return duration_text(item.occurrence, lang)


def _mark(evidence_status: str) -> str:
    return "*" if evidence_status == "unconfirmed" else ""


def _plan_mark(item: PlanItem) -> str:
    """A plan row's mark: ``?`` for an item due only if indicated (as ``evaluate`` marks a
    conditional test), blank otherwise."""
    return _STATUS_MARK["conditional"].strip() if item.conditional else ""


def _plan_label(item: PlanItem, lang: str) -> str:
    """A plan item's test, with "(if indicated)" when its source makes it conditional (an ECG
    only with cardiovascular risk factors) and ``*`` when its source is unconfirmed."""
    label = item.label + _mark(item.evidence_status)
    if item.conditional:
        label += f" ({phrase('status.conditional', lang)})"
    return label


def _evaluation_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`cvrisk.evaluate` given on the command line (every
    command that evaluates a record takes the same options: :func:`_add_evaluation_options`)."""
    score_inputs: dict[str, dict[str, Any]] = {}
    for key, value in _pairs(args.score_input, "--score-input").items():
        model, dot, field = key.partition(".")
        if not dot or not field:
            raise CvriskError(f"--score-input {key!r}: use MODEL.FIELD=VALUE")
        score_inputs.setdefault(model, {})[field] = _csv_value(value)
    return {
        "as_of": args.as_of,
        "protocols": args.protocol or None,
        "jurisdiction": args.jurisdiction,
        "score_inputs": score_inputs or None,
        "record_complete": args.record_complete,
        "on_invalid": "report" if args.lenient else "raise",
        "strict": args.strict,
    }


def _cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    from cvrisk.rules.evaluate import evaluate
    from cvrisk.rules.timeline import EACH_ADMINISTRATION

    report = evaluate(args.file, lang=args.lang, **_evaluation_options(args))
    if args.format == "json":
        out.write(report.model_dump_json(indent=2) + "\n")
        return 0
    if args.format == "fhir":
        from cvrisk.fhir import report_bundle

        out.write(json.dumps(report_bundle(report), indent=2, ensure_ascii=False) + "\n")
        return 0
    lang = args.lang
    protocols = ", ".join(report.protocols) or "-"
    out.write(
        f"Patient {report.patient_id or ''} — {_word('as_of', lang)} {report.as_of} — "
        f"{_word('protocols', lang)}{colon(lang)} {protocols}\n\n"
    )
    warnings = [i for i in report.data_issues if i.severity == "warning"]
    if warnings:  # said first: what may make the rest incomplete or wrong
        out.write(f"{_word('warnings', lang)} ({len(warnings)}){colon(lang)}\n")
        for issue in warnings:
            out.write(f"  !! {issue.message}\n")
        out.write("\n")
    unconfirmed = False
    if report.tests:
        header = [
            "",
            *(_word(k, lang) for k in ("status", "test", "due", "window", "rule", "last")),
        ]
        rows: list[list[Any]] = [header]
        for t in report.tests:
            unconfirmed |= t.evidence_status == "unconfirmed"
            # a standing instruction (observe after every injection): due at each one, not
            # on a date; its window is the course so far
            each = t.occurrence == EACH_ADMINISTRATION
            rows.append(
                [
                    _STATUS_MARK[t.status],
                    phrase(f"status.{t.status}", lang),
                    t.label + _mark(t.evidence_status),
                    _word("each_administration", lang) if each else t.due_date,
                    f"{t.window.start}.." if each else f"{t.window.start}..{t.window.end}",
                    f"{t.protocol}/{t.rule}"
                    + (f" (+{len(t.requested_by) - 1})" if len(t.requested_by) > 1 else ""),
                    t.last_result or "-",
                ]
            )
        _table(rows, out)
    else:  # with warnings, "none required" may only mean "none found": say which
        out.write(_word("none_with_warnings" if warnings else "none", lang) + "\n")
    out.write(f"\n{_word('alerts', lang)} ({len(report.alerts)}){colon(lang)}\n")
    for alert in report.alerts:
        unconfirmed |= alert.evidence_status == "unconfirmed"
        dates = sorted({str(e.date) for e in alert.evidence if e.date is not None})
        when = f" ({', '.join(dates)})" if dates else ""
        severity = phrase(f"severity.{alert.severity}", lang)
        out.write(f"  [{severity}] {alert.code}{_mark(alert.evidence_status)}{when}: ")
        out.write(f"{alert.message}\n      source: {alert.source}\n")
    if report.scores:
        out.write(f"\n{_word('scores', lang)}{colon(lang)}\n")
        for s in report.scores:
            value = _percent(s.risk, lang) if s.risk is not None else _word("not_computable", lang)
            out.write(f"  {s.model}: {value}")
            missing = (
                f" ({_word('missing', lang)}{colon(lang)} {', '.join(s.missing)})"
                if s.missing
                else ""
            )
            out.write(missing + "\n")
            for caveat in s.caveats:
                out.write(f"      {_word('note', lang)}{colon(lang)} {caveat}\n")
    others = [i for i in report.data_issues if i.severity != "warning"]
    if others:
        out.write(f"\n{_word('issues', lang)}{colon(lang)}\n")
        for issue in others:
            out.write(f"  - {issue.message}\n")
    if unconfirmed:
        out.write("\n" + _word("unconfirmed", lang) + "\n")
    return 0


def _cmd_schedule(args: argparse.Namespace, out: TextIO) -> int:
    from cvrisk.rules.plan import schedule

    patient = None
    if args.birth_date is not None:
        patient = {"birth_date": args.birth_date.isoformat(), "sex": args.sex}
    plan = schedule(
        args.drug,
        args.start,
        protocol=args.protocol,
        patient=patient,
        jurisdiction=args.jurisdiction,
        lang=args.lang,
    )
    if args.format == "json":
        out.write(plan.model_dump_json(indent=2) + "\n")
        return 0
    lang = args.lang
    unconfirmed = False
    for proto in plan.protocols:
        out.write(f"{proto.title} — {proto.population}\n")
        out.write(f"  {proto.citation}\n\n")
        items = [*proto.baseline, *proto.followups]
        unconfirmed |= any(i.evidence_status == "unconfirmed" for i in items)
        baseline = [
            [_plan_mark(i), _word("baseline", lang), _plan_label(i, lang), i.source]
            for i in proto.baseline
        ]
        if baseline:
            header = ["", *(_word(k, lang) for k in ("when", "test", "source"))]
            _table([header, *baseline], out)
        followups = [
            [
                _plan_mark(i),
                i.due_date,
                f"{i.window.start}..{i.window.end}",
                _when(i, lang),
                _plan_label(i, lang),
            ]
            for i in proto.followups
        ]
        if followups:
            out.write("\n")
            header = ["", *(_word(k, lang) for k in ("due", "window", "after_start", "test"))]
            _table([header, *followups], out)
        for line in proto.then:
            out.write(f"  {_word('then_every', lang)}{colon(lang)} {line}\n")
        out.write("\n")
    if not plan.protocols:
        out.write(phrase("table.no_plan", lang, drug=plan.drug) + "\n")
    for note in plan.notes:
        out.write(f"! {note}\n")
    if unconfirmed:
        out.write(_word("unconfirmed", lang) + "\n")
    return 0


def _cmd_protocols(args: argparse.Namespace, out: TextIO) -> int:
    from cvrisk.rules.catalog import protocol_infos

    infos = protocol_infos(args.lang)
    if args.format == "json":
        out.write(json.dumps({k: v.model_dump() for k, v in infos.items()}, indent=2) + "\n")
        return 0
    header = ["id"] + [_word(k, args.lang) for k in ("jurisdiction", "version", "items", "rules")]
    rows: list[list[Any]] = [[*header, _word("title", args.lang)]]
    for info in infos.values():
        rows.append(
            [
                info.id,
                info.jurisdiction,
                info.version,
                info.schedule_items,
                info.alert_rules,
                info.title,
            ]
        )
    _table(rows, out)
    return 0


def _csv_value(text: str) -> Any:
    """A CSV cell: empty -> missing, true/false -> bool, numbers -> float, else the text."""
    if text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CvriskError(f"{what} {item!r}: use NAME=VALUE")
        out[key] = value
    return out


def _option_value(text: str) -> Any:
    """A --option value: a whole number (ASCII digits) as an int, anything else as text."""
    return int(text) if re.fullmatch(r"[0-9]+", text) else text


def _progress(cohort: Any, stream: TextIO) -> Any:
    """A tqdm progress bar on a terminal for a long run, or None (tqdm is optional)."""
    if not stream.isatty() or cohort.total is None:
        return None
    long_run = cohort.total > (1 << 26) if cohort.unit == "B" else cohort.total > 500_000
    if not long_run:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None
    return tqdm(
        total=cohort.total,
        unit=cohort.unit,
        unit_scale=True,
        file=stream,
        desc="cvrisk score",
        leave=False,
    )


def _summary(model: str, rows: int, invalid: int, columns: dict[str, list[Any]]) -> str:
    """The stderr summary of the rows left unscored, by column with a first example."""
    lines = [
        f"cvrisk: {model}: {invalid} of {rows} row(s) not scored (risk left empty); "
        "problems by column:"
    ]
    for column, (count, example) in columns.items():
        lines.append(f"  {column}: {count} row(s), {example}")
    return "\n".join(lines) + "\n"


def _cmd_score(args: argparse.Namespace, out: TextIO) -> int:
    import numpy as np

    from cvrisk import scorefiles
    from cvrisk.scores.registry import get_model

    model = get_model(args.model)
    kinds = dict(model.columns_read())
    units = _pairs(args.unit, "--unit") or None
    options = {k: _option_value(v) for k, v in _pairs(args.option, "--option").items()}
    cohort = scorefiles.open_cohort(
        args.file,
        kinds,
        id_column=args.id,
        delimiter=args.delimiter,
        decimal=args.decimal,
    )
    if not cohort.fast:
        sys.stderr.write(f"cvrisk: note: {scorefiles.FAST_PATH_HINT}\n")
    # the call's own mistakes (a missing column, an option, a unit), before reading rows
    model.run({name: np.empty(0) for name in cohort.columns}, units=units, **options)
    output = scorefiles.Output(
        args.output,
        None if args.output else out,
        id_column=args.id,
        risk_column=f"{args.model}_risk",
        reasons=args.reasons,
        delimiter=args.delimiter,
        decimal=args.decimal,
        id_type=cohort.id_type,
    )
    rows = invalid = 0
    by_column: dict[str, list[Any]] = {}
    unusual: dict[tuple[str, str, str], list[Any]] = {}
    success = False
    bar = None
    try:  # the output file is created inside: the finally removes it after any failure
        output.open()
        bar = _progress(cohort, sys.stderr)
        for chunk in cohort:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ProbableUnitWarning)
                run = model.run(
                    chunk.columns, errors=args.errors, units=units, labels=chunk.labels(), **options
                )
            _collect_unit_warnings(caught, chunk, unusual)
            problems = run.log.row_reasons() if args.reasons else None
            output.write(chunk, run.risk, problems)
            rows += chunk.rows
            if run.log.invalid is not None:
                invalid += int(run.log.invalid.sum())
                for column, count, example in run.log.summary():
                    entry = by_column.setdefault(column, [0, example])
                    entry[0] += count
            if bar is not None:
                bar.update(cohort.position() - bar.n if cohort.unit == "B" else chunk.rows)
        success = True
    finally:
        cohort.close()  # stops the read-ahead thread now, whatever ended the loop
        if bar is not None:
            bar.close()
        output.close(success)
    for (column, unit, probable), (count, examples) in unusual.items():
        shown = ", ".join(repr(e) if isinstance(e, str) else str(e) for e in examples)
        sys.stderr.write(
            f"cvrisk: warning: {args.model}: {column} in {unit} is unusual in {count} row(s) "
            f"(e.g. rows {shown}) but typical in {probable}: probably sent in {probable}; the "
            f"values were used as given. If so, declare it: --unit {column}={probable}\n"
        )
    if invalid:
        sys.stderr.write(_summary(args.model, rows, invalid, by_column))
    return 0


def _collect_unit_warnings(
    caught: list[warnings.WarningMessage], chunk: Any, unusual: dict[tuple[str, str, str], Any]
) -> None:
    """Gather the chunk's ProbableUnitWarning s by column and unit, rows named by label;
    other warnings are passed on."""
    labels = chunk.labels()
    for record in caught:
        message = record.message
        if not isinstance(message, ProbableUnitWarning):
            warnings.warn_explicit(message, record.category, record.filename, record.lineno)
            continue
        key = (message.column, message.unit, message.probable_unit)
        entry = unusual.setdefault(key, [0, []])
        entry[0] += len(message.rows)
        room = 5 - len(entry[1])
        entry[1].extend(labels[row] for row in message.rows[: max(room, 0)])


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from cvrisk.record import dumps_schema, record_json_schema
    from cvrisk.rules.schema import Protocol

    schema = record_json_schema() if args.which == "record" else Protocol.model_json_schema()
    out.write(dumps_schema(schema))
    return 0


def _cmd_synth(args: argparse.Namespace, out: TextIO) -> int:
    import time

    from cvrisk.cohort.synth import DEFAULT_SEED, synthesize
    from cvrisk.cohort.synth_write import write_cohort

    began = time.perf_counter()
    seed = DEFAULT_SEED if args.seed is None else args.seed
    cohort = synthesize(args.patients, seed=seed)
    drawn = time.perf_counter() - began
    written = write_cohort(
        cohort, args.output, formats=args.format, tables=args.tables, omop=args.omop
    )
    rows = [
        ("patients", len(cohort.patients)),
        ("conditions", len(cohort.conditions)),
        ("medications", len(cohort.medications)),
        ("observations", len(cohort.observations)),
    ]
    first, last = cohort.window
    out.write(f"synthetic cohort, seed {cohort.seed}, window {first} to {last}\n")
    _table([("table", "rows"), *((name, f"{count:,}") for name, count in rows)], out)
    timing = [("drawn", f"{drawn:.1f} s")]
    timing += [
        (f"written: {kind} -> {args.output}/{kind}", f"{seconds:.1f} s")
        for kind, seconds in written.seconds.items()
    ]
    _table([("step", "time"), *timing], out)
    return 0


def _add_evaluation_options(parser: argparse.ArgumentParser) -> None:
    """The options of an evaluation (read by :func:`_evaluation_options`)."""
    parser.add_argument("--as-of", type=_date, default=None, help="evaluation date (default today)")
    parser.add_argument("--protocol", action="append", help="protocol id (repeatable)")
    parser.add_argument(
        "--jurisdiction", help="country code restricting protocol selection (GB...)"
    )
    parser.add_argument(
        "--record-complete",
        action="store_true",
        help="the record holds every diagnosis and prescription: risk-factor flags without "
        "record evidence are false, not missing",
    )
    parser.add_argument(
        "--score-input",
        action="append",
        default=[],
        help="MODEL.FIELD=VALUE supplied to a risk score, e.g. qrisk3.smoking=moderate "
        "(repeatable)",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="skip invalid entries (each listed as a data issue) instead of refusing the record",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse the record on any reading issue or warning-level data issue",
    )


def _cmd_summary(args: argparse.Namespace, out: TextIO) -> int:
    from cvrisk.summary import summarize

    result = summarize(
        args.file,
        audience=args.audience,
        lang=args.lang,
        format=args.format,
        **_evaluation_options(args),
    )
    if isinstance(result, dict):
        data = (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    elif isinstance(result, str):
        data = result.encode("utf-8")
    else:
        data = result
    if args.output in (None, "-"):
        if args.format == "pdf" and out.isatty():
            raise CvriskError("a PDF is binary: write it to a file with -o FILE.pdf")
        if out is sys.stdout:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            out.write(data.decode("utf-8", errors="replace"))
        return 0
    with open(args.output, "wb") as handle:
        handle.write(data)
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2), like
    every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: str, limit: int = 1000) -> str:
    """An error message as one printable line: control and line-separator characters from
    the user's input are escaped (``\\r``, ``\\x1e``), and the text is cut to ``limit``."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message[: limit * 2])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cvrisk`` command."""
    parser = _Parser(
        prog="cvrisk",
        description="Physical-health monitoring and cardiovascular risk for people with "
        "severe mental illness.",
    )
    parser.add_argument("--version", action="version", version=f"cvrisk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser(
        "evaluate", help="tests due and alerts for a patient record (native JSON or FHIR)"
    )
    ev.add_argument(
        "file",
        help="patient record: native JSON, a FHIR R4 Bundle or resources, FHIR Bulk Data "
        "NDJSON (a path, or - for standard input)",
    )
    _add_evaluation_options(ev)
    ev.add_argument("--lang", choices=("en", "fr"), default="en", help="message language")
    ev.add_argument(
        "--format",
        choices=("table", "json", "fhir"),
        default="table",
        help="output form (fhir: a Bundle of RiskAssessments and DetectedIssues)",
    )
    ev.set_defaults(handler=_cmd_evaluate)

    su = sub.add_parser(
        "summary",
        help="shared summary of a record for the GP and psychiatrist, or for the patient "
        "(HTML, PDF, FHIR document, Markdown)",
    )
    su.add_argument(
        "file",
        help="patient record: native JSON, a FHIR R4 Bundle or resources, FHIR Bulk Data "
        "NDJSON (a path, or - for standard input)",
    )
    _add_evaluation_options(su)
    su.add_argument(
        "--audience",
        choices=("clinician", "patient"),
        default="clinician",
        help="clinician: one A4 page for the GP and the psychiatrist; patient: plain language",
    )
    su.add_argument("--lang", choices=("en", "fr"), default="en", help="summary language")
    su.add_argument(
        "--format",
        choices=("html", "pdf", "fhir", "markdown"),
        default="html",
        help="html (self-contained page), pdf (printed by Chromium), fhir (document Bundle), "
        "markdown (for email)",
    )
    su.add_argument("-o", "--output", help="output file (default: standard output)")
    su.set_defaults(handler=_cmd_summary)

    sc = sub.add_parser("schedule", help="baseline checklist and follow-up dates for a drug")
    sc.add_argument(
        "--drug",
        required=True,
        help="antipsychotic by ingredient, salt or brand, e.g. olanzapine, Zyprexa, "
        "'olanzapine pamoate' (unknown names get suggestions)",
    )
    sc.add_argument("--start", type=_date, required=True, help="start date YYYY-MM-DD")
    sc.add_argument("--protocol", help="protocol id (default: all that apply)")
    sc.add_argument(
        "--birth-date",
        type=_date,
        default=None,
        help="patient's date of birth, to select age-appropriate protocols",
    )
    sc.add_argument(
        "--sex",
        choices=("female", "male"),
        default="female",
        help="patient's sex (with --birth-date)",
    )
    sc.add_argument("--jurisdiction", help="country code restricting protocol selection (GB...)")
    sc.add_argument("--lang", choices=("en", "fr"), default="en", help="message language")
    sc.add_argument("--format", choices=("table", "json"), default="table", help="output form")
    sc.set_defaults(handler=_cmd_schedule)

    pr = sub.add_parser("protocols", help="list the shipped protocols")
    pr.add_argument("--format", choices=("table", "json"), default="table")
    pr.add_argument("--lang", choices=("en", "fr"), default="en", help="title language")
    pr.set_defaults(handler=_cmd_protocols)

    so = sub.add_parser(
        "score",
        help="score a cohort file (CSV or Parquet) with a risk model",
        description="Score every row of a CSV or Parquet file (cvrisk's canonical column "
        "names, docs/scores/columns.md) and write one risk per row: CSV to standard output or "
        "to -o FILE (Parquet when FILE ends in .parquet). Files are read and written in "
        "chunks, so a file larger than memory is scored with bounded memory. Invalid rows: "
        "--errors raise (default) stops at the first chunk holding one; --errors coerce leaves "
        "their risk empty and summarises the reasons on standard error.",
    )
    so.add_argument("model", help="model id (pce, qrisk3, score2, ...)")
    so.add_argument("file", help="CSV or Parquet (.parquet, .pq) with canonical column names")
    so.add_argument(
        "-o", "--output", help="output file: .parquet for Parquet, else CSV (default: stdout)"
    )
    so.add_argument("--id", help="column passed through to the output and naming rows in errors")
    so.add_argument("--unit", action="append", default=[], help="COLUMN=UNIT (repeatable)")
    so.add_argument("--option", action="append", default=[], help="NAME=VALUE (repeatable)")
    so.add_argument(
        "--errors",
        choices=("raise", "coerce"),
        default="raise",
        help="raise: stop at invalid rows; coerce: leave their risk empty",
    )
    so.add_argument(
        "--reasons", action="store_true", help="add a 'problems' column: why a row was not scored"
    )
    so.add_argument("--delimiter", default=",", help="CSV field separator, one character (',')")
    so.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        help="decimal mark of numbers in the CSV, '.' or ',' (French files; output too)",
    )
    so.set_defaults(handler=_cmd_score)

    sy = sub.add_parser(
        "synth",
        help="write a synthetic cohort (never real data) as native tables, FHIR Bulk Data "
        "NDJSON and/or OMOP CDM v5.4 tables",
    )
    sy.add_argument("--patients", type=int, required=True, help="number of patients")
    sy.add_argument(
        "--seed", type=int, default=None, help="random seed (default: cvrisk's fixed seed)"
    )
    sy.add_argument("-o", "--output", required=True, help="output folder")
    sy.add_argument(
        "--format",
        choices=("native", "fhir", "omop", "all"),
        default="all",
        help="what to write (default all: native/, fhir/, omop/ under the output folder)",
    )
    sy.add_argument(
        "--tables", choices=("parquet", "csv"), default="parquet", help="native table files"
    )
    sy.add_argument(
        "--omop", choices=("parquet", "csv", "duckdb"), default="parquet", help="OMOP tables"
    )
    sy.set_defaults(handler=_cmd_synth)

    co = sub.add_parser(
        "cohort", help="monitor a whole cohort (tables folder or DuckDB): status, alerts, worklist"
    )
    from cvrisk.cohort.command import add_arguments

    add_arguments(co)

    sh = sub.add_parser("schema", help="print a JSON Schema (record or protocol)")
    sh.add_argument("which", choices=("record", "protocol"))
    sh.set_defaults(handler=_cmd_schema)

    from cvrisk.service.command import add_parser as add_serve_parser

    add_serve_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``cvrisk`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, out or sys.stdout))
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: a file being written is removed (Output.close)
        sys.stderr.write("cvrisk: interrupted\n")
        return 130
    except (CvriskError, OSError) as exc:
        message = str(exc)
        if args.command == "score":  # the library's advice, in command-line words
            message = (
                message.replace("units={...}", "--unit COLUMN=UNIT")
                .replace("units=...", "--unit COLUMN=UNIT")
                .replace("errors='coerce'", "--errors coerce")
            )
        sys.stderr.write(f"cvrisk: error: {one_line(message)}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
