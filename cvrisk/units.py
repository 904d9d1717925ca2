"""Unit-aware measurements: a strict unit grammar, UCUM spellings, substance conversions.

FHIR sends UCUM codes (``mm[Hg]``, ``10*9/L``, ``mL/min/{1.73_m2}``); people type ordinary
spellings (``mmHg``, ``x10^9/L``, ``MG/DL``). :func:`parse_unit` accepts both, through the
UCUM grammar of :mod:`cvrisk.ucum` and the list of ordinary spellings in units.toml, and
nothing else: no text ever reaches an expression evaluator, parsing takes time bounded by
the (bounded) length of the text, and anything outside the grammar is a :class:`UnitError`
quoting (a truncated form of) the text. :func:`converter` returns a vectorized function
converting values between two units, including the substance-specific conversions clinical
chemistry needs (cholesterol mg/dL <-> mmol/L via its molar mass) and the affine HbA1c NGSP
% <-> IFCC mmol/mol master equation. Converting an array is one numpy operation; the factor
is computed exactly (rational arithmetic) once per (unit, unit, substance) and cached.

All numbers (atom magnitudes, molar masses, the HbA1c equation) live in
``cvrisk/data/units.toml`` with sources; the UCUM table in ``cvrisk/data/ucum.toml``.

pint is not needed to read or convert units. :data:`ureg` (a pint registry, built on first
access) remains for callers who pass pint quantities; :func:`quantity_parts` reads a
quantity of any registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from cvrisk import ucum
from cvrisk.data import load_data
from cvrisk.errors import UnitError

if TYPE_CHECKING:
    import pint

Converter = Callable[[Any], Any]

#: Entries kept by each cache of this module (a bounded LRU: hostile inputs cannot grow it).
CACHE_SIZE = 1024

_DIMENSION_NAMES = {
    "M": "[mass]",
    "L": "[length]",
    "T": "[time]",
    "N": "[substance]",
    "IU": "[international unit]",
}
_MICRO = str.maketrans({"µ": "u", "μ": "u"})  # micro sign and Greek mu are UCUM's "u"


@dataclass(frozen=True)
class Unit:
    """A unit read by :func:`parse_unit`.

    ``code`` is its canonical UCUM code (``mg/dL``; annotations dropped, ``l`` written
    ``L``); two spellings of one unit give equal Units. ``factor`` is the exact magnitude of
    one unit in base units (gram, metre, second, mole, international unit) with dimension
    ``dims``. ``str(unit)`` is the code.
    """

    code: str
    factor: Fraction
    dims: tuple[tuple[str, int], ...]
    #: a mole-type atom appears with a positive / a negative exponent (mmol/mol: both)
    amount_up: bool
    amount_down: bool
    #: every atom is a pure number (``%``, ``10*3``, ``1``): a fraction, not a ratio of
    #: quantities such as ``mg/g``
    pure_number: bool

    def __str__(self) -> str:
        return self.code

    @property
    def dimensionality(self) -> str:
        """The dimension in words, e.g. ``[mass] / [length] ** 3``."""
        up = [_power(name, exp) for name, exp in self.dims if exp > 0]
        down = [_power(name, -exp) for name, exp in self.dims if exp < 0]
        if not up and not down:
            return "dimensionless"
        return " * ".join(up or ["1"]) + "".join(f" / {part}" for part in down)


def _power(name: str, exponent: int) -> str:
    word = _DIMENSION_NAMES.get(name, f"[{name}]")
    return word if exponent == 1 else f"{word} ** {exponent}"


@cache
def _data() -> dict[str, Any]:
    return load_data("units.toml")


@cache
def _folded_spellings() -> dict[str, tuple[str, ...]]:
    """Ordinary spelling up to case -> the UCUM codes of the spellings that fold to it."""
    folded: dict[str, list[str]] = {}
    for spelling, code in _data()["spellings"].items():
        codes = folded.setdefault(spelling.casefold(), [])
        if code not in codes:
            codes.append(code)
    return {key: tuple(codes) for key, codes in folded.items()}


def max_unit_length() -> int:
    """The longest unit text :func:`parse_unit` reads (units.toml ``[grammar] max_length``)."""
    return int(_data()["grammar"]["max_length"])


def _shown(text: str) -> str:
    """``text`` as quoted in an error: at most 40 characters, and its length when cut."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:32]!r}... ({len(text)} characters)"


