"""OMOP CDM v5.3 / v5.4 databases into the cohort tables (docs/omop.md).

:func:`read_omop` reads ``person``, ``condition_occurrence``, ``drug_exposure``,
``measurement`` and ``observation`` from a DuckDB connection or file, any DB-API 2
connection (sqlite3, psycopg...), a folder of Parquet/CSV files (one per table), or a
mapping of table name to DataFrame, and returns the four cohort tables (docs/cohort.md) with
the data issues met. DuckDB does the joins and filters; table and column names are matched
case-insensitively (Eunomia writes them in capitals).

Codes come from the database's vocabulary tables when it has them (``concept``,
``concept_ancestor``, ``concept_relationship``), otherwise from the concept ids cvrisk ships
(``cvrisk/data/omop_concepts.csv``, each cited). Nothing is guessed:

- **person**: ``gender_concept_id`` 8507/8532 give the sex (any other: missing, reported);
  the birth date is ``birth_datetime``, else ``year/month/day_of_birth`` with a missing month
  or day read as the middle of the period (1 July, the 15th: the FHIR reader's convention),
  an ``assumed`` issue; race concepts give the PCE race (``cvrisk/data/omop.toml``).
- **condition_occurrence**: an ICD-10 source code (``condition_source_concept_id`` in
  ICD10/ICD10CM) is kept as the diagnosis (ICD-10 codes match cvrisk's condition sets by
  prefix); otherwise the standard SNOMED CT concept. With ``concept_ancestor``, a SNOMED CT
  concept that descends from a concept of cvrisk's condition sets (paranoid schizophrenia
  under schizophrenia) is read as that concept, with an ``assumed`` issue.
- **drug_exposure**: the RxNorm ingredients of ``drug_concept_id`` (through
  ``concept_ancestor``); a product with one ingredient keeps the product's name (a
  formulation such as olanzapine pamoate is in it). Exposures whose ingredients the
  vocabulary names and cvrisk recognises as no antipsychotic or psychotropic it knows
  (paracetamol) are left out, counted in one ``ignored`` issue listing them; an exposure
  cvrisk cannot map is kept by its ``drug_source_value`` (recognised or reported by the
  evaluation) or, without one, reported as a warning. ``stop`` is
  ``drug_exposure_end_date``.
- **measurement** / **observation**: rows whose concept (or whose source concept's "Maps to"
  target) is a LOINC code of a cvrisk analyte; others are counted in one ``ignored`` issue.
  The unit is the UCUM concept of ``unit_concept_id``; a missing or unknown unit concept
  leaves the unit empty (the row is then reported by validation), never inferred from
  ``unit_source_value``. Smoking status answers are read through the FHIR reader's SNOMED CT
  table (``cvrisk/data/fhir_codes.toml``).

CDM 5.3 and 5.4 differ, for these tables, only by columns cvrisk does not need (5.4 adds
``measurement.unit_source_concept_id``, ``measurement_event_id``, ``meas_event_field_concept_id``,
``observation.value_source_value``, ``observation_event_id``, ``obs_event_field_concept_id``,
``cdm_source.cdm_version_concept_id``); the version read from ``cdm_source`` is reported.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cvrisk import vocab
from cvrisk.cohort import omop_vocab
from cvrisk.cohort.reading import CohortRead, empty_table, issues_frame
from cvrisk.errors import CvriskError, OptionError, VocabularyError
from cvrisk.fhir.dates import MID_MONTH_DAY, MID_YEAR  # partial dates: one convention
from cvrisk.issues import DataIssue

if TYPE_CHECKING:
    import pandas as pd

Vocabulary = Literal["auto", "database", "shipped"]
_TABLES = ("person", "condition_occurrence", "drug_exposure", "measurement", "observation")
_VOCABULARY_TABLES = ("concept", "concept_ancestor", "concept_relationship", "cdm_source")
_SHOWN = 8
_NONE = np.array(None, dtype=object)


class OmopError(CvriskError, ValueError):
    """An OMOP source that cannot be read: no person table, a required column missing, an
    unreadable file."""


def read_omop(
    source: Any, *, schema: str | None = None, vocabulary: Vocabulary = "auto"
) -> CohortRead:
    """The cohort tables of an OMOP CDM database (see the module docstring): a
    :class:`~cvrisk.cohort.reading.CohortRead` whose ``source`` says the CDM version
    (``cdm_version``) and which vocabulary was used (``vocabulary``: database or shipped).

    Args:
        source: a DuckDB connection, the path of a DuckDB file (``.duckdb``, ``.db``), a
            DB-API 2 connection, a folder with ``<table>.parquet`` or ``<table>.csv`` files,
            or a mapping of table name to pandas DataFrame.
        schema: the schema holding the CDM tables (SQL sources), e.g. ``"cdm"``.
        vocabulary: ``"database"`` (the source's concept tables; an error if absent),
            ``"shipped"`` (cvrisk's concept ids only), or ``"auto"`` (the database's when it
            has a non-empty ``concept`` table).

    Raises:
        OmopError: no ``person`` table, a required column missing, a file that cannot be
            read. OptionError: an unknown ``vocabulary``.
    """
    if vocabulary not in ("auto", "database", "shipped"):
        raise OptionError(f"vocabulary={vocabulary!r}: use 'auto', 'database' or 'shipped'")
    with _Source.open(source, schema) as src:
        return _Reader(src, vocabulary).read()


# -- sources ------------------------------------------------------------------------------


class _Source:
    """Where the tables are: a DuckDB connection to run SQL on, and each table's reference."""

    def __init__(self, con: Any, refs: dict[str, str], owned: bool) -> None:
        self.con = con
        self.refs = refs
        self.owned = owned
        self._columns: dict[str, set[str]] = {}

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.con.close()

    @classmethod
    def open(cls, source: Any, schema: str | None) -> _Source:
        import duckdb

        if isinstance(source, duckdb.DuckDBPyConnection):
            return cls(source, _duckdb_refs(source, schema), owned=False)
        if isinstance(source, Mapping):
            con = duckdb.connect()
            _quiet(con)
            refs = {}
            for name, frame in source.items():
                view = f"omop_{str(name).lower()}"
                con.register(view, frame)
                refs[str(name).lower()] = view
            return cls(con, refs, owned=True)
        if isinstance(source, str | Path):
            path = Path(source)
            if path.is_dir():
                return cls._folder(path)
            if path.is_file() and path.suffix.lower() in (".duckdb", ".db"):
                try:
                    con = duckdb.connect(str(path), read_only=True)
                    _quiet(con)
                except duckdb.Error as exc:
                    raise OmopError(
                        f"cannot open the DuckDB database {str(path)!r}: {exc}"
                    ) from None
                return cls(con, _duckdb_refs(con, schema), owned=True)
            raise OmopError(
                f"OMOP source {str(path)!r} is neither a folder of table files nor a DuckDB "
                "database (.duckdb, .db)"
            )
        if hasattr(source, "cursor"):
            return cls._dbapi(source, schema)
        raise OmopError(
            f"cannot read OMOP tables from {type(source).__name__}: give a DuckDB connection "
            "or file, a DB-API connection, a folder of Parquet/CSV files or a mapping of "
            "DataFrames"
        )

    @classmethod
    def _folder(cls, folder: Path) -> _Source:
        import duckdb

        con = duckdb.connect()
        _quiet(con)
        refs: dict[str, str] = {}
        for path in sorted(folder.iterdir()):
            name = path.name.lower()
            for suffix, reader in (
                (".parquet", "read_parquet"),
                (".csv.gz", "read_csv"),
                (".csv", "read_csv"),
                (".tsv", "read_csv"),
            ):
                if name.endswith(suffix):
                    table = name[: -len(suffix)]
                    literal = str(path).replace("'", "''")
                    options = ", header = true" if reader == "read_csv" else ""
                    refs.setdefault(table, f"{reader}('{literal}'{options})")
        return cls(con, refs, owned=True)

    @classmethod
    def _dbapi(cls, connection: Any, schema: str | None) -> _Source:
        import duckdb
        import pandas as pd

        con = duckdb.connect()
        _quiet(con)
        refs: dict[str, str] = {}
        prefix = f"{schema}." if schema else ""
        for table in (*_TABLES, *_VOCABULARY_TABLES):
            cursor = connection.cursor()
            try:
                cursor.execute(f"SELECT * FROM {prefix}{table}")
            except Exception:
                _rollback(connection)
                continue
            names = [d[0].lower() for d in cursor.description]
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=names)
            view = f"omop_{table}"
            con.register(view, frame)
            refs[table] = view
        return cls(con, refs, owned=True)

    def has(self, table: str) -> bool:
        return table in self.refs

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {self.refs[table]}").fetchall()
            self._columns[table] = {str(row[0]).lower() for row in described}
        return self._columns[table]

    def column(
        self, table: str, name: str, alias: str | None = None, cast: str | None = None
    ) -> str:
        """``name`` if the table has it, else NULL (optional columns), as ``alias``."""
        expr = name if name in self.columns(table) else "NULL"
        if cast:
            expr = f"CAST({expr} AS {cast})"
        return f"{expr} AS {alias or name}"

    def frame(self, sql: str) -> pd.DataFrame:
        import duckdb

        try:
            frame = self.con.execute(sql).df()
        except duckdb.Error as exc:
            raise OmopError(f"cannot read the OMOP tables: {exc}") from None
        frame.columns = [str(c).lower() for c in frame.columns]  # Eunomia writes capitals
        return frame


