"""The reading-ease function: syllable counts by spelling rules, the two formulas, and the
score of the shipped patient texts (a floor, so that a harder rewording is noticed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvrisk.data import load_data
from cvrisk.summary import render_html
from cvrisk.summary.readability import (
    page_units,
    readability,
    syllables_en,
    syllables_fr,
)
from tests.summary.conftest import context
from tests.summary.test_texts import _patient_texts


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("blood", 1),
        ("care", 1),
        ("checked", 1),
        ("pressure", 2),
        ("smoking", 2),
        ("people", 2),
        ("medicine", 3),
        ("cholesterol", 4),
        ("psychiatrist", 4),
        ("usually", 4),
        ("triglycerides", 4),
        ("inflammation", 4),
        ("the", 1),
    ],
)
def test_english_syllables(word: str, count: int) -> None:
    assert syllables_en(word) == count


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("sang", 1),
        ("cœur", 1),
        ("prise", 1),
        ("votre", 1),
        ("santé", 2),
        ("physique", 2),
        ("équipe", 2),
        ("examen", 3),
        ("traitement", 3),
        ("cholestérol", 4),
        ("recommandation", 5),
        ("l'IMC", 1),
        ("d'habitude", 3),
        ("au-dessus", 3),
    ],
)
def test_french_syllables(word: str, count: int) -> None:
    assert syllables_fr(word) == count


def test_formulas() -> None:
    """Flesch 1948 and Kandel-Moles 1958 on hand-counted texts."""
    en = readability(["The cat sat on the mat."], "en")  # 6 words, 6 syllables, 1 sentence
    assert (en.words, en.syllables, en.sentences) == (6, 6, 1)
    assert en.score == pytest.approx(206.835 - 1.015 * 6 - 84.6 * 1)
    fr = readability(["Le chat dort. Il a faim."], "fr")  # 6 words, 6 syllables, 2 sentences
    assert (fr.words, fr.syllables, fr.sentences) == (6, 6, 2)
    assert fr.score == pytest.approx(207 - 1.015 * 3 - 73.6 * 1)
    assert readability([], "en").score == pytest.approx(206.835)


@given(st.text(max_size=40))
def test_never_crashes_and_counts_are_consistent(text: str) -> None:
    for lang in ("en", "fr"):
        r = readability([text], lang)
        assert r.syllables >= r.words >= 0
        assert (r.sentences == 0) == (r.words == 0)


def _data_texts(lang: str) -> list[str]:
    import re

    return [
        re.sub(r"\{[^{}]*\}", "", t) for _, text_lang, t in _patient_texts() if text_lang == lang
    ]


@pytest.mark.parametrize(("lang", "floor"), [("en", 70.0), ("fr", 60.0)])
def test_patient_texts_read_easily(lang: str, floor: float) -> None:
    """Plain language: the shipped patient texts stay at 'fairly easy' or easier."""
    assert load_data("patient_texts.toml")
    assert readability(_data_texts(lang), lang).score >= floor


@pytest.mark.parametrize(("case", "lang", "floor"), [("gb-en", "en", 70.0), ("fr-fr", "fr", 60.0)])
def test_rendered_patient_page_reads_easily(case: str, lang: str, floor: float) -> None:
    units = page_units(render_html(context(case), "patient"))
    assert len(units) > 10
    assert readability(units, lang).score >= floor