def parse_unit(unit: str) -> Unit:
    """Read a UCUM code or an ordinary unit spelling.

    Accepted: UCUM codes (case-sensitive, or case-insensitive where that reading is the
    same unit: ``MG/DL``, ``Kg``, ``MMOL/L``), their curly-brace annotations (no meaning),
    and the ordinary spellings of units.toml ``[spellings]`` (``mmHg``, ``lb``, ``x10^9/L``,
    ``G/L``...), also up to case when that is unambiguous (``mmhg``). At most
    :func:`max_unit_length` characters. Results are cached (at most :data:`CACHE_SIZE`).

    Raises:
        UnitError: the unit is empty, too long, outside the grammar, a UCUM unit cvrisk does
            not read, or a spelling whose case changes its meaning (``Mg`` is megagram in
            UCUM, ``mg`` milligram).
    """
    if not isinstance(unit, str):
        raise UnitError(f"unit {unit!r} is not a text: give a unit such as 'mmol/L' or 'mg/dL'")
    if len(unit) > max_unit_length():
        raise UnitError(
            f"unit {_shown(unit)} is longer than {max_unit_length()} characters, the most "
            "cvrisk reads: give a UCUM code such as 'mmol/L' or 'mm[Hg]'"
        )
    return _parse_cached(unit)


@lru_cache(maxsize=CACHE_SIZE)
def _parse_cached(unit: str) -> Unit:
    text = unit.strip().translate(_MICRO)
    if not text:
        raise UnitError(f"unit {unit!r} is empty: give a unit such as 'mmol/L' or 'mg/dL'")
    spelled = _data()["spellings"].get(text)
    if spelled is not None:
        return _unit(ucum.parse(spelled))
    try:
        exact: ucum.Term | None = ucum.parse(text)
        reason = ""
    except ucum.GrammarError as exc:
        exact, reason = None, str(exc)
    if exact is not None and not exact.unsupported:
        # Valid UCUM as written; refused only when its case-insensitive UCUM reading is
        # another unit ("Mg" megagram vs "MG" milligram, "ML" megalitre vs millilitre).
        ci = _ci_cached(text)
        if ci is not None and ci.code != exact.code:
            raise UnitError(_case_conflict(unit, exact, [ci]))
        return _unit(exact)
    ignoring_case = _case_insensitive_readings(text)
    if exact is not None:  # a UCUM unit, but not one cvrisk converts
        if ignoring_case:
            raise UnitError(_case_conflict(unit, exact, ignoring_case))
        names = ", ".join(repr(a) for a in exact.unsupported)
        raise UnitError(
            f"unit {_shown(unit)} is UCUM {ucum.describe(exact)!r}, but {names} is not a unit "
            "cvrisk reads for clinical results; use the unit the result is reported in "
            "(e.g. 'mg/dL', 'mmol/L', 'mm[Hg]', '10*9/L')"
        )
    if len(ignoring_case) == 1:
        reading = ignoring_case[0]
        # accepted only if its own UCUM code reads back as itself: "PTL" is petalitre in
        # case-insensitive UCUM, but its code "PL" reads, ignoring case, as picolitre "pL"
        again = _ci_cached(reading.code)
        if again is not None and again.code != reading.code:
            raise UnitError(_case_conflict(unit, None, [reading, again]))
        return _unit(reading)
    if len(ignoring_case) > 1:
        raise UnitError(_case_conflict(unit, None, ignoring_case))
    raise UnitError(
        f"unit {_shown(unit)} is not understood ({reason}); use a UCUM code (e.g. 'mg/dL', "
        "'mmol/L', 'mm[Hg]', '10*9/L') or a common spelling (docs/units.md lists them)"
    )