def _quiet(con: Any) -> None:
    """No DuckDB progress bar on cvrisk's own connections (in Jupyter DuckDB refuses the
    setting without ipywidgets: then its default stays)."""
    import duckdb

    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")


def _rollback(connection: Any) -> None:
    """Undo a failed query (PostgreSQL refuses further queries until then)."""
    rollback = getattr(connection, "rollback", None)
    if rollback is not None:
        with contextlib.suppress(Exception):  # the driver's own error type: nothing to undo
            rollback()


def _duckdb_refs(con: Any, schema: str | None) -> dict[str, str]:
    rows = con.execute(
        "SELECT table_catalog, table_schema, table_name FROM information_schema.tables"
    ).fetchall()
    refs: dict[str, str] = {}
    for catalog, table_schema, name in rows:
        if schema is not None and str(table_schema).lower() != schema.lower():
            continue
        key = str(name).lower()
        if key in (*_TABLES, *_VOCABULARY_TABLES) and key not in refs:
            refs[key] = f'"{catalog}"."{table_schema}"."{name}"'
    return refs


# -- the reader ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, src: _Source, vocabulary: Vocabulary) -> None:
        self.src = src
        self.issues: list[DataIssue] = []
        has_concepts = src.has("concept") and self._count("concept") > 0
        if vocabulary == "database" and not has_concepts:
            raise OmopError(
                "vocabulary='database' but the source has no (non-empty) concept table: load "
                "the OHDSI vocabulary tables, or use vocabulary='shipped'"
            )
        self.use_database = has_concepts and vocabulary != "shipped"
        self.has_ancestor = (
            self.use_database
            and src.has("concept_ancestor")
            and self._count("concept_ancestor") > 0
        )
        self.has_relationship = self.use_database and src.has("concept_relationship")

    def _count(self, table: str) -> int:
        return int(
            self.src.con.execute(f"SELECT count(*) FROM {self.src.refs[table]}").fetchone()[0]
        )

    def _issue(
        self,
        kind: Any,
        message: str,
        *,
        severity: Any = "info",
        table: str | None = None,
        field: str | None = None,
    ) -> None:
        self.issues.append(
            DataIssue(
                kind=kind,
                message=message,
                severity=severity,
                field=field,
                resource=f"omop:{table}" if table else None,
            )
        )

    def read(self) -> CohortRead:
        if not self.src.has("person"):
            raise OmopError(
                "the OMOP source has no person table: cvrisk needs person, and reads "
                "condition_occurrence, drug_exposure, measurement and observation when present"
            )
        version = self._cdm_version()
        if not self.use_database:
            self._issue(
                "assumed",
                "no OHDSI vocabulary tables were read: concepts are mapped through the concept "
                "ids cvrisk ships (cvrisk/data/omop_concepts.csv); rows with other concept ids "
                "are reported, and SNOMED CT descendants of cvrisk's condition concepts are not "
                "recognised",
                severity="warning",
            )
        tables = {
            "patients": self._patients(),
            "conditions": self._conditions(),
            "medications": self._medications(),
            "observations": self._observations(),
        }
        return CohortRead(
            tables=tables,
            issues=issues_frame((None, issue) for issue in self.issues),
            source={
                "format": "omop",
                "cdm_version": version,
                "vocabulary": "database" if self.use_database else "shipped",
            },
        )

    def _cdm_version(self) -> str | None:
        if not self.src.has("cdm_source") or "cdm_version" not in self.src.columns("cdm_source"):
            return None
        row = self.src.con.execute(
            f"SELECT cdm_version FROM {self.src.refs['cdm_source']} LIMIT 1"
        ).fetchone()
        version = str(row[0]) if row and row[0] is not None else None
        if version is not None and not version.lstrip("vV").startswith(("5.3", "5.4")):
            self._issue(
                "assumed",
                f"cdm_source says CDM {version}: cvrisk reads CDM 5.3 and 5.4 tables; the "
                "columns it needs were read as those versions name them",
                severity="warning",
                table="cdm_source",
            )
        return version

    # -- concepts ---------------------------------------------------------------------

    def _concepts(self, ids: set[int]) -> dict[int, tuple[str, str, str, str]]:
        """concept_id -> (vocabulary_id, concept_code, concept_name, concept_class_id)."""
        ids = {int(i) for i in ids if i is not None and int(i) != 0}
        if not ids:
            return {}
        if not self.use_database:
            shipped = omop_vocab.shipped_concepts()
            return {
                i: (c.vocabulary_id, c.concept_code, c.concept_name, c.concept_class_id)
                for i in ids
                if (c := shipped.get(i)) is not None
            }
        listed = ",".join(str(i) for i in sorted(ids))
        rows = self.src.con.execute(
            "SELECT concept_id, vocabulary_id, concept_code, concept_name, concept_class_id "
            f"FROM {self.src.refs['concept']} WHERE concept_id IN ({listed})"
        ).fetchall()
        return {int(r[0]): (str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows}

    def _maps_to(self, ids: set[int]) -> dict[int, int]:
        """Source concept id -> standard concept id through "Maps to"."""
        ids = {int(i) for i in ids if i is not None and int(i) != 0}
        if not ids or not self.has_relationship:
            return {}
        listed = ",".join(str(i) for i in sorted(ids))
        rows = self.src.con.execute(
            f"SELECT concept_id_1, concept_id_2 FROM {self.src.refs['concept_relationship']} "
            f"WHERE relationship_id = 'Maps to' AND concept_id_1 IN ({listed})"
        ).fetchall()
        return {int(a): int(b) for a, b in rows}

    # -- person -----------------------------------------------------------------------

    def _patients(self) -> pd.DataFrame:
        import pandas as pd

        s, t = self.src, "person"
        for required in ("person_id", "gender_concept_id", "year_of_birth"):
            if required not in s.columns(t):
                raise OmopError(
                    f"the person table has no {required} column (CDM 5.3/5.4 require it)"
                )
        frame = s.frame(
            f"SELECT person_id, gender_concept_id, year_of_birth, "
            f"{s.column(t, 'month_of_birth')}, {s.column(t, 'day_of_birth')}, "
            f"{s.column(t, 'birth_datetime', cast='TIMESTAMP')}, "
            f"{s.column(t, 'race_concept_id')}, {s.column(t, 'ethnicity_concept_id')} "
            f"FROM {s.refs[t]} ORDER BY person_id"
        )
        n = len(frame)
        gender = frame["gender_concept_id"].fillna(0).astype(np.int64).to_numpy()
        sex = np.array([omop_vocab.gender_of(int(g)) for g in gender], dtype=object)
        unknown = Counter(int(g) for g, x in zip(gender, sex, strict=True) if x is None)
        if unknown:
            listed = ", ".join(f"{g} ({c})" for g, c in unknown.most_common(_SHOWN))
            self._issue(
                "missing",
                f"{sum(unknown.values())} persons have a gender_concept_id other than 8507 "
                f"(male) or 8532 (female): {listed}; their sex is missing (the protocols and "
                "risk equations need it)",
                severity="warning",
                table=t,
                field="gender_concept_id",
            )
        birth = self._birth_dates(frame)
        race = self._race(frame)
        return pd.DataFrame(
            {
                "patient_id": _texts("", frame["person_id"]),
                "birth_date": birth,
                "sex": sex,
                "ethnicity": np.full(n, None, dtype=object),
                "race": race,
            }
        )

    def _birth_dates(self, frame: pd.DataFrame) -> np.ndarray:
        import pandas as pd

        year = frame["year_of_birth"]
        month = pd.to_numeric(frame["month_of_birth"], errors="coerce")
        day = pd.to_numeric(frame["day_of_birth"], errors="coerce")
        from_parts = pd.to_datetime(
            pd.DataFrame(
                {
                    "year": year,
                    "month": month.fillna(MID_YEAR[0]),
                    "day": np.where(month.isna(), MID_YEAR[1], day.fillna(MID_MONTH_DAY)),
                }
            ),
            errors="coerce",
        )
        given = pd.to_datetime(frame["birth_datetime"], errors="coerce").dt.floor("D")
        birth = given.where(given.notna(), from_parts)
        assumed_year = int((given.isna() & month.isna() & year.notna()).sum())
        assumed_day = int((given.isna() & month.notna() & day.isna()).sum())
        if assumed_year or assumed_day:
            self._issue(
                "assumed",
                f"{assumed_year} persons have only a year of birth (read as 1 July) and "
                f"{assumed_day} a year and month (read as the 15th): the middle of the period, "
                "as cvrisk reads partial FHIR dates",
                table="person",
                field="year_of_birth",
            )
        missing = int(birth.isna().sum())
        if missing:
            self._issue(
                "missing",
                f"{missing} persons have no readable date of birth: nothing can be evaluated "
                "for them",
                severity="warning",
                table="person",
                field="year_of_birth",
            )
        out: np.ndarray = birth.to_numpy(dtype="datetime64[ns]")
        return out

    def _race(self, frame: pd.DataFrame) -> np.ndarray:
        race_id = frame["race_concept_id"].fillna(0).astype(np.int64).to_numpy()
        ethnicity_id = frame["ethnicity_concept_id"].fillna(0).astype(np.int64).to_numpy()
        out = np.full(len(frame), None, dtype=object)
        for name, ids in omop_vocab.race_groups().items():
            out[np.isin(race_id, ids)] = name
        hispanic_white = (out == "white") & np.isin(
            ethnicity_id, omop_vocab.hispanic_ethnicity_ids()
        )
        out[hispanic_white] = "other"
        return out

    # -- conditions -------------------------------------------------------------------

    def _conditions(self) -> pd.DataFrame:
        import pandas as pd

        s, t = self.src, "condition_occurrence"
        empty = empty_table("conditions")
        if not s.has(t):
            return empty
        frame = s.frame(
            f"SELECT condition_occurrence_id, person_id, condition_concept_id, "
            f"CAST(condition_start_date AS DATE) AS start, "
            f"{s.column(t, 'condition_end_date', 'stop', cast='DATE')}, "
            f"{s.column(t, 'condition_source_concept_id')}, "
            f"{s.column(t, 'condition_source_value')} "
            f"FROM {s.refs[t]} ORDER BY person_id, condition_start_date, condition_occurrence_id"
        )
        if frame.empty:
            return empty
        standard = frame["condition_concept_id"].fillna(0).astype(np.int64).to_numpy()
        source = frame["condition_source_concept_id"].fillna(0).astype(np.int64).to_numpy()
        concepts = self._concepts(set(standard.tolist()) | set(source.tolist()))
        icd = ("ICD10", "ICD10CM")
        mapped = self._maps_to(
            {int(b) for b in set(source.tolist()) if concepts.get(int(b), ("",))[0] not in icd}
        )
        extra = self._concepts(set(mapped.values()) - set(concepts))
        concepts.update(extra)

        def read(pair: int) -> tuple[str, str] | None:
            a, b = divmod(int(pair), 1 << 32)
            sc = concepts.get(b)
            if sc is not None and sc[0] in icd:
                return sc[1], "icd10"
            concept = concepts.get(a)
            if (concept is None or concept[0] != "SNOMED") and b in mapped:
                concept = concepts.get(mapped[b])
            if concept is not None and concept[0] == "SNOMED":
                return concept[1], "snomed"
            return None

        pair = standard * (1 << 32) + source
        distinct = {int(k): read(int(k)) for k in np.unique(pair)}
        codes = _lookup(pair, {k: v[0] for k, v in distinct.items() if v})
        systems = _lookup(pair, {k: v[1] for k, v in distinct.items() if v})
        unread = pd.isna(codes)
        if unread.any():
            examples = Counter(
                str(v) for v in frame.loc[unread, "condition_source_value"].fillna("(none)")
            ).most_common(_SHOWN)
            self._issue(
                "unreadable",
                f"{int(unread.sum())} condition occurrences have neither an ICD-10 source "
                "concept nor a SNOMED CT concept cvrisk can read (source values: "
                + ", ".join(f"{v} x{c}" for v, c in examples)
                + "): not read; if they are diagnoses cvrisk uses (SMI, diabetes, CVD), "
                "load the vocabulary tables",
                severity="warning",
                table=t,
                field="condition_concept_id",
            )
        codes = self._roll_up(codes, systems, t)
        keep = ~unread
        out = pd.DataFrame(
            {
                "patient_id": _texts("", frame["person_id"][keep]),
                "id": _texts("condition_occurrence/", frame["condition_occurrence_id"][keep]),
                "code": codes[keep],
                "system": systems[keep],
                "onset": pd.to_datetime(frame["start"]).to_numpy()[keep],
                # condition_end_date is not read as an abatement: OMOP ends each
                # occurrence (often a visit), which does not say the disorder resolved
                "abatement": np.full(int(keep.sum()), np.datetime64("NaT"), dtype="datetime64[ns]"),
            }
        )
        return out

    def _roll_up(self, codes: np.ndarray, systems: np.ndarray, table: str) -> np.ndarray:
        """SNOMED CT codes outside cvrisk's condition sets that descend (concept_ancestor)
        from a set's concept are read as that concept, with an ``assumed`` issue."""
        set_codes: dict[str, str] = {}
        for set_id, entry in vocab.condition_sets().items():
            for code in entry.get("snomed", ()):
                set_codes.setdefault(str(code), set_id)
        snomed = systems == "snomed"
        outside = {str(c) for c in codes[snomed] if str(c) not in set_codes}
        if not outside:
            return codes
        if not self.has_ancestor:
            return codes
        s = self.src
        concept = s.refs["concept"]
        wanted = ",".join(f"'{c}'" for c in sorted(set_codes))
        found = ",".join(f"'{c}'" for c in sorted(outside))
        rows = s.con.execute(
            f"SELECT d.concept_code, a2.concept_code, a.min_levels_of_separation "
            f"FROM {s.refs['concept_ancestor']} a "
            f"JOIN {concept} d ON d.concept_id = a.descendant_concept_id "
            f"AND d.vocabulary_id = 'SNOMED' "
            f"JOIN {concept} a2 ON a2.concept_id = a.ancestor_concept_id "
            f"AND a2.vocabulary_id = 'SNOMED' "
            f"WHERE a2.concept_code IN ({wanted}) AND d.concept_code IN ({found}) "
            f"AND a.min_levels_of_separation > 0 ORDER BY 1, 3"
        ).fetchall()
        nearest: dict[str, str] = {}
        for descendant, ancestor, _levels in rows:
            nearest.setdefault(str(descendant), str(ancestor))
        if not nearest:
            return codes
        out = codes.copy()
        rolled: Counter[tuple[str, str]] = Counter()
        for i in np.flatnonzero(snomed):
            target = nearest.get(str(codes[i]))
            if target is not None:
                rolled[(str(codes[i]), target)] += 1
                out[i] = target
        listed = ", ".join(f"{d} -> {a} x{c}" for (d, a), c in rolled.most_common(_SHOWN))
        self._issue(
            "assumed",
            f"{sum(rolled.values())} diagnoses coded with SNOMED CT concepts that descend from "
            f"a concept cvrisk uses were read as that concept (concept_ancestor): {listed}",
            table=table,
            field="condition_concept_id",
        )
        return out

    # -- drugs ------------------------------------------------------------------------

    def _medications(self) -> pd.DataFrame:
        import pandas as pd

        s, t = self.src, "drug_exposure"
        empty = empty_table("medications")
        if not s.has(t):
            return empty
        frame = s.frame(
            f"SELECT drug_exposure_id, person_id, drug_concept_id, "
            f"CAST(drug_exposure_start_date AS DATE) AS start, "
            f"{s.column(t, 'drug_exposure_end_date', 'stop', cast='DATE')}, "
            f"{s.column(t, 'route_concept_id')}, {s.column(t, 'route_source_value')}, "
            f"{s.column(t, 'drug_source_value')} "
            f"FROM {s.refs[t]} ORDER BY person_id, drug_exposure_start_date, drug_exposure_id"
        )
        if frame.empty:
            return empty
        drug_ids = frame["drug_concept_id"].fillna(0).astype(np.int64).to_numpy()
        ingredients = self._ingredients(set(drug_ids.tolist()))
        products = self._concepts(set(drug_ids.tolist()))
        routes = self._concepts(set(frame["route_concept_id"].fillna(0).astype(np.int64).tolist()))
        # per distinct drug concept: the (name, code) entries it gives, or why it gives none
        table: list[tuple[str, str | None]] = []  # entries of all mapped concepts
        first: dict[int, int] = {}
        count: dict[int, int] = {}
        kind_of: dict[int, int] = {}  # 0 mapped, 1 read by source value, 2 ignored
        ignored_name: dict[int, str] = {}
        for concept in set(drug_ids.tolist()):
            found = ingredients.get(int(concept))
            product = products.get(int(concept))
            if not found and product is not None and product[0] == "CVX":
                # a vaccine (CVX): never an antipsychotic
                kind_of[int(concept)], ignored_name[int(concept)] = 2, "vaccines (CVX)"
                continue
            if not found and product is not None:
                # a concept the vocabulary names without an RxNorm ingredient: its name
                kind_of[int(concept)], first[int(concept)], count[int(concept)] = 0, len(table), 1
                table.append((product[2], None))
                continue
            if not found:
                kind_of[int(concept)] = 1  # not in the vocabulary: drug_source_value
                continue
            use = [ing for ing in found if _recognised(ing[1])]
            if not use:
                kind_of[int(concept)], ignored_name[int(concept)] = 2, found[0][1]
                continue
            kind_of[int(concept)], first[int(concept)], count[int(concept)] = (
                0,
                len(table),
                len(use),
            )
            table += [
                (product[2] if product is not None and len(found) == 1 else name, code)
                for code, name in use
            ]
        kind = _lookup(drug_ids, kind_of).astype(np.int64)
        ignored = Counter(ignored_name[int(c)] for c in drug_ids[kind == 2])
        source_values = frame["drug_source_value"].to_numpy()
        source_rows = np.flatnonzero(kind == 1)
        text = pd.Series(source_values[source_rows], dtype=object).str.strip()
        has_value = (text.notna() & (text != "")).to_numpy(dtype=bool)
        unmapped = Counter(str(int(c)) for c in drug_ids[source_rows[~has_value]])
        self._drug_issues(ignored, unmapped, int(has_value.sum()), t)
        mapped_rows = np.flatnonzero(kind == 0)
        per_row = _lookup(drug_ids[mapped_rows], count).astype(np.int64)
        starts = _lookup(drug_ids[mapped_rows], first).astype(np.int64)
        idx_mapped = np.repeat(mapped_rows, per_row)
        offset = np.arange(idx_mapped.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        entry = np.repeat(starts, per_row) + offset
        idx_source = source_rows[has_value]
        idx = np.concatenate([idx_mapped, idx_source]).astype(np.int64)
        if idx.size == 0:
            return empty
        entry_names = np.array([e[0] for e in table] + [None], dtype=object)
        entry_codes = np.array([e[1] for e in table] + [None], dtype=object)
        names = np.concatenate([entry_names[entry], text.to_numpy(dtype=object)[has_value]])
        codes = np.concatenate([entry_codes[entry], np.full(idx_source.size, None, dtype=object)])
        systems = np.concatenate(
            [
                np.where(pd.isna(entry_codes[entry]), _NONE, "rxnorm").astype(object),
                np.full(idx_source.size, None, dtype=object),
            ]
        )
        order = np.argsort(idx, kind="stable")
        idx, names, codes, systems = idx[order], names[order], codes[order], systems[order]
        route_ids = frame["route_concept_id"].fillna(0).astype(np.int64).to_numpy()[idx]
        route_names = {i: c[2].lower() for i, c in routes.items()}
        route = _lookup(route_ids, route_names)
        route_text = frame["route_source_value"].to_numpy()[idx]
        route = np.where(pd.isna(route), np.where(pd.isna(route_text), None, route_text), route)
        ids = frame["drug_exposure_id"].to_numpy()
        return pd.DataFrame(
            {
                "patient_id": _texts("", frame["person_id"].to_numpy()[idx]),
                "id": _texts("drug_exposure/", ids[idx]),
                "drug": names,
                "code": codes,
                "system": systems,
                "formulation": np.full(idx.size, None, dtype=object),
                "start": pd.to_datetime(frame["start"]).to_numpy()[idx],
                "stop": pd.to_datetime(frame["stop"]).to_numpy()[idx],
                "route": route,
            }
        )

    def _ingredients(self, ids: set[int]) -> dict[int, list[tuple[str, str]]]:
        """drug_concept_id -> its RxNorm ingredients (code, name)."""
        ids = {i for i in ids if i}
        if not ids:
            return {}
        if not self.use_database:
            shipped = omop_vocab.shipped_concepts()
            return {
                i: [(c.concept_code, c.concept_name)]
                for i in ids
                if (c := shipped.get(i)) is not None and c.concept_class_id == "Ingredient"
            }
        s = self.src
        listed = ",".join(str(i) for i in sorted(ids))
        out: dict[int, list[tuple[str, str]]] = {}
        rows = s.con.execute(
            f"SELECT concept_id, concept_code, concept_name FROM {s.refs['concept']} "
            f"WHERE concept_id IN ({listed}) AND concept_class_id = 'Ingredient' "
            f"AND vocabulary_id IN ('RxNorm', 'RxNorm Extension')"
        ).fetchall()
        for cid, code, name in rows:
            out.setdefault(int(cid), []).append((str(code), str(name)))
        if self.has_ancestor:
            rows = s.con.execute(
                f"SELECT a.descendant_concept_id, i.concept_code, i.concept_name "
                f"FROM {s.refs['concept_ancestor']} a JOIN {s.refs['concept']} i "
                f"ON i.concept_id = a.ancestor_concept_id AND i.concept_class_id = 'Ingredient' "
                f"AND i.vocabulary_id IN ('RxNorm', 'RxNorm Extension') "
                f"WHERE a.descendant_concept_id IN ({listed}) "
                f"AND a.descendant_concept_id <> a.ancestor_concept_id "
                f"ORDER BY 1, 3"
            ).fetchall()
            for cid, code, name in rows:
                if (str(code), str(name)) not in out.get(int(cid), []):
                    out.setdefault(int(cid), []).append((str(code), str(name)))
        return out

    def _drug_issues(
        self, ignored: Counter[str], unmapped: Counter[str], by_source: int, table: str
    ) -> None:
        if ignored:
            listed = ", ".join(f"{n} x{c}" for n, c in ignored.most_common(_SHOWN))
            self._issue(
                "ignored",
                f"{sum(ignored.values())} drug exposures of {len(ignored)} ingredients that cvrisk "
                f"does not recognise as antipsychotics were not read: {listed}",
                table=table,
                field="drug_concept_id",
            )
        if by_source:
            self._issue(
                "assumed",
                f"{by_source} drug exposures whose concept cvrisk cannot map were read by their "
                "drug_source_value (a name the evaluation recognises or reports)",
                table=table,
                field="drug_source_value",
            )
        if unmapped:
            listed = ", ".join(f"{n} x{c}" for n, c in unmapped.most_common(_SHOWN))
            self._issue(
                "unreadable",
                f"{sum(unmapped.values())} drug exposures have a drug_concept_id cvrisk cannot "
                f"map and no drug_source_value ({listed}): not read; if they are "
                "antipsychotics their monitoring is lost: load the vocabulary tables",
                severity="warning",
                table=table,
                field="drug_concept_id",
            )

    # -- measurements and observations ------------------------------------------------

    def _observations(self) -> pd.DataFrame:
        import pandas as pd

        parts = [self._results("measurement"), self._results("observation")]
        parts = [p for p in parts if p is not None and len(p)]
        if not parts:
            return empty_table("observations")
        out = pd.concat(parts, ignore_index=True)
        # by patient (as the other tables) and date: integer keys, one stable sort
        person = out["patient_id"].astype("int64").to_numpy()
        day = out["date"].to_numpy().astype("datetime64[s]").astype(np.int64)
        order = np.lexsort((day, person))
        return out.take(order).reset_index(drop=True)

    def _results(self, table: str) -> pd.DataFrame | None:
        import pandas as pd

        s = self.src
        if not s.has(table):
            return None
        concept_col = f"{table}_concept_id"
        source_col = f"{table}_source_concept_id"
        has_source = source_col in s.columns(table)
        source_expr = source_col if has_source else "0"
        pairs = s.con.execute(
            f"SELECT {concept_col}, {source_expr}, count(*) FROM {s.refs[table]} GROUP BY 1, 2"
        ).fetchall()
        if not pairs:
            return None
        concept_ids = {int(a or 0) for a, _, _ in pairs}
        source_ids = {int(b or 0) for a, b, _ in pairs if not a}
        mapped = self._maps_to(source_ids)
        concepts = self._concepts(concept_ids | source_ids | set(mapped.values()))
        analyte_of: dict[tuple[int, int], tuple[str, str]] = {}  # -> (LOINC code, analyte)
        others: Counter[str] = Counter()
        for a, b, count in pairs:
            a, b = int(a or 0), int(b or 0)
            candidates = [a] if a else []
            if not a:
                candidates += [b, mapped.get(b, 0)]
            code = None
            for c in candidates:
                concept = concepts.get(c)
                if (
                    concept is not None
                    and concept[0] == "LOINC"
                    and concept[1] in vocab.loinc_index()
                ):
                    code = concept[1]
                    break
            if code is None:
                name = concepts.get(a, ("", "", f"concept {a}", ""))[2]
                others[name] += int(count)
                continue
            analyte_of[(a, b)] = (code, vocab.loinc_index()[code])
        if others:
            listed = ", ".join(f"{n} x{c}" for n, c in others.most_common(_SHOWN))
            self._issue(
                "ignored",
                f"{sum(others.values())} {table} rows are not results of a cvrisk analyte (or "
                f"their concept cannot be mapped) and were not read: {listed}",
                table=table,
                field=concept_col,
            )
        if not analyte_of:
            return None
        conditions = " OR ".join(
            f"({concept_col} = {a}" + (f" AND {source_expr} = {b})" if not a else ")")
            for a, b in analyte_of
        )
        frame = s.frame(
            f"SELECT {table}_id AS row_id, person_id, {concept_col} AS concept, "
            f"{source_expr} AS source_concept, CAST({table}_date AS DATE) AS day, "
            f"{s.column(table, table + '_datetime', 'moment', cast='TIMESTAMP')}, "
            f"{s.column(table, 'value_as_number', 'value', cast='DOUBLE')}, "
            f"{s.column(table, 'value_as_concept_id', 'value_concept')}, "
            f"{s.column(table, 'unit_concept_id', 'unit_concept')} "
            f"FROM {s.refs[table]} WHERE {conditions} ORDER BY person_id, {table}_date, {table}_id"
        )
        concept = frame["concept"].fillna(0).astype(np.int64).to_numpy()
        source = frame["source_concept"].fillna(0).astype(np.int64).to_numpy()
        key = concept * (1 << 32) + np.where(concept == 0, source, 0)
        keyed = {a * (1 << 32) + (b if not a else 0): v for (a, b), v in analyte_of.items()}
        codes = _lookup(key, {k: v[0] for k, v in keyed.items()})
        analyte = _lookup(key, {k: v[1] for k, v in keyed.items()})
        coded_analytes = {a for a, e in vocab.analytes().items() if e.coded}
        is_coded = np.isin(analyte.astype(str), list(coded_analytes))
        units = self._units(frame["unit_concept"], analyte, is_coded, table)
        coded = self._coded(frame["value_concept"], is_coded, table)
        value = frame["value"].to_numpy(dtype=float)
        no_value = ~is_coded & np.isnan(value)
        if no_value.any():
            by_analyte = Counter(str(a) for a in analyte[no_value])
            listed = ", ".join(f"{a} x{c}" for a, c in by_analyte.most_common(_SHOWN))
            self._issue(
                "missing",
                f"{int(no_value.sum())} {table} results have no value_as_number: {listed}; "
                "validation reports each of them",
                severity="warning",
                table=table,
                field="value_as_number",
            )
        moment = pd.to_datetime(frame["moment"])
        day = pd.to_datetime(frame["day"])
        date = day.where(moment.isna() | (moment == moment.dt.floor("D")), moment)
        n = len(frame)
        return pd.DataFrame(
            {
                "patient_id": _texts("", frame["person_id"]),
                "id": _texts(f"{table}/", frame["row_id"]),
                "analyte": _categorical(np.full(n, None, dtype=object)),
                "code": _categorical(codes),
                "system": _categorical(np.full(n, "http://loinc.org", dtype=object)),
                "value": np.where(is_coded, np.nan, value),
                "unit": _categorical(np.where(is_coded, _NONE, units)),
                "coded": _categorical(np.where(is_coded, coded, _NONE)),
                "date": date.to_numpy(),
                "status": _categorical(np.full(n, "final", dtype=object)),
            }
        )

    def _units(
        self, unit_ids: pd.Series, analyte: np.ndarray, is_coded: np.ndarray, table: str
    ) -> np.ndarray:
        import pandas as pd

        from cvrisk.units import parse_unit

        ids = unit_ids.fillna(0).astype(np.int64).to_numpy()
        concepts = self._concepts(set(ids.tolist()))
        text: dict[int, str] = {}
        bad: list[str] = []
        for i in set(ids.tolist()):
            concept = concepts.get(int(i))
            if concept is None or concept[0] != "UCUM":
                continue
            code = omop_vocab.ucum_alias(concept[1])
            try:
                parse_unit(code)
            except CvriskError:
                bad.append(f"{concept[1]} ({i})")
                continue
            text[int(i)] = code
        out = _lookup(ids, text)
        missing = ~is_coded & pd.isna(out)
        if missing.any():
            by_analyte = Counter(str(a) for a in analyte[missing])
            listed = ", ".join(f"{a} x{c}" for a, c in by_analyte.most_common(_SHOWN))
            unknown = f"; unit concepts cvrisk cannot read: {', '.join(sorted(bad))}" if bad else ""
            self._issue(
                "missing",
                f"{int(missing.sum())} {table} results have no unit concept cvrisk can read "
                f"(unit_concept_id 0, empty or not a UCUM concept{unknown}): {listed}; units "
                "are never inferred, so validation reports each of them",
                severity="warning",
                table=table,
                field="unit_concept_id",
            )
        return out

    def _coded(self, value_ids: pd.Series, is_coded: np.ndarray, table: str) -> np.ndarray:
        import pandas as pd

        out = np.full(len(value_ids), None, dtype=object)
        if not is_coded.any():
            return out
        ids = value_ids.fillna(0).astype(np.int64).to_numpy()
        concepts = self._concepts(set(ids[is_coded].tolist()))
        answers = _smoking_answers()
        answer_of = {
            i: answers[c[1]] for i, c in concepts.items() if c[0] == "SNOMED" and c[1] in answers
        }
        out[is_coded] = _lookup(ids[is_coded], answer_of)
        unread = is_coded & pd.isna(out)
        if unread.any():
            self._issue(
                "unreadable",
                f"{int(unread.sum())} smoking-status {table} rows have a value_as_concept_id "
                "that is not a SNOMED CT answer cvrisk maps (cvrisk/data/fhir_codes.toml): not "
                "used",
                severity="warning",
                table=table,
                field="value_as_concept_id",
            )
        return out


def _texts(prefix: str, numbers: Any) -> Any:
    """``prefix<number>`` for integer row ids, as an Arrow string array (no Python loop)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(pa.scalar(prefix), digits, pa.scalar(""))
    return pd.arrays.ArrowStringArray(joined)


def _lookup(keys: Any, mapping: Mapping[Any, Any], default: Any = None) -> np.ndarray:
    """``mapping`` applied to every key, computed once per distinct key (hashing)."""
    import pandas as pd

    keys = np.asarray(keys)
    if keys.size == 0:
        return np.empty(0, dtype=object)
    inverse, distinct = pd.factorize(keys)
    values = np.array(
        [mapping.get(k.item() if hasattr(k, "item") else k, default) for k in distinct] + [None],
        dtype=object,
    )[:-1]
    out: np.ndarray = values[np.asarray(inverse)]
    return out


def _categorical(values: np.ndarray) -> Any:
    """Low-cardinality text as a pandas categorical (None: missing), by hashing once."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def _smoking_answers() -> dict[str, str]:
    """SNOMED CT smoking-status answer -> never/former/current (the FHIR reader's table)."""
    from cvrisk.data import load_data

    try:
        table = load_data("fhir_codes.toml")["smoking"]["codes"]
    except (FileNotFoundError, KeyError):
        return {}
    return {str(k): str(v) for k, v in table.items()}


def _recognised(name: str) -> bool:
    """True when cvrisk recognises an ingredient name as a drug it knows (an antipsychotic,
    in the catalogue or not, or a psychotropic it reports as not covered)."""
    try:
        return vocab.resolve_drug(name=name) is not None
    except (VocabularyError, CvriskError):
        return True  # a name cvrisk cannot judge is kept for the evaluation to report
