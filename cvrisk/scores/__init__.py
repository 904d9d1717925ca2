"""Cardiovascular risk scores: vectorized, unit-aware, validated.

``score(model, data, ...)`` computes one model over a whole cohort; ``models()`` lists them;
``score_record(record, model, as_of=...)`` scores one patient record (inputs from the record,
missing ones reported, caveats such as SMI underestimation attached), and ``score_inputs``
shows the row it builds.
Coefficients live in ``cvrisk/scores/data/*.toml`` with their sources; each model module
holds only its vectorized kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cvrisk.scores.base import FloatArray, ModelInfo, RiskModel
from cvrisk.scores.registry import available, get_model


def score(
    model: str,
    data: Any,
    *,
    errors: str = "raise",
    units: Mapping[str, str] | None = None,
    reasons: bool = False,
    **options: Any,
) -> Any:
    """Predicted risk of ``model`` for every row of ``data``, as a probability in [0, 1].

    Args:
        model: model id (see :func:`models`), e.g. ``"pce"``, ``"qrisk3"``, ``"score2"``.
        data: a pandas DataFrame (its index labels the result and names rows in errors: put
            patient ids there), a mapping of column name -> array-like or scalar, a list of
            mappings (one per patient), or a Dask DataFrame (scored partition by partition,
            lazily), with cvrisk's canonical column names (docs/scores/columns.md). Plain
            numbers are in each column's default unit; pint quantities are converted.
        errors: ``"raise"`` (default): any invalid row raises one
            :class:`~cvrisk.errors.InvalidInputError` listing rows, columns, values and
            reasons. ``"coerce"``: invalid rows give NaN, the others are computed.
        units: units of plain-number columns, e.g. ``{"total_cholesterol": "mg/dL"}``.
        reasons: return a DataFrame with a ``risk`` column and a ``problems`` column (the
            reasons an invalid row was not scored, as one text; missing for valid rows).
        **options: model options (e.g. ``race="black"`` for ``pce``, ``region="high"`` for
            ``score2``, ``outcome="hf"`` for ``prevent``).

    Returns:
        One float64 probability per row (NaN for invalid rows with ``errors="coerce"``):
        a pandas Series on the DataFrame's index, named after the model, for a DataFrame;
        a Dask Series for a Dask DataFrame; a numpy array for a mapping or a list of rows.
        With ``reasons=True``: a DataFrame (pandas or Dask) with ``risk`` and ``problems``.

    Raises:
        CvriskError: every bad input is one of its subclasses (InvalidInputError for invalid
            values or shapes, MissingInputError, OptionError, UnitError, UnknownModelError).
    """
    return get_model(model).score(data, errors=errors, units=units, reasons=reasons, **options)


def models() -> dict[str, ModelInfo]:
    """The available models, id -> metadata (title, outcome, source, inputs, options)."""
    return {model_id: get_model(model_id).info for model_id in available()}


def __getattr__(name: str) -> Any:
    # The record helpers import pydantic models: loaded on first use so that cohort scoring
    # does not pay for them.
    if name in ("score_record", "score_inputs"):
        from cvrisk.scores import from_record

        return getattr(from_record, name)
    raise AttributeError(f"module 'cvrisk.scores' has no attribute {name!r}")


__all__ = [
    "FloatArray",
    "ModelInfo",
    "RiskModel",
    "models",
    "score",
    "score_inputs",
    "score_record",
]