def _term_of_ucum_ci(text: str) -> ucum.Term | None:
    try:
        term = ucum.parse(text.upper(), case_insensitive=True)
    except ucum.GrammarError:
        return None
    return None if term.unsupported else term


@lru_cache(maxsize=CACHE_SIZE)
def _ci_cached(text: str) -> ucum.Term | None:
    return _term_of_ucum_ci(text)


def _case_insensitive_readings(text: str) -> list[ucum.Term]:
    """The convertible readings of ``text`` when case is ignored: as a case-insensitive UCUM
    code, and as each ordinary spelling equal to it up to case. One per distinct unit."""
    readings: list[ucum.Term] = []
    ci = _ci_cached(text)
    if ci is not None:
        readings.append(ci)
    for code in _folded_spellings().get(text.casefold(), ()):
        term = ucum.parse(code)
        if all(term.code != seen.code for seen in readings):
            readings.append(term)
    return readings


def _case_conflict(unit: str, exact: ucum.Term | None, others: list[ucum.Term]) -> str:
    meanings = []
    if exact is not None:
        meanings.append(f"as written, UCUM reads it as {ucum.describe(exact)} ({exact.code!r})")
    meanings.extend(f"ignoring case it would be {ucum.describe(t)} ({t.code!r})" for t in others)
    return (
        f"unit {_shown(unit)} is ambiguous because case matters in unit codes: "
        f"{'; '.join(meanings)}. Write the unit with its exact case, e.g. "
        f"{' or '.join(repr(t.code) for t in others)}"
    )


@cache
def _scales() -> tuple[dict[str, Fraction], dict[str, Fraction]]:
    """Exact magnitudes of the supported atoms and of the UCUM prefixes (read once)."""
    atoms = {code: Fraction(entry["factor"]) for code, entry in ucum.tables().supported.items()}
    prefixes = {code: Fraction(entry["value"]) for code, entry in ucum.tables().prefixes.items()}
    return atoms, prefixes


def _unit(term: ucum.Term) -> Unit:
    """The Unit of a parsed term of supported atoms (factor and dimension from units.toml)."""
    atoms = ucum.tables().supported
    atom_scales, prefix_scales = _scales()
    factor = Fraction(term.numerator, term.denominator)
    dims: dict[str, int] = {}
    amount_up = amount_down = False
    pure = True
    for component in term.components:
        atom = atoms[component.atom]
        scale = atom_scales[component.atom]
        if component.prefix:
            scale *= prefix_scales[component.prefix]
        factor *= scale**component.exponent
        for name, exponent in atom["dims"].items():
            dims[name] = dims.get(name, 0) + exponent * component.exponent
        if atom["dims"]:
            pure = False
        if "N" in atom["dims"]:
            amount_up |= component.exponent > 0
            amount_down |= component.exponent < 0
    return Unit(
        code=term.code,
        factor=factor,
        dims=tuple(sorted((k, v) for k, v in dims.items() if v != 0)),
        amount_up=amount_up,
        amount_down=amount_down,
        pure_number=pure,
    )


_MASS_CONCENTRATION = (("L", -3), ("M", 1))
_MOLAR_CONCENTRATION = (("L", -3), ("N", 1))


def _is_ngsp_fraction(unit: Unit) -> bool:
    """True for pure-number units (``%``, ``1``): HbA1c as a fraction of haemoglobin (NGSP)."""
    return not unit.dims and unit.pure_number


def _is_ifcc_ratio(unit: Unit) -> bool:
    """True for amount-of-substance ratios (``mmol/mol``): HbA1c in IFCC units."""
    return not unit.dims and unit.amount_up and unit.amount_down


