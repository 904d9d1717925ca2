"""The shared machinery of every risk model: inputs, units, validated ranges, ``errors=``.

A model is a :class:`RiskModel` subclass that names its data file and supplies one method,
:meth:`RiskModel.compute`, the vectorized kernel (and, where a model has rules no single
column shows, :meth:`RiskModel.row_checks`). Everything else is here and shared (the
scipy.stats pattern): reading the data file, resolving columns from a DataFrame / mapping /
list of rows, converting units (pint quantities, ``units={...}``, mass <-> molar), deriving
inputs (BMI from height and weight...), checking validated ranges, plausibility and
categories, and turning invalid rows into one typed error (``errors="raise"``) or NaN
(``errors="coerce"``).

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
``allow_missing``   NaN/None passes through to the kernel (models with missing-indicator
                    terms): numbers as NaN; flags as float64 0.0/1.0/NaN when a row is missing
``option``          may be given as a keyword option instead of a column
``source``          where the range (or the input's definition) comes from

Checks applied to every number, in the model unit after conversion:

* **validated range** (``min``/``max``), inclusive, with a relative tolerance of
  :data:`RANGE_RTOL` (1e-9) so a value exactly on a limit stated in another unit
  (320 mg/dL against a limit kept in mmol/L, or the reverse) is not rejected because of
  floating-point rounding in the conversion (320.00000000000006). 1e-9 is far below any
  clinical precision (it is 3e-7 mg/dL at 320 mg/dL);
* **plausibility**, for inputs without a validated range whose name is a canonical analyte
  of ``cvrisk/data/analytes.toml`` (total and HDL cholesterol, SBP, BMI, HbA1c, eGFR, UACR;
  weight and height when BMI is derived from them): a value outside the analyte's plausible
  range is almost certainly a unit or typing error, so the row is invalid rather than
  silently scored (a plain ``total_cholesterol=213``, read as 213 mmol/L, would otherwise
  give a risk of ~1).

A rejected value's reason names the unit it was read in and, when one exists, the unit that
would make it valid ("did you mean 213 mg/dL?"), like :func:`cvrisk.record.suggest_unit`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from cvrisk.errors import InvalidInputError, MissingInputError, OptionError, UnitError
from cvrisk.scores.columns import Column, Columns, as_columns
from cvrisk.scores.problems import Bounds, Plausible, ProblemLog, plausible_range, warn_unusual
from cvrisk.scores.values import (
    DERIVATION_KINDS,
    DERIVATION_SOURCES,
    Kind,
    as_float,
    categories,
    derive,
    flags,
    is_missing,
    is_real_number,
    original_values,
    series_to_numpy,
)
from cvrisk.units import convert, converter, suggest_unit

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Array = npt.NDArray[Any]
Inputs = Mapping[str, Array]
ERRORS_MODES = ("raise", "coerce")

#: Rows per call of :meth:`RiskModel.compute`: large cohorts are computed in blocks of this
#: many rows, so the kernel's temporaries stay in cache and its memory stays bounded
#: (every kernel is row-wise: a row's risk depends on that row only).
CHUNK_ROWS = 1 << 15


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
        """Read one ``[inputs.<name>]`` table of a data file."""
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
class RowCheck:
    """A rule no single column shows, found by :meth:`RiskModel.row_checks`.

    Attributes:
        column: what to name in the error (a column, or e.g. ``total_cholesterol/hdl_cholesterol``).
        bad: one bool per row, True where the row breaks the rule.
        values: one value per row to show in the error (or a scalar).
        reason: why such a row is invalid (text, or a function of the shown value).
        missing_input: the rule is "this column is needed for these rows and was not given":
            with ``errors="raise"`` it raises :class:`~cvrisk.errors.MissingInputError`
            (``reason`` is its hint) instead of listing rows.
    """

    column: str
    bad: BoolArray
    values: Any
    reason: str | Callable[[Any], str]
    missing_input: bool = False


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
                    k: v for k, v in vars(spec).items() if v not in (None, (), "") and k != "name"
                }
                for name, spec in self.inputs.items()
            },
            "options": {k: dict(v) for k, v in self.options.items()},
        }


@dataclass(frozen=True)
class ScoreRun:
    """What one scoring call found: a risk per row and the problems of the invalid rows.

    Attributes:
        risk: float64 probability per row, NaN for invalid rows.
        log: the problems (:class:`~cvrisk.scores.problems.ProblemLog`; ``log.invalid`` is
            the mask of invalid rows, or None when every row is valid).
        index: the DataFrame's index, or None for mappings and lists of rows.
    """

    risk: FloatArray
    log: ProblemLog
    index: Any = None

    def series(self, name: str) -> Any:
        """The risks as a pandas Series on the input's index (a RangeIndex for non-frames)."""
        import pandas as pd

        return pd.Series(self.risk, index=self.index, name=name, copy=False)

    def frame(self, name: str) -> Any:
        """A DataFrame with ``risk`` and ``problems`` (None, or the reasons of an invalid
        row as one text), on the input's index."""
        try:
            import pandas as pd
        except ModuleNotFoundError:  # pragma: no cover - pandas is in every extra
            raise OptionError(
                "reasons=True returns a pandas DataFrame: install pandas (pip install "
                "'cvrisk[pandas]')"
            ) from None
        return pd.DataFrame(
            {"risk": self.risk, "problems": self.log.row_reasons()}, index=self.index
        )


