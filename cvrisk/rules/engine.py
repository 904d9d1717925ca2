"""Compile protocols' alert rules into a durable-rules ruleset, and run facts through it.

Rules are built from data (never hand-written decorators): each alert rule becomes one
durable-rules rule whose condition is the conjunction of the fact type, the analyte, the
threshold (converted to the analyte's canonical unit, so a HbA1c in % and one in mmol/mol
trigger the same rule) and the population filters.

durable-rules pitfalls handled here (measured on 2.0.28, see docs/engine.md):

- a batch containing one fact that matches no rule raises ``MessageNotHandledException``
  and fires *nothing*: every ruleset gets one catch-all rule per fact type (matching
  ``{"t": type}``; a ``$nex`` catch-all makes the engine loop forever);
- *events* are consumed by the first rule they match: we assert *facts*, which every
  matching rule sees;
- identical messages are rejected as duplicates: every fact has a unique ``id``;
- exceptions inside actions are swallowed into the session state: actions only append to a
  list, and the returned state is checked for an ``exception`` key;
- state persists per session id: every evaluation uses a fresh ``sid`` and deletes it;
- the engine is not thread-safe (a segfault was observed with 4 posting threads): all calls
  go through one process-wide lock.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import durable_rules_engine
from durable import engine as durable

from cvrisk import vocab
from cvrisk.errors import EngineError
from cvrisk.rules.schema import AlertRule, Equivalent, Protocol
from cvrisk.units import convert, parse_unit

FACT_TYPES = ("latest", "coded", "change_from_baseline", "change_within", "score")
_OPERATORS = {">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


@dataclass(frozen=True)
class CompiledRule:
    """An alert rule with its protocol, as the engine fires it."""

    protocol: Protocol
    rule: AlertRule
    condition: dict[str, Any]


@dataclass
class Needs:
    """Which facts the compiled rules can match (so only those are computed)."""

    latest: set[str] = field(default_factory=set)
    baseline: set[tuple[str, str]] = field(default_factory=set)  # (protocol, analyte)
    within: set[tuple[str, str]] = field(default_factory=set)  # (analyte, duration)
    scores: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)  # condition sets rules exclude on


def threshold(rule: AlertRule, value: float) -> float:
    """A rule's threshold in the canonical unit of its analyte."""
    if rule.measure == "score" or rule.change == "percent" or rule.analyte is None:
        return value
    entry = vocab.analyte(rule.analyte)
    if entry.unit is None or rule.unit is None:
        return value
    converted = float(convert(value, rule.unit, entry.unit, entry.substance))
    if rule.change == "absolute":  # a difference: remove the offset of affine units
        converted -= float(convert(0.0, rule.unit, entry.unit, entry.substance))
    return converted


