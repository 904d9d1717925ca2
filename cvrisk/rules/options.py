"""The arguments of :func:`~cvrisk.rules.evaluate.evaluate` and ``schedule``, checked once.

Every public argument is validated here, before any work, so a wrong type or value is an
:class:`~cvrisk.errors.OptionError` naming the argument and what to give instead, never an
``AttributeError`` from deep inside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvrisk.errors import OptionError
from cvrisk.errors import quoted as _quoted
from cvrisk.limits import date_argument
from cvrisk.rules.messages import check_lang
from cvrisk.scores.registry import MODEL_MODULES, get_model
from cvrisk.sources import OnInvalid, check_on_invalid


def as_date(value: Any, name: str) -> dt.date:
    """A date from a date, a date-time (its day) or ISO 8601 text, inside the supported range
    (docs/limits.md); OptionError otherwise."""
    return date_argument(value, name)


def check_jurisdiction(jurisdiction: Any) -> str | None:
    """An ISO 3166-1 alpha-2 country code (or INT), upper-cased; OptionError otherwise."""
    if jurisdiction is None:
        return None
    if not isinstance(jurisdiction, str):
        raise OptionError(
            f"jurisdiction={_quoted(jurisdiction)}: give one country code as text "
            "(GB, US, FR...) or INT"
        )
    code = jurisdiction.strip().upper()
    code = {"UK": "GB"}.get(code, code)  # ISO 3166 reserves UK for the United Kingdom (GB)
    if not (len(code) == 2 and code.isalpha() and code.isascii()) and code != "INT":
        raise OptionError(
            f"jurisdiction={_quoted(jurisdiction)}: use an ISO 3166-1 alpha-2 country code "
            "(GB, US, FR...) or INT"
        )
    return code


def check_bool(value: Any, name: str) -> bool:
    """A genuine bool (``1`` or ``"yes"`` are refused: they hide mistakes)."""
    if not isinstance(value, bool):
        raise OptionError(f"{name}={_quoted(value)}: give True or False")
    return value


#: Most protocols (or risk models) one evaluation takes; cvrisk ships 8 protocols and 8 models.
MAX_PROTOCOLS = 32


def protocol_names(protocols: Any) -> tuple[str | Path, ...] | None:
    """Protocol ids or file paths; one id or path is one protocol, not its characters."""
    if protocols is None:
        return None
    if isinstance(protocols, str | Path):
        return (protocols,)
    if isinstance(protocols, Sequence) and all(isinstance(p, str | Path) for p in protocols):
        names = tuple(dict.fromkeys(protocols))  # a protocol named twice is evaluated once
        if len(names) > MAX_PROTOCOLS:
            raise OptionError(
                f"protocols: {len(names)} named, more than the {MAX_PROTOCOLS} one evaluation "
                "takes (docs/limits.md)"
            )
        return names
    raise OptionError(
        f"protocols={_quoted(protocols)}: give a list of protocol ids or protocol file paths "
        "(see cvrisk.protocols())"
    )


def model_names(scores: Any) -> tuple[str, ...] | None:
    """Risk model ids (``[]`` means no score); an unknown id is an error, as in cvrisk.score."""
    if scores is None:
        return None
    if isinstance(scores, str):
        scores = [scores]
    if not isinstance(scores, Sequence) or not all(isinstance(s, str) for s in scores):
        raise OptionError(f"scores={_quoted(scores)}: give a list of model ids, e.g. ['qrisk3']")
    scores = list(dict.fromkeys(scores))
    if len(scores) > MAX_PROTOCOLS:
        raise OptionError(f"scores: {len(scores)} named, more than there are models")
    for model in scores:
        get_model(model)  # UnknownModelError naming the available models
    return tuple(scores)


def score_input_values(score_inputs: Any) -> dict[str, Mapping[str, Any]]:
    """``{model: {input: value}}`` as given; models must exist, values must be mappings."""
    if score_inputs is None:
        return {}
    if not isinstance(score_inputs, Mapping):
        raise OptionError(
            f"score_inputs={_quoted(score_inputs)}: give a mapping of model id to inputs, "
            "e.g. {'qrisk3': {'smoking': 'non'}}"
        )
    unknown = sorted(str(m) for m in score_inputs if m not in MODEL_MODULES)
    if unknown:
        raise OptionError(
            f"score_inputs names unknown models {unknown}; models: "
            f"{', '.join(sorted(MODEL_MODULES))}"
        )
    for model_id, given in score_inputs.items():
        if not isinstance(given, Mapping):
            raise OptionError(
                f"score_inputs[{_quoted(model_id)}] must map input names to values, "
                f"e.g. {{'smoking': 'non'}}; got {_quoted(given)}"
            )
    return dict(score_inputs)


@dataclass(frozen=True)
class EvaluationOptions:
    """The checked arguments of one evaluation."""

    as_of: dt.date
    protocols: tuple[str | Path, ...] | None
    jurisdiction: str | None
    lang: str
    scores: tuple[str, ...] | None
    score_inputs: dict[str, Mapping[str, Any]]
    record_complete: bool
    on_invalid: OnInvalid
    strict: bool

    @classmethod
    def check(
        cls,
        *,
        as_of: Any,
        protocols: Any,
        jurisdiction: Any,
        lang: Any,
        scores: Any,
        score_inputs: Any,
        record_complete: Any,
        on_invalid: Any,
        strict: Any,
    ) -> EvaluationOptions:
        """Validate every argument (OptionError, UnknownModelError) before any work."""
        return cls(
            as_of=dt.date.today() if as_of is None else as_date(as_of, "as_of"),
            protocols=protocol_names(protocols),
            jurisdiction=check_jurisdiction(jurisdiction),
            lang=check_lang(lang),
            scores=model_names(scores),
            score_inputs=score_input_values(score_inputs),
            record_complete=check_bool(record_complete, "record_complete"),
            on_invalid=check_on_invalid(on_invalid),
            strict=check_bool(strict, "strict"),
        )
