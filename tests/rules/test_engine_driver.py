"""``engine.run`` (the C engine driven directly, facts sent with only the fields the
conditions read) fires exactly what durable-rules' ``Host.assert_facts`` fires on the full
facts, in the same order: a differential test over the shipped protocols' rules.

The facts are drawn around every threshold the compiled conditions hold (the threshold
itself, a hair either side, far either side), with each field present or absent, of every
fact type, plus fields no condition reads. Numbers Python writes with an exponent crash
durable-rules' own encoding path (its parser reads no exponents), so the reference never
sees them; ``run`` writes them positionally, checked against the reference on a plain number
on the same side of every threshold.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cvrisk.rules import engine
from cvrisk.rules.catalog import shipped_protocols

PROTOCOLS = sorted(shipped_protocols().values(), key=lambda p: p.id)
#: every shipped protocol together, then each alone
GROUPS = [PROTOCOLS, *([p] for p in PROTOCOLS)]


def _ruleset(which: int) -> engine.Ruleset:
    """Compiled on each use (a cache hit), since other tests may evict compiled rulesets."""
    return engine.compile_ruleset(GROUPS[which])


def _leaves(condition: Any, out: dict[str, set[Any]]) -> None:
    """Every value each field is compared with, in the conditions."""
    if isinstance(condition, list):
        for item in condition:
            _leaves(item, out)
    elif isinstance(condition, dict):
        for key, value in condition.items():
            if key.startswith("$"):
                _leaves(value, out)
            else:
                out.setdefault(key, set()).add(value)


VALUES: dict[str, set[Any]] = {}
for _which in range(len(GROUPS)):
    for _compiled in _ruleset(_which).rules.values():
        _leaves(_compiled.condition, VALUES)
VALUES.setdefault("t", set()).update(engine.FACT_TYPES)
VALUES["eth"] = {*VALUES.get("eth", set()), "white", "unknown"}
VALUES["sex"] = {"male", "female"}


#: fields that are measurements (floats) in real facts; the others are codes and 0/1 flags
MEASURED = {"value", "orig", "rise_abs", "rise_pct", "percent", "age"}


def _around(value: float) -> st.SearchStrategy[float]:
    delta = abs(value) * 1e-9 if abs(value) >= 1e-3 else 1e-3
    return st.sampled_from(
        [float(value), value - delta, value + delta, value - 1.0, value * 2.0 + 1.0]
    )


def _field(name: str) -> st.SearchStrategy[Any]:
    choices = sorted(VALUES[name], key=repr)
    if name in MEASURED:
        return st.one_of(*(_around(v) for v in choices))
    if name.startswith("c_"):
        return st.sampled_from([0, 1])
    return st.sampled_from(choices)


def _plain(value: Any) -> bool:
    return not isinstance(value, float) or "e" not in repr(value)


@st.composite
def facts(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for index in range(draw(st.integers(1, 8))):
        fact: dict[str, Any] = {"id": f"f{index}", "t": draw(_field("t"))}
        for name in sorted(VALUES):
            if name in ("t", "id") or not draw(st.booleans()):
                continue
            fact[name] = draw(_field(name))
        fact["unread_field"] = draw(st.integers(0, 3))  # no condition reads it
        out.append(fact)
    assume(all(_plain(v) for fact in out for v in fact.values()))
    return out


def _through_host(ruleset: engine.Ruleset, facts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The firings of ``Host.assert_facts`` on the full facts (the Python actions record)."""
    host = engine._host()
    sid = uuid.uuid4().hex
    with engine._LOCK:
        engine._FIRED.clear()
        try:
            host.assert_facts(ruleset.name, [{"sid": sid, **fact} for fact in facts])
        except engine.durable.MessageNotHandledException:
            pass
        finally:
            host.delete_state(ruleset.name, sid)
        fired = list(engine._FIRED)
        engine._FIRED.clear()
    return fired


def _names(ruleset: engine.Ruleset, fired: list[tuple[engine.CompiledRule, str]]) -> list[Any]:
    by_rule = {id(compiled): action for action, compiled in ruleset.rules.items()}
    return [(by_rule[id(compiled)], fact_id) for compiled, fact_id in fired]


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(GROUPS) - 1), batch=facts())
def test_run_fires_what_host_assert_facts_fires(which: int, batch: list[dict[str, Any]]) -> None:
    ruleset = _ruleset(which)
    assert _names(ruleset, engine.run(ruleset, batch)) == _through_host(ruleset, batch)


def _satisfy(condition: dict[str, Any], fact: dict[str, Any]) -> None:
    """Set fields of ``fact`` so that it meets ``condition`` (first branch of each ``$or``)."""
    for key, value in condition.items():
        if key == "$and":
            for term in value:
                _satisfy(term, fact)
        elif key == "$or":
            _satisfy(value[0], fact)
        elif key in ("$gt", "$gte", "$lt", "$lte"):
            ((name, limit),) = value.items()
            step = {"$gt": 1.0, "$gte": 0.0, "$lt": -1.0, "$lte": 0.0}[key]
            fact[name] = float(limit) + step
        elif not key.startswith("$"):
            fact[key] = value


def test_the_rules_fire_on_facts_of_these_fields() -> None:
    """Facts made of the fields and values above do fire rules (the differential test
    compares firings, not only silences), the same through both paths."""
    ruleset = _ruleset(0)
    fired = 0
    for compiled in ruleset.rules.values():
        fact: dict[str, Any] = {"id": "f0", "sex": "male", "eth": "white", "age": 40.0}
        _satisfy(compiled.condition, fact)
        got = _names(ruleset, engine.run(ruleset, [fact]))
        assert got == _through_host(ruleset, [fact])
        fired += len(got)
    assert fired >= len(ruleset.rules) // 2


def test_firing_messages_are_read_from_their_head() -> None:
    message = '{"r3":{"m":{"sid": "5f0c", "id": "f12", "t": "latest", "value": 3}}}'
    assert engine._firings(message) == [("r3", "f12")]
    odd = '{"r3":{"m":{"id": "f12", "sid": "5f0c"}}, "r4":{"m":{"id": "f1"}}}'
    assert engine._firings(odd) == [("r3", "f12")]  # decoded whole; the first rule, as durable


@pytest.mark.parametrize(
    ("unusual", "plain"),
    [(1e-05, 0.0001), (3e-300, 0.0001), (-2e-07, -0.0001), (1e20, 1e15), (-5e17, -1e15)],
)
@pytest.mark.parametrize("field", sorted(MEASURED - {"age"}))
def test_numbers_written_with_an_exponent_do_not_crash_the_engine(
    unusual: float, plain: float, field: str
) -> None:
    """Each rule fires on the unusual number as on a plain one on the same side of every
    threshold (no shipped threshold lies between them)."""
    thresholds = [v for f in MEASURED for v in VALUES.get(f, ()) if isinstance(v, int | float)]
    assert not [t for t in thresholds if min(unusual, plain) <= t <= max(unusual, plain)]
    ruleset = _ruleset(0)
    for kind in engine.FACT_TYPES:
        base = {"id": "f0", "t": kind, "analyte": "neutrophils", "sex": "male", "age": 40.0}
        got = _names(ruleset, engine.run(ruleset, [{**base, field: unusual}]))
        assert got == _through_host(ruleset, [{**base, field: plain}])


def test_a_number_that_is_not_finite_is_an_engine_error() -> None:
    with pytest.raises(engine.EngineError, match="f0 has value = nan"):
        engine.encode_facts([{"id": "f0", "t": "latest", "value": math.nan}])
