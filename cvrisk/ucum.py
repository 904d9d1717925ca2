"""The UCUM unit grammar: unit text in, a :class:`Term` (prefixed atoms with integer
exponents) out, in time bounded by the text's length, which is itself bounded.

This is the only reader of unit text in cvrisk; nothing else parses a unit string. It reads
the syntax of the Unified Code for Units of Measure (UCUM, https://ucum.org/ucum, §§1-8)::

    main       := "/" term | term
    term       := component (("." | "/") component)*       (left-associative)
    component  := "(" term ")" | annotation | factor [annotation]
                | prefix? atom exponent? [annotation]
    exponent   := ("+" | "-")? digits                       (at most 2 digits)
    factor     := digits                                    (at most 6 digits)
    annotation := "{" printable ASCII except braces "}"     (no unit meaning)

with the atoms and prefixes of the full UCUM table (``cvrisk/data/ucum.toml``), either in
their case-sensitive form or, with ``case_insensitive=True``, their case-insensitive form.
There is no other arithmetic: no ``**``, no ``^`` exponents (``10^`` is the UCUM atom "ten
for arbitrary powers"), no decimal numbers, no spaces. A text is read in one left-to-right
pass; the limits (length, digits, nesting) live in units.toml ``[grammar]``.

Atoms cvrisk does not convert (``Cel``, ``[ppm]``, ``S``...) are recognised and listed in
:attr:`Term.unsupported`, so the caller can say "a UCUM unit cvrisk does not read" (and spot
a case conflict: ``S`` is siemens, ``s`` the second) rather than "not understood".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cvrisk.data import load_data

_TERMINATORS = frozenset("./(){}")


class GrammarError(ValueError):
    """The text is not a UCUM expression (the message says where and why)."""


@dataclass(frozen=True)
class Component:
    """One prefixed atom with its exponent (``mg`` in ``mg/dL`` is ``("m", "g", 1)``)."""

    prefix: str
    atom: str
    exponent: int


@dataclass(frozen=True)
class Term:
    """A parsed unit: components merged by (prefix, atom), in order of first appearance.

    ``numerator``/``denominator`` are the integer factors (``/100{cells}`` has denominator
    100); ``unsupported`` names the UCUM atoms in the text that cvrisk does not convert.
    """

    components: tuple[Component, ...]
    numerator: int = 1
    denominator: int = 1
    unsupported: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """The canonical UCUM code: numerator atoms joined by ``.``, then ``/`` and each
        denominator atom (``mg/dL``, ``kg/m2``, ``/min``, ``10*9/L``, ``1`` for unity)."""
        top = [_spelled(c.prefix, c.atom, c.exponent) for c in self.components if c.exponent > 0]
        bottom = [
            _spelled(c.prefix, c.atom, -c.exponent) for c in self.components if c.exponent < 0
        ]
        if self.numerator != 1:
            top.insert(0, str(self.numerator))
        if self.denominator != 1:
            bottom.insert(0, str(self.denominator))
        text = ".".join(top) + "".join(f"/{part}" for part in bottom)
        return text or "1"


def _spelled(prefix: str, atom: str, exponent: int) -> str:
    return f"{prefix}{atom}{exponent if exponent != 1 else ''}"


@dataclass(frozen=True)
class _Tables:
    atoms: dict[str, dict[str, Any]]  # case-sensitive code -> entry (ci, metric, name)
    prefixes: dict[str, dict[str, Any]]  # case-sensitive code -> entry (ci, value, name)
    ci_atoms: dict[str, str]  # case-insensitive code -> case-sensitive code
    ci_prefixes: dict[str, str]
    cs_atoms: dict[str, str]  # case-sensitive code -> itself
    cs_prefixes: dict[str, str]
    longest_prefix: int
    supported: dict[str, dict[str, Any]]  # units.toml [atoms]
    limits: dict[str, int]


@cache
def tables() -> _Tables:
    """The UCUM table and cvrisk's grammar limits (read once, on first use)."""
    ucum = load_data("ucum.toml")
    units = load_data("units.toml")
    supported = units["atoms"]
    ci_atoms: dict[str, str] = {}
    for code, entry in ucum["atoms"].items():
        # Two UCUM atoms share a case-insensitive code (l and L as "L", [iU] and [IU] as
        # "[IU]"); each pair is one unit, so keep the canonical member.
        canonical = supported.get(code, {}).get("same_as", code)
        ci_atoms.setdefault(entry["ci"], canonical)
    return _Tables(
        atoms=ucum["atoms"],
        prefixes=ucum["prefixes"],
        ci_atoms=ci_atoms,
        ci_prefixes={entry["ci"]: code for code, entry in ucum["prefixes"].items()},
        cs_atoms={code: code for code in ucum["atoms"]},
        cs_prefixes={code: code for code in ucum["prefixes"]},
        longest_prefix=max(
            len(code) for entry in ucum["prefixes"].items() for code in (entry[0], entry[1]["ci"])
        ),
        supported=supported,
        limits=dict(units["grammar"]),
    )


