"""cvrisk.schedule: the prescribing prompt."""

from __future__ import annotations

import datetime as dt

import pytest

from cvrisk.errors import ProtocolError, VocabularyError
from cvrisk.rules.plan import schedule

START = dt.date(2025, 1, 6)


def test_nice_plan_for_olanzapine() -> None:
    plan = schedule("olanzapine", START, protocol="nice-cg178")
    (proto,) = plan.protocols
    baseline_tests = {i.test for i in proto.baseline}
    assert {"weight", "waist", "blood_pressure", "hba1c", "lipids"} <= baseline_tests
    weights = [i.due_date for i in proto.followups if i.test == "weight"]
    # weekly for 6 weeks, then 12 weeks, 1 year, then the first annual check
    assert weights[:6] == [START + dt.timedelta(weeks=w) for w in range(1, 7)]
    assert START + dt.timedelta(weeks=12) in weights and dt.date(2026, 1, 6) in weights
    assert any(line.startswith("Weight") for line in proto.then)


def test_every_protocol_covering_the_drug_by_default() -> None:
    ids = {p.protocol for p in schedule("clozapine", START).protocols}
    assert {"clozapine-fda", "clozapine-uk", "nice-cg178"} <= ids
    assert "clozapine-fda" not in {p.protocol for p in schedule("olanzapine", START).protocols}


def test_age_restricted_protocols_need_the_patient() -> None:
    child = {"birth_date": "2012-05-01", "sex": "female"}
    ids = {p.protocol for p in schedule("risperidone", START, patient=child).protocols}
    assert "camesa-2011" in ids and "nice-cg178" not in ids


def test_followups_are_after_the_start_and_sorted() -> None:
    for proto in schedule("clozapine", START).protocols:
        dates = [i.due_date for i in proto.followups]
        assert dates == sorted(dates) and all(d > START for d in dates)


def test_unknown_drug_and_inapplicable_protocol() -> None:
    with pytest.raises(VocabularyError, match="olanzepine"):
        schedule("olanzepine", START)
    with pytest.raises(ProtocolError, match="does not apply"):
        schedule("olanzapine", START, protocol="clozapine-uk")


def test_french_plan() -> None:
    plan = schedule("olanzapine", START, protocol="nice-cg178", lang="fr")
    assert (
        plan.protocols[0].baseline[0].label in {"Poids (et IMC)", "Tour de taille"}
        or plan.lang == "fr"
    )
    assert any("semaines" in line or "an" in line for line in plan.protocols[0].then)


def test_dates_may_be_iso_text_or_datetimes_but_not_anything() -> None:
    from cvrisk.errors import OptionError, RecordError

    assert schedule("olanzapine", "2025-01-06").start == START  # type: ignore[arg-type]
    assert schedule("olanzapine", dt.datetime(2025, 1, 6, 9, 30)).start == START
    with pytest.raises(OptionError, match="not a date"):
        schedule("olanzapine", "06/01/2025")  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="birth_date"):
        schedule("olanzapine", START, patient={"sex": "female"})
    with pytest.raises(RecordError, match="Patient"):
        schedule("olanzapine", START, patient="x")  # type: ignore[arg-type]


def test_a_named_protocol_for_another_age_group_is_an_error() -> None:
    adult = {"birth_date": "1980-01-01", "sex": "male"}
    with pytest.raises(ProtocolError, match="aged 45"):
        schedule("risperidone", START, protocol="camesa-2011", patient=adult)


def test_population_is_stated_and_jurisdiction_filters() -> None:
    plans = {p.protocol: p for p in schedule("risperidone", START).protocols}
    assert plans["camesa-2011"].population == "ages 17 and under"
    assert plans["nice-cg178"].population == "ages 18 and over"
    assert plans["nice-cg155"].population == "ages 17 and under"
    gb = {p.protocol for p in schedule("risperidone", START, jurisdiction="gb").protocols}
    assert gb == {"nice-cg178", "nice-cg155", "ecg-qtc"}
    child = {"birth_date": "2013-01-01", "sex": "female"}
    gb_child = schedule("risperidone", START, jurisdiction="GB", patient=child)
    assert {p.protocol for p in gb_child.protocols} == {"nice-cg155", "ecg-qtc"}
    assert not any("age" in note for note in gb_child.notes)


def test_drug_typos_get_suggestions() -> None:
    with pytest.raises(VocabularyError, match="did you mean olanzapine"):
        schedule("olanzapin", START)


def test_plan_notes_what_it_leaves_out() -> None:
    fr = schedule("clozapine", START, jurisdiction="FR")
    assert any("clozapine-uk" in note for note in fr.notes)
    adult = {"birth_date": "1980-01-01", "sex": "male"}
    gb = schedule("clozapine", START, jurisdiction="GB", patient=adult).notes
    # no coverage gap: the only clozapine note is the monitoring asked for after stopping
    assert [n for n in gb if "clozapine" in n] == [
        n for n in gb if n.startswith("clozapine-uk: after stopping clozapine")
    ]


def test_plan_notes_monitoring_after_stopping() -> None:
    """The UK clozapine source asks for counts for 4 weeks after stopping (Clozaril core
    prescribing information): the plan says so, as cvrisk schedules nothing after a stop."""
    notes = schedule("clozapine", START, jurisdiction="GB").notes
    assert any("after stopping clozapine" in n and "4 weeks" in n for n in notes), notes
    french = schedule("clozapine", START, jurisdiction="GB", lang="fr").notes
    assert any("après l'arrêt de clozapine" in n for n in french), french
