"""Unit-aware measurements: one pint registry, UCUM spellings, substance conversions.

FHIR sends UCUM codes (``mm[Hg]``, ``10*9/L``, ``mL/min/{1.73_m2}``); people type ordinary
spellings (``mmHg``, ``mg/dL``). :func:`parse_unit` accepts both. :func:`converter` returns a
vectorized function converting values between two units, including the substance-specific
conversions clinical chemistry needs (cholesterol mg/dL <-> mmol/L via its molar mass) and
the affine HbA1c NGSP % <-> IFCC mmol/mol master equation. Converting an array is one numpy
operation; the factor is computed once per (unit, unit, substance) and cached.

All numbers (molar masses, the HbA1c equation) live in ``cvrisk/data/units.toml`` with sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pint

from cvrisk.data import load_data
from cvrisk.errors import UnitError

FloatArray = npt.NDArray[np.float64]
Converter = Callable[[Any], Any]

#: The library's single pint registry. Quantities from other registries are converted
#: through their magnitude and unit string.
ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(cache_folder=None)

_DATA = load_data("units.toml")
for _definition in _DATA["definitions"]["units"]:
    ureg.define(_definition)
_UCUM: dict[str, str] = _DATA["ucum"]
_SUBSTANCES: dict[str, dict[str, Any]] = _DATA["substances"]
_HBA1C: dict[str, Any] = _DATA["hba1c"]
SUGGESTED_UNITS: dict[str, list[str]] = _DATA["suggest"]
_DISPLAY: dict[str, str] = _DATA.get("display", {})

_ANNOTATION = re.compile(r"\{[^}]*\}")
_MASS_CONC = ureg.parse_units("g/L").dimensionality
_MOLAR_CONC = ureg.parse_units("mol/L").dimensionality
_DIMENSIONLESS = ureg.parse_units("percent").dimensionality
_SUBSTANCE = ureg.parse_units("mol").dimensionality


def _to_pint_spelling(unit: str) -> str:
    """Rewrite a UCUM code (or an ordinary spelling) into pint's grammar."""
    text = unit.strip()
    if text in _UCUM:
        return _UCUM[text]
    stripped = text
    if _ANNOTATION.search(text):
        # "mL/min/{1.73_m2}" -> "mL/min"; "{beats}/min" -> "/min"; "%{HbA1c}" -> "%"
        stripped = _ANNOTATION.sub("", text).replace("//", "/").rstrip("/") or "1"
        if stripped in _UCUM:
            return _UCUM[stripped]
    for ucum, spelled in _UCUM.items():
        # Only bracketed or power-of-ten UCUM atoms can be rewritten inside a larger
        # expression ("[lb_av]/[in_i]2" is rare, "mm[Hg]" inside "mm[Hg]/s" is not).
        if ("[" in ucum or "*" in ucum) and ucum in stripped:
            stripped = stripped.replace(ucum, spelled)
    return stripped.replace("µ", "u").replace("μ", "u")


@lru_cache(maxsize=512)
def parse_unit(unit: str) -> pint.Unit:
    """Parse a UCUM code or ordinary unit spelling into a pint unit.

    Raises:
        UnitError: the unit is empty or not understood.
    """
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(f"unit {unit!r} is empty: give a unit such as 'mmol/L' or 'mg/dL'")
    spelled = _to_pint_spelling(unit)
    try:
        parsed = ureg.parse_units(spelled) if spelled else ureg.dimensionless
    except Exception as exc:  # pint raises several unrelated types for bad strings
        raise UnitError(
            f"unit {unit!r} is not understood; use a UCUM code (e.g. 'mg/dL', 'mmol/L', "
            f"'mm[Hg]', '10*9/L') or a common spelling"
        ) from exc
    return parsed


def _component_dimensions(unit: pint.Unit) -> list[tuple[Any, float]]:
    """(dimensionality, exponent) of each named unit in a compound unit (mmol/mol -> 2 items)."""
    # pint exposes a unit's components only through its (stable) UnitsContainer ``_units``.
    return [
        (ureg.parse_units(name).dimensionality, float(cast(float, exponent)))
        for name, exponent in unit._units.items()
    ]


