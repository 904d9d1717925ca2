"""``cvrisk score``: CSV and Parquet in and out, ids, French files, chunks, clean errors.

Every result is compared with ``cvrisk.score`` on the same data; the standard-library CSV
reader (used without pyarrow) runs in a child process where ``import pyarrow`` really fails,
and must write exactly what the pyarrow reader writes.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cvrisk
from cvrisk import scorefiles
from cvrisk.cli import _progress, main

ROOT = Path(__file__).resolve().parent.parent
PCE_HEADER = "pid,age,sex,race,total_cholesterol,hdl_cholesterol,sbp,bp_treated,smoker,diabetes"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def _cohort(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` QRISK3 patients, in range, with a text id (P0000...)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"pid": [f"P{i:04d}" for i in range(n)]})
    for name, spec in cvrisk.models()["qrisk3"].inputs.items():
        if spec.kind == "category":
            frame[name] = rng.choice(np.array(spec.categories), n)
        elif spec.kind == "flag":
            frame[name] = rng.random(n) < 0.3
        elif name == "age":
            frame[name] = rng.uniform(25, 84, n).round(1)
        elif name in ("total_cholesterol", "hdl_cholesterol"):
            frame[name] = rng.uniform(1.0, 2.0, n).round(2) * (3 if name[0] == "t" else 1)
        elif name in ("sbp", "sbp_sd", "bmi", "townsend"):
            low, high = {"sbp": (100, 180), "sbp_sd": (0, 20), "bmi": (20, 39)}.get(name, (-6, 10))
            frame[name] = rng.uniform(low, high, n).round(1)
    return frame


def _expected(frame: pd.DataFrame) -> pd.Series:
    return cvrisk.score("qrisk3", frame.set_index("pid"), errors="coerce")


def _risks(text: str, risk_column: str = "qrisk3_risk") -> pd.Series:
    table = pd.read_csv(io.StringIO(text), dtype={"pid": str})
    return table.set_index(table.columns[0])[risk_column]


# -- results ------------------------------------------------------------------------------------


def test_csv_with_ids_gives_the_api_risks_to_six_decimals(tmp_path: Path) -> None:
    frame = _cohort(300)
    frame.loc[7, "age"] = 200.0
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    code, text = _run("score", "qrisk3", str(path), "--id", "pid", "--errors", "coerce")
    assert code == 0 and text.splitlines()[0] == "pid,qrisk3_risk"
    got = _risks(text)
    expected = _expected(frame)
    assert list(got.index) == list(frame["pid"]) and np.isnan(got["P0007"])
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=5e-7)


def test_parquet_in_and_out_keeps_full_precision(tmp_path: Path) -> None:
    frame = _cohort(500)
    source, target = tmp_path / "cohort.parquet", tmp_path / "risk.parquet"
    frame.to_parquet(source, index=False)
    code, _ = _run("score", "qrisk3", str(source), "-o", str(target), "--id", "pid")
    assert code == 0
    written = pd.read_parquet(target)
    assert list(written.columns) == ["pid", "qrisk3_risk"]
    np.testing.assert_array_equal(written["qrisk3_risk"].to_numpy(), _expected(frame).to_numpy())


def test_csv_to_parquet_and_parquet_to_csv_agree(tmp_path: Path) -> None:
    frame = _cohort(200)
    csv_path, parquet_path = tmp_path / "c.csv", tmp_path / "c.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    _run("score", "qrisk3", str(csv_path), "-o", str(tmp_path / "a.parquet"), "--id", "pid")
    code, text = _run("score", "qrisk3", str(parquet_path), "--id", "pid")
    from_csv = pd.read_parquet(tmp_path / "a.parquet").set_index("pid")["qrisk3_risk"]
    assert code == 0
    np.testing.assert_allclose(_risks(text).to_numpy(), from_csv.to_numpy(), atol=5e-7)


def test_rows_are_numbered_without_an_id(tmp_path: Path) -> None:
    frame = _cohort(5).drop(columns="pid")
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    code, text = _run("score", "qrisk3", str(path))
    assert code == 0 and [line.split(",")[0] for line in text.splitlines()] == [
        "row",
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_coerce_writes_reasons_and_a_summary_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        f"{PCE_HEADER}\n"
        "P1,55,female,white,5.5,1.3,120,false,false,false\n"
        "P2,200,male,white,5.5,1.3,120,FALSE,0,1\n"
        "P3,60,x,black,5.5,1.3,abc,true,yes,false\n"
        "P4,61,male,other,NA,1.3,130,1,0,0\n"
    )
    code, text = _run("score", "pce", str(path), "--id", "pid", "--errors", "coerce", "--reasons")
    table = pd.read_csv(io.StringIO(text)).set_index("pid")
    assert code == 0 and list(table.columns) == ["pce_risk", "problems"]
    assert table["problems"].isna().tolist() == [True, False, False, False]
    assert table.loc["P3", "problems"] == (
        "sex='x': not one of: female, male; sbp='abc': not a number (str); "
        "smoker='yes': not a boolean (use True/False or 1/0)"
    )
    assert table.loc["P4", "problems"] == "total_cholesterol=nan: missing value"
    err = capsys.readouterr().err
    assert "pce: 3 of 4 row(s) not scored (risk left empty)" in err
    assert "  age: 1 row(s), e.g. row 'P2', age=200.0: outside the validated range" in err
    assert "  sbp: 1 row(s), e.g. row 'P3', sbp='abc': not a number (str)" in err


def test_raise_stops_with_the_rows_named_by_id_and_leaves_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _cohort(50)
    frame.loc[3, "sex"] = "M"
    path, target = tmp_path / "c.csv", tmp_path / "out.csv"
    frame.to_csv(path, index=False)
    code, text = _run("score", "qrisk3", str(path), "--id", "pid", "-o", str(target))
    err = capsys.readouterr().err
    assert code == 2 and text == "" and not target.exists()
    assert not (tmp_path / "out.csv.partial").exists()
    assert "row 'P0003', sex='M': not one of: female, male" in err
    assert "--errors coerce" in err and "errors='coerce'" not in err
    code, text = _run("score", "qrisk3", str(path), "--id", "pid")
    assert code == 2 and text == ""  # nothing on stdout either (the first chunk failed)


def test_french_file_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text(
        f"{PCE_HEADER.replace(',', ';')}\n"
        "P1;55;female;white;5,5;1,3;120;false;false;false\n"
        "P2;55;female;white;5.5;1,3;120;false;false;false\n"
    )
    code, text = _run(
        "score", "pce", str(path), "--delimiter", ";", "--decimal", ",", "--id", "pid",
        "--errors", "coerce",
    )  # fmt: skip
    expected = cvrisk.score(
        "pce",
        {"age": 55, "sex": "female", "race": "white", "total_cholesterol": 5.5,
         "hdl_cholesterol": 1.3, "sbp": 120, "bp_treated": False, "smoker": False,
         "diabetes": False},
    )[0]  # fmt: skip
    lines = text.splitlines()
    assert code == 0 and lines[0] == "pid;pce_risk"
    assert lines[1] == f"P1;{expected:.6f}".replace(".", ",")
    assert lines[2] == "P2;"  # "5.5" in a decimal-comma file is not read as a number


def test_units_and_options(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"{PCE_HEADER}\nP1,55,female,white,213,50,120,false,false,false\n")
    code, text = _run(
        "score", "pce", str(path), "--unit", "total_cholesterol=mg/dL",
        "--unit", "hdl_cholesterol=mg/dL", "--id", "pid",
    )  # fmt: skip
    assert code == 0 and text.splitlines()[1].startswith("P1,0.0205")
    code, _ = _run("score", "prevent", str(path), "--option", "horizon=²")  # int('²') fails
    assert code == 2


def test_a_header_without_rows_writes_a_header(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(PCE_HEADER + "\n")
    assert _run("score", "pce", str(path), "--id", "pid") == (0, "pid,pce_risk\n")
    target = tmp_path / "r.parquet"
    assert _run("score", "pce", str(path), "-o", str(target))[0] == 0
    assert len(pd.read_parquet(target)) == 0
    # the id column keeps the type it has with rows: text from a CSV, the file's from Parquet
    assert _run("score", "pce", str(path), "--id", "pid", "-o", str(target))[0] == 0
    assert pq.read_schema(target).field("pid").type == pa.string()
    source = tmp_path / "c.parquet"
    pd.DataFrame({"pid": pd.Series([], dtype="int32")}).to_parquet(source)
    assert _run("score", "pce", str(source), "--id", "pid", "-o", str(target))[0] == 2  # columns
    frame = pd.read_csv(path).astype({"pid": "int32"})
    frame.to_parquet(source)
    assert _run("score", "pce", str(source), "--id", "pid", "-o", str(target))[0] == 0
    assert pq.read_schema(target).field("pid").type == pa.int32()


# -- chunks and the two readers ---------------------------------------------------------------


def test_files_are_read_in_chunks_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _cohort(3000)
    csv_path, parquet_path = tmp_path / "c.csv", tmp_path / "c.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False, row_group_size=700)
    kinds = dict(cvrisk.scores.registry.get_model("qrisk3").columns_read())
    chunks = list(
        scorefiles.open_cohort(str(csv_path), kinds, id_column="pid", block_bytes=1 << 14)
    )
    assert len(chunks) > 10 and [c.start for c in chunks] == list(
        np.cumsum([0] + [c.rows for c in chunks[:-1]])
    )
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", 1 << 14)
    monkeypatch.setattr(scorefiles, "CHUNK_ROWS", 256)
    expected = _expected(frame).to_numpy()
    for path in (csv_path, parquet_path):
        target = tmp_path / f"{path.stem}_{path.suffix[1:]}.parquet"
        assert _run("score", "qrisk3", str(path), "--id", "pid", "-o", str(target))[0] == 0
        written = pd.read_parquet(target)
        assert list(written["pid"]) == list(frame["pid"])
        np.testing.assert_array_equal(written["qrisk3_risk"].to_numpy(), expected)


def test_a_bad_cell_after_the_first_block_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow parses numbers as float64 first; a text cell in a later block switches to
    text columns without losing or repeating a row."""
    frame = _cohort(2000).astype({"sbp": object})
    frame.loc[1500, "sbp"] = "120 mmHg"
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", 1 << 14)
    code, text = _run("score", "qrisk3", str(path), "--id", "pid", "--errors", "coerce")
    got = _risks(text)
    assert code == 0 and list(got.index) == list(frame["pid"])
    assert np.isnan(got["P1500"]) and got.notna().sum() == 1999


