"""Parts shared by the card builders: the card envelope (identifier, override reasons,
links), the rule-and-source line every alert and item carries, evidence tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cvrisk import vocab
from cvrisk.cdshooks import markdown as md
from cvrisk.cdshooks.identity import derived_uuid
from cvrisk.cdshooks.model import Card, Indicator, Link, Source, Suggestion, fit_summary
from cvrisk.cdshooks.options import CardOptions
from cvrisk.cdshooks.texts import day as show_day
from cvrisk.cdshooks.texts import number, override_reasons, unit_display, word
from cvrisk.errors import OptionError
from cvrisk.rules.report import Evidence


def check_same_lang(card_lang: str, report_lang: str) -> None:
    """Refuse cards in another language than the report's texts (messages, reasons)."""
    if card_lang != report_lang:
        raise OptionError(
            f"cards in {card_lang!r} from a report in {report_lang!r}: evaluate with "
            f"lang={card_lang!r} (the report's messages and reasons are in its language)"
        )


def finish_card(
    *,
    kind: str,
    summary: str,
    detail: str,
    indicator: Indicator,
    citation_source: Source,
    options: CardOptions,
    suggestions: Sequence[Suggestion] = (),
    links: Sequence[Link] = (),
    overridable: bool = True,
) -> Card:
    """A card with its identifier derived from its content and the call's seed."""
    all_links = [*links, *options.links]
    body = {
        "kind": kind,
        "summary": summary,
        "detail": detail,
        "indicator": indicator,
        "source": citation_source.label,
        "suggestions": [s.uuid for s in suggestions],  # each derived from its own content
    }
    card = Card(
        uuid=derived_uuid(options.seed, body),
        summary=fit_summary(summary),
        detail=detail or None,
        indicator=indicator,
        source=citation_source,
        suggestions=list(suggestions) or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=override_reasons(options.lang, options.codes_base) if overridable else None,
        links=all_links or None,
    )
    card._kind = kind
    return card


def rule_line(code: str, source: str, evidence_status: str, lang: str) -> str:
    """ "**Rule** `protocol/rule` — **Source**: ... (*confirmed against the source*)"."""
    status = word(evidence_status, lang)
    return (
        f"**{word('rule', lang)}** {md.code(code)} — **{word('source', lang)}**: "
        f"{md.cell(source)} (*{status}*)"
    )


def _evidence_value(item: Evidence, lang: str) -> str:
    if item.value is not None:
        return f"{number(item.value, lang)} {unit_display(item.unit)}".strip()
    return item.coded or "—"


def evidence_table(evidence: Iterable[Evidence], lang: str) -> str:
    rows = []
    for item in evidence:
        label = vocab.analytes().get(item.analyte)
        name = (label.label.get(lang) or label.label["en"]) if label else item.analyte
        shown_role = item.role.removeprefix("latest").strip(" ()")
        role = f" ({shown_role})" if shown_role else ""
        rows.append([f"{name}{role}", _evidence_value(item, lang), show_day(item.date)])
    header = [word("evidence", lang), word("value", lang), word("date", lang)]
    return md.table(header, rows)
