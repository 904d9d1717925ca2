"""The synthetic cohort as OMOP CDM v5.4 tables.

:func:`omop_tables` builds ``person``, ``condition_occurrence``, ``drug_exposure``,
``measurement``, ``concept`` and ``cdm_source`` for the same people as the native tables;
:func:`write_omop` writes them as Parquet or CSV files in a folder, or into a DuckDB database.

How the rows are filed (docs/synth.md, "OMOP"):

- ids are integers (``person_id`` = patient number + 1); ``person_source_value`` keeps the
  native patient id, ``*_source_value`` the codes and names as the native rows write them;
- concept ids come from ``cvrisk/data/omop_concepts.csv`` (each cited there); a code without
  a shipped concept id is filed under concept 0 with its source value, as an ETL files an
  unmapped code (prolactin, QTc and fasting glucose LOINC codes, haloperidol and amisulpride,
  pounds): :mod:`cvrisk.cohort.omop` reports such rows instead of guessing;
- a molar LOINC code (cholesterol in mmol/L, 14647-2) has no shipped concept: the row is
  filed under the analyte's mass-concentration concept (2093-3, 3027114) with its own unit
  concept (mmol/L, 8753): OMOP keeps the unit in ``unit_concept_id``;
- ICD-10 diagnoses are filed under their group's SNOMED CT concept (synth.toml
  ``snomed_of_icd10``), the ICD-10 code in ``condition_source_value``;
- ``drug_concept_id`` is the RxNorm ingredient; ``drug_exposure_end_date`` (required by the
  CDM) is the prescription's stop, or the window end for a prescription still running;
- smoking status is not written (its OMOP concepts are not shipped).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk import vocab
from cvrisk.cohort import omop_vocab
from cvrisk.cohort.synth import parameters
from cvrisk.errors import OptionError

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.cohort.synth import SyntheticCohort

OMOP_TABLES = (
    "person",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "concept",
    "cdm_source",
)
_EHR = 32817  # type concept 'EHR' (omop_concepts.csv)


def _ids_of(categories: Any, lookup: Any) -> np.ndarray:
    """Concept id per category (0 when ``lookup`` gives None)."""
    return np.array([lookup(c) or 0 for c in categories], dtype=np.int64)


def _by_codes(column: Any, per_category: np.ndarray, missing: int = 0) -> np.ndarray:
    """A categorical column mapped through per-category values (``missing`` for NaN)."""
    codes = np.asarray(column.cat.codes)
    values = np.append(per_category, missing)
    return values[np.where(codes < 0, per_category.size, codes)]


def _nulls(n: int, kind: str) -> Any:
    """An all-null column of ``n`` rows (Arrow-backed: no Python object per row)."""
    import pandas as pd
    import pyarrow as pa

    arrow = pa.nulls(n, pa.int64() if kind == "int64" else pa.string())
    return pd.arrays.ArrowExtensionArray(arrow)


def _person_ids(column: Any) -> np.ndarray:
    """Integer person ids: the position of each patient id among the cohort's patients."""
    return np.asarray(column.cat.codes, dtype=np.int64) + 1


def omop_tables(cohort: SyntheticCohort) -> dict[str, pd.DataFrame]:
    """The cohort as OMOP CDM v5.4 tables, in memory (see the module docstring)."""
    return {name: build(cohort) for name, build in _BUILDERS.items()}


def write_omop(
    cohort: SyntheticCohort, folder: str | Path, *, format: str = "parquet"
) -> dict[str, Path]:
    """Write the OMOP tables: ``format`` ``parquet`` or ``csv`` (one file per table in
    ``folder``) or ``duckdb`` (``folder/omop.duckdb``). Returns the paths by table."""
    if format not in ("parquet", "csv", "duckdb"):
        raise OptionError(f"format={format!r}: use 'parquet', 'csv' or 'duckdb'")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    sink = _Sink(out, format)
    try:
        for name, build in _BUILDERS.items():
            if name == "measurement":  # the large table, in slices: memory stays bounded
                first_id = 1
                for begin in range(0, len(cohort.observations), MEASUREMENT_SLICE):
                    rows = cohort.observations.iloc[begin : begin + MEASUREMENT_SLICE]
                    frame = _measurements(cohort, rows, first_id)
                    first_id += len(frame)
                    sink.add(name, frame)
                if not len(cohort.observations):
                    sink.add(name, _measurements(cohort, cohort.observations, 1))
            else:
                sink.add(name, build(cohort))
    finally:
        sink.close()
    return sink.paths


