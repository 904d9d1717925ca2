"""Reading one patient's input, whatever form it comes in, into a :class:`PatientRecord`.

This is the one place cvrisk reads an input. A source may be a :class:`PatientRecord`, its
native JSON (a dict, JSON text or bytes), the path of a JSON or NDJSON file, or ``-`` for
standard input. The kind is detected from the parsed JSON:

- a mapping with ``resourceType``, a list of such mappings, or NDJSON text (one resource a
  line, FHIR Bulk Data) is **FHIR** and goes to the reader registered for ``"fhir"``;
- any other mapping is the **native** record (docs/record.md).

Readers of other formats are adapters above the core: they register themselves by dotted
path (``register_reader("fhir", "cvrisk.fhir:read_fhir")``, done by ``cvrisk/__init__.py``),
so this module never imports them; a reader is imported on first use.

A reader returns the record and the :class:`~cvrisk.issues.DataIssue` s met while reading.
``on_invalid="report"`` (lenient reading, what an EHR integration wants: one bad result
should not cost the patient all decision support) skips each invalid entry with an
``invalid`` warning naming its path; ``"raise"`` (the default) refuses the record with a
:class:`~cvrisk.errors.RecordError`. ``strict=True`` turns every reading issue into a
:class:`~cvrisk.errors.DataIssueError`.

JSON is parsed once, refusing duplicate keys (``"sex": "male", "sex": "female"`` would
otherwise silently read as female; RFC 8259 leaves duplicates undefined and FHIR forbids them).
"""

from __future__ import annotations

import importlib
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from cvrisk import _readers, limits
from cvrisk._readers import register_reader as register_reader  # public here too
from cvrisk.errors import RecordError, quoted
from cvrisk.issues import DataIssue, raise_if_strict
from cvrisk.record import (
    Condition,
    Medication,
    Observation,
    Patient,
    PatientRecord,
    record_error,
)

OnInvalid = Literal["raise", "report"]
ON_INVALID: tuple[OnInvalid, ...] = ("raise", "report")


@dataclass(frozen=True)
class ReadResult:
    """A record read from a source, with what reading it could not use or had to assume.

    ``kind`` says what the source was: ``record`` (a PatientRecord), ``native``, or the
    registered reader's own kind (``fhir-bundle``, ``fhir-resources``, ``fhir-ndjson``...).
    """

    record: PatientRecord
    issues: list[DataIssue] = field(default_factory=list)
    kind: str = "native"


class Reader(Protocol):
    """What a registered reader is: parsed JSON in, a :class:`ReadResult` out."""

    def __call__(self, data: Any, *, on_invalid: OnInvalid, strict: bool) -> ReadResult: ...


def _reader(kind: str) -> Reader:
    target = _readers.READERS.get(kind)  # registered into by `import cvrisk`
    if target is None:
        raise RecordError(
            f"this input is {kind.upper()}, and no {kind} reader is registered: "
            "import cvrisk (which registers the shipped readers) or pass a native record"
        )
    module, _, name = target.partition(":")
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
            raise  # the reader itself is broken: a bug, not bad input
        raise RecordError(
            f"this input is {kind.upper()}, and its reader ({module}) is not part of this "
            "installation: pass a native record, or install cvrisk with that reader"
        ) from None
    reader: Reader = getattr(loaded, name)
    return reader


def check_on_invalid(on_invalid: Any) -> OnInvalid:
    """Validate the ``on_invalid`` option."""
    if on_invalid not in ON_INVALID:
        from cvrisk.errors import OptionError

        raise OptionError(
            f"on_invalid={quoted(on_invalid)}: use 'raise' (refuse an invalid record) or 'report' "
            "(skip invalid entries, each listed as a data issue)"
        )
    return on_invalid  # type: ignore[no-any-return]


