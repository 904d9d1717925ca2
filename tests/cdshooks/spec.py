"""Checks of CDS Hooks responses, independent of cvrisk.cdshooks.model.

Three checkers, each on the raw JSON a service returns:

1. :func:`spec_problems`: written from the CDS Hooks 2.0.1 specification text (HL7 STU2
   errata, cds-hooks.hl7.org/2.0): "Use of JSON" (no null or empty elements), "CDS Service
   Response", "Card Attributes", "Source", "Suggestion", "Action", "Reasons for rejecting a
   card", "Link", "Data Types: Coding";
2. :func:`invariant_problems`: the HL7 build's FHIRPath invariants on the response logical
   model (HL7/cds-hooks, input/fsh/invariants/cds-resp-1..7.fsh; expressions quoted below)
   and the logical model's required elements (input/fsh/logicals/CDSHooksResponse.fsh),
   evaluated by fhirpathpy (a third-party FHIRPath engine), so the rules are run by code
   cvrisk did not write;
3. :func:`healthchain_problems`: the healthchain package's pydantic models of a CDS Hooks
   response (a well-kept third-party model: cards, sources, suggestions, actions, links),
   tolerating only the two OPTIONAL fields those models wrongly require.
"""

from __future__ import annotations

from typing import Any

from fhirpathpy import evaluate