#: Observation rows written per measurement slice.
MEASUREMENT_SLICE = 2_000_000


class _Sink:
    """Writes tables, a table possibly in several slices (Parquet row groups, CSV appends,
    DuckDB inserts)."""

    def __init__(self, out: Path, format: str) -> None:
        self.out, self.format = out, format
        self.paths: dict[str, Path] = {}
        self.writers: dict[str, Any] = {}
        self.connection: Any = None
        if format == "duckdb":
            import duckdb

            path = out / "omop.duckdb"
            path.unlink(missing_ok=True)
            self.connection = duckdb.connect(str(path))

    def add(self, name: str, frame: pd.DataFrame) -> None:
        if self.format == "duckdb":
            self.connection.register("frame_view", frame)
            if name in self.paths:
                self.connection.execute(f"INSERT INTO {name} SELECT * FROM frame_view")
            else:
                self.connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame_view")
            self.connection.unregister("frame_view")
            self.paths[name] = self.out / "omop.duckdb"
            return
        path = self.out / f"{name}.{self.format}"
        if self.format == "csv":
            frame.to_csv(
                path,
                index=False,
                date_format="%Y-%m-%d",
                mode="a" if name in self.paths else "w",
                header=name not in self.paths,
            )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in self.writers:
                self.writers[name] = pq.ParquetWriter(path, table.schema)
            self.writers[name].write_table(table.cast(self.writers[name].schema))
        self.paths[name] = path

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        if self.connection is not None:
            self.connection.close()


def _person(cohort: SyntheticCohort) -> pd.DataFrame:
    import pandas as pd

    p = cohort.patients
    born = p["birth_date"]
    race_ids = {name: ids[0] for name, ids in omop_vocab.race_groups().items()}
    race_ids["other"] = 0  # 'other' has no single standard race concept
    race = _by_codes(p["race"], np.array([race_ids[c] for c in p["race"].cat.categories]))
    gender = np.where(np.asarray(p["sex"].astype(str)) == "male", 8507, 8532)
    source = p["race"].astype(object).where(p["race"].notna(), p["ethnicity"].astype(object))
    return pd.DataFrame(
        {
            "person_id": np.arange(1, len(p) + 1, dtype=np.int64),
            "gender_concept_id": gender,
            "year_of_birth": born.dt.year.astype(np.int64),
            "month_of_birth": born.dt.month.astype(np.int64),
            "day_of_birth": born.dt.day.astype(np.int64),
            "birth_datetime": born,
            "race_concept_id": race,
            "ethnicity_concept_id": np.zeros(len(p), dtype=np.int64),
            "location_id": _nulls(len(p), "int64"),
            "provider_id": _nulls(len(p), "int64"),
            "care_site_id": _nulls(len(p), "int64"),
            "person_source_value": p["patient_id"].astype(str),
            "gender_source_value": p["sex"].astype(str),
            "gender_source_concept_id": np.zeros(len(p), dtype=np.int64),
            "race_source_value": source,
            "race_source_concept_id": np.zeros(len(p), dtype=np.int64),
            "ethnicity_source_value": _nulls(len(p), "string"),
            "ethnicity_source_concept_id": np.zeros(len(p), dtype=np.int64),
        }
    )