ODD_CELLS = (
    "pid,age,sex,race,total_cholesterol,hdl_cholesterol,sbp,bp_treated,smoker,diabetes\n"
    "a,55,female,white,5.5,1.3,120,false,false,false\n"
    "b, 56 ,male,black, 5.2 ,1.1,130,TRUE,1,0\n"
    "c,57,male,other,NA,1.3,120,True,1.0,0.0\n"
    "\n"  # a blank line: skipped by both readers
    "d,58,female,white,5.5,1.3,1e2,tRuE,false,false\n"
    "e,59,female,white,5.5,1.3,120,2,false,false\n"
    '"f,1",60,Female,white,5.5,1.3,12O,false,false,false\n'
    "g,61,female,white,²,1.3,120,false,false,false\n"
    ",62,female,white,5.5,,120,false,false,\n"
    "h,63,female,white,5.5,NAN,inf,false,false,false\n"  # words pyarrow reads as floats
    "\n"
)


def _child(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from cvrisk.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def _chunks(count: int, fail_at: int | None = None, closed: list[bool] | None = None) -> Any:
    """``count`` one-row chunks, raising at chunk ``fail_at``; ``closed`` records a close."""
    try:
        for start in range(count):
            if start == fail_at:
                raise scorefiles.InputFileError(f"broken at {start}")
            yield scorefiles.Chunk(start, 1, {"age": np.array([float(start)])})
    finally:
        if closed is not None:
            closed.append(True)


def test_read_ahead_keeps_the_order_and_raises_an_error_in_its_place() -> None:
    assert [c.start for c in scorefiles._read_ahead(_chunks(50))] == list(range(50))
    given: list[int] = []
    with pytest.raises(scorefiles.InputFileError, match="broken at 7"):
        for chunk in scorefiles._read_ahead(_chunks(20, fail_at=7), depth=3):
            given.append(chunk.start)
    assert given == list(range(7))  # every chunk read before the error, none after


def test_read_ahead_stops_and_closes_the_reader_when_the_consumer_stops() -> None:
    closed: list[bool] = []
    source = _chunks(10**9, closed=closed)  # held here: only an explicit close() closes it
    ahead = scorefiles._read_ahead(source, depth=2)
    assert next(ahead).start == 0
    ahead.close()  # what a scoring error does to the loop over the chunks
    assert closed == [True]


def test_a_scoring_error_mid_file_stops_the_reader_and_leaves_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _cohort(3000)
    frame.loc[2500, "sex"] = "M"
    path, target = tmp_path / "c.csv", tmp_path / "out.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", 1 << 14)
    code, _ = _run("score", "qrisk3", str(path), "--id", "pid", "-o", str(target))
    assert code == 2 and "row 'P2500', sex='M'" in capsys.readouterr().err
    assert not target.exists() and not Path(f"{target}.partial").exists()
    assert not [t for t in threading.enumerate() if t.name == "cvrisk-read-ahead"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_is_one_line_exit_130_and_no_output_file(tmp_path: Path) -> None:
    """A real SIGINT to a real ``cvrisk score`` process while it reads a large file."""
    import signal
    import time

    path, target = tmp_path / "big.csv", tmp_path / "out.csv"
    lines = _cohort(1000).to_csv(index=False).splitlines(keepends=True)
    path.write_text(lines[0] + "".join(lines[1:]) * 400)  # 400,000 rows
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "cvrisk", "score", "qrisk3", str(path), "-o", str(target)]
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    partial = Path(f"{target}.partial")
    deadline = time.monotonic() + 60
    while not partial.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGINT)  # the output is open: the rows are being read
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert err == "cvrisk: interrupted\n"
    assert not partial.exists() and not target.exists()