def per_group(
    x: Inputs,
    group: Array,
    kernel: Callable[[Inputs, int], FloatArray],
    needs: Iterable[str] | None = None,
) -> FloatArray:
    """``kernel(rows, code)`` once per group code present in ``group``, results merged.

    For kernels whose coefficients depend on a category (sex, or sex x race): each group's
    rows are taken once and computed with that group's scalar coefficients, instead of
    gathering a coefficient per row for every term. When every row is in one group (the
    common case), the inputs are passed as they are, with no copy; otherwise only the
    columns in ``needs`` (default: all) are taken. Negative codes (rows already invalid) are
    computed in group 0 and discarded by the caller.
    """
    codes = np.asarray(group, dtype=np.intp)
    n = codes.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    first = max(int(codes[0]), 0)
    if bool((codes == first).all()):
        return _as_risk(kernel(x, first), n)
    codes = np.maximum(codes, 0)
    out = np.empty(n, dtype=np.float64)
    names = list(x) if needs is None else [name for name in needs if name in x]
    for code in np.flatnonzero(np.bincount(codes)).tolist():
        rows = np.flatnonzero(codes == code)
        part = {name: x[name][rows] for name in names}
        out[rows] = _as_risk(kernel(part, code), rows.shape[0])
    return out


def is_dask_collection(data: Any) -> bool:
    """True for a Dask DataFrame (without importing Dask)."""
    module = type(data).__module__
    return (module.startswith("dask") or module.startswith("dask_expr")) and hasattr(
        data, "map_partitions"
    )


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
            options={
                **self.option_specs,
                **{  # inputs that may also be given as options (pce's race, score2's region)
                    name: {"values": list(spec.categories), "also_a_column": True}
                    for name, spec in self.inputs.items()
                    if spec.option
                },
            },
        )
        if meta["id"] != self.id:
            raise ValueError(f"{self.data_file} declares id {meta['id']!r}, class has {self.id!r}")
        self._ranges: dict[str, Bounds] = {
            spec.name: self._range_in_model_unit(spec)
            for spec in self.inputs.values()
            if spec.kind == "number" and spec.minimum is not None and spec.maximum is not None
        }
        self._plausible: dict[str, Plausible] = {}
        for spec in self.inputs.values():
            if spec.kind == "number" and spec.model_unit is not None:
                plausible = plausible_range(spec.name, spec.model_unit, spec.substance)
                if plausible is not None:
                    self._plausible[spec.name] = plausible

    # -- what a model supplies -------------------------------------------------------------

    def compute(self, x: Inputs, options: Mapping[str, Any]) -> FloatArray:
        """The vectorized kernel: validated inputs (model units, codes) -> probability.

        ``x`` maps each input name to a 1-d array (numbers: float64 in the model unit;
        flags: bool, or float64 with NaN for ``allow_missing`` flags; categories: int codes).
        Rows already found invalid are present with arbitrary values: their result is
        discarded, so the kernel must not raise on them. The kernel must be row-wise (a
        row's risk depends on that row only): the base calls it on blocks of rows.
        """
        raise NotImplementedError

    def row_checks(self, x: Inputs, options: Mapping[str, Any]) -> Iterable[RowCheck]:
        """Rules no single column shows (a ratio of two columns, a column needed for men).

        Called with the prepared inputs (as :meth:`compute` receives them) before the kernel.
        Only rows valid so far are reported, so a row is not blamed twice. Default: none.
        """
        return ()

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
        reasons: bool = False,
        **options: Any,
    ) -> Any:
        """Predicted risk (probability in [0, 1], float64), one per row of ``data``.

        Returns a float64 array; a pandas Series (on the DataFrame's index, named after the
        model) for a DataFrame; a Dask Series for a Dask DataFrame; with ``reasons=True`` a
        DataFrame with ``risk`` and ``problems`` columns. See :func:`cvrisk.score`.
        """
        if is_dask_collection(data):
            from cvrisk.scores.partitioned import score_partitions

            return score_partitions(
                self, data, errors=errors, units=units, reasons=reasons, **options
            )
        result = self.run(data, errors=errors, units=units, **options)
        if reasons:
            return result.frame(self.id)
        if result.index is not None:
            return result.series(self.id)
        return result.risk

    def run(
        self,
        data: Any,
        *,
        errors: str = "raise",
        units: Mapping[str, str] | None = None,
        labels: Any = None,
        **options: Any,
    ) -> ScoreRun:
        """Risks and the problem log of one call (what :meth:`score` and the command line
        build their results from). With ``errors="raise"``, invalid rows raise
        :class:`~cvrisk.errors.InvalidInputError` naming them (by index label for a
        DataFrame, by ``labels[position]`` when ``labels`` is given, e.g. ids or row numbers
        of a file read in chunks, else by position); with ``"coerce"`` their risk is NaN and
        the log says why."""
        if not isinstance(errors, str) or errors not in ERRORS_MODES:
            raise OptionError(f"errors={errors!r}: use 'raise' or 'coerce'")
        x, model_options, checks = self.prepare(
            data, units=units, errors=errors, labels=labels, **options
        )
        if checks.count and errors == "raise":
            invalid_rows = int(checks.invalid.sum()) if checks.invalid is not None else 0
            raise InvalidInputError(
                self.id, checks.problems, count=checks.count, invalid_rows=invalid_rows
            )
        risk = self._compute_blocks(x, model_options, checks.n)
        if checks.invalid is not None:
            risk[checks.invalid] = np.nan
        return ScoreRun(risk, checks, checks.labels)

    def columns_read(self) -> dict[str, Kind]:
        """Every column this model may read, with the kind of value it holds: its inputs
        and the columns it derives absent inputs from (``weight``/``height`` for ``bmi``...)."""
        kinds: dict[str, Kind] = {name: spec.kind for name, spec in self.inputs.items()}
        for name in self.inputs:
            for source in DERIVATION_SOURCES.get(name, ()):
                kinds.setdefault(source, DERIVATION_KINDS[source])
        return kinds

    def prepare(
        self,
        data: Any,
        *,
        units: Mapping[str, str] | None = None,
        errors: str = "raise",
        labels: Any = None,
        **options: Any,
    ) -> tuple[dict[str, Array], dict[str, Any], ProblemLog]:
        """Validated kernel inputs, model options and the problems found (nothing raised for
        invalid values; :class:`~cvrisk.errors.MissingInputError` for absent inputs when
        ``errors="raise"``)."""
        columns = as_columns(data)
        if units is not None and not isinstance(units, Mapping):
            raise OptionError(
                f"{self.id}: units= must map column names to units, e.g. "
                f"{{'total_cholesterol': 'mg/dL'}}; got {type(units).__name__}"
            )
        declared = {str(k): v for k, v in (units or {}).items()}
        not_text = {k: v for k, v in declared.items() if not isinstance(v, str) or not v}
        if not_text:
            raise OptionError(
                f"{self.id}: units= values must be unit texts such as 'mg/dL'; got {not_text}"
            )
        unknown_units = sorted(set(declared) - set(self.columns_read()))
        if unknown_units:
            raise OptionError(
                f"{self.id}: units= names {unknown_units}, which this model does not read; "
                f"its inputs are {sorted(self.inputs)}"
            )
        model_options, column_options = self._split_options(options, columns)
        if labels is not None and len(labels) != columns.n:
            raise OptionError(f"{self.id}: {len(labels)} row labels for {columns.n} rows")
        checks = ProblemLog(columns.n, labels=columns.index if labels is None else labels)
        x: dict[str, Array] = {}
        for spec in self.inputs.values():
            column = column_options.get(spec.name) or self._column(spec, columns, declared, checks)
            if column is None:
                continue
            x[spec.name] = self._prepare(spec, column, columns.n, declared, checks)
        with np.errstate(all="ignore"):
            row_checks = list(self.row_checks(x, model_options))
        for check in row_checks:
            bad = np.broadcast_to(np.asarray(check.bad, dtype=bool), (columns.n,))
            if checks.invalid is not None:
                bad = bad & ~checks.invalid
            if check.missing_input and errors == "raise" and bad.any():
                hint = check.reason if isinstance(check.reason, str) else ""
                raise MissingInputError(self.id, check.column, hint)
            checks.add(check.column, bad, check.values, check.reason)
        return x, model_options, checks

    def _compute_blocks(self, x: Inputs, options: Mapping[str, Any], n: int) -> FloatArray:
        """Run the kernel over blocks of :data:`CHUNK_ROWS` rows into one float64 array."""
        with np.errstate(all="ignore"):
            if n <= CHUNK_ROWS:
                return _as_risk(self.compute(x, options), n)
            risk = np.empty(n, dtype=np.float64)
            for start in range(0, n, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, n)
                block = {name: values[start:stop] for name, values in x.items()}
                risk[start:stop] = _as_risk(self.compute(block, options), stop - start)
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
                        f"{self.id}: {name!r} is given both as a column and as an option; give one"
                    )
                if not isinstance(value, str):
                    raise OptionError(
                        f"{self.id}: option {name}={value!r} must be one text value, one of "
                        f"{list(spec.categories)} (or give a {name!r} column)"
                    )
                column_options[name] = Column(value, scalar=True)
            elif name in self.option_specs:
                allowed = self.option_specs[name]["values"]
                chosen = _allowed_value(value, allowed)
                if chosen is None:
                    raise OptionError(f"{self.id}: {name}={value!r} is not one of {allowed}")
                model_options[name] = chosen
            else:
                accepted = sorted(
                    [n for n, s in self.inputs.items() if s.option] + list(self.option_specs)
                )
                raise OptionError(
                    f"{self.id}: unknown option {name!r}; accepted options: {accepted or 'none'}"
                )
        for name, option_spec in self.option_specs.items():
            model_options.setdefault(name, option_spec.get("default"))
        return model_options, column_options

    # -- columns ----------------------------------------------------------------------------

    def _column(
        self, spec: InputSpec, columns: Columns, units: Mapping[str, str], checks: ProblemLog
    ) -> Column | None:
        column = columns.get(spec.name)
        if column is not None:
            return column
        derived = (
            _derive_bmi(columns, units, checks)
            if spec.name == "bmi" and all(s in columns for s in DERIVATION_SOURCES["bmi"])
            else derive(spec.name, columns, units, checks)
        )
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
        source = DERIVATION_SOURCES.get(spec.name)
        alt = f", or the columns {' and '.join(source)}" if source else ""
        raise MissingInputError(self.id, spec.name, f"Give it as a column{how}{also}{alt}.")

    def _prepare(
        self,
        spec: InputSpec,
        column: Column,
        n: int,
        units: Mapping[str, str],
        checks: ProblemLog,
    ) -> Array:
        if spec.kind == "number":
            return self._numbers(spec, column, n, units.get(spec.name), checks)
        if column.unit is not None or spec.name in units:
            given = column.unit if column.unit is not None else units[spec.name]
            raise UnitError(
                f"{self.id}: {spec.name} is a {spec.kind} and has no unit, but was given in "
                f"{given!r}: pass plain values"
            )
        if spec.kind == "flag":
            return flags(spec.name, spec.allow_missing, column, n, checks)
        return categories(spec.name, spec.categories, column, n, checks)

    def _numbers(
        self, spec: InputSpec, column: Column, n: int, declared: str | None, checks: ProblemLog
    ) -> FloatArray:
        if column.unit is not None and declared is not None:
            raise OptionError(
                f"{self.id}: {spec.name} carries unit {column.unit!r} and units= declares "
                f"{declared!r}; give one"
            )
        unit = column.unit if column.unit is not None else declared or spec.unit
        if unit == "" and spec.unit:
            raise UnitError(
                f"{self.id}: {spec.name} was given as a dimensionless quantity; it is in "
                f"{spec.unit} (or another unit of the same kind)"
            )
        values, not_numbers = as_float(spec.name, series_to_numpy(column.values), n, checks)
        if unit is not None and spec.model_unit is not None and unit != spec.model_unit:
            values = np.asarray(
                converter(unit, spec.model_unit, spec.substance)(values), dtype=np.float64
            )
        if column.scalar or values.ndim == 0:
            values = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
        bounds = self._ranges.get(spec.name)
        plausible = self._plausible.get(spec.name)
        limits = bounds if bounds is not None else plausible.bounds if plausible else None
        bad = limits.outside(values) if limits is not None else np.isnan(values)
        if spec.allow_missing or not_numbers is not None:
            skip = np.isnan(values) if spec.allow_missing else np.zeros(n, dtype=bool)
            if not_numbers is not None:
                skip |= not_numbers  # already reported as "not a number"
            bad &= ~skip
        if bad.any():
            checks.add(
                spec.name,
                bad,
                original_values(column, n),
                _number_reason(spec, unit or "", bounds, plausible),
            )
        if plausible is not None and unit is not None and spec.model_unit is not None:
            warn_unusual(self.id, spec.name, values, spec.model_unit, unit, spec.substance, bad)
        return values

    def _range_in_model_unit(self, spec: InputSpec) -> Bounds:
        assert spec.minimum is not None and spec.maximum is not None
        low, high = float(spec.minimum), float(spec.maximum)
        if spec.range_unit and spec.model_unit and spec.range_unit != spec.model_unit:
            low = float(convert(low, spec.range_unit, spec.model_unit, spec.substance))
            high = float(convert(high, spec.range_unit, spec.model_unit, spec.substance))
        return Bounds.widened(low, high)


