"""Compilation of alert rules into durable-rules, and evaluate()'s alert behaviour."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cvrisk.errors import ProtocolError
from cvrisk.rules.catalog import get_protocol, load_protocol_file
from cvrisk.rules.engine import rule_condition, threshold
from cvrisk.rules.evaluate import evaluate

AS_OF = dt.date(2025, 6, 1)


def _record(*observations: dict[str, Any], ethnicity: str = "white") -> dict[str, Any]:
    return {
        "patient": {"id": "t", "birth_date": "1975-01-01", "sex": "male", "ethnicity": ethnicity},
        "medications": [{"drug": "olanzapine", "start": "2025-01-01"}],
        "observations": list(observations),
    }


def _alerts(record: dict[str, Any], protocol: str = "nice-cg178") -> set[str]:
    report = evaluate(record, as_of=AS_OF, protocols=[protocol], scores=[])
    return {a.rule for a in report.alerts}


def test_thresholds_are_compiled_in_the_canonical_unit() -> None:
    rule = next(
        a for a in get_protocol("clozapine-fda").alerts if a.unit == "/uL" and a.op == "range"
    )
    assert rule.lower is not None
    assert threshold(rule, rule.lower) == pytest.approx(rule.lower / 1000)  # /uL -> 10*9/L
    condition = rule_condition(get_protocol("clozapine-fda"), rule)
    assert {"t": "latest"} in condition["$and"] and {"analyte": "neutrophils"} in condition["$and"]


@pytest.mark.parametrize(
    ("value", "unit"),
    [(48, "mmol/mol"), (6.6, "%"), (7.0, "%")],
)
def test_hba1c_in_percent_or_mmol_per_mol_triggers_the_same_alert(value: float, unit: str) -> None:
    obs = {"analyte": "hba1c", "value": value, "unit": unit, "date": "2025-05-01"}
    assert "hba1c-diabetes" in _alerts(_record(obs))


def test_the_guideline_equivalent_decides_for_results_in_its_unit() -> None:
    # Lester: diabetes HbA1c >= 48 mmol/mol (>= 6.5 %). 6.5 % converts to 47.5 mmol/mol by
    # the master equation; the rule's stated equivalent (6.5 %) decides for a result in %.
    at = {"analyte": "hba1c", "value": 6.5, "unit": "%", "date": "2025-05-01"}
    below = {"analyte": "hba1c", "value": 6.4, "unit": "%", "date": "2025-05-01"}
    assert _alerts(_record(at)) & {"hba1c-diabetes", "hba1c-high-risk"} == {"hba1c-diabetes"}
    assert _alerts(_record(below)) & {"hba1c-diabetes", "hba1c-high-risk"} == {"hba1c-high-risk"}
    mmol = {"analyte": "hba1c", "value": 47.9, "unit": "mmol/mol", "date": "2025-05-01"}
    assert _alerts(_record(mmol)) & {"hba1c-diabetes", "hba1c-high-risk"} == {"hba1c-high-risk"}


def test_lower_bmi_threshold_only_for_south_asian_and_chinese_people() -> None:
    obs = {"analyte": "bmi", "value": 24, "unit": "kg/m2", "date": "2025-05-01"}
    assert "bmi-23-asian" in _alerts(_record(obs, ethnicity="pakistani"))
    assert "bmi-23-asian" in _alerts(_record(obs, ethnicity="chinese"))
    assert not _alerts(_record(obs, ethnicity="white")) & {"bmi-23-asian", "bmi-25"}


def test_alert_cites_rule_source_and_evidence() -> None:
    obs = {"analyte": "sbp", "value": 150, "unit": "mm[Hg]", "date": "2025-05-01"}
    report = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    alert = next(a for a in report.alerts if a.rule == "sbp-140")
    assert alert.code == "nice-cg178/sbp-140" and alert.source
    assert alert.evidence[0].value == 150 and alert.evidence[0].date == dt.date(2025, 5, 1)
    assert "150" in alert.message


def test_french_messages() -> None:
    obs = {"analyte": "sbp", "value": 150, "unit": "mm[Hg]", "date": "2025-05-01"}
    report = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[], lang="fr")
    alert = next(a for a in report.alerts if a.rule == "sbp-140")
    en = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert alert.message != next(a for a in en.alerts if a.rule == "sbp-140").message
    assert all(
        "avant" in t.reason or "après" in t.reason or "tous les" in t.reason for t in report.tests
    )


def test_results_after_the_evaluation_date_are_reported_not_used() -> None:
    obs = {"analyte": "sbp", "value": 150, "unit": "mm[Hg]", "date": "2025-07-01"}
    report = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    assert not report.alerts
    assert any(i.kind == "excluded" for i in report.data_issues)


def test_missing_baseline_is_a_data_issue() -> None:
    later = {"analyte": "weight", "value": 80, "unit": "kg", "date": "2025-05-01"}
    report = evaluate(_record(later), as_of=AS_OF, protocols=["ada-apa-2004"], scores=[])
    assert any(i.kind == "missing" and i.field == "weight" for i in report.data_issues)


def test_invalid_protocol_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "local.toml"
    bad.write_text(
        'schema_version = 1\nid = "local"\nversion = "1"\ntitle = "t"\njurisdiction = "GB"\n'
        'citation = "c"\nverification = "v"\n'
        '[applies_to]\ndrugs = ["olanzapine"]\nsource = "s"\n'
        '[[schedule]]\nid = "w"\ntest = "weigth"\nbaseline = true\nsource = "s"\n'
        'status = "confirmed"\n'
    )
    with pytest.raises(ProtocolError, match=r"schedule\.0\.test.*unknown test 'weigth'"):
        load_protocol_file(bad)


_HEADER = (
    'schema_version = 1\nid = "local"\nversion = "1"\ntitle = "t"\njurisdiction = "GB"\n'
    'citation = "c"\nverification = "v"\n[applies_to]\ndrugs = ["olanzapine"]\nsource = "s"\n'
    '[[schedule]]\nid = "w"\ntest = "weight"\nbaseline = true\nsource = "s"\n'
    'status = "confirmed"\n'
)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[ends]\nafter = "one year"\nmessage.en = "m"\nsource = "s"\nstatus = "confirmed"\n',
            r"ends\.after",
        ),
        ('[ends]\nafter = "P1Y"\nsource = "s"\nstatus = "confirmed"\n', r"ends\.message"),
        (
            '[[alerts]]\nid = "a"\nseverity = "info"\nmeasure = "coded"\n'
            'analyte = "smoking_status"\n'
            'values = ["current"]\nmessage.en = "m"\nsource = "s"\nstatus = "confirmed"\n'
            'lead = [{ role = "nurse", leads = "physical_health_interventions", source = "s", '
            'status = "confirmed" }]\n',
            r"alerts\.0\.lead\.0\.role",
        ),
    ],
)
def test_invalid_ends_and_lead_name_the_field(tmp_path: Path, extra: str, problem: str) -> None:
    bad = tmp_path / "local.toml"
    bad.write_text(_HEADER + extra)
    with pytest.raises(ProtocolError, match=problem):
        load_protocol_file(bad)


def test_a_local_protocol_may_end(tmp_path: Path) -> None:
    local = tmp_path / "local.toml"
    local.write_text(
        _HEADER + '[ends]\nafter = "P3M"\nmessage.en = "review the plan"\n'
        'message.fr = "revoir le plan"\nsource = "local"\nstatus = "confirmed"\n'
    )
    before = evaluate(_record(), as_of=dt.date(2025, 3, 31), protocols=[str(local)], scores=[])
    assert not [i for i in before.data_issues if i.kind == "protocol_ended"]
    after = evaluate(_record(), as_of=dt.date(2025, 4, 1), protocols=[str(local)], scores=[])
    (ended,) = [i for i in after.data_issues if i.kind == "protocol_ended"]
    assert ended.message == (
        "local: its schedule ended on 2025-04-01, 3 months after the start of the current "
        "treatment, and nothing more is scheduled; review the plan"
    )


def test_local_protocol_file(tmp_path: Path) -> None:
    local = tmp_path / "local.toml"
    local.write_text(
        'schema_version = 1\nid = "local"\nversion = "1"\ntitle = "Local weight check"\n'
        'jurisdiction = "GB"\ncitation = "Local policy"\nverification = "local"\n'
        '[applies_to]\ndrugs = ["olanzapine"]\nsource = "local policy"\n'
        '[[schedule]]\nid = "w"\ntest = "weight"\nfollowups = ["P2W"]\nsource = "local"\n'
        'status = "confirmed"\n'
        '[[alerts]]\nid = "heavy"\nseverity = "info"\nmeasure = "latest"\nanalyte = "weight"\n'
        'op = ">="\nvalue = 100\nunit = "kg"\nmessage.en = "Weight {value} kg"\nsource = "local"\n'
        'status = "confirmed"\n'
    )
    obs = {"analyte": "weight", "value": 101, "unit": "kg", "date": "2025-01-10"}
    report = evaluate(_record(obs), as_of=dt.date(2025, 1, 16), protocols=[str(local)], scores=[])
    assert [(t.rule, t.status, t.due_date) for t in report.tests] == [
        ("w", "due", dt.date(2025, 1, 15))
    ]
    assert [a.message for a in report.alerts] == ["Weight 101 kg"]


def test_protocol_schema_doc_is_up_to_date() -> None:
    from cvrisk.record import dumps_schema
    from cvrisk.rules.schema import Protocol

    committed = Path(__file__).resolve().parents[2] / "docs" / "protocol.schema.json"
    assert committed.read_text(encoding="utf-8") == dumps_schema(Protocol.model_json_schema()), (
        "docs/protocol.schema.json is out of date: run "
        "`cvrisk schema protocol > docs/protocol.schema.json`"
    )


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (126, "mg/dL", "fpg-diabetes"),
        (125, "mg/dL", "fpg-high-risk"),
        (7.0, "mmol/L", "fpg-diabetes"),
    ],
)
def test_fasting_glucose_in_mg_per_dl_follows_the_printed_equivalent(
    value: float, unit: str, expected: str
) -> None:
    obs = {"analyte": "fasting_glucose", "value": value, "unit": unit, "date": "2025-05-01"}
    report = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    fired = {a.rule: a for a in report.alerts}
    assert set(fired) & {"fpg-diabetes", "fpg-high-risk"} == {expected}
    assert f"{value:g} {unit}" in fired[expected].message  # quoted as reported


def test_hba1c_message_quotes_the_value_as_reported() -> None:
    obs = {"analyte": "hba1c", "value": 6.5, "unit": "%", "date": "2025-05-01"}
    report = evaluate(_record(obs), as_of=AS_OF, protocols=["nice-cg178"], scores=[])
    (alert,) = [a for a in report.alerts if a.rule == "hba1c-diabetes"]
    # and approximately in the unit of its thresholds (6.5 % is 47.5 mmol/mol, published as 48)
    assert alert.message.startswith("HbA1c 6.5 % (≈ 48 mmol/mol) is at or above 48 mmol/mol")


def test_no_pre_diabetes_alert_for_people_with_diabetes() -> None:
    obs = {"analyte": "hba1c", "value": 44, "unit": "mmol/mol", "date": "2025-05-01"}
    without = _record(obs)
    with_diabetes = {**without, "conditions": [{"code": "E11.9", "system": "icd10"}]}
    assert "hba1c-high-risk" in _alerts(without)
    assert "hba1c-high-risk" not in _alerts(with_diabetes)
    resolved = {
        **without,
        "conditions": [
            {"code": "E11.9", "system": "icd10", "onset": "2010-01-01", "abatement": "2012-01-01"}
        ],
    }
    assert "hba1c-high-risk" in _alerts(resolved)


def test_an_alert_asking_for_a_repeat_test_adds_it_to_the_tests() -> None:
    record = {
        "patient": {"id": "c", "birth_date": "1980-01-01", "sex": "male"},
        "medications": [{"drug": "clozapine", "start": "2024-01-01"}],
        "observations": [
            {"analyte": "neutrophils", "value": 1.2, "unit": "10*9/L", "date": "2025-05-30"},
            {"analyte": "wbc", "value": 4.0, "unit": "10*9/L", "date": "2025-05-30"},
        ],
    }
    report = evaluate(record, as_of=AS_OF, protocols=["clozapine-uk"], scores=[])
    (recheck,) = [t for t in report.tests if t.rule == "fbc-red-neutrophils"]
    assert (recheck.test, recheck.due_date, recheck.status) == (
        "fbc",
        dt.date(2025, 5, 31),
        "overdue",
    )
    assert "x10^9/L" in next(a.message for a in report.alerts if a.rule == "fbc-red-neutrophils")


def _clozapine_record() -> dict[str, Any]:
    return {
        "patient": {"id": "c", "birth_date": "1980-01-01", "sex": "male"},
        "medications": [{"drug": "clozapine", "start": "2025-01-01"}],
        "observations": [],
    }


def test_several_jurisdictions_are_flagged() -> None:
    report = evaluate(_clozapine_record(), as_of=AS_OF, scores=[])
    (several,) = [i for i in report.data_issues if i.kind == "several_jurisdictions"]
    assert several.severity == "warning"  # differing national advice is not a footnote
    gb = evaluate(_clozapine_record(), as_of=AS_OF, scores=[], jurisdiction="GB")
    assert "several_jurisdictions" not in [i.kind for i in gb.data_issues]


def test_drug_specific_monitoring_not_selected_is_flagged() -> None:
    fr = evaluate(_clozapine_record(), as_of=AS_OF, scores=[], jurisdiction="FR")
    (issue,) = [i for i in fr.data_issues if i.kind == "no_protocol" and i.field == "clozapine"]
    assert "clozapine-uk" in issue.message and "clozapine-fda" in issue.message
    assert any(i.protocol == "afssaps-2010" for i in fr.data_issues)  # no thresholds: said so


def test_no_antipsychotic_says_so() -> None:
    record = {**_clozapine_record(), "medications": []}
    report = evaluate(record, as_of=AS_OF, scores=[])
    assert [i.kind for i in report.data_issues] == ["no_protocol"]


def test_evaluate_dates_and_options_are_checked() -> None:
    from cvrisk.errors import OptionError

    record = _record()
    as_text = evaluate(record, as_of="2025-06-01", protocols=["nice-cg178"], scores=[])  # type: ignore[arg-type]
    assert as_text.as_of == AS_OF
    with pytest.raises(OptionError, match="not a date"):
        evaluate(record, as_of="tomorrow", scores=[])  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="ISO 3166"):
        evaluate(record, as_of=AS_OF, jurisdiction="England", scores=[])
    with pytest.raises(OptionError, match="unknown models"):
        evaluate(record, as_of=AS_OF, score_inputs={"qrsk3": {"smoking": "non"}})


def test_default_scores_follow_the_jurisdiction_and_the_age() -> None:
    record = {
        "patient": {"id": "s", "birth_date": "1970-01-01", "sex": "male", "ethnicity": "white"},
        "medications": [{"drug": "olanzapine", "start": "2025-01-01"}],
        "observations": [],
    }

    def models(jurisdiction: str | None) -> list[str]:
        report = evaluate(record, as_of=AS_OF, jurisdiction=jurisdiction)
        return sorted(s.model for s in report.scores)

    assert models(None) == ["qrisk3"]
    assert models("GB") == ["qrisk3"]
    assert models("US") == ["pce", "prevent"]
    assert models("FR") == ["score2"]  # 55 years: SCORE2-OP (70-89) does not fit


@pytest.mark.parametrize(("crp_date", "fires"), [("2025-04-20", False), ("2025-05-08", True)])
def test_drug_specific_alerts_look_at_results_during_that_drug(crp_date: str, fires: bool) -> None:
    record = {
        "patient": {"id": "m", "birth_date": "1985-01-01", "sex": "female"},
        "medications": [{"drug": "clozapine", "start": "2025-05-01"}],
        "observations": [{"analyte": "crp", "value": 60, "unit": "mg/L", "date": crp_date}],
    }
    report = evaluate(record, as_of=dt.date(2025, 5, 10), protocols=["clozapine-uk"], scores=[])
    fired = "myocarditis-crp-raised" in {a.rule for a in report.alerts}
    rechecks = [t for t in report.tests if t.rule == "myocarditis-crp-raised"]
    assert fired is fires and bool(rechecks) is fires
    assert all(t.due_date >= dt.date(2025, 5, 1) for t in report.tests)


@pytest.mark.parametrize(
    ("protocol", "rule"),
    [("clozapine-uk", "fbc-red-neutrophils"), ("clozapine-fda", "anc-mild-neutropenia")],
)
def test_a_low_count_just_before_clozapine_starts_is_flagged(protocol: str, rule: str) -> None:
    record = {
        "patient": {"id": "b", "birth_date": "1985-01-01", "sex": "male"},
        "medications": [{"drug": "clozapine", "start": "2025-05-25"}],
        "observations": [
            {"analyte": "neutrophils", "value": 1.2, "unit": "10*9/L", "date": "2025-05-24"},
            {"analyte": "wbc", "value": 4.0, "unit": "10*9/L", "date": "2025-05-24"},
        ],
    }
    report = evaluate(record, as_of=dt.date(2025, 5, 26), protocols=[protocol], scores=[])
    assert rule in {a.rule for a in report.alerts}
    (recheck,) = [t for t in report.tests if t.rule == rule]
    assert recheck.due_date == dt.date(2025, 5, 25)  # not before the start


def test_coverage_gaps_are_reported() -> None:
    child = {
        "patient": {"id": "k", "birth_date": "2012-01-01", "sex": "female"},
        "medications": [{"drug": "risperidone", "start": "2025-01-01"}],
        "observations": [],
    }
    gb = evaluate(child, as_of=AS_OF, jurisdiction="GB", scores=[])
    assert "nice-cg155" in gb.protocols and "nice-cg178" not in gb.protocols
    assert not any("at age" in i.message for i in gb.data_issues)  # CG155 covers children
    adult = {**child, "patient": {"id": "a", "birth_date": "1980-01-01", "sex": "female"}}
    ca = evaluate(adult, as_of=AS_OF, jurisdiction="CA", scores=[])
    (gap,) = [i for i in ca.data_issues if "at age" in i.message]
    assert "at age 45" in gap.message and "camesa-2011 (ages 17 and under)" in gap.message
    haloperidol = {**_record(), "medications": [{"drug": "haloperidol", "start": "2025-01-01"}]}
    us = evaluate(haloperidol, as_of=AS_OF, jurisdiction="US", scores=[])
    assert any(i.field == "haloperidol" for i in us.data_issues)
    uk = evaluate(_record(), as_of=AS_OF, jurisdiction="UK", scores=[])
    assert "nice-cg178" in uk.protocols  # UK is the ISO-reserved alias of GB
    de = evaluate(_record(), as_of=AS_OF, jurisdiction="DE", scores=[])
    assert any("jurisdiction DE" in i.message for i in de.data_issues)


def test_scores_are_reported_without_an_antipsychotic_and_age_gaps_said() -> None:
    record = {**_clozapine_record(), "medications": []}
    assert [s.model for s in evaluate(record, as_of=AS_OF, jurisdiction="GB").scores] == ["qrisk3"]
    young = {**record, "patient": {"id": "y", "birth_date": "1990-01-01", "sex": "male"}}
    fr = evaluate(young, as_of=AS_OF, jurisdiction="FR")
    assert fr.scores == [] and any("age 35" in i.message for i in fr.data_issues)


def test_argument_mistakes_are_typed_errors(tmp_path: Any) -> None:
    from cvrisk.errors import CvriskError, OptionError, RecordError

    for bad in (None, 42, []):
        with pytest.raises(RecordError, match="cannot read a patient record"):
            evaluate(bad, as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="cannot read the record file"):
        evaluate(str(tmp_path / "nope.json"), as_of=AS_OF)
    with pytest.raises(OptionError, match="record_complete"):
        evaluate(_record(), as_of=AS_OF, record_complete="no")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="must map input names"):
        evaluate(_record(), as_of=AS_OF, score_inputs={"qrisk3": 5})  # type: ignore[dict-item]
    one = evaluate(_record(), as_of=AS_OF, protocols="nice-cg178", scores="pce")  # type: ignore[arg-type]
    assert one.protocols == ["nice-cg178"]
    assert [s.model for s in one.scores] == ["pce"]  # exactly the scores asked for...
    (skipped,) = [i for i in one.data_issues if i.field == "qrisk3"]  # ...and the rule left out
    assert "not computed" in skipped.message
    assert evaluate(_record(), as_of=AS_OF, scores=[]).scores == []
    with pytest.raises(CvriskError):
        from cvrisk.rules.plan import schedule

        schedule(None, AS_OF)  # type: ignore[arg-type]


def test_a_test_asked_for_by_several_protocol_items_is_one_entry() -> None:
    rec = {
        "patient": {"birth_date": "1980-01-01", "sex": "male"},
        "medications": [{"drug": "ziprasidone", "start": "2025-01-01"}],
    }
    report = evaluate(rec, as_of=dt.date(2025, 1, 2), jurisdiction="GB", scores=[])
    tests = [t.test for t in report.tests]
    assert len(tests) == len(set(tests))  # one entry per test
    prolactin = next(t for t in report.tests if t.test == "prolactin")
    asked = {(r.protocol, r.rule) for r in prolactin.requested_by}
    assert asked == {("nice-cg178", "prolactin"), ("ecg-qtc", "prolactin-baseline")}
    ecg = next(t for t in report.tests if t.test == "ecg")
    # the ziprasidone ECG is due; the "if indicated" ECGs are conditional: the due one leads
    assert (ecg.rule, ecg.status) == ("ecg-baseline-drug", "due")
    assert ecg.requested_by[0].rule == "ecg-baseline-drug"
    assert {r.status for r in ecg.requested_by[1:]} == {"conditional"}
    assert len(ecg.requested_by) == 3
    assert ecg.due_date == min(r.due_date for r in ecg.requested_by)


def test_two_rules_asking_for_the_same_repeat_test_give_one_entry() -> None:
    rec = {
        "patient": {"birth_date": "1980-01-01", "sex": "male"},
        "medications": [{"drug": "clozapine", "start": "2025-01-01"}],
        "observations": [
            {"analyte": "wbc", "value": 2.5, "unit": "10*9/L", "date": "2025-01-20"},
            {"analyte": "neutrophils", "value": 1.2, "unit": "10*9/L", "date": "2025-01-20"},
        ],
    }
    report = evaluate(rec, as_of=dt.date(2025, 1, 20), protocols=["clozapine-uk"], scores=[])
    fbc = [t for t in report.tests if t.test == "fbc"]
    assert len(fbc) == 1
    rules = {r.rule for r in fbc[0].requested_by}
    assert {"fbc-red-wbc", "fbc-red-neutrophils"} <= rules


def test_a_result_compared_in_its_reported_unit_is_also_shown_in_the_rule_unit() -> None:
    """HbA1c 6.4 % is compared with the rule's % equivalent (6.0-6.5 %), and the message's
    own thresholds are in mmol/mol: the value is shown in both."""
    rec = {
        "patient": {"id": "u", "birth_date": "1970-01-01", "sex": "female"},
        "medications": [{"drug": "olanzapine", "start": "2024-01-01"}],
        "observations": [{"analyte": "hba1c", "value": 6.4, "unit": "%", "date": "2025-01-10"}],
    }
    for lang, shown in (
        ("en", "HbA1c 6.4 % (≈ 46 mmol/mol) is in the 42-47"),
        ("fr", "6,4 % (≈ 46 mmol/mol)"),
    ):
        report = evaluate(rec, as_of=dt.date(2025, 2, 1), jurisdiction="GB", scores=[], lang=lang)
        (alert,) = [a for a in report.alerts if a.rule == "hba1c-high-risk"]
        assert shown in alert.message, alert.message
