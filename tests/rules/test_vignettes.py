"""Clinical vignettes: one or more per protocol item, written from the guideline text.

Each vignette (tests/vignettes/<protocol>.toml) is a record, an evaluation date and the
tests/alerts the guideline item implies (optional: ``scores``, ``score_inputs`` and
``record_complete``, passed to evaluate). The harness evaluates the record with that protocol
only and checks every expectation: ``expect_tests`` (rule, status, due date), ``expect.alerts``
and ``expect.no_alerts``, ``expect.no_tests``, ``expect.issues`` and ``expect.no_issues`` (data
issue kinds), ``expect.issue_rules`` (rule ids that data issues of the protocol name),
``expect.messages`` (alert rule -> a phrase its English message contains),
``expect.lead`` (alert rule -> the roles that lead its action, in order). A protocol's
``[ends]`` and ``[after_stop]`` tables are items too (``item = "ends"``, ``"after_stop"``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cvrisk.rules.catalog import shipped_protocols
from cvrisk.rules.evaluate import evaluate

VIGNETTES = Path(__file__).resolve().parent.parent / "vignettes"


def _load() -> list[Any]:
    cases = []
    for path in sorted(VIGNETTES.glob("*.toml")):
        protocol = path.stem
        for vignette in tomllib.loads(path.read_text(encoding="utf-8"))["vignette"]:
            cases.append(pytest.param(protocol, vignette, id=f"{protocol}:{vignette['id']}"))
    return cases


CASES = _load()


def test_every_protocol_has_vignettes() -> None:
    covered = {case.values[0] for case in CASES}
    assert covered == set(shipped_protocols())


def test_every_rule_has_a_vignette() -> None:
    items: dict[str, set[str]] = {}
    for case in CASES:
        protocol, vignette = case.values
        items.setdefault(protocol, set()).add(vignette["item"])
    for protocol_id, protocol in shipped_protocols().items():
        rule_ids = {i.id for i in protocol.schedule} | {a.id for a in protocol.alerts}
        if protocol.ends is not None:
            rule_ids.add("ends")
        if protocol.after_stop is not None:
            rule_ids.add("after_stop")
        missing = rule_ids - items.get(protocol_id, set())
        assert not missing, f"{protocol_id}: no vignette for {sorted(missing)}"


@pytest.mark.parametrize(("protocol", "vignette"), CASES)
def test_vignette(protocol: str, vignette: dict[str, Any]) -> None:
    report = evaluate(
        vignette["record"],
        as_of=dt.date.fromisoformat(vignette["as_of"]),
        protocols=[protocol],
        scores=vignette.get("scores", []),
        score_inputs=vignette.get("score_inputs"),
        record_complete=vignette.get("record_complete", False),
    )
    # every request, also those merged into another protocol item's entry for the same test
    tests = {request.rule: request for entry in report.tests for request in entry.requested_by}
    for expected in vignette.get("expect_tests", []):
        rule = expected["rule"]
        assert rule in tests, f"{rule} not in report.tests: {sorted(tests)}"
        entry = tests[rule]
        if "status" in expected:
            assert entry.status == expected["status"], (rule, entry)
        if "due_date" in expected:
            assert entry.due_date.isoformat() == expected["due_date"], (rule, entry)
    expect = vignette.get("expect", {})
    fired = {alert.rule for alert in report.alerts}
    for rule in expect.get("alerts", []):
        assert rule in fired, f"alert {rule} did not fire; fired: {sorted(fired)}"
    for rule in expect.get("no_alerts", []):
        assert rule not in fired, f"alert {rule} fired but must not"
    for rule in expect.get("no_tests", []):
        assert rule not in tests, f"{rule} is in report.tests but must not be: {tests[rule]}"
    kinds = {issue.kind for issue in report.data_issues if issue.protocol in (None, protocol)}
    for kind in expect.get("issues", []):
        assert kind in kinds, f"no {kind} data issue; issues: {report.data_issues}"
    for kind in expect.get("no_issues", []):
        assert kind not in kinds, f"{kind} data issue must not be reported: {report.data_issues}"
    named = {issue.rule for issue in report.data_issues if issue.protocol == protocol}
    for rule in expect.get("issue_rules", []):
        assert rule in named, f"no data issue names {rule}: {report.data_issues}"
    alerts = {alert.rule: alert for alert in report.alerts}
    for rule, text in expect.get("messages", {}).items():
        assert rule in alerts, f"alert {rule} did not fire; fired: {sorted(alerts)}"
        assert text in alerts[rule].message, (rule, alerts[rule].message)
    for rule, roles in expect.get("lead", {}).items():
        assert rule in alerts, f"alert {rule} did not fire; fired: {sorted(alerts)}"
        assert [lead.role for lead in alerts[rule].lead] == roles, (rule, alerts[rule].lead)
