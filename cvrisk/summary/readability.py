"""Reading-ease scores of the patient texts: Flesch (English) and Kandel–Moles (French).

- Flesch R. A new readability yardstick. J Appl Psychol 1948;32(3):221–233:
  ``206.835 − 1.015 × (words / sentences) − 84.6 × (syllables / words)``;
- Kandel L, Moles A. Application de l'indice de Flesch à la langue française. Cahiers
  d'études de radio-télévision 1958;19:253–274, as reproduced in French readability
  literature: ``207 − 1.015 × (words / sentences) − 73.6 × (syllables / words)``.

Both run from 0 (very hard) to 100 (very easy); 60–70 is "plain" language. Syllables are
counted by spelling rules (vowel groups, silent final *e*, French *qu*/*gu*), which is how
such scores are usually computed by software; the counts are approximate, so the scores
are a screening figure for reviewers, not a verdict. Tokens without letters (numbers,
dates) are not words here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_EN_VOWELS = re.compile(r"[aeiouy]+")
_FR_VOWELS = re.compile(r"[aeiouyàâäéèêëîïôöùûüÿœæ]+")
#: Spellings where vowel groups over- or under-count English syllables (the adjustment lists
#: of the classic spelling-rule counters, e.g. Perl's Lingua::EN::Syllable).
_EN_FEWER = [
    re.compile(p) for p in ("cial", "tia", "cius", "cious", "giu", "ion", "iou", "sia$", ".ely$")
]
_EN_MORE = [
    re.compile(p)
    for p in (
        "ia",
        "riet",
        "dien",
        "iu",
        "io",
        "ii",
        "[aeiouym]bl$",
        "[aeiou]{3}",
        "^mc",
        "ism$",
        r"([^aeiouy])\1l$",
        "[^l]lien",
        "^coa[dglx].",
        "[^gq]ua[^auieo]",
        "dnt$",
    )
]
_FR_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)


def syllables_en(word: str) -> int:
    """English syllables of ``word`` by spelling rules (at least 1)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:  # short words, and letters outside a-z: one syllable
        return 1
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouydt]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], w)
    w = re.sub(r"^y", "", w)
    count = len(_EN_VOWELS.findall(w))
    count -= sum(1 for p in _EN_FEWER if p.search(w))
    count += sum(1 for p in _EN_MORE if p.search(w))
    return max(1, count)


def syllables_fr(word: str) -> int:
    """French syllables of ``word`` by spelling rules (at least 1): vowel groups, with the
    *u* of *qu*/*gu* before a vowel and a mute final *e*/*es* not counted; an elided article
    (``l'``, ``d'``...) adds none."""
    total = 0
    for part in re.split(r"[-]", _FR_ELISION.sub("", word.lower())):
        w = re.sub(r"[^a-zàâäéèêëîïôöùûüÿœæç]", "", part)
        if not w:
            continue
        w = re.sub(r"([qg])u(?=[aeiouyéèêëîïôö])", r"\1", w)
        groups = len(_FR_VOWELS.findall(w))
        if groups > 1 and re.search(r"[^aeiouy]e(s)?$", w):
            groups -= 1
        total += max(1, groups)
    return max(1, total)


@dataclass(frozen=True)
class Readability:
    """Counts and reading-ease score of a text."""

    lang: str
    sentences: int
    words: int
    syllables: int

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def syllables_per_word(self) -> float:
        return self.syllables / self.words if self.words else 0.0

    @property
    def score(self) -> float:
        """Flesch reading ease (``en``) or Kandel–Moles (``fr``)."""
        if self.lang == "fr":
            return 207.0 - 1.015 * self.words_per_sentence - 73.6 * self.syllables_per_word
        return 206.835 - 1.015 * self.words_per_sentence - 84.6 * self.syllables_per_word

    @property
    def formula(self) -> str:
        return "Kandel–Moles" if self.lang == "fr" else "Flesch reading ease"


def readability(units: Iterable[str], lang: str) -> Readability:
    """Reading ease of text ``units`` (paragraphs, list items, headings): each unit counts
    at least one sentence, more when it holds several sentence ends."""
    count = syllables_fr if lang == "fr" else syllables_en
    sentences = words = syllables = 0
    for unit in units:
        tokens = _WORD.findall(unit)
        if not tokens:
            continue
        sentences += max(1, len(_SENTENCE_END.findall(unit.strip())))
        words += len(tokens)
        syllables += sum(count(t) for t in tokens)
    return Readability(lang, sentences, words, syllables)


def page_units(html: str) -> list[str]:
    """The text units of a rendered page a reader reads: headings, paragraphs, list items
    and captions (SVG titles, descriptions and axis labels left out)."""
    from html.parser import HTMLParser

    blocks = {"h1", "h2", "h3", "p", "li", "figcaption", "dt", "dd", "th", "td"}

    class _Collector(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.units: list[str] = []
            self.stack: list[list[str]] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("svg", "style", "script", "title"):
                self.skip += 1
            elif tag in blocks and not self.skip:
                self.stack.append([])

        def handle_endtag(self, tag: str) -> None:
            if tag in ("svg", "style", "script", "title"):
                self.skip -= 1
            elif tag in blocks and not self.skip and self.stack:
                text = " ".join("".join(self.stack.pop()).split())
                if text:
                    self.units.append(text)

        def handle_data(self, data: str) -> None:
            if not self.skip and self.stack:
                self.stack[-1].append(data)

    collector = _Collector()
    collector.feed(html)
    return collector.units