def _allowed_value(value: Any, allowed: Iterable[Any]) -> Any:
    """The accepted option value equal to ``value`` (10 for numpy's 10), or None."""
    for candidate in allowed:
        if isinstance(candidate, str):
            if isinstance(value, str) and value == candidate:
                return candidate
        elif is_real_number(value) and value == candidate:
            return candidate
    return None


# -- reasons and unit suggestions ---------------------------------------------------------


def _number_reason(
    spec: InputSpec, unit: str, bounds: Bounds | None, plausible: Plausible | None
) -> Callable[[Any], str]:
    """Why a value (as given, in ``unit``) is invalid, with the unit it probably is in."""
    to_model = (
        converter(unit, spec.model_unit, spec.substance)
        if unit and spec.model_unit and unit != spec.model_unit
        else None
    )

    def accept(converted: float) -> bool:
        return (bounds is None or bounds.contains(converted)) and (
            plausible is None or plausible.bounds.contains(converted)
        )

    def reason(value: Any) -> str:
        if is_missing(value):
            return "missing value"
        try:
            given = float(value)
        except (TypeError, ValueError):
            return f"not a number ({type(value).__name__})"
        in_model_unit = float(to_model(given)) if to_model is not None else given
        if plausible is not None and not plausible.bounds.contains(in_model_unit):
            text = f"implausible in {unit} (plausible range {plausible.describe()})"
        else:
            text = f"outside the validated range {spec.describe_range()} (value in {unit})"
        suggestion = _suggest_unit(spec, given, unit, accept, plausible)
        if suggestion is not None:
            text += (
                f"; did you mean {given:g} {suggestion}? Declare it with "
                f"units={{'{spec.name}': '{suggestion}'}} or pass a pint quantity"
            )
        return text

    return reason


