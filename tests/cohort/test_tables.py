"""The cohort tables contract: every source reads the same, shape errors are typed, invalid
rows and patients are reported, not dropped."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from cvrisk.cli import main
from cvrisk.cohort import TableError, monitor, patient_records, read_tables
from cvrisk.cohort import pipeline as cohort_pipeline
from cvrisk.errors import OptionError
from cvrisk.rules.evaluate import evaluate
from tests.cohort.reference import actual, differences, expected, to_tables

AS_OF = dt.date(2025, 6, 1)
RECORDS: list[dict[str, Any]] = [
    {
        "patient": {"id": "a", "birth_date": "1980-02-29", "sex": "male", "ethnicity": "indian"},
        "conditions": [{"code": "E11.9", "system": "icd10", "onset": "2020-01-01"}],
        "medications": [
            {
                "id": "MedicationRequest/1",
                "drug": "olanzapine",
                "start": "2024-01-10",
                "stop": "2024-06-30",
            },
            {"drug": "Zyprexa", "start": "2024-07-15"},
        ],
        "observations": [
            {"analyte": "hba1c", "value": 7.1, "unit": "%", "date": "2024-01-05"},
            {
                "id": "Observation/9",
                "analyte": "total_cholesterol",
                "value": 213.0,
                "unit": "mmol/L",
                "date": "2024-02-01",
            },
            {
                "code": "29463-7",
                "system": "http://loinc.org",
                "value": 91.0,
                "unit": "kg",
                "date": "2024-01-08T08:30:00",
            },
            {"analyte": "height", "value": 170.0, "unit": "cm", "date": "2024-01-08"},
            {"analyte": "smoking_status", "coded": "current", "date": "2025-01-01"},
        ],
    },
    {
        "patient": {"id": "b", "birth_date": "2010-05-01", "sex": "female"},
        "medications": [{"code": "N05AX08", "system": "atc", "start": "2025-03-01"}],
        "observations": [{"analyte": "weight", "value": 41.0, "unit": "kg", "date": "2025-02-20"}],
    },
    {"patient": {"id": "c", "birth_date": "2030-01-01", "sex": "female"}},  # born after as_of
    {"patient": {"id": "d", "birth_date": "1970-01-01", "sex": "other"}},  # invalid sex
]


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return to_tables([dict(r) for r in RECORDS])


def _same_as_evaluate(source: Any) -> None:
    result = monitor(source, as_of=AS_OF, jurisdiction="GB")
    assert not differences(actual(result), expected(source, as_of=AS_OF, jurisdiction="GB"))


def test_dataframes(tables: dict[str, pd.DataFrame]) -> None:
    _same_as_evaluate(tables)


def test_arrow_tables(tables: dict[str, pd.DataFrame]) -> None:
    _same_as_evaluate({k: pa.Table.from_pandas(v, preserve_index=False) for k, v in tables.items()})


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_folder(tables: dict[str, pd.DataFrame], tmp_path: Path, suffix: str) -> None:
    for name, frame in tables.items():
        path = tmp_path / f"{name}.{suffix}"
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    _same_as_evaluate(tmp_path)
    assert monitor(tmp_path, as_of=AS_OF).status.equals(monitor(tables, as_of=AS_OF).status)


def test_duckdb(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    path = tmp_path / "registry.duckdb"
    with duckdb.connect(str(path)) as connection:
        for name, frame in tables.items():
            connection.register("frame", frame)
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            connection.unregister("frame")
        _same_as_evaluate(connection)
        relations = {name: connection.table(name) for name in tables}
        _same_as_evaluate(relations)
    _same_as_evaluate(path)


def test_invalid_rows_and_patients_are_reported(tables: dict[str, pd.DataFrame]) -> None:
    result = monitor(tables, as_of=AS_OF)
    issues = result.issues
    implausible = issues[issues["resource"] == "Observation/9"]
    assert implausible["kind"].tolist() == ["invalid"]
    assert "implausible" in implausible["message"].iloc[0]
    for pid in ("c", "d"):
        mine = issues[issues["patient_id"] == pid]
        assert mine["kind"].tolist() == ["invalid"] and mine["field"].tolist() == ["patient"]
    assert set(result.status["patient_id"]) <= {"a", "b"}


def test_rows_without_a_patient_are_reported(tables: dict[str, pd.DataFrame]) -> None:
    extra = pd.DataFrame(
        [
            {
                "patient_id": "zz",
                "analyte": "weight",
                "value": 70.0,
                "unit": "kg",
                "date": "2024-01-01",
            }
        ]
    )
    tables["observations"] = pd.concat([tables["observations"], extra], ignore_index=True)
    issues = monitor(tables, as_of=AS_OF).issues
    orphan = issues[issues["patient_id"] == "zz"]
    assert orphan["kind"].tolist() == ["invalid"]
    assert "no row in the patients table" in orphan["message"].iloc[0]


def test_duplicate_patient_rows_are_reported(tables: dict[str, pd.DataFrame]) -> None:
    tables["patients"] = pd.concat([tables["patients"], tables["patients"].iloc[:1]])
    issues = monitor(tables, as_of=AS_OF).issues
    assert "2 rows in the patients table" in issues[issues["patient_id"] == "a"]["message"].iloc[0]


def test_shape_errors_name_the_column(tables: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(TableError, match="unknown columns \\['units'\\]"):
        read_tables(
            {**tables, "observations": tables["observations"].rename(columns={"unit": "units"})}
        )
    with pytest.raises(TableError, match="required columns \\['sex'\\]"):
        read_tables({"patients": tables["patients"].drop(columns=["sex"])})
    with pytest.raises(TableError, match="no 'patients' table"):
        read_tables({"observations": tables["observations"]})
    with pytest.raises(TableError, match="unknown cohort tables"):
        read_tables({**tables, "visits": tables["patients"]})
    with pytest.raises(TableError, match="expected numbers"):
        read_tables({**tables, "observations": tables["observations"].assign(value=True)})


def test_patient_records_evaluate_like_the_cohort(tables: dict[str, pd.DataFrame]) -> None:
    record = next(iter(patient_records(tables)))
    report = evaluate(record, as_of=AS_OF, scores=[], on_invalid="report")
    status = monitor(tables, as_of=AS_OF).status
    assert len(status[status["patient_id"] == "a"]) == len(report.tests)


def test_batches_agree_with_one_pass(
    tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = monitor(tables, as_of=AS_OF)
    monkeypatch.setattr(cohort_pipeline, "BATCH_PATIENTS", 1)
    batched = monitor(tables, as_of=AS_OF)
    # the worklist orders the whole cohort, whatever the batches
    pd.testing.assert_frame_equal(whole.worklist, batched.worklist)
    for table in whole.TABLES:
        left = getattr(whole, table).sort_values("patient_id", kind="stable")
        right = getattr(batched, table).sort_values("patient_id", kind="stable")
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
    # batches in two worker processes: the very same tables, in the same order
    side_by_side = monitor(tables, as_of=AS_OF, workers=2)
    for table in whole.TABLES:
        pd.testing.assert_frame_equal(getattr(batched, table), getattr(side_by_side, table))
    with pytest.raises(OptionError, match="workers=0"):
        monitor(tables, as_of=AS_OF, workers=0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_command(tables: dict[str, pd.DataFrame], tmp_path: Path, fmt: str, capsys: Any) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(source / f"{name}.parquet")
    code = main(
        [
            "cohort",
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--as-of",
            "2025-06-01",
            "--jurisdiction",
            "GB",
            "--format",
            fmt,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "overdue tests" in printed
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    status = read(tmp_path / "out" / f"status.{fmt}")
    assert len(status) == len(monitor(tables, as_of=AS_OF, jurisdiction="GB").status)
    for table in ("alerts", "issues", "worklist", "requests"):
        assert (tmp_path / "out" / f"{table}.{fmt}").exists()


def test_command_reports_table_errors(tmp_path: Path, capsys: Any) -> None:
    code = main(["cohort", str(tmp_path / "missing"), "-o", str(tmp_path / "out")])
    assert code == 2
    assert "neither a folder" in capsys.readouterr().err


def test_command_refuses_a_file_as_output_folder(tmp_path: Path, capsys: Any) -> None:
    """-o naming an existing file: one line saying so, not 'File exists' (QA)."""
    from cvrisk.cohort.synth import synthesize
    from cvrisk.cohort.synth_write import write_native

    write_native(synthesize(5), tmp_path / "native")
    (tmp_path / "afile").write_text("x")
    code = main(["cohort", str(tmp_path / "native"), "-o", str(tmp_path / "afile")])
    assert code == 2
    assert "is a file: give a folder" in capsys.readouterr().err


def test_synth_output_is_a_cohort_input(tmp_path: Path) -> None:
    """`cvrisk synth` writes sites.parquet beside the four tables: `cvrisk cohort` on that
    folder refused it as 'not a cohort table' (QA); another stray table still is."""
    from cvrisk.cohort.synth import synthesize
    from cvrisk.cohort.synth_write import write_native

    write_native(synthesize(40), tmp_path / "native")
    assert main(["cohort", str(tmp_path / "native"), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "worklist.parquet").exists()
    (tmp_path / "native" / "visits.csv").write_text("patient_id\nx\n")
    with pytest.raises(TableError, match=r"visits\.csv: not a cohort table"):
        read_tables(tmp_path / "native")


def test_patient_records_convert_columns_as_rows_would() -> None:
    """Records are built a column at a time; each entry equals the row-by-row conversion
    (midnight and non-midnight date-times, zoned date-times, missing and unparsed numbers,
    categorical and arrow text)."""
    from cvrisk.cohort.tables import _cells, _entries

    stamps = pd.to_datetime(
        ["2024-01-05", "2024-01-05 09:30:15", "2024-01-05 23:59:59.000123", None],
        format="ISO8601",
    )
    observations = pd.DataFrame(
        {
            "patient_id": pd.Categorical(["a", "a", "b", "b"]),
            "id": pd.array(["o1", None, "o3", "o4"], dtype="string[pyarrow]"),
            "analyte": pd.Categorical(["weight", "weight", None, "hba1c"]),
            "code": [None, None, "4548-4", None],
            "system": [None, None, "loinc", None],
            "value": [70.0, float("nan"), 7.5, float("nan")],
            "unit": ["kg", "kg", "%", None],
            "coded": [None, None, None, None],
            "date": stamps,
            "status": [None, "final", None, None],
        }
    )
    with_text = observations.assign(value_text=[None, "seventy", None, None])
    zoned = observations.assign(date=stamps.tz_localize("Europe/Paris"))
    for frame in (observations, with_text, zoned):
        rows = [_cells(row, "observations") for row in frame.itertuples(index=False)]
        assert _entries(frame, "observations") == rows
    patients = pd.DataFrame(
        {
            "patient_id": ["a", "b"],
            "birth_date": pd.to_datetime(
                ["1980-02-29 00:00", "1975-06-01 12:00"], format="ISO8601"
            ),
            "sex": ["male", "female"],
            "ethnicity": [None, "indian"],
            "race": [None, None],
        }
    )
    expected_rows = [_cells(row, "patients") for row in patients.itertuples(index=False)]
    assert _entries(patients, "patients") == expected_rows
    assert expected_rows[1]["birth_date"] == "1975-06-01"  # a date column is a day
    assert rows_of(with_text)[1]["value"] == "seventy"
    assert rows_of(observations)[1] == {
        "analyte": "weight",
        "unit": "kg",
        "date": "2024-01-05T09:30:15",
        "status": "final",
    }


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from cvrisk.cohort.tables import _entries

    return _entries(frame, "observations")


def test_packed_lexsort_equals_numpy_lexsort() -> None:
    """cvrisk.cohort.sorting.lexsort packs integer keys into one: the same order as
    numpy.lexsort, ties in input order, negative keys, bools, and keys too wide to pack."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cvrisk.cohort.sorting import lexsort

    @settings(max_examples=200, deadline=None)
    @given(
        st.integers(1, 300),
        st.lists(st.sampled_from([2, 7, 1000, 2**40, 2**62]), min_size=1, max_size=5),
        st.integers(0, 2**32 - 1),
    )
    def check(n: int, widths: list[int], seed: int) -> None:
        rng = np.random.default_rng(seed)
        keys = [rng.integers(-w // 2, w // 2 + 1, n) for w in widths]
        keys.append(rng.integers(0, 2, n).astype(bool))
        assert (lexsort(keys) == np.lexsort(tuple(keys))).all()

    check()


def test_ages_on_count_completed_years() -> None:
    """cvrisk.cohort.plausible.ages_on (calendar fields from a table of distinct days) gives
    Patient.age_on's completed years, 29 February births included, and over wide spans."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cvrisk.cohort.plausible import ages_on
    from cvrisk.record import Patient

    epoch = dt.date(1970, 1, 1)
    days = st.dates(dt.date(1850, 1, 1), dt.date(2150, 12, 31))

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(days, days), min_size=1, max_size=40))
    def check(pairs: list[tuple[dt.date, dt.date]]) -> None:
        pairs = [(min(b, d), max(b, d)) for b, d in pairs]  # age_on refuses days before birth
        pairs.append((dt.date(2000, 2, 29), dt.date(2001, 2, 28)))
        birth = np.array([(b - epoch).days for b, _ in pairs])
        on = np.array([(d - epoch).days for _, d in pairs])
        expected = [Patient(birth_date=b, sex="female").age_on(d) for b, d in pairs]
        assert ages_on(birth, on).tolist() == expected

    check()


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="the failing stand-in reaches the workers by fork",
)
@pytest.mark.parametrize("failing", ["a", "b", "c"])
def test_a_failing_batch_fails_the_run(
    tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """With workers, an error in any batch's worker process is raised to the caller, never
    a result with that batch's patients missing."""
    monkeypatch.setattr(cohort_pipeline, "BATCH_PATIENTS", 1)
    real = cohort_pipeline._monitor

    def failing_on(data: Any, *args: Any, **kwargs: Any) -> Any:
        if failing in set(data.patients["patient_id"].astype(str)):
            raise RuntimeError(f"batch of {failing} failed")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(cohort_pipeline, "_monitor", failing_on)  # inherited by the fork
    with pytest.raises(RuntimeError, match=f"batch of {failing} failed"):
        monitor(tables, as_of=AS_OF, workers=2)


def test_batched_worklist_orders_the_whole_cohort(monkeypatch: pytest.MonkeyPatch) -> None:
    """In batches (here one patient each, in one or two processes) the worklist still puts
    the patient with overdue tests first, as one pass does, not batch after batch."""
    records = [
        {  # started a week ago: baseline tests due, nothing overdue
            "patient": {"id": "recent", "birth_date": "1980-01-01", "sex": "female"},
            "medications": [{"drug": "olanzapine", "start": "2025-05-25"}],
            "observations": [],
        },
        {  # two years on olanzapine with no test: overdue
            "patient": {"id": "late", "birth_date": "1980-01-01", "sex": "male"},
            "medications": [{"drug": "olanzapine", "start": "2023-01-01"}],
            "observations": [],
        },
    ]
    tables = to_tables(records)
    whole = monitor(tables, as_of=AS_OF, jurisdiction="GB")
    assert whole.worklist["patient_id"].iloc[0] == "late"
    monkeypatch.setattr(cohort_pipeline, "BATCH_PATIENTS", 1)
    for workers in (1, 2):
        batched = monitor(tables, as_of=AS_OF, jurisdiction="GB", workers=workers)
        pd.testing.assert_frame_equal(whole.worklist, batched.worklist)


def test_united_categoricals_equal_pandas_union() -> None:
    """cvrisk.cohort.result.united (batches' text columns made one) gives what
    pandas.api.types.union_categoricals gives: the same codes, the same categories in the
    same order (first appearance over the pieces), missing values kept, object categories;
    also for one piece, empty pieces and pieces without categories."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from pandas.api.types import union_categoricals

    from cvrisk.cohort.result import united

    texts = st.sampled_from(["a", "b", " c", "ä", "P0000001", "", "a b"])
    piece = st.lists(st.one_of(st.none(), texts), max_size=12).flatmap(
        lambda values: st.lists(texts, unique=True, max_size=3).map(
            lambda unused: pd.Categorical(
                values,
                categories=pd.Index(
                    list(dict.fromkeys([v for v in values if v is not None] + unused)),
                    dtype=object,
                ),
            )
        )
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(piece, min_size=1, max_size=5))
    def check(pieces: list[pd.Categorical]) -> None:
        got = united(pieces)
        want = union_categoricals(pieces)
        assert got.categories.dtype == object
        assert list(got.categories) == list(want.categories)
        assert np.array_equal(np.asarray(got.codes), np.asarray(want.codes))

    check()


def test_stripped_categories_are_texts() -> None:
    """Patient ids and text categories are stripped; integer ids become their text."""
    from cvrisk.cohort.tables import _stripped

    assert list(_stripped(pd.Index([" a", "b ", "c"], dtype=object))) == ["a", "b", "c"]
    assert list(_stripped(pd.Index([12, 3]))) == ["12", "3"]
    assert list(_stripped(pd.Index(["x", 5], dtype=object))) == ["x", "5"]
    assert _stripped(pd.Index([], dtype=object)).dtype == object


def test_a_folder_without_patients_names_the_folder_and_the_one_below(tmp_path: Path) -> None:
    """cvrisk synth writes native/, fhir/ and omop/ folders: given their parent, the error
    names the folder searched and the one holding the patients table."""
    native = tmp_path / "native"
    native.mkdir()
    pd.DataFrame({"patient_id": ["a"], "birth_date": ["1980-01-01"], "sex": ["male"]}).to_csv(
        native / "patients.csv", index=False
    )
    with pytest.raises(TableError, match=r"no patients\.parquet or patients\.csv") as caught:
        read_tables(tmp_path)
    assert str(tmp_path) in str(caught.value) and str(native) in str(caught.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TableError, match=r"every cohort needs one row per patient$"):
        read_tables(empty)