def _conditions(cohort: SyntheticCohort) -> pd.DataFrame:
    import pandas as pd

    c = cohort.conditions
    of_icd = parameters()["codes"]["snomed_of_icd10"]

    def standard(code: str) -> int | None:
        return omop_vocab.concept_id_of("SNOMED", of_icd.get(code, code))

    concept = _by_codes(c["code"], _ids_of(c["code"].cat.categories, standard))
    n = len(c)
    return pd.DataFrame(
        {
            "condition_occurrence_id": np.arange(1, n + 1, dtype=np.int64),
            "person_id": _person_ids(c["patient_id"]),
            "condition_concept_id": concept,
            "condition_start_date": c["onset"].dt.floor("D"),
            "condition_start_datetime": c["onset"],
            "condition_end_date": c["abatement"],
            "condition_end_datetime": c["abatement"],
            "condition_type_concept_id": np.full(n, _EHR, dtype=np.int64),
            "condition_status_concept_id": np.zeros(n, dtype=np.int64),
            "stop_reason": _nulls(n, "string"),
            "provider_id": _nulls(n, "int64"),
            "visit_occurrence_id": _nulls(n, "int64"),
            "visit_detail_id": _nulls(n, "int64"),
            "condition_source_value": c["code"],
            "condition_source_concept_id": np.zeros(n, dtype=np.int64),
            "condition_status_source_value": _nulls(n, "string"),
        }
    )


def _drugs(cohort: SyntheticCohort) -> pd.DataFrame:
    import pandas as pd

    m = cohort.medications
    end = np.datetime64(cohort.window[1], "ns")

    def ingredient_concept(name: str) -> int | None:
        match = vocab.resolve_drug(name=name)
        if match is None or match.ingredient is None:
            return None
        rxnorm = vocab.antipsychotics().get(match.ingredient, {}).get("rxnorm")
        return omop_vocab.concept_id_of("RxNorm", str(rxnorm)) if rxnorm else None

    concept = _by_codes(m["drug"], _ids_of(m["drug"].cat.categories, ingredient_concept))
    stop = m["stop"].to_numpy()
    n = len(m)
    return pd.DataFrame(
        {
            "drug_exposure_id": np.arange(1, n + 1, dtype=np.int64),
            "person_id": _person_ids(m["patient_id"]),
            "drug_concept_id": concept,
            "drug_exposure_start_date": m["start"],
            "drug_exposure_start_datetime": m["start"],
            "drug_exposure_end_date": np.where(np.isnat(stop), end, stop),
            "drug_exposure_end_datetime": np.where(np.isnat(stop), end, stop),
            "verbatim_end_date": m["stop"],
            "drug_type_concept_id": np.full(n, _EHR, dtype=np.int64),
            "stop_reason": _nulls(n, "string"),
            "refills": _nulls(n, "int64"),
            "quantity": np.full(n, np.nan),
            "days_supply": (
                (np.where(np.isnat(stop), end, stop) - m["start"].to_numpy())
                / np.timedelta64(1, "D")
            ).astype(np.int64)
            + 1,
            "sig": _nulls(n, "string"),
            "route_concept_id": np.zeros(n, dtype=np.int64),
            "lot_number": _nulls(n, "string"),
            "provider_id": _nulls(n, "int64"),
            "visit_occurrence_id": _nulls(n, "int64"),
            "visit_detail_id": _nulls(n, "int64"),
            "drug_source_value": m["drug"],
            "drug_source_concept_id": np.zeros(n, dtype=np.int64),
            "route_source_value": m["route"],
            "dose_unit_source_value": _nulls(n, "string"),
        }
    )