def test_old_mac_and_windows_line_ends_give_the_same_risks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _cohort(400)
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", 1 << 12)  # many blocks
    expected = _expected(frame).to_numpy()
    for end in ("\n", "\r\n", "\r"):
        path = tmp_path / "c.csv"
        path.write_bytes(frame.to_csv(index=False, lineterminator=end).encode())
        code, text = _run("score", "qrisk3", str(path), "--id", "pid")
        assert code == 0
        np.testing.assert_allclose(_risks(text).to_numpy(), expected, atol=5e-7)


@pytest.mark.parametrize("block", [344, 400, 1000, 1 << 22])
def test_a_quoted_line_break_is_never_read_as_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """A note holding a line break and, after it, text shaped like a row: a reader cutting
    the file at raw line ends (a version of this session did) scored that text as a
    patient. Blocks of 344-1000 bytes put a block boundary inside the quoted field."""
    frame = _cohort(6)
    rows = frame.to_csv(index=False).splitlines()
    frame["note"] = "plain"
    frame.loc[2, "note"] = "x\nPHANTOM" + rows[2][5:] + ",zz"
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", block)
    code, text = _run("score", "qrisk3", str(path), "--id", "pid")
    assert code == 0 and "PHANTOM" not in text
    assert list(_risks(text).index) == list(frame["pid"])


