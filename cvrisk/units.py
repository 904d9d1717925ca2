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
from typing import Any

import numpy as np
import numpy.typing as npt
import pint

from cvrisk.data import load_data
from cvrisk.errors import UnitError

FloatArray = npt.NDArray[np.float64]
Converter = Callable[[Any], Any]

#: The library's single pint registry. Quantities from other registries are converted
#: through their magnitude and unit string.
ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=None)

_DATA = load_data("units.toml")
for _definition in _DATA["definitions"]["units"]:
    ureg.define(_definition)
_UCUM: dict[str, str] = _DATA["ucum"]
_SUBSTANCES: dict[str, dict[str, Any]] = _DATA["substances"]
_HBA1C: dict[str, Any] = _DATA["hba1c"]
SUGGESTED_UNITS: dict[str, list[str]] = _DATA["suggest"]

_ANNOTATION = re.compile(r"\{[^}]*\}")
_MASS_CONC = ureg.parse_units("g/L").dimensionality
_MOLAR_CONC = ureg.parse_units("mol/L").dimensionality
_DIMENSIONLESS = ureg.parse_units("percent").dimensionality


def _to_pint_spelling(unit: str) -> str:
    """Rewrite a UCUM code (or an ordinary spelling) into pint's grammar."""
    text = unit.strip()
    if text in _UCUM:
        return _UCUM[text]
    stripped = _ANNOTATION.sub("", text).replace("//", "/").rstrip("/")
    if stripped != text and stripped in _UCUM:
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


def _is_hba1c_percent(unit: pint.Unit) -> bool:
    return bool(unit.dimensionality == _DIMENSIONLESS and unit != ureg.parse_units("mmol/mol"))


def _scale_converter(factor: float) -> Converter:
    if factor == 1.0:
        return lambda values: values
    return lambda values: np.multiply(values, factor)


@lru_cache(maxsize=512)
def converter(source: str, target: str, substance: str | None = None) -> Converter:
    """Return a vectorized function converting values in ``source`` unit to ``target`` unit.

    Args:
        source: unit of the values (UCUM or ordinary spelling).
        target: unit wanted.
        substance: molar-mass key (``cholesterol``, ``triglycerides``, ``glucose``,
            ``creatinine``) for mass <-> molar conversion, or ``hba1c`` for % <-> mmol/mol.

    Raises:
        UnitError: the units are not understood or cannot be converted (a weight in mmHg).
    """
    src, dst = parse_unit(source), parse_unit(target)
    if substance == "hba1c":
        src_pct, dst_pct = _is_hba1c_percent(src), _is_hba1c_percent(dst)
        if src_pct != dst_pct:
            slope, intercept = float(_HBA1C["slope"]), float(_HBA1C["intercept"])
            to_pct = ureg.Quantity(1.0, src if src_pct else dst).to("percent").magnitude
            to_mmol = ureg.Quantity(1.0, dst if src_pct else src).to("mmol/mol").magnitude
            if src_pct:  # NGSP % -> IFCC
                a, b = slope * to_pct / to_mmol, -slope * intercept / to_mmol
            else:  # IFCC -> NGSP %
                a, b = to_mmol / (slope * to_pct), intercept / to_pct
            return lambda values: np.add(np.multiply(values, a), b)
    if src.dimensionality == dst.dimensionality:
        return _scale_converter(float(ureg.Quantity(1.0, src).to(dst).magnitude))
    pair = {src.dimensionality, dst.dimensionality}
    if pair == {_MASS_CONC, _MOLAR_CONC} and substance in _SUBSTANCES:
        molar = _SUBSTANCES[substance]
        molar_mass = ureg.Quantity(float(molar["molar_mass"]), molar["unit"])
        if src.dimensionality == _MASS_CONC:
            factor = (ureg.Quantity(1.0, src) / molar_mass).to(dst).magnitude
        else:
            factor = (ureg.Quantity(1.0, src) * molar_mass).to(dst).magnitude
        return _scale_converter(float(factor))
    hint = (
        f" (a {substance} concentration needs its molar mass: pass substance=...)"
        if pair == {_MASS_CONC, _MOLAR_CONC} and substance is None
        else ""
    )
    raise UnitError(f"cannot convert {source!r} to {target!r}: different kinds of quantity{hint}")


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


def quantity_parts(value: Any) -> tuple[Any, str] | None:
    """Split a pint Quantity (of any registry) into (magnitude, unit string); None otherwise."""
    magnitude = getattr(value, "magnitude", None)
    units = getattr(value, "units", None)
    if magnitude is None or units is None:
        return None
    return magnitude, f"{units:~}" if str(units) else ""
