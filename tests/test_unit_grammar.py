"""The strict unit grammar (cvrisk.ucum via cvrisk.units.parse_unit): what it accepts, what
it refuses and how; case rules; bounded input; agreement with pint's conversion factors."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cvrisk import ucum
from cvrisk.data import load_data
from cvrisk.errors import UnitError
from cvrisk.units import (
    CACHE_SIZE,
    Unit,
    convert,
    converter,
    is_convertible,
    max_unit_length,
    parse_unit,
    quantity_parts,
    ureg,
)
from cvrisk.units import _parse_cached as parse_cache

# -- hostile texts: each used to hang pint's parser or take seconds ---------------------------

HOSTILE = [
    "10**10**10**10",
    "9**9**9**9 kg",
    "cm*9^100^100",
    "kg**99999999",
    "10^9^9^9/L",
    "kg2222",  # exponent with too many digits
    "10*999/L",
    "m" * 60,
    "(((m)))/s" + ")",
    "((((m))))",  # nesting beyond max_depth
    "1e308.kg",
    "mg/dL; drop table",
    "{" + "x" * 10 + "",
    "[lb_av",
    "kg]",
    "mg//dL",
    "/",
    ".",
    "0/L",
    "mg dL",
    "\x00",
    "m\u202eg",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_texts_are_unit_errors(text: str) -> None:
    with pytest.raises(UnitError):
        parse_unit(text)


@pytest.mark.parametrize("size", [65, 10_000, 1_000_000])
def test_long_texts_are_refused_before_parsing_with_a_truncated_quote(size: int) -> None:
    text = "mg/dL" + "x" * (size - 5)
    with pytest.raises(UnitError) as info:
        parse_unit(text)
    message = str(info.value)
    assert f"longer than {max_unit_length()} characters" in message
    assert f"({size} characters)" in message
    assert len(message) < 300  # the text is quoted truncated, never whole


def test_maximum_length_is_the_documented_64() -> None:
    assert max_unit_length() == 64 == load_data("units.toml")["grammar"]["max_length"]
    parse_unit("mg/dL{" + "x" * 57 + "}")  # 64 characters: read
    with pytest.raises(UnitError, match="longer than 64"):
        parse_unit("mg/dL{" + "x" * 58 + "}")


def test_exponents_are_ucum_integers_on_an_atom_only() -> None:
    assert parse_unit("m2") == parse_unit("m.m")
    assert parse_unit("kg.m-2") == parse_unit("kg/m2")
    assert float(parse_unit("10*12/L").factor) == 1e15
    for text in ["m^2", "m**2", "10*3*3", "(m)2", "2^3", "m2^2"]:
        with pytest.raises(UnitError):
            parse_unit(text)


def test_division_associates_to_the_left_as_ucum_says() -> None:
    assert parse_unit("/g/L") == parse_unit("/(g.L)")
    assert parse_unit("kg/m.s") == parse_unit("kg.s/m")  # (kg/m).s
    assert parse_unit("mL/min/{1.73_m2}") == parse_unit("mL/min")


def test_caches_are_bounded() -> None:
    assert parse_cache.cache_info().maxsize == CACHE_SIZE
    assert converter.cache_info().maxsize == CACHE_SIZE
    for i in range(CACHE_SIZE + 50):  # distinct valid texts
        parse_unit(f"{{n{i}}}/min")
    assert parse_cache.cache_info().currsize <= CACHE_SIZE


# -- UCUM: codes, annotations, the unsupported rest ------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("10*9/L", "10*9/L"),
        ("10^9/L", "10*9/L"),
        ("10*3/uL", "10*3/uL"),
        ("mm[Hg]", "mm[Hg]"),
        ("[lb_av]", "[lb_av]"),
        ("[in_i]", "[in_i]"),
        ("mL/min/{1.73_m2}", "mL/min"),
        ("{beats}/min", "/min"),
        ("%{HbA1c}", "%"),
        ("mmol/mol{Hb}", "mmol/mol"),
        ("{cells}/uL", "/uL"),
        ("/100{WBCs}", "/100"),
        ("mg/l", "mg/L"),
        ("mg%", "mg%"),
        ("kg/(m.m)", "kg/m2"),
        ("m[iU]/L", "m[iU]/L"),
    ],
)
def test_ucum_codes_and_annotations(text: str, code: str) -> None:
    assert str(parse_unit(text)) == code


def test_annotations_carry_no_meaning() -> None:
    assert parse_unit("mL/min/{1.73_m2}") == parse_unit("mL/min")
    assert parse_unit("{score}") == parse_unit("1")
    assert parse_unit("%{HbA1c}") == parse_unit("%")


@pytest.mark.parametrize("text", ["Cel", "[ppm]", "mho", "[degF]", "cal", "B[V]"])
def test_other_ucum_units_are_recognised_and_refused(text: str) -> None:
    with pytest.raises(UnitError, match="not a unit cvrisk reads"):
        parse_unit(text)


def test_spelling_targets_are_valid_ucum_codes() -> None:
    for spelling, code in load_data("units.toml")["spellings"].items():
        term = ucum.parse(code)
        assert not term.unsupported, (spelling, code)


def test_every_supported_atom_is_a_ucum_atom() -> None:
    atoms = load_data("ucum.toml")["atoms"]
    for code in load_data("units.toml")["atoms"]:
        assert code in atoms, code


# -- ordinary spellings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("mmHg", "mm[Hg]"),
        ("lb", "[lb_av]"),
        ("in", "[in_i]"),
        ("cells/µL", "/uL"),
        ("/mm3", "/mm3"),
        ("x10^9/L", "10*9/L"),
        ("×10⁹/L", "10*9/L"),
        ("G/L", "10*9/L"),
        ("K/uL", "10*3/uL"),
        ("kg/m²", "kg/m2"),
        ("%", "%"),
        ("g/L", "g/L"),
        ("mL/min/1.73 m²", "mL/min"),
        ("µmol/L", "umol/L"),
        ("percent", "%"),
        ("year", "a"),
    ],
)
def test_ordinary_spellings(spelling: str, code: str) -> None:
    assert str(parse_unit(spelling)) == code


def test_cells_per_cubic_millimetre_is_cells_per_microlitre() -> None:
    assert float(convert(1500, "/mm3", "10*9/L")) == pytest.approx(1.5)
    assert float(convert(1500, "cells/µL", "10*9/L")) == pytest.approx(1.5)


# -- case ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("MG/DL", "mg/dL"),
        ("Kg", "kg"),
        ("KG", "kg"),
        ("mmhg", "mm[Hg]"),
        ("MMHG", "mm[Hg]"),
        ("MMOL/L", "mmol/L"),
        ("mmol/l", "mmol/L"),
        ("MMOL/MOL", "mmol/mol"),
        ("CM", "cm"),
        ("IN", "[in_i]"),
        ("[LB_AV]", "[lb_av]"),
        ("MM[HG]", "mm[Hg]"),
        ("g/l", "g/L"),
    ],
)
def test_case_insensitive_where_ucum_has_no_conflict(text: str, same_as: str) -> None:
    assert parse_unit(text) == parse_unit(same_as)


@pytest.mark.parametrize(
    ("text", "meanings"),
    [
        ("Mm", ["megameter", "millimeter"]),
        ("Mg", ["megagram", "milligram"]),
        ("ML", ["megaliter", "milliliter"]),
        ("Mmol/L", ["megamole", "millimole"]),
        ("S", ["siemens", "second"]),
        ("G/l", ["Gauss", "gram per liter", "10^9 per liter"]),
    ],
)
def test_case_conflicts_are_refused_with_the_reason(text: str, meanings: list[str]) -> None:
    with pytest.raises(UnitError) as info:
        parse_unit(text)
    message = str(info.value)
    assert "case matters" in message
    for meaning in meanings:
        assert meaning in message


def test_giga_per_litre_and_gram_per_litre_differ_only_by_case() -> None:
    assert parse_unit("G/L") == parse_unit("10*9/L")  # French cell counts
    assert parse_unit("g/L") != parse_unit("G/L")
    assert not is_convertible("G/L", "g/L")


# -- conversions: exact factors, pint as the oracle, round trips -----------------------------

# (cvrisk spelling, pint spelling) of every unit cvrisk's analytes and scores use
PINT_SPELLINGS = [
    ("mg/dL", "mg/dL"),
    ("g/L", "g/L"),
    ("mg/L", "mg/L"),
    ("ng/mL", "ng/mL"),
    ("ng/L", "ng/L"),
    ("mmol/L", "mmol/L"),
    ("umol/L", "umol/L"),
    ("kg", "kg"),
    ("g", "g"),
    ("[lb_av]", "lb"),
    ("cm", "cm"),
    ("m", "m"),
    ("mm", "mm"),
    ("[in_i]", "inch"),
    ("[ft_i]", "foot"),
    ("mm[Hg]", "mmHg"),
    ("kPa", "kPa"),
    ("ms", "ms"),
    ("s", "s"),
    ("/min", "1/min"),
    ("%", "percent"),
    ("1", "dimensionless"),
    ("mmol/mol", "mmol/mol"),
    ("mg/g", "mg/g"),
    ("kg/m2", "kg/m**2"),
    ("/uL", "1/uL"),
    ("10*9/L", "1e9/L"),
    ("10*3/uL", "1e3/uL"),
    ("mL/min", "mL/min"),
    ("a", "year"),
    ("mo", "month"),
    ("wk", "week"),
    ("d", "day"),
]


def _pint_quantity(spelling: str) -> object:
    """One unit as a pint quantity ("1e9/L" is the quantity 1e9 per litre: pint units cannot
    carry a factor)."""
    head, _, rest = spelling.partition("/")
    if head.replace("e", "").replace(".", "").isdigit():
        return ureg.Quantity(float(head), f"1/{rest}")
    return ureg.Quantity(1.0, spelling)


def _pint_factor(source: str, target: str) -> float:
    ratio = (_pint_quantity(source) / _pint_quantity(target)).to("dimensionless")  # type: ignore[operator]
    return float(ratio.magnitude)


@pytest.mark.parametrize(("ours", "theirs"), PINT_SPELLINGS)
def test_factors_agree_with_pint(ours: str, theirs: str) -> None:
    """Differential test: cvrisk's exact factors against pint's, for every pair of units of
    the same dimension."""
    for other, other_pint in PINT_SPELLINGS:
        if parse_unit(ours).dims != parse_unit(other).dims:
            continue
        expected = _pint_factor(theirs, other_pint)
        assert float(convert(1.0, ours, other)) == pytest.approx(expected, rel=1e-12), other


def test_mmhg_keeps_the_conventional_value() -> None:
    assert float(convert(1, "mm[Hg]", "Pa")) == pytest.approx(133.322387415, rel=1e-15)


COMPATIBLE = [(a, b) for a, _ in PINT_SPELLINGS for b, _ in PINT_SPELLINGS if a < b]


@given(
    pair=st.sampled_from(
        [(a, b) for a, b in COMPATIBLE if parse_unit(a).dims == parse_unit(b).dims]
    ),
    value=st.floats(1e-6, 1e6),
)
def test_round_trips(pair: tuple[str, str], value: float) -> None:
    source, target = pair
    back = float(convert(convert(value, source, target), target, source))
    assert math.isclose(back, value, rel_tol=1e-12)


@pytest.mark.parametrize("substance", ["cholesterol", "triglycerides", "glucose"])
@given(value=st.floats(1e-3, 1e4))
def test_g_per_litre_round_trips_for_glucose_and_lipids(substance: str, value: float) -> None:
    mmol = convert(value, "g/L", "mmol/L", substance)
    assert math.isclose(float(convert(mmol, "mmol/L", "g/L", substance)), value, rel_tol=1e-12)
    mg = float(convert(value, "g/L", "mg/dL", substance))
    assert math.isclose(mg, value * 100, rel_tol=1e-12)


def test_french_g_per_litre_values() -> None:
    assert float(convert(1.26, "g/L", "mmol/L", "glucose")) == pytest.approx(6.99, abs=0.01)
    assert float(convert(2.4, "g/L", "mmol/L", "cholesterol")) == pytest.approx(6.21, abs=0.01)
    assert float(convert(0.45, "g/L", "mmol/L", "cholesterol")) == pytest.approx(1.16, abs=0.01)
    assert float(convert(1.5, "g/L", "mmol/L", "triglycerides")) == pytest.approx(1.69, abs=0.01)


def test_pint_quantities_are_read_through_the_grammar() -> None:
    for unit, code in [("mg/dL", "mg/dL"), ("mmHg", "mm[Hg]"), ("1/minute", "/min"),
                       ("kg/m**2", "kg/m2"), ("inch", "[in_i]"), ("pound", "[lb_av]"),
                       ("micromol/L", "umol/L"), ("percent", "%")]:  # fmt: skip
        parts = quantity_parts(ureg.Quantity(2.0, unit))
        assert parts is not None and parts[0] == 2.0
        assert str(parse_unit(parts[1])) == code, unit
    with pytest.raises(UnitError):
        parse_unit(quantity_parts(ureg.Quantity(2.0, "degC"))[1])  # type: ignore[index]


# -- properties over arbitrary text -------------------------------------------------------------

UNIT_ALPHABET = string.ascii_letters + string.digits + "*^.-+/(){}[]_%' µμ²×⁹\t\n\\\"#"


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.text(UNIT_ALPHABET, max_size=80)))
@example(text="PTL")  # its code "PL" reads, ignoring case, as picolitre: refused
def test_any_text_is_a_unit_or_a_unit_error(text: str) -> None:
    """Parsing arbitrary text returns a Unit or raises UnitError, never anything else. (Its
    time is bounded by construction: at most 64 characters reach a single-pass parser; the
    worst case is measured by bench/unit_parse_bench.py, not here.)"""
    try:
        unit = parse_unit(text)
    except UnitError as exc:
        assert len(str(exc)) < 600
        return
    assert isinstance(unit, Unit)
    assert parse_unit(unit.code) == unit  # the canonical code reads back as the same unit


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["", "m", "k", "u", "d", "c", "n"]),
            st.sampled_from(["g", "L", "m", "s", "mol", "min", "[lb_av]", "[in_i]", "%"]),
            st.integers(-3, 3),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_generated_ucum_terms_parse_and_read_back(parts: list[tuple[str, str, int]]) -> None:
    text = ".".join(
        f"{prefix if atom not in ('%', '[lb_av]', '[in_i]', 'min') else ''}{atom}"
        f"{exponent if exponent not in (0, 1) else ''}"
        for prefix, atom, exponent in parts
    )
    try:
        unit = parse_unit(text)
    except UnitError as exc:
        assert "case matters" in str(exc) or "longer than" in str(exc)  # e.g. "mm" vs "Mm"
        return
    assert parse_unit(unit.code) == unit