SUMMARY_LIMIT = 140  # "One-sentence, <140-character summary message"
INDICATORS = {"info", "warning", "critical"}
SELECTION = {"at-most-one", "any"}
ACTION_TYPES = {"create", "update", "delete"}
LINK_TYPES = {"absolute", "smart"}
CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def _absolute(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://")) and " " not in url


def _empty_or_null(value: Any, where: str, out: list[str]) -> None:
    """'JSON elements SHALL NOT be null ... SHALL NOT be empty' (null, "", [], {})."""
    if value is None or value == "" or value == [] or value == {}:
        out.append(f"{where}: null or empty element")
    elif isinstance(value, dict):
        for key, item in value.items():
            _empty_or_null(item, f"{where}.{key}", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _empty_or_null(item, f"{where}[{index}]", out)


def _coding(coding: Any, where: str, out: list[str], *, display: bool) -> None:
    if not isinstance(coding, dict):
        out.append(f"{where}: a Coding is an object")
        return
    for name in ("code", "system"):
        if not isinstance(coding.get(name), str):
            out.append(f"{where}.{name}: REQUIRED string")
    if display and not isinstance(coding.get("display"), str):
        out.append(f"{where}.display: REQUIRED for override reasons")


def _action(action: Any, where: str, out: list[str]) -> None:
    if not isinstance(action, dict):
        out.append(f"{where}: an Action is an object")
        return
    if action.get("type") not in ACTION_TYPES:
        out.append(f"{where}.type: must be create, update or delete")
    if not isinstance(action.get("description"), str):
        out.append(f"{where}.description: REQUIRED string")
    if action.get("type") in ("create", "update"):
        resource = action.get("resource")
        if not isinstance(resource, dict) or "resourceType" not in resource:
            out.append(f"{where}.resource: a {action.get('type')} SHALL contain a FHIR resource")
    if action.get("type") == "delete" and not isinstance(action.get("resourceId"), str):
        out.append(f"{where}.resourceId: SHOULD be given for delete")


def card_problems(card: Any, where: str = "card") -> list[str]:
    out: list[str] = []
    if not isinstance(card, dict):
        return [f"{where}: a card is an object"]
    _empty_or_null(card, where, out)
    for name in set(card) - CARD_FIELDS:
        out.append(f"{where}.{name}: not a card attribute")
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        out.append(f"{where}.summary: REQUIRED string")
    elif len(summary) >= SUMMARY_LIMIT:
        out.append(f"{where}.summary: {len(summary)} characters, must be < 140")
    elif "\n" in summary:
        out.append(f"{where}.summary: one sentence (no line break)")
    if card.get("indicator") not in INDICATORS:
        out.append(f"{where}.indicator: REQUIRED, one of info, warning, critical")
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str):
        out.append(f"{where}.source.label: REQUIRED string")
    else:
        for name in ("url", "icon"):
            if name in source and not _absolute(source[name]):
                out.append(f"{where}.source.{name}: an absolute URL")
        if "topic" in source:
            _coding(source["topic"], f"{where}.source.topic", out, display=False)
    if "uuid" in card and not isinstance(card["uuid"], str):
        out.append(f"{where}.uuid: a string")
    if "detail" in card and not isinstance(card["detail"], str):
        out.append(f"{where}.detail: a (markdown) string")
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if card.get("selectionBehavior") not in SELECTION:
            out.append(f"{where}.selectionBehavior: MUST be given with suggestions")
        for i, suggestion in enumerate(suggestions if isinstance(suggestions, list) else []):
            at = f"{where}.suggestions[{i}]"
            if not isinstance(suggestion.get("label"), str):
                out.append(f"{at}.label: REQUIRED string")
            if "isRecommended" in suggestion and not isinstance(suggestion["isRecommended"], bool):
                out.append(f"{at}.isRecommended: a boolean")
            for j, action in enumerate(suggestion.get("actions") or []):
                _action(action, f"{at}.actions[{j}]", out)
    elif "selectionBehavior" in card and card["selectionBehavior"] not in SELECTION:
        out.append(f"{where}.selectionBehavior: at-most-one or any")
    for i, reason in enumerate(card.get("overrideReasons") or []):
        _coding(reason, f"{where}.overrideReasons[{i}]", out, display=True)
    for i, link in enumerate(card.get("links") or []):
        at = f"{where}.links[{i}]"
        if not isinstance(link.get("label"), str):
            out.append(f"{at}.label: REQUIRED string")
        if link.get("type") not in LINK_TYPES:
            out.append(f"{at}.type: absolute or smart")
        if not isinstance(link.get("url"), str) or (
            link.get("type") == "absolute" and not _absolute(link.get("url"))
        ):
            out.append(f"{at}.url: REQUIRED (absolute for an absolute link)")
        if "appContext" in link and link.get("type") != "smart":
            out.append(f"{at}.appContext: only for smart links")
    return out


def spec_problems(body: Any) -> list[str]:
    """What breaks the 2.0.1 response rules (empty list: none)."""
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return ["response: REQUIRED 'cards' array"]
    out: list[str] = []
    for i, card in enumerate(body["cards"]):
        out.extend(card_problems(card, f"cards[{i}]"))
    for i, action in enumerate(body.get("systemActions") or []):
        _action(action, f"systemActions[{i}]", out)
    return out


#: HL7 build invariants (expression quoted from input/fsh/invariants/cds-resp-N.fsh) with the
#: element they are declared on in CDSHooksResponse.fsh.
INVARIANTS = {
    "cds-resp-1": (
        "cards",
        "(selectionBehavior = 'at-most-one') implies suggestions.where(isRecommended).count() <= 1",
    ),
    "cds-resp-2": (
        "cards.suggestions.actions",
        "(type = 'delete') implies (resourceId.exists() and resource.empty())",
    ),
    "cds-resp-3": ("cards.links", "(type != 'smart') implies (appContext.empty())"),
    "cds-resp-4": ("cards.overrideReasons", "all(display.exists())"),
    "cds-resp-5": ("cards.suggestions", "actions.all(description.exists())"),
    "cds-resp-6": ("cards", "suggestions.exists() implies selectionBehavior.exists()"),
    "cds-resp-7": (
        "cards.suggestions",
        "actionSelectionBehavior.empty() or "
        "actionSelectionBehavior = 'all' or actionSelectionBehavior = 'any' or "
        "actionSelectionBehavior = 'at-most-one'",
    ),
}
#: Required elements of the logical model (CDSHooksResponse.fsh cardinalities 1..1) and its
#: required bindings (CDSIndicator, CDSSelectionBehavior, CDSActionType, CDSLinkType).
REQUIRED = {
    "card.summary": ("cards", "summary.exists() and summary.length() < 140"),
    "card.indicator": ("cards", "indicator in ('info' | 'warning' | 'critical')"),
    "card.source.label": ("cards", "source.label.exists()"),
    "selectionBehavior binding": (
        "cards",
        "selectionBehavior.empty() or selectionBehavior in ('at-most-one' | 'any')",
    ),
    "suggestion.label": ("cards.suggestions", "label.exists()"),
    "action.type": ("cards.suggestions.actions", "type in ('create' | 'update' | 'delete')"),
    "link.label/url/type": (
        "cards.links",
        "label.exists() and url.exists() and type in ('absolute' | 'smart')",
    ),
}


def invariant_problems(body: dict[str, Any]) -> list[str]:
    """The HL7 invariants and required elements that fail, evaluated by fhirpathpy."""
    out = []
    for name, (context, expression) in {**INVARIANTS, **REQUIRED}.items():
        for index, node in enumerate(evaluate(body, context) or []):
            result = evaluate(node, expression)
            if result != [True]:
                out.append(f"{name} fails on {context}[{index}]: {result}")
    return out


#: Fields healthchain 0.16.1's models declare ``Optional[...]`` without a default, which
#: pydantic 2 makes required, while the specification says OPTIONAL (Suggestion
#: ``isRecommended``, Link ``autoLaunchable``): their absence is not a problem.
HEALTHCHAIN_REQUIRES_OPTIONAL = {"isRecommended", "autoLaunchable"}


def healthchain_problems(body: dict[str, Any]) -> list[str]:
    """Problems the third-party healthchain package's CDS Hooks response models
    (``healthchain.models.responses.cdsresponse.CDSResponse``) find in ``body``.

    The fields those models wrongly require (:data:`HEALTHCHAIN_REQUIRES_OPTIONAL`) are
    given as null where absent, in a copy, so that their absence neither counts nor stops
    the models' other checks (a field error would skip the cross-field validators)."""
    from healthchain.models.responses.cdsresponse import CDSResponse
    from pydantic import ValidationError

    try:
        CDSResponse.model_validate(_optional_as_null(body))
    except ValidationError as exc:
        return [f"healthchain: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    except AttributeError as exc:
        # healthchain 0.16.1's Card validator, on suggestions without selectionBehavior,
        # fails while wording its message (SelectionBehaviorEnum.value): still a refusal
        return [f"healthchain: refused ({type(exc).__name__}: {exc})"]
    return []


def _optional_as_null(body: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``body`` with each card's suggestions' ``isRecommended`` and links'
    ``autoLaunchable`` set to null where absent."""
    import copy

    out = copy.deepcopy(body)
    for card in out.get("cards") or []:
        if not isinstance(card, dict):
            continue
        for name, field in (("suggestions", "isRecommended"), ("links", "autoLaunchable")):
            for item in card.get(name) or []:
                if isinstance(item, dict):
                    item.setdefault(field, None)
    return out


def problems(body: dict[str, Any]) -> list[str]:
    """The three checkers' findings: the specification's rules, the HL7 invariants, and
    healthchain's models."""
    return [*spec_problems(body), *invariant_problems(body), *healthchain_problems(body)]