def parse(text: str, *, case_insensitive: bool = False) -> Term:
    """Parse ``text`` (already stripped, at most ``max_length`` characters) into a Term.

    With ``case_insensitive``, atoms and prefixes are matched by their UCUM case-insensitive
    codes (``MG/DL``); the text should then be upper-case.

    Raises:
        GrammarError: the text is not a UCUM expression of known atoms.
    """
    parser = _Parser(text, tables(), case_insensitive)
    return parser.run()


class _Parser:
    """A single left-to-right pass over the text (recursive only into parentheses, whose
    depth is bounded by ``max_depth``)."""

    def __init__(self, text: str, tables: _Tables, case_insensitive: bool) -> None:
        self.text = text
        self.pos = 0
        self.tables = tables
        self.case_insensitive = case_insensitive
        self.exponents: dict[tuple[str, str], int] = {}
        self.numerator = 1
        self.denominator = 1
        self.unsupported: list[str] = []

    def fail(self, reason: str, at: int | None = None) -> GrammarError:
        return GrammarError(f"{reason} at character {(self.pos if at is None else at) + 1}")

    def run(self) -> Term:
        if not self.text:
            raise GrammarError("nothing to read")
        bad = next((ch for ch in self.text if not " " < ch <= "~"), None)
        if bad is not None:
            raise GrammarError(f"character {bad!r} cannot appear in a UCUM code")
        lead = 1
        if self.text.startswith("/"):  # unary division: "/g/L" is 1/g/L, both divided
            self.pos, lead = 1, -1
        self.term(1, depth=0, lead=lead)
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.text[self.pos]!r}")
        components = tuple(
            Component(prefix, atom, exponent)
            for (prefix, atom), exponent in self.exponents.items()
            if exponent != 0
        )
        return Term(components, self.numerator, self.denominator, tuple(self.unsupported))

    def term(self, sign: int, depth: int, lead: int = 1) -> None:
        self.component(sign * lead, depth)
        while self.pos < len(self.text) and self.text[self.pos] in "./":
            operator = self.text[self.pos]
            self.pos += 1
            # UCUM: "." and "/" have equal precedence and associate to the left, so only
            # the component right after "/" is divided (kg/m.s = (kg/m).s).
            self.component(sign if operator == "." else -sign, depth)

    def component(self, sign: int, depth: int) -> None:
        if self.pos >= len(self.text):
            raise self.fail("a unit is missing")
        char = self.text[self.pos]
        if char == "(":
            if depth >= self.tables.limits["max_depth"]:
                raise self.fail("parentheses are nested too deeply")
            self.pos += 1
            self.term(sign, depth + 1)
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise self.fail("a ')' is missing")
            self.pos += 1
            return
        if char == "{":
            self.annotation()
            return
        symbol = self.symbol()
        if symbol.isdigit():
            if len(symbol) > self.tables.limits["max_factor_digits"]:
                raise self.fail(f"factor {symbol[:12]!r} has too many digits")
            factor = int(symbol)
            if factor == 0:
                raise self.fail("a factor of 0 is not a unit")
            if sign > 0:
                self.numerator *= factor
            else:
                self.denominator *= factor
        else:
            prefix, atom, exponent = self.simple_unit(symbol, self.pos - len(symbol))
            key = (prefix, atom)
            self.exponents[key] = self.exponents.get(key, 0) + sign * exponent
        if self.pos < len(self.text) and self.text[self.pos] == "{":
            self.annotation()

    def annotation(self) -> None:
        end = self.text.find("}", self.pos + 1)
        if end < 0:
            raise self.fail("a '}' is missing")
        if "{" in self.text[self.pos + 1 : end]:
            raise self.fail("'{' inside an annotation")
        self.pos = end + 1

    def symbol(self) -> str:
        """The run of characters up to the next operator, parenthesis or annotation;
        square brackets are kept whole (``[in_i]``, ``m[Hg]``, ``B[10.nV]``)."""
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] not in _TERMINATORS:
            if text[self.pos] == "[":
                end = text.find("]", self.pos + 1)
                if end < 0:
                    raise self.fail("a ']' is missing")
                self.pos = end
            elif text[self.pos] == "]":
                raise self.fail("unexpected ']'")
            self.pos += 1
        if self.pos == start:
            raise self.fail("a unit is missing")
        return text[start : self.pos]

    def simple_unit(self, symbol: str, start: int) -> tuple[str, str, int]:
        """(prefix, atom, exponent) of one symbol such as ``mg``, ``m2``, ``10*9``, ``s-1``."""
        body, digits = symbol, ""
        index = len(symbol)  # start of the trailing digits (the exponent, if any)
        while index > 0 and symbol[index - 1].isdigit():
            index -= 1
        if 0 < index < len(symbol):
            cut = index - 1 if symbol[index - 1] in "+-" and index > 1 else index
            candidate = symbol[:cut]
            if self._resolve(candidate) is not None:
                body, digits = candidate, symbol[cut:]
        if len(digits.lstrip("+-")) > self.tables.limits["max_exponent_digits"]:
            raise self.fail(f"exponent {digits[:12]!r} has too many digits", start)
        resolved = self._resolve(body)
        if resolved is None:
            shown = body if len(body) <= 20 else body[:17] + "..."
            raise self.fail(f"{shown!r} is not a UCUM unit", start)
        prefix, atom = resolved
        if self.tables.supported.get(atom, {}).get("needs_exponent") and not digits:
            raise self.fail(f"{atom!r} needs its exponent (e.g. {atom}9 for 10 to the 9th)", start)
        supported = self.tables.supported.get(atom)
        if supported is None:
            self.unsupported.append(prefix + atom)
        else:
            atom = supported.get("same_as", atom)
        return prefix, atom, int(digits) if digits else 1

    def _resolve(self, body: str) -> tuple[str, str] | None:
        """(case-sensitive prefix, case-sensitive atom) named by ``body``, or None.

        UCUM reads a whole symbol as an atom first ("Pa" is pascal, not peta-year), then as
        a prefix followed by a metric atom.
        """
        if not body:
            return None
        atoms = self.tables.atoms
        if self.case_insensitive:
            names, prefixes = self.tables.ci_atoms, self.tables.ci_prefixes
        else:
            names, prefixes = self.tables.cs_atoms, self.tables.cs_prefixes
        atom = names.get(body)
        if atom is not None:
            return "", atom
        for size in range(1, min(self.tables.longest_prefix, len(body) - 1) + 1):
            prefix = prefixes.get(body[:size])
            rest = names.get(body[size:])
            if prefix is not None and rest is not None and atoms[rest]["metric"]:
                return prefix, rest
        return None


def describe(term: Term) -> str:
    """A unit in words, from UCUM's names: ``mg/dL`` -> ``milligram per deciliter``."""
    atoms, prefixes = tables().atoms, tables().prefixes

    def word(component: Component) -> str:
        if component.atom == "10*":
            return f"10^{component.exponent if component.exponent > 0 else -component.exponent}"
        name = str(prefixes[component.prefix]["name"]) if component.prefix else ""
        name += str(atoms.get(component.atom, {}).get("name", component.atom))
        power = abs(component.exponent)
        return name + (f"^{power}" if power != 1 else "")

    top = [word(c) for c in term.components if c.exponent > 0]
    bottom = [word(c) for c in term.components if c.exponent < 0]
    text = " ".join(top) or ("1" if bottom else "unity")
    return text + "".join(f" per {part}" for part in bottom)
