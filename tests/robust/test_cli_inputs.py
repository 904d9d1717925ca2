"""Every command but ``score`` answers a bad argument or file with one line on stderr and exit
status 2: no traceback, no usage screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvrisk.cli import main

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "patient.json")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as stop:
        status = int(stop.code or 0)
    return status, capsys.readouterr().err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    wide = tmp_path / "wide.json"
    wide.write_text(
        '{"patient": {"birth_date": "1980-01-01", "sex": "male"}, "x": "' + "a" * 2_000_000 + '"}'
    )
    toml = tmp_path / "binary.toml"
    toml.write_bytes(b"\xff\x00")
    return {
        "binary": str(binary),
        "deep": str(deep),
        "wide": str(wide),
        "toml": str(toml),
        "dir": str(tmp_path),
    }


CASES = [
    ["evaluate", "{missing}"],
    ["evaluate", "{binary}"],
    ["evaluate", "{deep}"],
    ["evaluate", "{wide}"],
    ["evaluate", "{dir}"],
    ["evaluate", "/tmp/\x00.json"],
    ["evaluate", EXAMPLE, "--protocol", "{missing}.toml"],
    ["evaluate", EXAMPLE, "--protocol", "{toml}"],
    ["evaluate", EXAMPLE, "--protocol", "no-such-protocol"],
    ["evaluate", EXAMPLE, "--as-of", "9999-12-31"],
    ["evaluate", EXAMPLE, "--as-of", "0001-01-01"],
    ["evaluate", EXAMPLE, "--as-of", "2025-13-01"],
    ["evaluate", EXAMPLE, "--jurisdiction", "XXX"],
    ["evaluate", EXAMPLE, "--score-input", "nomodel.sbp=1"],
    ["evaluate", EXAMPLE, "--score-input", "novalue"],
    ["evaluate", EXAMPLE, "--lang", "de"],
    ["schedule", "--drug", "nosuchdrug", "--start", "2025-01-01"],
    ["schedule", "--drug", "clozapine", "--start", "9999-12-31"],
    ["schedule", "--drug", "clozapine", "--start", "2025-01-01", "--birth-date", "1800-01-01"],
    ["schedule", "--drug", "clozapine", "--start", "2025-01-01", "--birth-date", "2030-01-01"],
    ["schedule", "--drug", "clozapine", "--start", "2025-01-01", "--protocol", "{toml}"],
    ["schedule", "--drug", "clozapine"],
    ["protocols", "--format", "xml"],
    ["schema", "nothing"],
    ["nosuchcommand"],
    [],
]


@pytest.mark.parametrize("argv", CASES, ids=lambda argv: " ".join(argv)[:60] or "no-args")
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    filled = [a.format(missing=files["dir"] + "/absent", **files) for a in argv]
    status, err = _run(filled, capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cvrisk") and "Traceback" not in err
    assert len(lines[0]) < 600
