"""The fuzz suite at CI size: over every public entry point, generated hostile input ends in a
result or a CvriskError, never in another exception (an internal bug stays internal: it is
what this suite exists to find). The long run, with a per-input time limit and counts per
target and outcome, is ``bench/fuzz.py``."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import targets
from tests.fuzz.strategies import (
    cli_argv,
    evaluate_kwargs,
    fhir_like,
    mutated_fhir,
    mutated_record,
    schedule_args,
    score_record_args,
)
from tests.rules.strategies import record

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # CI runs the same inputs every time; bench/fuzz.py explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _typed(result: str) -> None:
    assert not result.startswith("escaped"), result


@FUZZ
@given(mutated_record())
def test_reading_a_mutated_record(data: Any) -> None:
    _typed(targets.record_read(data))
    _typed(targets.record_read_lenient(data))


@FUZZ
@given(mutated_record())
def test_from_json_on_a_mutated_record(data: Any) -> None:
    _typed(targets.from_json(data))


@FUZZ
@given(mutated_record())
def test_evaluating_a_mutated_record(data: Any) -> None:
    _typed(targets.evaluate_record(data))


@FUZZ
@given(fhir_like())
def test_fhir_like_input(data: Any) -> None:
    _typed(targets.record_read(data))
    _typed(targets.evaluate_record(data))


@FUZZ
@given(mutated_fhir())
def test_mutated_fhir_examples(data: Any) -> None:
    _typed(targets.record_read_lenient(data))
    _typed(targets.evaluate_record(data))


@FUZZ
@given(record(max_observations=6), evaluate_kwargs)
def test_evaluate_arguments(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    _typed(targets.evaluate_arguments(data, kwargs))


@FUZZ
@given(schedule_args)
def test_schedule_arguments(kwargs: dict[str, Any]) -> None:
    _typed(targets.schedule_arguments(kwargs))


@FUZZ
@given(record(max_observations=6), score_record_args)
def test_score_record_arguments(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    _typed(targets.score_record_arguments(data, kwargs))


@FUZZ
@given(record(max_observations=6), score_record_args)
def test_score_inputs_arguments(data: dict[str, Any], kwargs: dict[str, Any]) -> None:
    _typed(targets.score_inputs_arguments(data, kwargs))


@FUZZ
@given(mutated_record())
def test_from_file(data: Any) -> None:
    _typed(targets.from_file(data))


@settings(FUZZ, max_examples=80)
@given(cli_argv(), st.one_of(record(max_observations=6), mutated_record()))
def test_command_line(argv: list[str], data: Any) -> None:
    _typed(targets.cli(argv, data))