def read_record(
    source: Any, *, on_invalid: OnInvalid = "raise", strict: bool = False
) -> ReadResult:
    """Read ``source`` (see the module docstring) into a record and its reading issues.

    Raises:
        RecordError: the source cannot be read, is not JSON, or (``on_invalid="raise"``) is
            not a valid record. DataIssueError: ``strict=True`` and reading met an issue.
        OptionError: ``on_invalid`` is not ``raise`` or ``report``.
    """
    on_invalid = check_on_invalid(on_invalid)
    if not isinstance(strict, bool):
        from cvrisk.errors import OptionError

        raise OptionError(f"strict={quoted(strict)}: give True or False")
    if isinstance(source, PatientRecord):
        return ReadResult(source, [], "record")
    data = parsed_json(source)
    if _is_fhir(data):
        result = _reader("fhir")(data, on_invalid=on_invalid, strict=strict)
    elif isinstance(data, dict):
        result = _native(data, on_invalid)
    else:
        raise RecordError(
            f"cannot read a patient record from a JSON {type(data).__name__}: give a native "
            "record (a JSON object with 'patient') or FHIR resources"
        )
    raise_if_strict(result.issues, strict=strict, read=True)
    return result


#: What may come before JSON text: whitespace, and a byte-order mark left by a decoder.
_BLANK = " \t\r\n\ufeff"


def parsed_json(source: Any, *, paths: bool = True) -> Any:
    """The parsed JSON of a source, inside cvrisk's input limits (docs/limits.md).

    Dicts and lists pass through (checked); bytes and text are parsed (duplicate keys
    refused); with ``paths``, other text and :class:`~pathlib.Path` s are files to read
    (``-``: standard input). Every input is checked for size before it is parsed, and for
    depth, number of values, string length and entries after.

    Raises:
        RecordError: unreadable, not JSON, or over a limit.
    """
    data = _parsed(source, paths)
    limits.check_entries(limits.entry_count(data), "the input")
    limits.check_structure(data, "the input")
    return data


def _parsed(source: Any, paths: bool) -> Any:
    """The parsed JSON of a source (dicts and lists pass through)."""
    if isinstance(source, dict | list):
        return source
    if isinstance(source, bytes | bytearray):
        limits.check_size(len(source), "the record bytes")
        return _parse_text(_decode(bytes(source), "the record bytes"), "the record text")
    if isinstance(source, str) and (not paths or source.lstrip(_BLANK)[:1] in ("{", "[")):
        limits.check_size(len(source), "the record text")
        return _parse_text(source.lstrip("\ufeff"), "the record text")
    if paths and isinstance(source, str | Path):
        name = str(source)
        return _parse_text(_decode(_read_bytes(name), quoted(name)), quoted(name))
    raise RecordError(
        f"cannot read a patient record from {type(source).__name__}: pass a PatientRecord, "
        "its JSON dict, JSON text, FHIR resources, or the path of a JSON/NDJSON file ('-' "
        "for standard input)"
    )


def _read_bytes(name: str) -> bytes:
    """The bytes of a file (``-``: standard input), refusing one over the size limit."""
    cap = limits.limits().max_bytes
    try:
        if name == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:
                raise RecordError("cannot read the record from standard input: there is none")
            raw = bytes(stdin.read(cap + 1))
        else:
            if not stat.S_ISREG(os.stat(name).st_mode):  # a pipe would block the open
                raise RecordError(
                    f"cannot read the record file {quoted(name)}: not a regular file "
                    "(a device, pipe or directory); give a file, or '-' for standard input"
                )
            with open(name, "rb") as handle:
                raw = handle.read(cap + 1)
    except RecordError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: embedded null byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RecordError(f"cannot read the record file {quoted(name)}: {reason}") from None
    limits.check_size(len(raw), f"the record file {quoted(name)}")
    return raw


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{what} is not UTF-8 text (byte {exc.start}): give a JSON record or FHIR JSON/NDJSON"
        ) from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; a key given twice makes the dict shorter than the pairs
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise RecordError(
                f"duplicate JSON key {key[:80]!r}: a key may appear once per object (the "
                "values would silently replace each other); remove one of them"
            )
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


#: Digits in one JSON integer: no value of a record comes near (Python refuses over 4,300).
_MAX_INTEGER_DIGITS = 100


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
        raise RecordError(
            f"a JSON number of {len(text):,} digits ({text[:20]}...): no record value has "
            "that many; check how the input was produced"
        )
    return int(text)


def strict_json(text: str | bytes) -> Any:
    """JSON as cvrisk reads every input: a duplicate key in an object or an integer of more
    than 100 digits is refused (:class:`~cvrisk.errors.RecordError`), never resolved
    silently. Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not JSON.
    Used for records and, by the service, for CDS Hooks requests and FHIR server answers."""
    return _loads(text)