@pytest.mark.parametrize(
    ("word", "problem"),
    [
        ("NAN", "townsend='NAN': not a number (str)"),
        ("inf", "townsend='inf': not a number (str)"),
        ("-Infinity", "townsend='-Infinity': not a number (str)"),
        ("nan", None),  # one of MISSING_TOKENS: missing, as an empty cell
        ("", None),
    ],
)
def test_number_words_are_read_by_the_documented_rule_not_pyarrows(
    tmp_path: Path, word: str, problem: str | None
) -> None:
    """pyarrow's number parser reads inf, Infinity and NAN as floats; cvrisk's rule (and
    its standard-library reader) reads a decimal numeral or a listed missing token only."""
    frame = _cohort(30).astype({"townsend": object})
    frame.loc[20, "townsend"] = word
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    code, text = _run(
        "score", "qrisk3", str(path), "--id", "pid", "--errors", "coerce", "--reasons"
    )
    table = pd.read_csv(io.StringIO(text), dtype={"pid": str}, keep_default_na=False)
    row = table.set_index("pid").loc["P0020"]
    assert code == 0
    if problem is None:
        assert row["problems"] == "" and row["qrisk3_risk"] != ""
    else:
        assert problem in row["problems"] and row["qrisk3_risk"] == ""


def test_without_pyarrow_the_standard_library_reader_writes_the_same(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(ODD_CELLS)
    args = ["score", "pce", str(path), "--id", "pid", "--errors", "coerce", "--reasons"]
    code, fast = _run(*args)
    slow = _child(args, tmp_path)
    assert code == 0 and slow.returncode == 0, slow.stderr
    assert slow.stdout == fast
    assert "pip install 'cvrisk[cohort]'" in slow.stderr
    table = pd.read_csv(io.StringIO(fast), keep_default_na=False).set_index("pid")
    assert table.loc["b", "problems"] == "" and table.loc["d", "problems"] == ""
    assert "bp_treated='tRuE'" not in fast  # any case of true/false is a flag
    assert "bp_treated='2': not a boolean" in table.loc["e", "problems"]
    assert "sex='Female': not one of" in table.loc["f,1", "problems"]
    assert "sbp='12O': not a number (str)" in table.loc["f,1", "problems"]
    assert "total_cholesterol='²': not a number (str)" in table.loc["g", "problems"]
    assert "hdl_cholesterol='NAN': not a number" in table.loc["h", "problems"]
    assert "sbp='inf': not a number" in table.loc["h", "problems"]


def test_without_pyarrow_parquet_says_how_to_get_it(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    _cohort(3).to_parquet(path)
    result = _child(["score", "qrisk3", str(path)], tmp_path)
    assert result.returncode == 2 and "pip install 'cvrisk[cohort]'" in result.stderr


# -- clean errors ---------------------------------------------------------------------------------


def _files(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("binary.csv", "empty.csv", "latin.csv")}
    paths["binary.csv"].write_bytes(bytes(range(256)) * 20)
    paths["empty.csv"].write_text("")
    paths["latin.csv"].write_bytes(f"{PCE_HEADER}\nP,55,f\xe9male\n".encode("latin-1"))
    paths["parquet_named.csv"] = tmp_path / "parquet_named.csv"
    _cohort(2).to_parquet(paths["parquet_named.csv"])
    paths["fake.parquet"] = tmp_path / "fake.parquet"
    paths["fake.parquet"].write_text(PCE_HEADER + "\n")
    paths["semicolons.csv"] = tmp_path / "semicolons.csv"
    paths["semicolons.csv"].write_text(PCE_HEADER.replace(",", ";") + "\n")
    paths["ragged.csv"] = tmp_path / "ragged.csv"
    paths["ragged.csv"].write_text(f"{PCE_HEADER}\nP1,55,female\n")
    paths["tabs.csv"] = tmp_path / "tabs.csv"
    paths["tabs.csv"].write_text(PCE_HEADER.replace(",", "\t") + "\n")
    paths["twice.csv"] = tmp_path / "twice.csv"
    paths["twice.csv"].write_text("age,age\n1,2\n")
    paths["field.csv"] = tmp_path / "field.csv"
    paths["field.csv"].write_text(f'{PCE_HEADER}\nP1,55,"{"x" * 200_000}"\n')
    paths["directory"] = tmp_path
    paths["missing.csv"] = tmp_path / "missing.csv"
    return paths


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("binary.csv", [], "a binary file, not CSV text"),
        ("empty.csv", [], "empty file"),
        ("latin.csv", [], "not UTF-8 text"),
        ("parquet_named.csv", [], "a Parquet file; name it .parquet"),
        ("fake.parquet", [], "not a Parquet file"),
        ("semicolons.csv", [], "is the file separated by ';'? Use --delimiter ';'"),
        ("ragged.csv", [], "the header has 10 fields; is the file cut short, or does the row"),
        ("semicolons.csv", ["--id", "pid"], "is the file separated by ';'? Use --delimiter ';'"),
        ("tabs.csv", [], "separated by '\\t'? Use --delimiter $'\\t' (now ',')"),
        ("twice.csv", [], "column 'age' appears twice"),
        ("directory", [], "is a directory"),
        ("missing.csv", [], "no such file"),
        ("semicolons.csv", ["--delimiter", ";;"], "--delimiter ';;': give one character"),
        ("semicolons.csv", ["--delimiter", ",", "--decimal", ","], "both ','"),
        ("ragged.csv", ["--id", "patient"], "no id column 'patient'"),
        ("ragged.csv", ["-o", "/nonexistent-dir/out.csv"], "no such directory"),
        ("ragged.csv", ["-o", "OUT_DIR"], "a directory; give the output file's name"),
        ("ragged.csv", ["-o", "OUT_DIR/sub/"], "a directory; give the output file's name"),
        ("ragged.csv", ["-o", ""], "-o '': give the output file's name"),
    ],
)
def test_file_errors_are_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, extra: list[str], message: str
) -> None:
    path = _files(tmp_path)[name]
    (tmp_path / "out").mkdir()
    extra = [e.replace("OUT_DIR", str(tmp_path / "out")) for e in extra]
    code, text = _run("score", "pce", str(path), *extra)
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert err.startswith("cvrisk: error: ") and err.count("\n") == 1 and message in err
    assert not Path("/nonexistent-dir").exists()
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob(".partial"))


