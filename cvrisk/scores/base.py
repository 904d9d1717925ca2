"""The shared machinery of every risk model: inputs, units, validated ranges, ``errors=``.

A model is a :class:`RiskModel` subclass that names its data file and supplies one method,
:meth:`RiskModel.compute`, the vectorized kernel. Everything else is here and shared (the
scipy.stats pattern): reading the data file, resolving columns from a DataFrame / mapping /
list of rows, converting units (pint quantities, ``units={...}``, mass <-> molar), deriving
inputs (BMI from height and weight...), checking validated ranges and categories, and
turning invalid rows into one typed error (``errors="raise"``) or NaN (``errors="coerce"``).

The data file (``cvrisk/scores/data/<model>.toml``) declares each input:

``kind``            ``number`` | ``flag`` | ``category``
``unit``            default unit of plain numbers (what users pass without ``units=``)
``model_unit``      unit the kernel computes in (defaults to ``unit``)
``substance``       molar-mass key for mass <-> molar conversion (``cholesterol``...)
``min``/``max``     validated range, inclusive, in ``range_unit`` (defaults to ``unit``)
``categories``      accepted values of a category, in code order (code = index)
``required``        false: the input may be absent (the kernel receives nothing)
``when_absent``     value used when the column is absent (only where the model's own
                    calculator does so; ``when_absent_source`` cites it)
``allow_missing``   NaN passes through to the kernel (models with missing-indicator terms)
``option``          may be given as a keyword option instead of a column
``source``          where the range (or the input's definition) comes from
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from cvrisk.errors import InvalidInputError, MissingInputError, OptionError, Problem
from cvrisk.scores.columns import Column, Columns, as_columns
from cvrisk.units import convert, converter

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Array = npt.NDArray[Any]
Inputs = Mapping[str, Array]
Kind = Literal["number", "flag", "category"]
ERRORS_MODES = ("raise", "coerce")
_MAX_LISTED = InvalidInputError.shown


@dataclass(frozen=True)
class InputSpec:
    """One input of a model, as declared in its data file (see the module docstring)."""

    name: str
    kind: Kind
    unit: str | None = None
    model_unit: str | None = None
    substance: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    range_unit: str | None = None
    categories: tuple[str, ...] = ()
    required: bool = True
    when_absent: Any = None
    allow_missing: bool = False
    option: bool = False
    default: Any = None
    source: str = ""

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, Any]) -> InputSpec:
        kind = table["kind"]
        if kind not in ("number", "flag", "category"):
            raise ValueError(f"input {name!r}: kind {kind!r} is not number, flag or category")
        return cls(
            name=name,
            kind=kind,
            unit=table.get("unit"),
            model_unit=table.get("model_unit", table.get("unit")),
            substance=table.get("substance"),
            minimum=table.get("min"),
            maximum=table.get("max"),
            range_unit=table.get("range_unit", table.get("unit")),
            categories=tuple(table.get("categories", ())),
            required=table.get("required", True),
            when_absent=table.get("when_absent"),
            allow_missing=table.get("allow_missing", False),
            option=table.get("option", False),
            default=table.get("default"),
            source=table.get("source", ""),
        )

    def describe_range(self) -> str:
        """The validated range as text, e.g. ``40-79 year``."""
        return f"{self.minimum:g}-{self.maximum:g} {self.range_unit or ''}".strip()


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a risk model: what it predicts, from which source, with which inputs."""

    id: str
    title: str
    outcome: str
    horizon_years: int | None
    source: str
    doi: str | None
    smi_term: bool
    conventions: tuple[str, ...]
    inputs: Mapping[str, InputSpec]
    options: Mapping[str, Mapping[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly metadata."""
        return {
            "id": self.id,
            "title": self.title,
            "outcome": self.outcome,
            "horizon_years": self.horizon_years,
            "source": self.source,
            "doi": self.doi,
            "smi_term": self.smi_term,
            "conventions": list(self.conventions),
            "inputs": {
                name: {
                    k: v
                    for k, v in vars(spec).items()
                    if v not in (None, (), "") and k != "name"
                }
                for name, spec in self.inputs.items()
            },
            "options": {k: dict(v) for k, v in self.options.items()},
        }


@dataclass
class _Checks:
    """Problems found while preparing inputs, and the rows they make invalid."""

    n: int
    problems: list[Problem] = field(default_factory=list)
    count: int = 0
    invalid: BoolArray | None = None

    def add(self, column: str, bad: BoolArray, values: Any, reason: Callable[[Any], str]) -> None:
        """Record rows where ``bad`` is true; ``values`` gives the offending values."""
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return
        self.count += int(rows.size)
        self.invalid = bad.copy() if self.invalid is None else self.invalid | bad
        room = _MAX_LISTED - len(self.problems)
        for row in rows[: max(room, 0)]:
            value = values[row] if np.ndim(values) else values
            value = value.item() if isinstance(value, np.generic) else value
            self.problems.append(Problem(int(row), column, value, reason(value)))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def _series_to_numpy(values: Any) -> Any:
    """pandas Series -> numpy (nullable dtypes keep their missing values as NaN/None)."""
    if hasattr(values, "iloc") and hasattr(values, "dtype"):
        if str(values.dtype) in ("Float64", "Int64", "Int32", "Float32", "Int8", "Int16"):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return values.to_numpy()
    return values


class RiskModel:
    """Base class of every risk model. Subclasses set ``id``, ``data_file`` and ``compute``."""

    id: ClassVar[str]
    data_file: ClassVar[str]

    def __init__(self) -> None:
        path = resources.files("cvrisk.scores").joinpath("data", self.data_file)
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        meta = data["model"]
        self.data = data
        self.inputs: dict[str, InputSpec] = {
            name: InputSpec.from_table(name, table) for name, table in data["inputs"].items()
        }
        self.option_specs: dict[str, dict[str, Any]] = dict(data.get("options", {}))
        self.coefficients: dict[str, Any] = data.get("coefficients", {})
        self.examples: list[dict[str, Any]] = data.get("examples", [])
        self.info = ModelInfo(
            id=meta["id"],
            title=meta["title"],
            outcome=meta["outcome"],
            horizon_years=meta.get("horizon_years"),
            source=meta["source"],
            doi=meta.get("doi"),
            smi_term=bool(meta.get("smi_term", False)),
            conventions=tuple(meta.get("conventions", ())),
            inputs=self.inputs,
            options=self.option_specs,
        )
        if meta["id"] != self.id:
            raise ValueError(f"{self.data_file} declares id {meta['id']!r}, class has {self.id!r}")
        self._ranges: dict[str, tuple[float, float]] = {
            spec.name: self._range_in_model_unit(spec)
            for spec in self.inputs.values()
            if spec.kind == "number" and spec.minimum is not None and spec.maximum is not None
        }

    # -- what a model supplies -------------------------------------------------------------

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """The vectorized kernel: validated inputs (model units, codes) -> probability."""
        raise NotImplementedError

    # -- helpers for kernels ---------------------------------------------------------------

    def code(self, name: str, category: str) -> int:
        """The integer code the kernel receives for ``category`` of input ``name``."""
        return self.inputs[name].categories.index(category)

    # -- the public verb -------------------------------------------------------------------

    def score(
        self,
        data: Any,
        *,
        errors: str = "raise",
        units: Mapping[str, str] | None = None,
        **options: Any,
    ) -> FloatArray:
        """Predicted risk (probability in [0, 1], float64), one per row of ``data``.

        See :func:`cvrisk.score` for the arguments.
        """
        if errors not in ERRORS_MODES:
            raise OptionError(f"errors={errors!r}: use 'raise' or 'coerce'")
        columns = as_columns(data)
        units = dict(units or {})
        unknown_units = sorted(set(units) - set(self.inputs) - set(_DERIVED_FROM_COLUMNS))
        if unknown_units:
            raise OptionError(
                f"{self.id}: units= names {unknown_units}, which this model does not read; "
                f"its inputs are {sorted(self.inputs)}"
            )
        model_options, column_options = self._split_options(options, columns)
        checks = _Checks(columns.n)
        x: dict[str, Array] = {}
        for spec in self.inputs.values():
            column = column_options.get(spec.name) or self._column(spec, columns, units)
            if column is None:
                continue
            x[spec.name] = self._prepare(spec, column, columns.n, units, checks)
        if checks.count and errors == "raise":
            invalid_rows = int(checks.invalid.sum()) if checks.invalid is not None else 0
            raise InvalidInputError(
                self.id, checks.problems, count=checks.count, invalid_rows=invalid_rows
            )
        with np.errstate(all="ignore"):
            risk = np.asarray(self.compute(x, model_options), dtype=np.float64)
        if risk.shape != (columns.n,):
            risk = np.broadcast_to(risk, (columns.n,)).copy()
        if checks.invalid is not None:
            risk[checks.invalid] = np.nan
        return risk

    # -- options ----------------------------------------------------------------------------

    def _split_options(
        self, options: Mapping[str, Any], columns: Columns
    ) -> tuple[dict[str, Any], dict[str, Column]]:
        """Validate keyword options; option-inputs (e.g. ``race``) become scalar columns."""
        model_options: dict[str, Any] = {}
        column_options: dict[str, Column] = {}
        for name, value in options.items():
            spec = self.inputs.get(name)
            if spec is not None and spec.option:
                if name in columns:
                    raise OptionError(
                        f"{self.id}: {name!r} is given both as a column and as an option; "
                        "give one"
                    )
                column_options[name] = Column(value, scalar=True)
            elif name in self.option_specs:
                allowed = self.option_specs[name]["values"]
                if value not in allowed:
                    raise OptionError(f"{self.id}: {name}={value!r} is not one of {allowed}")
                model_options[name] = value
            else:
                accepted = sorted(
                    [n for n, s in self.inputs.items() if s.option] + list(self.option_specs)
                )
                raise OptionError(
                    f"{self.id}: unknown option {name!r}; accepted options: {accepted or 'none'}"
                )
        for name, spec in self.option_specs.items():
            model_options.setdefault(name, spec.get("default"))
        return model_options, column_options

    # -- columns ----------------------------------------------------------------------------

    def _column(self, spec: InputSpec, columns: Columns, units: Mapping[str, str]) -> Column | None:
        column = columns.get(spec.name)
        if column is not None:
            return column
        derived = _derive(spec.name, columns, units)
        if derived is not None:
            return derived
        if spec.when_absent is not None:
            return Column(spec.when_absent, scalar=True)
        if spec.option and spec.default is not None:
            return Column(spec.default, scalar=True)
        if not spec.required:
            return None
        how = f" (in {spec.unit} unless declared with units=...)" if spec.unit else ""
        also = " or as an option" if spec.option else ""
        source = _DERIVED_FROM_COLUMNS.get(spec.name)
        alt = f", or the columns {' and '.join(source)}" if source else ""
        raise MissingInputError(
            self.id, spec.name, f"Give it as a column{how}{also}{alt}."
        )

    def _prepare(
        self,
        spec: InputSpec,
        column: Column,
        n: int,
        units: Mapping[str, str],
        checks: _Checks,
    ) -> Array:
        if spec.kind == "number":
            return self._numbers(spec, column, n, units.get(spec.name), checks)
        if spec.kind == "flag":
            return _flags(spec, column, n, checks)
        return _categories(spec, column, n, checks)

    def _numbers(
        self, spec: InputSpec, column: Column, n: int, declared: str | None, checks: _Checks
    ) -> FloatArray:
        if column.unit is not None and declared is not None:
            raise OptionError(
                f"{self.id}: {spec.name} carries unit {column.unit!r} and units= declares "
                f"{declared!r}; give one"
            )
        unit = column.unit or declared or spec.unit
        values = _as_float(spec.name, _series_to_numpy(column.values), n, checks)
        if unit is not None and spec.model_unit is not None and unit != spec.model_unit:
            values = np.asarray(converter(unit, spec.model_unit, spec.substance)(values))
        if column.scalar or values.ndim == 0:
            values = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
        bounds = self._ranges.get(spec.name)
        if bounds is not None:
            ok = (values >= bounds[0]) & (values <= bounds[1])
            if spec.allow_missing:
                ok |= np.isnan(values)
            if not ok.all():
                describe = spec.describe_range()
                shown_unit = unit or spec.unit or ""

                def reason(value: Any) -> str:
                    if _is_missing(value):
                        return "missing value"
                    return f"outside the validated range {describe} (value in {shown_unit})"

                checks.add(spec.name, ~ok, _original(column, n), reason)
        elif not spec.allow_missing:
            missing = np.isnan(values)
            if missing.any():
                checks.add(spec.name, missing, _original(column, n), lambda _: "missing value")
        return values

    def _range_in_model_unit(self, spec: InputSpec) -> tuple[float, float]:
        assert spec.minimum is not None and spec.maximum is not None
        low, high = float(spec.minimum), float(spec.maximum)
        if spec.range_unit and spec.model_unit and spec.range_unit != spec.model_unit:
            low = float(convert(low, spec.range_unit, spec.model_unit, spec.substance))
            high = float(convert(high, spec.range_unit, spec.model_unit, spec.substance))
        return low, high


# -- conversions of raw values ---------------------------------------------------------------


def _original(column: Column, n: int) -> Any:
    """The values as the user gave them (for error messages)."""
    values = _series_to_numpy(column.values)
    return values if not column.scalar else np.broadcast_to(np.asarray(values, dtype=object), (n,))


def _as_float(name: str, values: Any, n: int, checks: _Checks) -> FloatArray:
    array = np.asarray(values)
    if array.dtype.kind in "iuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "b":
        bad = np.ones(array.shape, dtype=bool) if array.ndim else np.ones(n, dtype=bool)
        checks.add(name, bad, np.broadcast_to(array, (n,)), lambda _: "a boolean, expected a number")
        return np.full(n, np.nan)
    flat = np.atleast_1d(array)
    out = np.full(flat.shape, np.nan)
    bad = np.zeros(flat.shape, dtype=bool)
    for i, value in enumerate(flat):
        if _is_missing(value):
            continue
        if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
            out[i] = float(value)
        else:
            bad[i] = True
    if bad.any():
        target = np.broadcast_to(flat, (n,)) if flat.size == 1 else flat
        checks.add(name, np.broadcast_to(bad, (n,)) if bad.size == 1 else bad, target,
                   lambda v: f"not a number ({type(v).__name__})")
    return out if array.ndim else out.reshape(())


def _flags(spec: InputSpec, column: Column, n: int, checks: _Checks) -> BoolArray:
    values = np.asarray(_series_to_numpy(column.values))
    if values.dtype.kind == "b":
        result = values
        bad = None
    elif values.dtype.kind in "iuf":
        result = values == 1
        bad = ~(result | (values == 0))
    else:
        flat = np.atleast_1d(values)
        result = np.zeros(flat.shape, dtype=bool)
        bad = np.zeros(flat.shape, dtype=bool)
        for i, value in enumerate(flat):
            if isinstance(value, bool | np.bool_) or (
                isinstance(value, int | float | np.number) and value in (0, 1)
            ):
                result[i] = bool(value)
            else:
                bad[i] = True
        result = result if values.ndim else result.reshape(())
        bad = bad if values.ndim else bad.reshape(())
    if result.ndim == 0:
        result = np.broadcast_to(result, (n,))
        bad = None if bad is None else np.broadcast_to(bad, (n,))
    if bad is not None and bad.any():
        checks.add(
            spec.name,
            bad,
            _original(column, n),
            lambda v: "missing value" if _is_missing(v) else "not a boolean (use True/False or 1/0)",
        )
    return result


def _categories(spec: InputSpec, column: Column, n: int, checks: _Checks) -> Array:
    values = column.values
    codes: Array
    if hasattr(values, "cat"):  # pandas Categorical: map category codes, not strings
        lookup = np.array(
            [spec.categories.index(c) if c in spec.categories else -1 for c in values.cat.categories]
            + [-1],
            dtype=np.int8,
        )
        codes = lookup[values.cat.codes.to_numpy()]
    else:
        array = np.asarray(_series_to_numpy(values))
        codes = np.full(array.shape, -1, dtype=np.int8)
        for index, category in enumerate(spec.categories):
            codes[array == category] = index
        if codes.ndim == 0:
            codes = np.broadcast_to(codes, (n,))
    bad = codes < 0
    if bad.any():
        accepted = ", ".join(spec.categories)
        checks.add(
            spec.name,
            bad,
            _original(column, n),
            lambda v: "missing value" if _is_missing(v) else f"not one of: {accepted}",
        )
    return codes


# -- derived inputs ----------------------------------------------------------------------------

#: Inputs that can be derived from other columns when absent (definitions, not clinical values).
_DERIVED_FROM_COLUMNS: dict[str, tuple[str, ...]] = {
    "bmi": ("weight", "height"),
    "diabetes": ("diabetes_type",),
    "smoker": ("smoking",),
}


def _derive(name: str, columns: Columns, units: Mapping[str, str]) -> Column | None:
    """Derive an absent input from the columns that define it, or None."""
    sources = _DERIVED_FROM_COLUMNS.get(name)
    if sources is None or not all(s in columns for s in sources):
        return None
    if name == "bmi":
        weight, height = columns.columns["weight"], columns.columns["height"]
        kg = convert(
            np.asarray(_series_to_numpy(weight.values), dtype=np.float64),
            weight.unit or units.get("weight", "kg"),
            "kg",
        )
        metres = convert(
            np.asarray(_series_to_numpy(height.values), dtype=np.float64),
            height.unit or units.get("height", "cm"),
            "m",
        )
        bmi = np.asarray(kg / (metres * metres), dtype=np.float64)
        return Column(bmi, "kg/m2", scalar=bmi.ndim == 0)
    source = columns.columns[sources[0]]
    values = np.asarray(_series_to_numpy(source.values), dtype=object)
    if name == "diabetes":  # diabetes_type: none, type1, type2
        mapping = {"none": False, "type1": True, "type2": True}
    else:  # smoking (QRISK3 categories): current smokers are light, moderate or heavy
        mapping = {"non": False, "ex": False, "light": True, "moderate": True, "heavy": True}
    derived = np.array([mapping.get(v, v) for v in np.atleast_1d(values)], dtype=object)
    derived = _tighten_bool(derived)
    if values.ndim == 0:
        return Column(derived.reshape(()), scalar=True)
    return Column(derived)


def _tighten_bool(values: Array) -> Array:
    if all(isinstance(v, bool) for v in values):
        return values.astype(bool)
    return values
