"""Tests for cvrisk.errors: hierarchy, builtin bases and message contents."""

from __future__ import annotations

import pickle

import pytest

from cvrisk import errors
from cvrisk.errors import (
    CvriskError,
    ImplausibleValueError,
    InvalidInputError,
    MissingInputError,
    Problem,
    RecordError,
    UnknownModelError,
    VocabularyError,
)

BUILTIN_BASES = {
    "UnitError": ValueError,
    "ImplausibleValueError": ValueError,
    "InvalidInputError": ValueError,
    "MissingInputError": KeyError,
    "UnknownModelError": KeyError,
    "OptionError": ValueError,
    "RecordError": ValueError,
    "VocabularyError": KeyError,
    "ProtocolError": ValueError,
    "EngineError": RuntimeError,
    "DataIssueError": ValueError,
    "InputFileError": ValueError,
}


@pytest.mark.parametrize(("name", "builtin"), sorted(BUILTIN_BASES.items()))
def test_every_error_is_a_cvrisk_error_and_its_builtin(name: str, builtin: type) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, CvriskError)
    assert issubclass(cls, builtin)


def test_no_error_class_is_forgotten() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, CvriskError) and value is not CvriskError
    }
    assert defined == set(BUILTIN_BASES)


def test_problem_str() -> None:
    assert str(Problem(3, "sbp", 500, "above 300")) == "row 3, sbp=500: above 300"
    assert str(Problem(None, "patient.sex", "F", "not allowed")) == "patient.sex='F': not allowed"


def test_problem_str_quotes_text_labels_and_cuts_long_values() -> None:
    assert str(Problem("P001", "sbp", 500, "above 300")) == "row 'P001', sbp=500: above 300"
    text = str(Problem(0, "age", 10**400, "too large"))
    assert len(text) < 100 and text.endswith("...: too large")


def test_score_errors_survive_pickling() -> None:
    """Dask workers send exceptions to the client by pickling them."""
    problems = [Problem("a", "sbp", 500, "above 300")]
    error = pickle.loads(pickle.dumps(InvalidInputError("pce", problems, count=1, invalid_rows=1)))
    assert isinstance(error, InvalidInputError) and error.problems == problems
    assert error.count == 1 and str(error).startswith("pce: 1 invalid row(s)")
    missing = pickle.loads(pickle.dumps(MissingInputError("pce", "age", "Give it.")))
    assert (missing.model, missing.name, str(missing)) == (
        "pce",
        "age",
        "pce: required input 'age' is missing. Give it.",
    )


def test_invalid_input_error_lists_first_problems_and_what_to_do() -> None:
    problems = [Problem(i, "sbp", 500 + i, "above 300") for i in range(7)]
    error = InvalidInputError("qrisk3", problems, count=7, invalid_rows=7)
    text = str(error)
    assert text.startswith("qrisk3: 7 invalid row(s), 7 problem(s): ")
    assert "row 0, sbp=500" in text and "row 4, sbp=504" in text
    assert "row 5" not in text
    assert "(and 2 more)" in text
    assert "errors='coerce'" in text
    assert error.problems == problems and error.count == 7 and error.invalid_rows == 7


def test_missing_input_error_message_is_not_quoted() -> None:
    error = MissingInputError("pce", "hdl", "give hdl in mg/dL")
    assert str(error) == "pce: required input 'hdl' is missing. give hdl in mg/dL"
    assert error.model == "pce" and error.name == "hdl"
    assert str(MissingInputError("pce", "hdl")) == "pce: required input 'hdl' is missing."


def test_key_error_subclasses_print_plain_messages() -> None:
    # KeyError's own str() adds quotes; cvrisk's keyed errors print the message as is.
    assert str(VocabularyError("unknown analyte 'x'")) == "unknown analyte 'x'"
    assert str(UnknownModelError("no model 'y'")) == "no model 'y'"


def test_implausible_value_error_attributes() -> None:
    error = ImplausibleValueError(
        "tc 213 mmol/L", field="tc", value=213.0, unit="mmol/L", suggestion="mg/dL"
    )
    assert (error.field, error.value, error.unit, error.suggestion) == (
        "tc",
        213.0,
        "mmol/L",
        "mg/dL",
    )
    assert str(error) == "tc 213 mmol/L"


def test_record_error_carries_problems() -> None:
    problem = Problem(None, "observations[0].value", 213, "implausible")
    error = RecordError("invalid patient record", [problem])
    assert error.problems == [problem]
    assert RecordError("x").problems == []