def _loads(text: str | bytes) -> Any:
    return json.loads(
        text,
        object_pairs_hook=_no_duplicate_keys,
        parse_int=_integer,
        # NaN, Infinity and overflowing floats parse as floats: the record's fields refuse
        # non-finite numbers, naming the field (observations[3].value=nan)
    )


def _parse_text(text: str, what: str) -> Any:
    """JSON, or NDJSON (one JSON object a line, as FHIR Bulk Data writes)."""
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if exc.msg == "Extra data" and len(lines) > 1:
            return _parse_ndjson(lines, what)
        raise RecordError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise RecordError(f"{what} is nested too deeply to be a patient record") from None


def _parse_ndjson(lines: list[str], what: str) -> list[Any]:
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(_loads(line))
        except json.JSONDecodeError as exc:
            raise RecordError(
                f"{what} is neither JSON nor NDJSON: line {number} is not valid JSON ({exc.msg})"
            ) from None
        except RecursionError:
            raise RecordError(f"{what}: line {number} is nested too deeply") from None
    return out


def _is_fhir(data: Any) -> bool:
    if isinstance(data, dict):
        return "resourceType" in data
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(item, dict) and "resourceType" in item for item in data)
    )


_ENTRIES: dict[str, type[Condition] | type[Medication] | type[Observation]] = {
    "conditions": Condition,
    "medications": Medication,
    "observations": Observation,
}


def _native(data: dict[str, Any], on_invalid: OnInvalid) -> ReadResult:
    try:
        return ReadResult(PatientRecord.model_validate(data), [], "native")
    except ValidationError as exc:
        if on_invalid == "raise":
            raise record_error(exc) from None
    return _lenient(data)


def _invalid(path: str, message: str, entry: Any) -> DataIssue:
    resource = entry.get("id") if isinstance(entry, dict) else None
    return DataIssue(
        kind="invalid",
        severity="warning",
        field=path,
        resource=resource if isinstance(resource, str) else None,
        message=f"{path} was skipped: {message}",
    )


def _lenient(data: dict[str, Any]) -> ReadResult:
    """Every valid entry, and an ``invalid`` issue for each one that is not.

    The patient itself cannot be skipped: without a valid date of birth and sex nothing can
    be evaluated, so an invalid ``patient`` still raises.
    """
    issues: list[DataIssue] = []
    for key in sorted(set(data) - {"patient", *_ENTRIES}):
        issues.append(
            _invalid(
                key, "not a record field (patient, conditions, medications, observations)", None
            )
        )
    try:
        patient = Patient.model_validate(data.get("patient"))
    except ValidationError as exc:
        raise record_error(exc, prefix="patient") from None
    kept: dict[str, list[Any]] = {}
    for key, model in _ENTRIES.items():
        entries = data.get(key, [])
        kept[key] = []
        if not isinstance(entries, list):
            issues.append(_invalid(key, f"must be a list, not {type(entries).__name__}", None))
            continue
        for index, entry in enumerate(entries):
            path = f"{key}[{index}]"
            try:
                item = model.model_validate(entry)
            except ValidationError as exc:
                reason = str(record_error(exc, prefix=path)).removeprefix(
                    "invalid patient record: "
                )
                issues.append(_invalid(path, reason, entry))
                continue
            day = _entry_day(item)
            if day is not None and day < patient.birth_date:
                text = f"dated {day}, before patient.birth_date {patient.birth_date}"
                issues.append(_invalid(path, text, entry))
                continue
            kept[key].append(item)
    try:
        record = PatientRecord(patient=patient, **kept)
    except ValidationError as exc:  # a rule across entries that no single entry breaks
        raise record_error(exc) from None
    return ReadResult(record, issues, "native")


def _entry_day(item: Condition | Medication | Observation) -> Any:
    """The entry's earliest date (a resolution date counts: it cannot precede birth)."""
    if isinstance(item, Condition):
        days = [day for day in (item.onset, item.abatement) if day is not None]
        return min(days) if days else None
    if isinstance(item, Medication):
        return item.start
    return item.day