def _scale_converter(factor: Fraction | float) -> Converter:
    import numpy as np  # deferred: importing cvrisk must stay fast (docs/performance.md)

    scale = float(factor)
    # np.multiply even for factor 1.0, so every converter returns numpy floats (a fresh array
    # for array input, never the caller's own list or array).
    return lambda values: np.multiply(values, scale)


def _affine_converter(a: float, b: float) -> Converter:
    """values * a + b, one multiply and one in-place add (HbA1c master equation)."""
    import numpy as np

    def affine(values: Any) -> Any:
        out = np.multiply(values, a)
        if isinstance(out, np.ndarray):
            return np.add(out, b, out=out)  # in place: no second temporary array
        return out + b

    return affine


def _hba1c_converter(source: str, target: str, src: Unit, dst: Unit) -> Converter:
    """NGSP (%) <-> IFCC (mmol/mol) through the master equation in units.toml."""
    kinds = []
    for spelling, unit in ((source, src), (target, dst)):
        if _is_ngsp_fraction(unit):
            kinds.append("ngsp")
        elif _is_ifcc_ratio(unit):
            kinds.append("ifcc")
        else:
            raise UnitError(
                f"unit {spelling!r} cannot express an HbA1c: use '%' (NGSP/DCCT) or "
                f"'mmol/mol' (IFCC)"
            )
    if kinds[0] == kinds[1]:
        return _scale_converter(src.factor / dst.factor)
    equation = _data()["hba1c"]
    slope, intercept = float(equation["slope"]), float(equation["intercept"])
    percent, per_mille = parse_unit("%").factor, parse_unit("mmol/mol").factor
    if kinds[0] == "ngsp":  # IFCC = slope * (NGSP - intercept), each in its own unit
        to_pct = float(src.factor / percent)
        from_mmol = float(per_mille / dst.factor)
        a, b = slope * to_pct * from_mmol, -slope * intercept * from_mmol
    else:  # NGSP = IFCC / slope + intercept
        to_mmol = float(src.factor / per_mille)
        from_pct = float(percent / dst.factor)
        a, b = to_mmol * from_pct / slope, intercept * from_pct
    return _affine_converter(a, b)


def substances() -> dict[str, dict[str, Any]]:
    """Molar-mass entries of units.toml ``[substances]``, by key."""
    return dict(_data()["substances"])


@lru_cache(maxsize=CACHE_SIZE)
def converter(source: str, target: str, substance: str | None = None) -> Converter:
    """Return a vectorized function converting values in ``source`` unit to ``target`` unit.

    The function accepts a scalar, a sequence or a numpy array and returns numpy floats
    (one multiply, or multiply-add for HbA1c); it is cached per (source, target, substance).

    Args:
        source: unit of the values (UCUM or ordinary spelling).
        target: unit wanted.
        substance: molar-mass key (``cholesterol``, ``triglycerides``, ``glucose``,
            ``creatinine``) for mass <-> molar conversion, or ``hba1c`` for % <-> mmol/mol.

    Raises:
        UnitError: a unit is not understood, the substance is unknown, or the units cannot
            be converted (a weight in mmHg, mg/dL to mmol/L without a substance).
    """
    src, dst = parse_unit(source), parse_unit(target)
    if substance == "hba1c":
        return _hba1c_converter(source, target, src, dst)
    known = _data()["substances"]
    if substance is not None and substance not in known:
        raise UnitError(
            f"unknown substance {substance!r}; known substances: "
            f"{', '.join(sorted([*known, 'hba1c']))}"
        )
    if src.dims == dst.dims:
        return _scale_converter(src.factor / dst.factor)
    pair = {src.dims, dst.dims}
    if pair == {_MASS_CONCENTRATION, _MOLAR_CONCENTRATION}:
        if substance is None:
            raise UnitError(
                f"cannot convert {source!r} to {target!r} without a molar mass: pass "
                f"substance= one of {', '.join(sorted(known))}"
            )
        molar_mass = Fraction(known[substance]["molar_mass"])  # g/mol
        if src.dims == _MASS_CONCENTRATION:
            return _scale_converter(src.factor / molar_mass / dst.factor)
        return _scale_converter(src.factor * molar_mass / dst.factor)
    raise UnitError(
        f"cannot convert {source!r} ({src.dimensionality}) to {target!r} "
        f"({dst.dimensionality}): different kinds of quantity; check that the unit belongs "
        "to this measurement"
    )


