"""Every ``[[examples]]`` entry of every model's data file, run through ``cvrisk.score``.

One shared test so that no model can ship an example it does not reproduce: the published
worked examples and the values of independent implementations, each with its ``inputs``,
optional ``units`` (e.g. mg/dL cholesterol) and ``options``, ``expected`` probability and
absolute ``tolerance``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cvrisk
from cvrisk.scores.registry import MODEL_MODULES, get_model

ALLOWED_KEYS = {"source", "inputs", "units", "options", "expected", "tolerance", "status"}


def _examples() -> list[Any]:
    return [
        pytest.param(model_id, example, id=f"{model_id}-{index}")
        for model_id in MODEL_MODULES
        for index, example in enumerate(get_model(model_id).examples)
    ]


@pytest.mark.parametrize(("model_id", "example"), _examples())
def test_example_reproduced(model_id: str, example: dict[str, Any]) -> None:
    risk = cvrisk.score(
        model_id, example["inputs"], units=example.get("units"), **example.get("options", {})
    )
    assert risk.shape == (1,) and risk.dtype == np.float64
    assert abs(risk[0] - example["expected"]) <= example["tolerance"], example["source"]


@pytest.mark.parametrize("model_id", list(MODEL_MODULES))
def test_every_model_has_sourced_examples(model_id: str) -> None:
    examples = get_model(model_id).examples
    assert examples, f"{model_id} has no [[examples]]"
    for example in examples:
        assert set(example) <= ALLOWED_KEYS, set(example) - ALLOWED_KEYS
        assert example["source"].strip()
        assert 0.0 <= example["expected"] <= 1.0
        assert 0.0 < example["tolerance"] < 0.01


@pytest.mark.parametrize("model_id", list(MODEL_MODULES))
def test_examples_together_equal_one_by_one(model_id: str) -> None:
    """Examples sharing units and options, scored as one cohort, give the same values."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for example in get_model(model_id).examples:
        key = repr((sorted((example.get("units") or {}).items()), example.get("options", {})))
        groups.setdefault(key, []).append(example)
    for group in groups.values():
        first = group[0]
        names = set().union(*(e["inputs"] for e in group))
        if any(set(e["inputs"]) != names for e in group):
            continue  # rows with different columns: not one table
        rows = [e["inputs"] for e in group]
        together = cvrisk.score(
            model_id, rows, units=first.get("units"), **first.get("options", {})
        )
        one_by_one = [
            cvrisk.score(model_id, r, units=first.get("units"), **first.get("options", {}))[0]
            for r in rows
        ]
        np.testing.assert_array_equal(together, one_by_one)
