"""What ``cvrisk.score`` returns: arrays, Series on the frame's index, reasons per row.

A DataFrame gives a pandas Series on its index named after the model (the index is how ids
are carried through); arrays, mappings and lists of rows give a float64 array; with
``reasons=True`` a DataFrame with ``risk`` and ``problems`` (one text per invalid row).
Errors name rows by index label for a DataFrame, by position otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import cvrisk
from cvrisk.errors import InvalidInputError, OptionError
from cvrisk.scores.registry import get_model

ROW: dict[str, Any] = {
    "age": 55,
    "sex": "female",
    "race": "white",
    "total_cholesterol": 5.5,
    "hdl_cholesterol": 1.3,
    "sbp": 120.0,
    "bp_treated": False,
    "smoker": False,
    "diabetes": False,
}


def _frame() -> pd.DataFrame:
    rows = [ROW, dict(ROW, age=200), dict(ROW, sex="x", sbp=500.0), dict(ROW, smoker=True)]
    return pd.DataFrame(rows, index=pd.Index(["P1", "P2", "P3", "P4"], name="patient_id"))


def test_a_dataframe_gives_a_series_on_its_index_named_after_the_model() -> None:
    frame = _frame().drop(index=["P2", "P3"])
    risk = cvrisk.score("pce", frame)
    assert isinstance(risk, pd.Series) and risk.name == "pce" and risk.dtype == np.float64
    assert list(risk.index) == ["P1", "P4"] and risk.index.name == "patient_id"
    np.testing.assert_array_equal(risk.to_numpy(), cvrisk.score("pce", frame.to_dict("records")))


def test_arrays_mappings_and_lists_still_give_arrays() -> None:
    for data in (ROW, [ROW, ROW], {k: np.array([v, v]) for k, v in ROW.items()}):
        risk = cvrisk.score("pce", data)
        assert type(risk) is np.ndarray and risk.dtype == np.float64


def test_errors_name_index_labels_for_a_dataframe_and_positions_otherwise() -> None:
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", _frame())
    assert [(p.row, p.column) for p in info.value.problems] == [
        ("P2", "age"),
        ("P3", "sex"),
        ("P3", "sbp"),
    ]
    assert "row 'P2', age=200" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", _frame().to_dict("records"))
    assert [p.row for p in info.value.problems] == [1, 2, 2]


def test_a_non_unique_or_date_index_is_kept_and_named() -> None:
    frame = _frame()
    frame.index = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"])
    with pytest.raises(InvalidInputError) as info:
        cvrisk.score("pce", frame)
    assert info.value.problems[0].row == pd.Timestamp("2024-01-02")
    risk = cvrisk.score("pce", frame, errors="coerce")
    assert risk.index.equals(frame.index)


def test_coerce_with_reasons_gives_risk_and_problems_per_row() -> None:
    result = cvrisk.score("pce", _frame(), errors="coerce", reasons=True)
    assert isinstance(result, pd.DataFrame) and list(result.columns) == ["risk", "problems"]
    assert result.index.equals(_frame().index) and result.index.name == "patient_id"
    assert result["problems"].isna().tolist() == [True, False, False, True]
    assert result.loc["P2", "problems"].startswith("age=200: outside the validated range")
    both = result.loc["P3", "problems"]
    assert both.startswith("sex='x': not one of: female, male; sbp=500.0: implausible")
    assert np.isnan(result.loc[["P2", "P3"], "risk"]).all()
    np.testing.assert_array_equal(
        result["risk"].to_numpy(), cvrisk.score("pce", _frame(), errors="coerce").to_numpy()
    )


def test_reasons_for_lists_of_rows_use_positions() -> None:
    result = cvrisk.score("pce", [ROW, dict(ROW, age=3)], errors="coerce", reasons=True)
    assert list(result.index) == [0, 1] and result["problems"].notna().tolist() == [False, True]


def test_reasons_name_row_checks_too() -> None:
    from tests.scores.test_qrisk3 import _patient

    rows = [_patient(total_cholesterol=5.0, hdl_cholesterol=0.3)]  # ratio 16.7, not 1-12
    result = cvrisk.score("qrisk3", rows, errors="coerce", reasons=True)
    assert "cholesterol ratio outside the validated range 1-12" in result["problems"][0]


def test_summary_counts_invalid_rows_per_column() -> None:
    run = get_model("pce").run(_frame(), errors="coerce")
    assert [(column, count) for column, count, _ in run.log.summary()] == [
        ("age", 1),
        ("sex", 1),
        ("sbp", 1),
    ]
    assert run.log.summary()[0][2].startswith("e.g. row 'P2', age=200: outside")


def test_every_model_scores_zero_rows() -> None:
    for model_id, info in cvrisk.models().items():
        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in info.inputs})
        risk = cvrisk.score(model_id, frame)
        assert isinstance(risk, pd.Series) and risk.shape == (0,)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"race": ["black"]}, "must be one text value"),
        ({"race": 1}, "must be one text value"),
    ],
)
def test_option_inputs_must_be_one_text(options: dict[str, Any], message: str) -> None:
    row = {k: v for k, v in ROW.items() if k != "race"}
    with pytest.raises(OptionError, match=message):
        cvrisk.score("pce", row, **options)


def test_model_options_accept_numpy_numbers_but_not_booleans() -> None:
    from tests.scores.test_prevent import MG, patient

    ten = cvrisk.score("prevent", patient(), units=MG, horizon=np.int64(10))
    assert ten[0] == cvrisk.score("prevent", patient(), units=MG, horizon=10)[0]
    with pytest.raises(OptionError):
        cvrisk.score("prevent", patient(), units=MG, horizon=True)
    with pytest.raises(OptionError):
        cvrisk.score("prevent", patient(), units=MG, outcome=["cvd"])


def test_units_must_be_a_mapping() -> None:
    with pytest.raises(OptionError, match="units= must map column names to units"):
        cvrisk.score("pce", ROW, units=["total_cholesterol"])  # type: ignore[arg-type]