def _either(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return conditions[0] if len(conditions) == 1 else {"$or": conditions}


def rule_condition(protocol: Protocol, rule: AlertRule) -> dict[str, Any]:
    """The durable-rules condition (``m`` expression) of one alert rule."""
    terms: list[dict[str, Any]] = [{"t": "coded" if rule.measure == "coded" else rule.measure}]
    if rule.measure == "score":
        terms.append({"model": rule.model})
        target = "percent"
    else:
        terms.append({"analyte": rule.analyte})
        target = (
            "value"
            if rule.measure == "latest"
            else f"rise_{'pct' if rule.change == 'percent' else 'abs'}"
        )
    if rule.measure == "change_from_baseline":
        terms.append({"protocol": protocol.id})
    if rule.measure == "change_within":
        terms.append({"within": rule.within})
    if rule.measure == "coded":
        assert rule.values is not None
        terms.append(_either([{"code": v} for v in rule.values]))
    else:
        assert rule.op is not None
        low, high, value = rule.lower, rule.upper, rule.value
        canonical = [None if x is None else threshold(rule, x) for x in (low, high, value)]
        inclusive = rule.upper_inclusive
        comparison = _comparison(rule.op, target, *canonical, upper_inclusive=inclusive)
        if rule.equivalents:
            units = [str(parse_unit(e.unit)) for e in rule.equivalents]
            branches: list[dict[str, Any]] = [
                {
                    "$and": [
                        {"u": unit},
                        *_comparison(
                            rule.op, "orig", *_equivalent_limits(rule, e), upper_inclusive=inclusive
                        ),
                    ]
                }
                for unit, e in zip(units, rule.equivalents, strict=True)
            ]
            others = [{"$neq": {"u": unit}} for unit in units]
            branches.append({"$and": [*others, *comparison]})
            terms.append({"$or": branches})
        else:
            terms.extend(comparison)
    for condition in rule.unless_conditions:
        terms.append({condition_field(condition): 0})
    if rule.sex is not None:
        terms.append({"sex": rule.sex})
    if rule.ethnicity_in:
        terms.append(
            _either([{"eth": e} for e in sorted(vocab.expand_ethnicities(rule.ethnicity_in))])
        )
    for excluded in sorted(vocab.expand_ethnicities(rule.ethnicity_not_in or [])):
        terms.append({"$neq": {"eth": excluded}})
    if rule.drugs:  # results from the drug's baseline on, or during treatment only
        prefix = "on" if rule.results == "on_treatment" else "from"
        terms.append(_either([{f"{prefix}_{drug}": 1} for drug in rule.drugs]))
    if rule.min_age_years is not None:
        terms.append({"$gte": {"age": rule.min_age_years}})
    if rule.max_age_years is not None:
        terms.append({"$lte": {"age": rule.max_age_years}})
    return {"$and": terms}


def condition_field(condition_set: str) -> str:
    """The fact field flagging a condition set (1 present, 0 not recorded)."""
    return f"c_{condition_set}"


def _equivalent_limits(
    rule: AlertRule, equivalent: Equivalent
) -> tuple[float | None, float | None, float | None]:
    """(lower, upper, value) of an equivalent; a range bound left out is the rule's own bound
    converted to the equivalent's unit."""
    if rule.op != "range":
        return None, None, equivalent.value

    def bound(given: float | None, own: float | None) -> float | None:
        if given is not None or own is None or rule.analyte is None:
            return given
        entry = vocab.analyte(rule.analyte)
        assert entry.unit is not None
        return float(convert(threshold(rule, own), entry.unit, equivalent.unit, entry.substance))

    return bound(equivalent.lower, rule.lower), bound(equivalent.upper, rule.upper), None


def _comparison(
    op: str,
    target: str,
    lower: float | None,
    upper: float | None,
    value: float | None,
    *,
    upper_inclusive: bool = False,
) -> list[dict[str, Any]]:
    """Conditions comparing fact field ``target`` with a threshold (or a [lower, upper) range,
    [lower, upper] when ``upper_inclusive``)."""
    if op == "range":
        assert lower is not None and upper is not None
        return [{"$gte": {target: lower}}, {"$lte" if upper_inclusive else "$lt": {target: upper}}]
    assert value is not None
    return [{_OPERATORS[op]: {target: value}}]


def needs_of(protocols: Sequence[Protocol]) -> Needs:
    """The facts the alert rules of ``protocols`` can match."""
    needs = Needs()
    for protocol in protocols:
        for rule in protocol.alerts:
            needs.conditions.update(rule.unless_conditions)
            if rule.measure == "score":
                assert rule.model is not None
                needs.scores.add(rule.model)
            elif rule.measure == "change_from_baseline":
                assert rule.analyte is not None
                needs.baseline.add((protocol.id, rule.analyte))
            elif rule.measure == "change_within":
                assert rule.analyte is not None and rule.within is not None
                needs.within.add((rule.analyte, rule.within))
            else:
                assert rule.analyte is not None
                needs.latest.add(rule.analyte)
    return needs


class _Host(durable.Host):  # type: ignore[misc]
    """durable-rules host whose actions are looked up in the compiled rulesets.

    It starts no background dispatcher: durable's Host re-arms two timer threads every 0.2 s
    that call into every registered ruleset (for timers and asynchronous actions), outside
    any lock of ours, concurrently with evaluations. cvrisk uses neither: every action runs
    synchronously inside ``assert_facts``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.actions: dict[str, Callable[[Any], None]] = {}

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self.actions[action_name]

    def unregister(self, name: str) -> None:
        """Remove a ruleset from the host and free its engine state.

        durable-rules 2.0 has no public API for this; the Host keeps its rulesets in
        ``_ruleset_directory`` and ``_ruleset_list`` and the C core frees one with
        ``delete_ruleset`` (the package is pinned below 3 and unmaintained since 2020).
        """
        ruleset = self._ruleset_directory.pop(name, None)
        if ruleset is None:
            return
        self._ruleset_list.remove(ruleset)
        durable_rules_engine.delete_ruleset(ruleset._handle)


_LOCK = threading.RLock()
_HOST: _Host | None = None
#: (action, fact id) fired by the Python actions, when facts go through ``Host.assert_facts``
#: (the reference path tests compare :func:`run` with; :func:`run` itself runs no action)
_FIRED: list[tuple[str, str]] = []

#: Compiled rulesets kept at once (least recently used evicted first). Each distinct set of
#: protocol contents is one ruleset; the shipped protocols need a handful.
MAX_RULESETS = 64


def _noop(_context: Any) -> None:
    return None


def _host() -> _Host:
    global _HOST
    if _HOST is None:
        _HOST = _Host()
        _HOST.actions["noop"] = _noop
    return _HOST


@dataclass(frozen=True)
class Ruleset:
    """A compiled set of protocols: its durable-rules name and rules by action name.

    ``fields``: the fact fields its conditions read (with ``id`` and ``t``); only those are
    sent to the engine, since a field no condition names cannot change what fires.
    """

    name: str
    rules: dict[str, CompiledRule]
    needs: Needs
    protocols: tuple[Protocol, ...]
    fields: frozenset[str] = frozenset()
    #: the action of each durable-rules rule, by rule name (the catch-alls run ``noop``)
    actions: dict[str, str] = field(default_factory=dict)


def condition_fields(condition: Any) -> set[str]:
    """The fact fields a durable-rules condition reads: the keys that are not operators
    (``$and``, ``$or`` hold lists of conditions; ``$gt``, ``$neq``... hold ``{field: value}``)."""
    out: set[str] = set()
    if isinstance(condition, list):
        for item in condition:
            out |= condition_fields(item)
    elif isinstance(condition, dict):
        for key, value in condition.items():
            if key in ("$and", "$or") or key.startswith("$"):
                out |= condition_fields(value)
            else:
                out.add(key)
    return out


#: Compiled rulesets by the protocols' content (their fingerprint), least recently used first.
_BY_CONTENT: OrderedDict[str, Ruleset] = OrderedDict()
#: The fast path: by the ids of the protocol objects, holding the objects themselves so that
#: no other object can take their ids while the entry exists (ids are unique among live
#: objects only: a freed protocol's id is soon reused by another one).
_BY_OBJECTS: OrderedDict[tuple[int, ...], tuple[tuple[Protocol, ...], Ruleset]] = OrderedDict()


def _fingerprint(protocols: Sequence[Protocol]) -> str:
    text = "|".join(p.model_dump_json() for p in sorted(protocols, key=lambda p: p.id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def compile_ruleset(protocols: Sequence[Protocol]) -> Ruleset:
    """Compile (once per distinct content) the alert rules of ``protocols`` into durable-rules.

    Two caches, both bounded: by the protocol objects themselves (cheap, the usual path:
    shipped protocols are loaded once), then by the protocols' content (a reloaded but
    identical local file reuses the compiled ruleset). A cached entry is only ever returned
    for the very objects, or the very content, it was compiled from.
    """
    ordered = tuple(sorted(protocols, key=id))
    objects = tuple(id(p) for p in ordered)
    with _LOCK:
        hit = _BY_OBJECTS.get(objects)
        if hit is not None and all(a is b for a, b in zip(hit[0], ordered, strict=True)):
            _BY_OBJECTS.move_to_end(objects)
            _BY_CONTENT.move_to_end(hit[1].name.removeprefix("cvrisk_"))
            return hit[1]
        key = _fingerprint(protocols)
        ruleset = _BY_CONTENT.get(key)
        if ruleset is None:
            ruleset = _compile(key, protocols)
            _BY_CONTENT[key] = ruleset
        _BY_CONTENT.move_to_end(key)
        while len(_BY_CONTENT) > MAX_RULESETS:
            _evict(next(iter(_BY_CONTENT)))
        _BY_OBJECTS[objects] = (ordered, ruleset)
        while len(_BY_OBJECTS) > 4 * MAX_RULESETS:
            _BY_OBJECTS.popitem(last=False)
        return ruleset


def _compile(key: str, protocols: Sequence[Protocol]) -> Ruleset:
    name = f"cvrisk_{key}"
    rules: dict[str, CompiledRule] = {}
    definition: dict[str, Any] = {}
    for protocol in sorted(protocols, key=lambda p: p.id):
        for rule in protocol.alerts:
            action = f"{name}_a{len(rules)}"
            condition = rule_condition(protocol, rule)
            rules[action] = CompiledRule(protocol, rule, condition)
            definition[f"r{len(rules)}"] = {"all": [{"m": condition}], "run": action}
    actions = {rule_name: str(rule["run"]) for rule_name, rule in definition.items()}
    for kind in FACT_TYPES:
        definition[f"seen_{kind}"] = {"all": [{"m": {"t": kind}}], "run": "noop"}
    host = _host()
    for action in rules:
        host.actions[action] = _recorder(action)
    host.set_rulesets({name: definition})
    fields = {"id", "t"}.union(*(condition_fields(r.condition) for r in rules.values()))
    return Ruleset(name, rules, needs_of(protocols), tuple(protocols), frozenset(fields), actions)


def _evict(key: str) -> None:
    """Forget a compiled ruleset: its cache entries, its actions and its engine state."""
    ruleset = _BY_CONTENT.pop(key)
    for objects in [k for k, (_, r) in _BY_OBJECTS.items() if r is ruleset]:
        del _BY_OBJECTS[objects]
    host = _host()
    for action in ruleset.rules:
        host.actions.pop(action, None)
    host.unregister(ruleset.name)


def _recorder(action: str) -> Callable[[Any], None]:
    """The action of one compiled rule: note which rule fired on which fact."""

    def record(context: Any) -> None:
        _FIRED.append((action, str(context.m.id)))

    return record


def run(ruleset: Ruleset, facts: list[dict[str, Any]]) -> list[tuple[CompiledRule, str]]:
    """Assert ``facts`` in a fresh session; return each fired rule with its fact id, in the
    order the engine fires them.

    The facts are matched by the durable-rules C engine, driven directly (:func:`_fire`)
    rather than through ``Host.assert_facts``, whose per-firing Python machinery (a closure,
    the session state encoded to JSON and written back, two clock reads) cost about 35 µs a
    firing, most of an evaluation's rule time. Each fact is sent with only the fields the
    ruleset's conditions read (``Ruleset.fields``). tests/rules/test_engine_driver.py checks
    that both give the firings of ``Host.assert_facts`` on the full facts.

    Raises:
        EngineError: the engine reported an error (a bug, not bad input).
    """
    if not facts or not ruleset.rules:
        return []
    fields = ruleset.fields
    with _LOCK:
        handle = _host().get_ruleset(ruleset.name)._handle
        sid = uuid.uuid4().hex
        sent = [{"sid": sid, **{k: v for k, v in f.items() if k in fields}} for f in facts]
        try:
            fired = _fire(handle, sent)
        finally:
            try:
                durable_rules_engine.delete_state(handle, sid)
            except Exception as exc:  # pragma: no cover - engine internals
                raise EngineError(f"durable-rules could not delete session state: {exc}") from exc
    return [
        (ruleset.rules[ruleset.actions[name]], fact_id)
        for name, fact_id in fired
        if name in ruleset.actions  # not the catch-alls
    ]


#: durable-rules' answers to an assertion (``Ruleset._handle_result`` in durable/engine.py)
_NOT_HANDLED, _OBSERVED, _QUEUED = 1, 2, 3


def _fire(handle: int, facts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Assert ``facts`` in the C engine and take each firing it schedules: (rule name, fact
    id), in order. What ``Host.assert_facts`` does, without running Python actions: a
    message not handled fires nothing (like ``MessageNotHandledException``, which the
    catch-all rules prevent); a duplicate raises ``MessageObservedException`` as durable does.
    """
    code, state = durable_rules_engine.assert_facts(handle, encode_facts(facts))
    if code == _NOT_HANDLED:
        return []
    if code == _OBSERVED:
        raise durable.MessageObservedException(facts)
    if code == _QUEUED:
        state = 0
    fired: list[tuple[str, str]] = []
    started = durable_rules_engine.start_action_for_state(handle, state)
    message = started[1] if started else None
    while message:
        fired.extend(_firings(message))
        message = durable_rules_engine.complete_and_start_action(handle, state)
    return fired