def _measurements(
    cohort: SyntheticCohort, rows: pd.DataFrame | None = None, first_id: int = 1
) -> pd.DataFrame:
    """``measurement`` rows of the cohort's observations (or of the slice ``rows``),
    numbered from ``first_id``."""
    import pandas as pd

    o = cohort.observations if rows is None else rows
    o = o[o["coded"].isna()]  # smoking status is not written (no shipped concepts)
    # the LOINC code of each row: its own, or the analyte's first code
    analyte_first = {a: e.loinc[0] for a, e in vocab.analytes().items() if e.loinc}
    code = (
        o["code"]
        .astype(object)
        .where(o["code"].notna(), o["analyte"].astype(object).map(analyte_first))
    )
    code = code.astype("category")

    def loinc_concept(text: str) -> int | None:
        found = omop_vocab.concept_id_of("LOINC", text)
        if found is not None:
            return found
        analyte = vocab.loinc_index().get(text)
        if analyte is None:
            return None
        # molar twin: the analyte's mass code with a shipped concept, the unit kept
        for other in vocab.analyte(analyte).loinc:
            mass = omop_vocab.concept_id_of("LOINC", other)
            if mass is not None and _mass_twin(analyte, text):
                return mass
        return None

    concept = _by_codes(code, _ids_of(code.cat.categories, loinc_concept))
    unit = _by_codes(
        o["unit"], _ids_of(o["unit"].cat.categories, lambda u: omop_vocab.concept_id_of("UCUM", u))
    )
    n = len(o)
    source = o["code"].astype(object).where(o["code"].notna(), o["analyte"].astype(object))
    return pd.DataFrame(
        {
            "measurement_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "person_id": _person_ids(o["patient_id"]),
            "measurement_concept_id": concept,
            "measurement_date": o["date"].dt.floor("D"),
            "measurement_datetime": o["date"],
            "measurement_time": _nulls(n, "string"),
            "measurement_type_concept_id": np.full(n, _EHR, dtype=np.int64),
            "operator_concept_id": np.zeros(n, dtype=np.int64),
            "value_as_number": o["value"].to_numpy(),
            "value_as_concept_id": np.zeros(n, dtype=np.int64),
            "unit_concept_id": unit,
            "range_low": np.full(n, np.nan),
            "range_high": np.full(n, np.nan),
            "provider_id": _nulls(n, "int64"),
            "visit_occurrence_id": _nulls(n, "int64"),
            "visit_detail_id": _nulls(n, "int64"),
            "measurement_source_value": source.astype("category"),
            "measurement_source_concept_id": np.zeros(n, dtype=np.int64),
            "unit_source_value": o["unit"],
            "unit_source_concept_id": np.zeros(n, dtype=np.int64),
            "value_source_value": _nulls(n, "string"),
            "measurement_event_id": _nulls(n, "int64"),
            "meas_event_field_concept_id": np.zeros(n, dtype=np.int64),
        }
    )


def _mass_twin(analyte: str, code: str) -> bool:
    """True when ``code`` is one of the synthetic generator's molar LOINC codes (cholesterol,
    triglycerides, glucose in mmol/L) whose mass twin is filed instead."""
    from cvrisk.cohort.synth import LOINC_BY_KIND

    return LOINC_BY_KIND.get((analyte, "molar")) == code and analyte != "fasting_glucose"


def _concept_table() -> pd.DataFrame:
    import pandas as pd

    rows = list(omop_vocab.shipped_concepts().values())
    return pd.DataFrame(
        {
            "concept_id": [c.concept_id for c in rows],
            "concept_name": [c.concept_name for c in rows],
            "domain_id": [c.domain_id for c in rows],
            "vocabulary_id": [c.vocabulary_id for c in rows],
            "concept_class_id": [c.concept_class_id for c in rows],
            "standard_concept": ["S"] * len(rows),
            "concept_code": [c.concept_code for c in rows],
            "valid_start_date": [dt.date(1970, 1, 1)] * len(rows),
            "valid_end_date": [dt.date(2099, 12, 31)] * len(rows),
            "invalid_reason": [None] * len(rows),
        }
    )


def _cdm_source(cohort: SyntheticCohort) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "cdm_source_name": ["cvrisk synthetic cohort"],
            "cdm_source_abbreviation": ["cvrisk-synth"],
            "cdm_holder": ["cvrisk"],
            "source_description": [
                f"synthetic cohort, seed {cohort.seed}, {len(cohort)} patients (never real data)"
            ],
            "source_documentation_reference": ["docs/synth.md"],
            "cdm_etl_reference": ["cvrisk/cohort/synth_omop.py"],
            "source_release_date": [cohort.window[1]],
            "cdm_release_date": [cohort.window[1]],
            "cdm_version": ["v5.4"],
            "cdm_version_concept_id": [0],
            "vocabulary_version": ["cvrisk omop_concepts.csv"],
        }
    )


_BUILDERS: dict[str, Any] = {
    "person": _person,
    "condition_occurrence": _conditions,
    "drug_exposure": _drugs,
    "measurement": _measurements,
    "concept": lambda cohort: _concept_table(),
    "cdm_source": _cdm_source,
}
