"""FHIR Bulk Data ``$export`` output (a folder of NDJSON files) into the cohort tables.

:func:`read_bulk` groups the resources by patient and reads each patient's resources with
the one FHIR reader (:func:`cvrisk.sources.read_record`, which dispatches to
:func:`cvrisk.fhir.read_fhir`): the FHIR mapping lives there only, so a patient read here is
read exactly as ``cvrisk evaluate`` reads a Bundle of the same resources. Each record is
then flattened into table rows.

- **Files**: the manifest (``manifest.json``: the body of the completed ``$export`` status
  response, ``output[].url``) when present, else every ``*.ndjson`` / ``*.ndjson.gz`` file
  in the folder. One resource a line; a line that is not a JSON resource is an
  ``unreadable`` issue naming the file and line.
- **Patients**: each Patient resource is a patient (``patient_id`` = its id). Every other
  resource belongs to the patient of its ``subject`` (or ``patient``) reference
  (``Patient/<id>``, relative or absolute); a resource naming no patient, or a patient not
  in the export, is an issue, never attached to someone else.
- **Reading**: lenient by default (``on_invalid="report"``: an invalid resource is skipped
  with an issue, the patient's other data is kept); a patient that cannot be read at all
  (no usable gender or birth date) is left out with a warning naming it.
- **Scale**: resources are partitioned by patient into temporary files, so memory holds one
  partition at a time; ``workers`` > 1 reads partitions in parallel processes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvrisk.cohort.reading import TABLE_COLUMNS, CohortRead, empty_table, issues_frame
from cvrisk.errors import CvriskError, OptionError
from cvrisk.issues import DataIssue
from cvrisk.sources import OnInvalid, check_on_invalid

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.record import PatientRecord

#: Partition size (bytes of NDJSON per partition, about).
PARTITION_BYTES = 64 * 1024 * 1024


class BulkError(CvriskError, ValueError):
    """A Bulk Data folder that cannot be read (missing, no NDJSON files, a broken manifest)."""


def read_bulk(
    folder: str | Path, *, on_invalid: OnInvalid = "report", workers: int = 1
) -> CohortRead:
    """The cohort tables of a Bulk Data export folder (see the module docstring).

    Raises:
        BulkError: the folder does not exist, holds no NDJSON file, or its manifest cannot be
            read. OptionError: a bad ``on_invalid`` or ``workers``.
    """
    on_invalid = check_on_invalid(on_invalid)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptionError(f"workers={workers!r}: give a positive integer")
    files = export_files(Path(folder))
    total = sum(path.stat().st_size for path in files)
    count = max(1, -(-total // PARTITION_BYTES))
    with tempfile.TemporaryDirectory(prefix="cvrisk-bulk-") as tmp:
        parts, issues = _partition(files, Path(tmp), count)
        jobs = [(str(p), on_invalid) for p in parts]
        if workers == 1 or len(jobs) == 1:
            results = [_read_partition(job) for job in jobs]
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(_read_partition, jobs))
    return _combine(results, issues, files)


def export_files(folder: Path) -> list[Path]:
    """The NDJSON files of an export: the manifest's ``output`` when there is one."""
    if not folder.is_dir():
        raise BulkError(f"{str(folder)!r} is not a folder: give the folder of a Bulk Data export")
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            body = json.loads(manifest.read_text("utf-8"))
            urls = [item["url"] for item in body["output"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise BulkError(
                f"{str(manifest)!r} is not a Bulk Data completion manifest (output[].url): {exc}"
            ) from None
        files = []
        for url in urls:
            path = folder / Path(str(url).split("?")[0]).name
            if not path.is_file():
                raise BulkError(
                    f"the manifest lists {url!r}, but {str(path)!r} is not in the folder"
                )
            files.append(path)
        return files
    files = sorted(p for p in folder.iterdir() if p.name.endswith((".ndjson", ".ndjson.gz")))
    if not files:
        raise BulkError(f"{str(folder)!r} holds no .ndjson file (nor a manifest.json)")
    return files


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def patient_of(resource: dict[str, Any]) -> str | None:
    """The id of the patient a resource belongs to (itself for a Patient), or None."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and rid else None
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            parts = ref["reference"].split("/")
            if "_history" in parts:
                parts = parts[: parts.index("_history")]
            if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
                return str(parts[-1])
    return None


def _bucket(patient: str, count: int) -> int:
    return int.from_bytes(hashlib.blake2b(patient.encode(), digest_size=4).digest(), "big") % count


def _partition(
    files: list[Path], tmp: Path, count: int
) -> tuple[list[Path], list[tuple[str | None, DataIssue]]]:
    """Write each resource line into the partition of its patient."""
    issues: list[tuple[str | None, DataIssue]] = []
    paths = [tmp / f"part-{i:05d}.ndjson" for i in range(count)]
    handles = [p.open("w", encoding="utf-8") for p in paths]
    unlinked = 0
    try:
        for path in files:
            for number, line in enumerate(_lines(path), start=1):
                text = line.strip()
                if not text:
                    continue
                try:
                    resource = json.loads(text)
                except ValueError as exc:
                    issues.append(
                        (None, _unreadable(f"{path.name} line {number}", f"not JSON ({exc})"))
                    )
                    continue
                if not isinstance(resource, dict) or not isinstance(
                    resource.get("resourceType"), str
                ):
                    issues.append(
                        (None, _unreadable(f"{path.name} line {number}", "not a FHIR resource"))
                    )
                    continue
                patient = patient_of(resource)
                if patient is None:
                    unlinked += 1
                    if unlinked <= 20:
                        name = f"{resource['resourceType']}/{resource.get('id', '?')}"
                        issues.append(
                            (
                                None,
                                DataIssue(
                                    kind="unreadable",
                                    severity="warning",
                                    resource=name,
                                    message=f"{name} ({path.name} line {number}) names no patient "
                                    "(subject or patient reference to Patient/<id>): not read",
                                ),
                            )
                        )
                    continue
                handles[_bucket(patient, count)].write(json.dumps([patient, text]) + "\n")
    finally:
        for handle in handles:
            handle.close()
    if unlinked > 20:
        issues.append(
            (
                None,
                DataIssue(
                    kind="unreadable",
                    severity="warning",
                    message=f"{unlinked} resources name no patient and were not read (the first 20 "
                    "are listed one by one)",
                ),
            )
        )
    return paths, issues


def _unreadable(where: str, reason: str) -> DataIssue:
    return DataIssue(
        kind="unreadable",
        severity="warning",
        field=where,
        message=f"{where} could not be read: {reason}",
    )


def _read_partition(job: tuple[str, OnInvalid]) -> dict[str, Any]:
    """Read the patients of one partition; returns rows and issues as plain lists."""
    import cvrisk  # noqa: F401 - registers the FHIR reader
    from cvrisk.errors import RecordError
    from cvrisk.sources import read_record

    path, on_invalid = job
    grouped: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            patient, text = json.loads(line)
            grouped.setdefault(patient, []).append(json.loads(text))
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLE_COLUMNS}
    issues: list[tuple[str | None, DataIssue]] = []
    for patient, resources in grouped.items():
        if not any(r.get("resourceType") == "Patient" for r in resources):
            kinds = sorted({r["resourceType"] for r in resources})
            issues.append(
                (
                    patient,
                    DataIssue(
                        kind="unreadable",
                        severity="warning",
                        resource=f"Patient/{patient}",
                        message=f"{len(resources)} resources ({', '.join(kinds)}) name Patient/"
                        f"{patient}, which is not in the export: not read",
                    ),
                )
            )
            continue
        try:
            result = read_record(resources, on_invalid=on_invalid)
        except RecordError as exc:
            issues.append(
                (
                    patient,
                    DataIssue(
                        kind="unreadable",
                        severity="warning",
                        resource=f"Patient/{patient}",
                        message=f"Patient/{patient} could not be read and is left out: {exc}",
                    ),
                )
            )
            continue
        issues.extend((patient, issue) for issue in result.issues)
        _flatten(patient, result.record, rows)
    return {"rows": rows, "issues": issues}


def _flatten(patient: str, record: PatientRecord, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    p = record.patient
    rows["patients"].append((patient, p.birth_date, p.sex, p.ethnicity, p.race))
    for c in record.conditions:
        rows["conditions"].append((patient, c.id, c.code, c.system, c.onset, c.abatement))
    for m in record.medications:
        rows["medications"].append(
            (patient, m.id, m.drug, m.code, m.system, m.formulation, m.start, m.stop, m.route)
        )
    for o in record.observations:
        rows["observations"].append(
            (patient, o.id, o.analyte, o.code, o.system, o.value, o.unit, o.coded, o.date, o.status)
        )


def _combine(
    results: list[dict[str, Any]], issues: list[tuple[str | None, DataIssue]], files: list[Path]
) -> CohortRead:
    import pandas as pd

    tables: dict[str, pd.DataFrame] = {}
    for name, columns in TABLE_COLUMNS.items():
        rows = [row for result in results for row in result["rows"][name]]
        if not rows:
            tables[name] = empty_table(name)
            continue
        frame = pd.DataFrame.from_records(rows, columns=columns)
        for column in columns:
            if column in ("birth_date", "onset", "abatement", "start", "stop", "date"):
                frame[column] = _datetimes(frame[column])
        tables[name] = frame.sort_values("patient_id", kind="stable", ignore_index=True)
    all_issues = issues + [item for result in results for item in result["issues"]]
    return CohortRead(
        tables=tables,
        issues=issues_frame(all_issues),
        source={"format": "fhir-bulk", "files": [str(f) for f in files]},
    )


def _datetimes(column: pd.Series) -> pd.Series:
    """Dates and date-times as ``datetime64`` (a date-time's wall time, its offset dropped)."""
    import datetime as dt

    import pandas as pd

    values = [
        None if v is None else (v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v)
        for v in column
    ]
    return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