def _plain_float(value: float) -> bool:
    """True when ``repr(value)`` is a plain decimal (no exponent: 1e-4 <= |value| < 1e16)."""
    return value == 0.0 or 1e-4 <= abs(value) < 1e16


def encode_facts(facts: list[dict[str, Any]]) -> str:
    """The JSON array of flat facts for the C engine, every number written as a plain decimal.

    durable-rules' JSON parser does not read exponents: a number such as ``1e-05`` (how
    Python writes 0.00001) in a fact crashes the process with a segmentation fault (seen on
    2.0.28 in every fact type, read by a condition or not). Floats Python would write with
    an exponent are written positionally instead (``0.00001``, the same value); the rest is
    ``json.dumps``, as durable's ``Host.assert_facts`` encodes it.

    Raises:
        EngineError: a fact holds a number that is not finite (NaN, infinity).
    """
    unusual = [
        (fact["id"], name, value)
        for fact in facts
        for name, value in fact.items()
        if type(value) is float and not _plain_float(value)
    ]
    if not unusual:
        return json.dumps(facts, ensure_ascii=False)
    for fact_id, name, value in unusual:
        if not math.isfinite(value):
            raise EngineError(f"fact {fact_id} has {name} = {value!r}: not a finite number")
    return "[" + ", ".join(_encode_fact(fact) for fact in facts) + "]"


