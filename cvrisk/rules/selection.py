"""Stage 1 of an evaluation: which protocols apply to this patient, and from when.

Selection (``names=None``): every shipped protocol, restricted to the jurisdiction's and the
international ones when a jurisdiction is given. Naming protocols explicitly (ids or local
files) skips the jurisdiction filter. Then a protocol *applies* when its age bounds include
the patient's age and a drug it covers is active on the evaluation date; its current
treatment episode anchors the schedule (:mod:`~cvrisk.rules.episodes`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from cvrisk.errors import ProtocolError
from cvrisk.rules.catalog import get_protocol, load_protocol_file, shipped_protocols
from cvrisk.rules.episodes import Episode, Prescription, current_episode
from cvrisk.rules.messages import phrase
from cvrisk.rules.schema import Protocol

Applicable = list[tuple[Protocol, Episode]]


def select_protocols(
    names: Sequence[str | Path] | None, jurisdiction: str | None
) -> list[Protocol]:
    """Protocols by id or file path; all shipped ones (filtered by jurisdiction) for None."""
    if names is None:
        chosen = list(shipped_protocols().values())
        if jurisdiction is not None:
            chosen = [p for p in chosen if p.jurisdiction in (jurisdiction, "INT")]
        return chosen
    out: dict[str, Protocol] = {}
    for name in names:
        if isinstance(name, Path) or str(name).endswith(".toml"):
            protocol = load_protocol_file(name)
        else:
            protocol = get_protocol(str(name))
        if protocol.id in out and out[protocol.id] != protocol:
            raise ProtocolError(
                f"two different protocols named {protocol.id!r} were given ({name!s:.80}): "
                "give each protocol once, or change the local file's id"
            )
        out[protocol.id] = protocol
    return list(out.values())


def applicable_protocols(
    selected: Sequence[Protocol],
    courses: Sequence[Prescription],
    age: float,
    as_of: dt.date,
) -> Applicable:
    """The selected protocols that apply on ``as_of``, each with its current episode."""
    applicable: Applicable = []
    for protocol in selected:
        if not protocol.applies_to.covers_age(age):
            continue
        episode = current_episode(courses, protocol.applies_to, as_of)
        if episode is not None:
            applicable.append((protocol, episode))
    return applicable


def population(proto: Protocol, lang: str) -> str:
    """The ages a protocol is for, as text ("all ages" when unrestricted)."""
    low, high = proto.applies_to.min_age_years, proto.applies_to.max_age_years
    return phrase(
        "population.ages"
        if low is not None and high is not None
        else "population.from"
        if low is not None
        else "population.to"
        if high is not None
        else "population.all",
        lang,
        low=low,
        high=high,
    )
