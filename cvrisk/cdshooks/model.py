"""The CDS Hooks 2.0.1 response objects cvrisk emits: cards, suggestions, actions, links.

Written from the specification text (HL7 CDS Hooks 2.0.1, "CDS Service Response", "Card
Attributes", "Source", "Suggestion", "Action", "Link", "Feedback"; cds-hooks.hl7.org/2.0/),
and checked by its rules when built, so cvrisk cannot emit a card an EHR must refuse:

- ``summary``: one sentence, **fewer than 140 characters** ("<140-character"), not empty;
- ``indicator``: ``info`` | ``warning`` | ``critical``; ``source.label`` required;
- ``selectionBehavior`` (``at-most-one`` | ``any``) is required when there are suggestions
  (HL7 build invariant cds-resp-6) and, with ``at-most-one``, at most one suggestion is
  recommended (cds-resp-1);
- every action has a ``description`` (cds-resp-5); ``create`` and ``update`` carry a FHIR
  ``resource``; ``delete`` carries a ``resourceId`` and no resource (cds-resp-2);
- every override reason is a Coding with a ``display`` (cds-resp-4);
- a link's ``type`` is ``absolute`` | ``smart`` and ``appContext`` only goes with ``smart``
  (cds-resp-3);
- "JSON elements SHALL NOT be null ... or empty": optional fields are omitted, never
  ``null``, ``""`` or ``[]`` (:meth:`CdsResponse.to_json`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    field_validator,
    model_validator,
)

#: "<140-character summary" (CDS Hooks 2.0.1, Card Attributes): the longest allowed is 139.
SUMMARY_MAX = 139

Indicator = Literal["info", "warning", "critical"]
SelectionBehavior = Literal["at-most-one", "any"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]

_INDICATOR_RANK = {"info": 0, "warning": 1, "critical": 2}


def indicator_rank(indicator: Indicator) -> int:
    """Order of urgency (info < warning < critical), for sorting cards."""
    return _INDICATOR_RANK[indicator]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object, optional fields omitted (the specification forbids nulls)."""
        return self.model_dump(mode="json", exclude_none=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty (required strings may not be blank)")
    return value


class Coding(_Spec):
    """The CDS Hooks Coding data type (a trimmed FHIR Coding)."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = Field(None, min_length=1)


class Source(_Spec):
    """The primary source of the guidance a card conveys."""

    label: str = Field(min_length=1)
    url: str | None = Field(None, min_length=1, description="Absolute URL about the source.")
    icon: str | None = Field(None, min_length=1)
    topic: Coding | None = None

    @field_validator("url", "icon")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not absolute_url(value):
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        return value


class Action(_Spec):
    """One suggested change to the EHR's data."""

    type: ActionType
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = Field(None, min_length=1)  # noqa: N815 - the specification's name

    @model_validator(mode="after")
    def _resource_for_type(self) -> Action:
        if self.type in ("create", "update"):
            if not self.resource or "resourceType" not in self.resource:
                raise ValueError(f"a {self.type} action must carry a FHIR resource")
        elif self.resourceId is None or self.resource is not None:
            raise ValueError("a delete action carries a resourceId and no resource (cds-resp-2)")
        return self


class Suggestion(_Spec):
    """A set of actions the user may accept together."""

    label: str = Field(min_length=1)
    uuid: str | None = Field(None, min_length=1)
    isRecommended: bool | None = None  # noqa: N815
    actions: list[Action] | None = Field(None, min_length=1)


class Link(_Spec):
    """A link to a web page or SMART app."""

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: LinkType
    appContext: str | None = Field(None, min_length=1)  # noqa: N815
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _smart_only(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only for smart links (cds-resp-3)")
        if self.type == "absolute" and not absolute_url(self.url):
            raise ValueError(f"an absolute link needs an absolute http(s) URL, not {self.url!r}")
        return self


class Card(_Spec):
    """One card: what the user reads, and what they can do about it."""

    uuid: str | None = Field(None, min_length=1)
    summary: str = Field(description="One sentence, fewer than 140 characters.")
    detail: str | None = Field(None, min_length=1, description="GitHub Flavored Markdown.")
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = Field(None, min_length=1)
    selectionBehavior: SelectionBehavior | None = None  # noqa: N815
    overrideReasons: list[Coding] | None = Field(None, min_length=1)  # noqa: N815
    links: list[Link] | None = Field(None, min_length=1)
    #: What the card is about, without patient data (``alert:nice-cg178/bmi-25``): for logs
    #: and feedback analytics; not serialised.
    _kind: str = PrivateAttr(default="")

    @property
    def kind(self) -> str:
        """What the card is about (``tests:nice-cg178``), free of patient data."""
        return self._kind

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        _not_blank(value)
        if len(value) > SUMMARY_MAX:
            raise ValueError(f"summary has {len(value)} characters; the limit is < 140")
        if "\n" in value:
            raise ValueError("summary is one sentence on one line")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Card:
        if self.suggestions is not None and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required with suggestions (cds-resp-6)")
        if self.selectionBehavior == "at-most-one" and self.suggestions is not None:
            recommended = sum(1 for s in self.suggestions if s.isRecommended)
            if recommended > 1:
                raise ValueError("at-most-one allows one recommended suggestion (cds-resp-1)")
        for reason in self.overrideReasons or ():
            if reason.display is None:
                raise ValueError(f"override reason {reason.code!r} needs a display (cds-resp-4)")
        return self


class CdsResponse(_Spec):
    """The body of a successful CDS Service response."""

    cards: list[Card] = Field(default_factory=list)
    systemActions: list[Action] | None = Field(None, min_length=1)  # noqa: N815

    def to_json(self) -> dict[str, Any]:
        """The JSON object (``cards`` always present, possibly empty: "no guidance")."""
        out: dict[str, Any] = {"cards": [card.to_json() for card in self.cards]}
        if self.systemActions:
            out["systemActions"] = [action.to_json() for action in self.systemActions]
        return out

    def to_json_bytes(self) -> bytes:
        """:meth:`to_json` as compact UTF-8 JSON text, written by pydantic-core in one pass
        (a fifth of the time of building the dicts and ``json.dumps`` of them, the service's
        answer to every call).

        The bytes are those of ``json.dumps(self.to_json(), ensure_ascii=False,
        separators=(",", ":"))`` (what Starlette's ``JSONResponse`` writes): the same keys
        in the same order, optional fields omitted, the same string escapes. The one
        difference is a float in an action's ``resource`` that Python writes with an
        exponent below 1e-4 (``1e-05``; pydantic-core: ``0.00001``), the same number to any
        JSON reader; cvrisk's own actions carry no numbers.
        """
        return _RESPONSE.dump_json(self, exclude_none=True)


_RESPONSE: TypeAdapter[CdsResponse] = TypeAdapter(CdsResponse)

_WHITESPACE = re.compile(r"\s")


def absolute_url(text: str) -> bool:
    """True for an absolute http(s) URL without whitespace."""
    return text.startswith(("https://", "http://")) and _WHITESPACE.search(text) is None


def fit_summary(text: str) -> str:
    """``text`` as a card summary: one line, fewer than 140 characters (cut at a word with
    an ellipsis when longer; the full text belongs in ``detail``)."""
    line = " ".join(text.split())
    if len(line) <= SUMMARY_MAX:
        return line
    cut = line[: SUMMARY_MAX - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"