def _encode_fact(fact: dict[str, Any]) -> str:
    parts = []
    for name, value in fact.items():
        if type(value) is float and not _plain_float(value):
            text = format(decimal.Decimal(repr(value)), "f")
            token = text if "." in text else f"{text}.0"  # stays a float for the engine
        else:
            token = json.dumps(value, ensure_ascii=False)
        parts.append(f"{json.dumps(name, ensure_ascii=False)}: {token}")
    return "{" + ", ".join(parts) + "}"


#: The head of a firing message as the C engine writes it, e.g.
#: ``{"r3":{"m":{"sid": "5f0c...", "id": "f2", ...}}}``: rule names, session ids and fact ids
#: are cvrisk's own (``r<n>``/``seen_<type>``, hex, ``f<n>``), never escaped.
_FIRING = re.compile(r'\{"([A-Za-z0-9_]+)":\{"m":\{"sid": "[0-9a-f]+", "id": "(f[0-9]+)"[,}]')


def _firings(message: str) -> list[tuple[str, str]]:
    """(rule name, fact id) of one firing message: its first rule, as durable's
    ``_flush_actions`` takes it; read from the head when it has the shape above (decoding
    the fact it echoes is most of the cost), else decoded whole."""
    head = _FIRING.match(message)
    if head is not None:
        return [(head.group(1), head.group(2))]
    name, frame = next(iter(json.loads(message).items()))
    return [(name, str(frame["m"]["id"]))]
