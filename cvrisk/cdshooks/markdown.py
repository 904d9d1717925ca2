"""Small GitHub Flavored Markdown writers for card details (tables, escaping)."""

from __future__ import annotations

from collections.abc import Sequence


def cell(value: object) -> str:
    """Text safe inside a table cell (pipes escaped, one line).

    Three ``str.replace`` rather than one ``str.translate``: a card's texts are not ASCII
    (dashes, accents), and ``translate`` then looks every character up in its table, 50
    times slower than these scans; cards escape a hundred cells or so each.
    """
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ").strip()


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GFM table (empty string when there are no rows)."""
    if not rows:
        return ""
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)


def code(value: str) -> str:
    """Inline code (``nice-cg178/bmi-25``)."""
    return f"`{value.replace('`', '')}`"


def join(*blocks: str) -> str:
    """Paragraphs separated by a blank line, empty blocks left out."""
    return "\n\n".join(block for block in blocks if block)
