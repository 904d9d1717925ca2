"""Write a synthetic cohort to a folder in one or more formats (``cvrisk synth``).

Layout of ``folder``:

- ``native/``: ``patients``, ``conditions``, ``medications``, ``observations`` (the cohort
  tables, docs/cohort.md) and ``sites`` (outside the contract), Parquet or CSV;
- ``fhir/``: Bulk Data NDJSON, one file per resource type, and ``manifest.json``;
- ``omop/``: OMOP CDM v5.4 tables (Parquet, CSV, or ``omop.duckdb``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cvrisk.cohort.synth import SyntheticCohort
from cvrisk.errors import OptionError

FORMATS = ("native", "fhir", "omop", "all")
TABLE_FORMATS = ("parquet", "csv")
OMOP_FORMATS = ("parquet", "csv", "duckdb")


@dataclass
class Written:
    """What was written: the paths by format and table, and the seconds each format took."""

    paths: dict[str, dict[str, Path]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def write_native(
    cohort: SyntheticCohort, folder: str | Path, *, format: str = "parquet"
) -> dict[str, Path]:
    """The cohort tables and ``sites`` as Parquet or CSV files in ``folder``."""
    if format not in TABLE_FORMATS:
        raise OptionError(f"format={format!r}: use 'parquet' or 'csv'")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frames = {**cohort.tables(), "sites": cohort.sites}
    paths = {}
    for name, frame in frames.items():
        path = out / f"{name}.{format}"
        if format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, date_format="%Y-%m-%d")
        paths[name] = path
    return paths


def write_cohort(
    cohort: SyntheticCohort,
    folder: str | Path,
    *,
    formats: str = "all",
    tables: str = "parquet",
    omop: str = "parquet",
) -> Written:
    """Write ``cohort`` under ``folder`` (see the module docstring).

    Raises:
        OptionError: an unknown format.
    """
    if formats not in FORMATS:
        raise OptionError(f"format={formats!r}: use one of {', '.join(FORMATS)}")
    if tables not in TABLE_FORMATS:
        raise OptionError(f"tables={tables!r}: use 'parquet' or 'csv'")
    if omop not in OMOP_FORMATS:
        raise OptionError(f"omop={omop!r}: use 'parquet', 'csv' or 'duckdb'")
    from cvrisk.cohort.synth_fhir import write_fhir
    from cvrisk.cohort.synth_omop import write_omop

    base = Path(folder)
    written = Written()
    wanted = ("native", "fhir", "omop") if formats == "all" else (formats,)
    for kind in wanted:
        began = time.perf_counter()
        if kind == "native":
            written.paths[kind] = write_native(cohort, base / "native", format=tables)
        elif kind == "fhir":
            written.paths[kind] = write_fhir(cohort, base / "fhir")
        else:
            written.paths[kind] = write_omop(cohort, base / "omop", format=omop)
        written.seconds[kind] = time.perf_counter() - began
    return written