def _is_ngsp_fraction(unit: pint.Unit) -> bool:
    """True for pure-number units (``%``, ``1``): HbA1c as a fraction of haemoglobin (NGSP)."""
    return bool(unit.dimensionality == _DIMENSIONLESS) and all(
        dims == _DIMENSIONLESS for dims, _ in _component_dimensions(unit)
    )


def _is_ifcc_ratio(unit: pint.Unit) -> bool:
    """True for amount-of-substance ratios (``mmol/mol``): HbA1c in IFCC units."""
    parts = _component_dimensions(unit)
    return (
        bool(unit.dimensionality == _DIMENSIONLESS)
        and any(dims == _SUBSTANCE and exp > 0 for dims, exp in parts)
        and any(dims == _SUBSTANCE and exp < 0 for dims, exp in parts)
    )


def _scale_converter(factor: float) -> Converter:
    # np.multiply even for factor 1.0, so every converter returns numpy floats (a fresh array
    # for array input, never the caller's own list or array).
    return lambda values: np.multiply(values, factor)


def _hba1c_converter(source: str, target: str, src: pint.Unit, dst: pint.Unit) -> Converter:
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
        return _scale_converter(float(ureg.Quantity(1.0, src).to(dst).magnitude))
    slope, intercept = float(_HBA1C["slope"]), float(_HBA1C["intercept"])
    if kinds[0] == "ngsp":  # IFCC = slope * (NGSP - intercept), each in its own unit
        to_pct = float(ureg.Quantity(1.0, src).to("percent").magnitude)
        from_mmol = float(ureg.Quantity(1.0, "mmol/mol").to(dst).magnitude)
        a, b = slope * to_pct * from_mmol, -slope * intercept * from_mmol
    else:  # NGSP = IFCC / slope + intercept
        to_mmol = float(ureg.Quantity(1.0, src).to("mmol/mol").magnitude)
        from_pct = float(ureg.Quantity(1.0, "percent").to(dst).magnitude)
        a, b = to_mmol * from_pct / slope, intercept * from_pct
    return _affine_converter(a, b)


def _affine_converter(a: float, b: float) -> Converter:
    """values * a + b, one multiply and one in-place add (HbA1c master equation)."""

    def affine(values: Any) -> Any:
        out = np.multiply(values, a)
        if isinstance(out, np.ndarray):
            return np.add(out, b, out=out)  # in place: no second temporary array
        return out + b

    return affine


@lru_cache(maxsize=512)
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
    if substance is not None and substance not in _SUBSTANCES:
        raise UnitError(
            f"unknown substance {substance!r}; known substances: "
            f"{', '.join(sorted([*_SUBSTANCES, 'hba1c']))}"
        )
    if src.dimensionality == dst.dimensionality:
        return _scale_converter(float(ureg.Quantity(1.0, src).to(dst).magnitude))
    pair = {src.dimensionality, dst.dimensionality}
    if pair == {_MASS_CONC, _MOLAR_CONC}:
        if substance is None:
            raise UnitError(
                f"cannot convert {source!r} to {target!r} without a molar mass: pass "
                f"substance= one of {', '.join(sorted(_SUBSTANCES))}"
            )
        molar = _SUBSTANCES[substance]
        molar_mass = ureg.Quantity(float(molar["molar_mass"]), molar["unit"])
        if src.dimensionality == _MASS_CONC:
            factor = (ureg.Quantity(1.0, src) / molar_mass).to(dst).magnitude
        else:
            factor = (ureg.Quantity(1.0, src) * molar_mass).to(dst).magnitude
        return _scale_converter(float(factor))
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
    return str(_DISPLAY.get(unit, unit))


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
    for candidate in (home, *SUGGESTED_UNITS.get(home, ())):
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
    """Split a pint Quantity (of any registry) into (magnitude, unit string); None otherwise."""
    magnitude = getattr(value, "magnitude", None)
    units = getattr(value, "units", None)
    if magnitude is None or units is None:
        return None
    return magnitude, f"{units:~}" if str(units) else ""
