"""The cvrisk command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cvrisk import __version__
from cvrisk.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "patient.json"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_evaluate_table_and_json() -> None:
    code, table = _run("evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--jurisdiction", "GB")
    assert code == 0 and "overdue" in table and "clozapine-uk" in table
    code, text = _run("evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--format", "json")
    report = json.loads(text)
    assert code == 0 and report["as_of"] == "2025-06-01" and report["tests"]


def test_evaluate_french() -> None:
    code, table = _run("evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--lang", "fr")
    assert code == 0 and "Alertes" in table


def test_schedule_and_protocols() -> None:
    code, text = _run("schedule", "--drug", "olanzapine", "--start", "2025-01-06")
    assert code == 0 and "2025-01-13" in text
    code, text = _run("protocols")
    assert code == 0 and "nice-cg178" in text and "afssaps-2010" in text


def test_schedule_marks_conditional_items() -> None:
    """Pimozide has an ECG due only if indicated (NICE CG178) and one due for every patient
    (APA 2020 Table 1): the table tells them apart, as evaluate's "?" marks a conditional
    test, in English and French."""
    code, text = _run(
        "schedule", "--drug", "pimozide", "--start", "2025-01-06", "--protocol", "ecg-qtc"
    )
    assert code == 0
    ecg = [line for line in text.splitlines() if "ECG (QTc)" in line]
    assert len(ecg) == 2
    conditional = [line for line in ecg if "(if indicated)" in line]
    assert len(conditional) == 1 and conditional[0].startswith("?")
    unconditional = next(line for line in ecg if line not in conditional)
    assert not unconditional.startswith("?")
    code, text = _run("schedule", "--drug", "pimozide", "--start", "2025-01-06", "--lang", "fr")
    assert code == 0 and "(si indiqué)" in text


def test_input_errors_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "patient": {"birth_date": "1970-01-01", "sex": "male"},
                "observations": [
                    {
                        "analyte": "total_cholesterol",
                        "value": 213,
                        "unit": "mmol/L",
                        "date": "2025-01-01",
                    }
                ],
            }
        )
    )
    code, _ = _run("evaluate", str(bad))
    assert code == 2
    assert "did you mean 213 mg/dL" in capsys.readouterr().err
    code, _ = _run("evaluate", str(EXAMPLE), "--protocol", "nope")
    assert code == 2


def test_score_csv(tmp_path: Path) -> None:
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_text(
        "age,sex,race,total_cholesterol,hdl_cholesterol,sbp,bp_treated,smoker,diabetes\n"
        "55,female,white,213,50,120,false,false,false\n"
        "35,male,white,213,50,120,false,false,false\n"
    )
    code, text = _run(
        "score",
        "pce",
        str(csv_file),
        "--unit",
        "total_cholesterol=mg/dL",
        "--unit",
        "hdl_cholesterol=mg/dL",
        "--errors",
        "coerce",
    )
    rows = text.strip().splitlines()
    assert code == 0 and rows[1].startswith("0,0.0205") and rows[2] == "1,"


def test_schema() -> None:
    code, text = _run("schema", "protocol")
    assert code == 0 and json.loads(text)["title"] == "Protocol"


def test_score_inputs_and_record_complete_reach_qrisk3() -> None:
    args = ["evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--format", "json"]
    _, text = _run(*args)
    assert json.loads(text)["scores"][0]["risk"] is None
    code, text = _run(
        *args,
        "--record-complete",
        "--score-input",
        "qrisk3.smoking=moderate",
        "--score-input",
        "qrisk3.family_history_chd=false",
    )
    (qrisk,) = json.loads(text)["scores"]
    assert code == 0 and qrisk["model"] == "qrisk3" and 0 < qrisk["risk"] < 1


def test_bad_score_input_is_an_input_error() -> None:
    code, _ = _run("evaluate", str(EXAMPLE), "--score-input", "smoking=moderate")
    assert code == 2


def test_semicolon_csv_needs_the_delimiter(tmp_path: Path) -> None:
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_text(
        "age;sex;race;total_cholesterol;hdl_cholesterol;sbp;bp_treated;smoker;diabetes\n"
        "55;female;white;5,5;1,3;120;false;false;false\n"
    )
    code, _ = _run("score", "pce", str(csv_file))
    assert code == 2
    code, text = _run("score", "pce", str(csv_file), "--delimiter", ";", "--errors", "coerce")
    # '5,5' is not read as a number without --decimal ,; the output keeps the file's delimiter
    assert code == 0 and text.strip().splitlines()[1] == "0;"


def test_tables_mark_unconfirmed_items_and_speak_french() -> None:
    _, text = _run("evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--jurisdiction", "GB")
    assert "*" in text and "source not confirmed" in text
    _, text = _run(
        "evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--jurisdiction", "GB", "--lang", "fr"
    )
    assert "en retard" in text and "échéance" in text and "overdue" not in text


def test_schedule_with_birth_date_keeps_to_the_age_group() -> None:
    code, text = _run(
        "schedule", "--drug", "olanzapine", "--start", "2025-01-06", "--birth-date", "1980-01-01"
    )
    assert code == 0 and "CAMESA" not in text and "NICE" in text


def test_evaluate_reads_standard_input_and_json_text(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = EXAMPLE.read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, from_stdin = _run("evaluate", "-", "--as-of", "2025-06-01", "--format", "json")
    code_text, from_text = _run(
        "evaluate", raw.decode(), "--as-of", "2025-06-01", "--format", "json"
    )
    _, from_file = _run("evaluate", str(EXAMPLE), "--as-of", "2025-06-01", "--format", "json")
    assert code == code_text == 0
    assert json.loads(from_stdin) == json.loads(from_text) == json.loads(from_file)


def test_warnings_come_first_and_lenient_reading_skips_bad_entries(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["medications"].append({"drug": "clozapin", "start": "2025-01-01"})
    data["observations"].append(
        {"analyte": "weight", "value": 80, "unit": "furlongs", "date": "2025-01-01"}
    )
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, _ = _run("evaluate", str(path), "--as-of", "2025-06-01")
    assert code == 2  # strict by default: the invalid unit refuses the record
    code, table = _run("evaluate", str(path), "--as-of", "2025-06-01", "--lenient")
    assert code == 0
    head = table.split("status")[0]
    assert "Warnings" in head and "clozapin" in head and "furlongs" in head
    code, _ = _run("evaluate", str(path), "--as-of", "2025-06-01", "--lenient", "--strict")
    assert code == 2