def _suggest_unit(
    spec: InputSpec,
    value: float,
    unit: str,
    accept: Callable[[float], bool],
    plausible: Plausible | None,
) -> str | None:
    """The unit in which ``value`` would be ``accept``-ed (in the model unit), if any: the
    analyte's canonical unit, then its ``[suggest]`` list (:func:`cvrisk.units.suggest_unit`)."""
    home = plausible.analyte.unit if plausible is not None else spec.unit
    if home is None or spec.model_unit is None:
        return None
    substance = spec.substance or (plausible.analyte.substance if plausible else None)
    return suggest_unit(
        value, unit, home=home, target=spec.model_unit, substance=substance, accept=accept
    )


def _as_risk(values: Any, n: int) -> FloatArray:
    risk = np.asarray(values, dtype=np.float64)
    if risk.shape != (n,):
        risk = np.broadcast_to(risk, (n,)).copy()
    return risk


#: Units of the columns BMI is derived from, when plain numbers (canonical analyte units).
_BMI_SOURCE_UNITS = {"weight": "kg", "height": "cm"}


def _derive_bmi(columns: Columns, units: Mapping[str, str], checks: ProblemLog) -> Column:
    """BMI (kg/m2) from weight and height; implausible weights/heights are reported."""
    n = columns.n
    converted: dict[str, FloatArray] = {}
    for source, canonical in _BMI_SOURCE_UNITS.items():
        column = columns.columns[source]
        unit = column.unit or units.get(source, canonical)
        values, _ = as_float(source, series_to_numpy(column.values), n, checks)
        values = np.broadcast_to(
            np.asarray(convert(values, unit, canonical), dtype=np.float64), (n,)
        )
        spec = InputSpec(name=source, kind="number", unit=canonical, model_unit=canonical)
        plausible = plausible_range(source, canonical, None)
        if plausible is not None:
            bad = plausible.bounds.outside(values) & ~np.isnan(values)
            checks.add(
                source, bad, original_values(column, n), _number_reason(spec, unit, None, plausible)
            )
            warn_unusual("bmi (derived)", source, values, canonical, unit, None, bad)
        converted[source] = values
    metres = converted["height"] / 100.0
    bmi = np.asarray(converted["weight"] / (metres * metres), dtype=np.float64)
    return Column(bmi, "kg/m2")