@pytest.mark.parametrize(
    "name", ["binary.csv", "empty.csv", "latin.csv", "ragged.csv", "twice.csv", "field.csv"]
)
def test_file_errors_without_pyarrow_are_clean_too(tmp_path: Path, name: str) -> None:
    result = _child(["score", "pce", str(_files(tmp_path)[name])], tmp_path)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("cvrisk: note")]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("cvrisk: error:")
    assert "Traceback" not in result.stderr
    if name == "field.csv":
        assert "field larger than field limit" in lines[0]


# -- the progress bar ----------------------------------------------------------------------------


def test_a_progress_bar_only_on_a_terminal_and_for_long_runs(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    _cohort(10).to_csv(path, index=False)
    kinds: dict[str, Any] = dict(cvrisk.scores.registry.get_model("qrisk3").columns_read())
    small = scorefiles.open_cohort(str(path), kinds)
    large = scorefiles.open_cohort(str(path), kinds)
    large.total = 1 << 30  # as if the file were 1 GB
    assert _progress(large, io.StringIO()) is None  # not a terminal
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert _progress(small, terminal) is None  # a short run
        bar = _progress(large, terminal)
        assert bar is not None
        bar.update(1 << 20)
        bar.close()
    os.close(leader)


def test_values_probably_in_another_unit_are_one_warning_line_naming_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _cohort(2000)
    rows = [3, 1500]  # in two different chunks
    frame.loc[rows, "total_cholesterol"] = [2.0, 1.95]  # typical of g/L, not of mmol/L
    frame.loc[rows, "hdl_cholesterol"] = 0.5
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(scorefiles, "BLOCK_BYTES", 1 << 14)
    code, text = _run("score", "qrisk3", str(path), "--id", "pid")
    err = capsys.readouterr().err
    assert code == 0 and text.count("\n") == 2001
    assert err == (
        "cvrisk: warning: qrisk3: total_cholesterol in mmol/L is unusual in 2 row(s) "
        "(e.g. rows 'P0003', 'P1500') but typical in g/L: probably sent in g/L; the values "
        "were used as given. If so, declare it: --unit total_cholesterol=g/L\n"
    )