def convert(values: Any, source: str, target: str, substance: str | None = None) -> Any:
    """Convert a scalar or array of values from ``source`` to ``target`` (see :func:`converter`)."""
    return converter(source, target, substance)(values)


def is_convertible(source: str, target: str, substance: str | None = None) -> bool:
    """True when :func:`converter` can convert between the two units."""
    try:
        converter(source, target, substance)
    except UnitError:
        return False
    return True


def display_unit(unit: str) -> str:
    """A unit as clinicians write it (``mm[Hg]`` -> ``mmHg``, ``10*9/L`` -> ``x10^9/L``)."""
    return str(_data()["display"].get(unit, unit))


def suggest_unit(
    value: float,
    unit: str | None,
    *,
    home: str,
    target: str,
    substance: str | None,
    accept: Callable[[float], bool],
) -> str | None:
    """The unit ``value`` was probably meant in, or None.

    Candidates: ``home`` (the quantity's usual unit), then the ``[suggest]`` list of
    units.toml for it, in order, skipping the unit the value came in; the first whose
    conversion of ``value`` to ``target`` is ``accept``-ed wins (a plausible cholesterol of
    213 in mg/dL, not mmol/L).
    """
    given = parse_unit(unit) if unit else None
    for candidate in (home, *_data()["suggest"].get(home, ())):
        try:
            if given is not None and parse_unit(candidate) == given:
                continue
            converted = float(convert(value, candidate, target, substance))
        except UnitError:
            continue
        if accept(converted):
            return str(candidate)
    return None


def quantity_parts(value: Any) -> tuple[Any, str] | None:
    """Split a pint Quantity (of any registry) into (magnitude, UCUM unit text); None for
    anything else. The unit text is built from the quantity's unit symbols (``mg / dL`` ->
    ``mg/dL``, ``mmHg`` -> ``mm[Hg]``, ``1 / minute`` -> ``/min``) and read by
    :func:`parse_unit` like any other unit text."""
    magnitude = getattr(value, "magnitude", None)
    units = getattr(value, "units", None)
    if magnitude is None or units is None:
        return None
    return magnitude, _pint_unit_text(units)


def _pint_unit_text(units: Any) -> str:
    """UCUM-style text of a pint unit, from its components (name -> exponent)."""
    container = getattr(units, "_units", None)
    registry = getattr(units, "_REGISTRY", None)
    if container is None or registry is None:
        return str(units)
    top: list[str] = []
    bottom: list[str] = []
    for name, exponent in dict(container).items():
        symbol = str(registry.get_symbol(name)).translate(_MICRO)
        code = _data()["spellings"].get(symbol, symbol)
        power = float(exponent)
        if not power.is_integer():
            raise UnitError(
                f"unit {str(units)!r} has a non-integer exponent ({name} ** {exponent}): "
                "give the values in a unit such as 'mmol/L'"
            )
        whole = abs(int(power))
        (top if power > 0 else bottom).append(code + (str(whole) if whole != 1 else ""))
    text = ".".join(top) + "".join(f"/{part}" for part in bottom)
    return text or "1"


@cache
def _registry() -> pint.UnitRegistry[Any]:
    import pint

    return pint.UnitRegistry(cache_folder=None)


def __getattr__(name: str) -> Any:
    """Lazy module attributes: ``ureg`` (a pint registry, built on first access, for
    callers who create pint quantities) and ``SUGGESTED_UNITS`` (units.toml ``[suggest]``)."""
    if name == "ureg":
        return _registry()
    if name == "SUGGESTED_UNITS":
        return dict(_data()["suggest"])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
