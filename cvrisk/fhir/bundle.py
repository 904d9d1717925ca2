"""From FHIR input (a Bundle, a list of resources, NDJSON lines) to a flat list of resources.

What is read:

- a **Bundle** of type ``collection``, ``searchset``, ``transaction``, ``batch``,
  ``document`` or ``message``: each ``entry[].resource``; a Bundle inside an entry is read
  in turn. Transaction and batch entries that carry no resource (``GET``, ``DELETE``) or a
  patch are listed as issues; a ``PUT Type/id`` entry without ``resource.id`` takes the id of
  its URL. A searchset with a ``next`` link is incomplete: a warning says so. Search
  ``outcome`` entries (OperationOutcome) are reported with their messages.
- ``history``, ``transaction-response`` and ``batch-response`` Bundles are refused: they
  hold several versions of resources, or server responses, not a patient's current record.
- a **list** of resources (a JSON array or FHIR Bulk Data NDJSON, one resource a line).

Each resource is named ``Type/id`` (its ``fullUrl`` when it has no id, or ``Type (entry N)``
as a last resort); references resolve to it by that name, by ``fullUrl`` (``urn:uuid:...``),
by an absolute URL ending in ``Type/id`` (a version suffix ``/_history/n`` is ignored) or, for
``#id``, to a resource contained in the referring one. A resource given twice is read once:
identical copies silently merge into one (with an info issue), differing copies are a
conflict (the first is read, a warning names it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cvrisk.errors import RecordError
from cvrisk.issues import DataIssue

#: Bundle types read as a set of resources.
READ_TYPES = ("collection", "searchset", "transaction", "batch", "document", "message")
#: Bundle types refused, with the reason.
REFUSED_TYPES = {
    "history": "a history Bundle holds every version of each resource, not the current "
    "record: send a searchset, collection or transaction Bundle",
    "transaction-response": "a transaction-response Bundle holds a server's answers, not a "
    "patient's record",
    "batch-response": "a batch-response Bundle holds a server's answers, not a patient's record",
}
_MAX_DEPTH = 4


@dataclass(slots=True)
class Entry:
    """One resource of the input, with the name issues and references use (slots: one is
    made per resource, so no per-instance dict)."""

    resource: dict[str, Any]
    type: str
    ref: str
    keys: tuple[str, ...]

    @property
    def id(self) -> str | None:
        value = self.resource.get("id")
        return value if isinstance(value, str) else None


@dataclass
class Input:
    """The flattened input: its resources, the issues met on the way, and an index."""

    entries: list[Entry]
    issues: list[DataIssue]
    kind: str
    index: dict[str, Entry] = field(default_factory=dict)

    def resolve(self, reference: str | None, source: Entry | None = None) -> dict[str, Any] | None:
        """The resource a reference points to, or None when it is not in the input."""
        if not reference:
            return None
        if reference.startswith("#"):
            if source is None:
                return None
            contained = source.resource.get("contained")
            for item in contained if isinstance(contained, list) else ():
                if isinstance(item, dict) and item.get("id") == reference[1:]:
                    return item
            return None
        entry = self.lookup(reference)
        return entry.resource if entry is not None else None

    def lookup(self, reference: str) -> Entry | None:
        """The input's resource a (non-contained) reference names, or None."""
        return self.index.get(reference) or self.index.get(reference_key(reference))


def reference_key(reference: str) -> str:
    """``Type/id`` of a relative or absolute reference (a ``/_history/n`` suffix dropped)."""
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def read_input(data: Any) -> Input:
    """Flatten parsed FHIR JSON (see the module docstring).

    Raises:
        RecordError: a refused Bundle type, or input that holds no resource.
    """
    issues: list[DataIssue] = []
    entries: list[Entry] = []
    if isinstance(data, dict):
        kind = "fhir-bundle" if data.get("resourceType") == "Bundle" else "fhir-resource"
        items: list[Any] = [data]
    else:
        kind = "fhir-resources"
        items = list(data)
    for position, item in enumerate(items):
        where = "the input" if isinstance(data, dict) else f"item {position + 1}"
        _resources(item, where, None, None, issues, 0, entries)
    found = Input(entries=[], issues=issues, kind=kind)
    kept, index = found.entries, found.index
    for entry in entries:  # _add, inlined for the common case (one loop turn per resource)
        if entry.ref in index:
            _add(found, entry)
            continue
        kept.append(entry)
        for key in entry.keys:
            index.setdefault(key, entry)
    if not found.entries:
        raise RecordError(
            "the FHIR input holds no resource: send a Bundle with entry[].resource, a list of "
            "resources, or NDJSON with one resource a line"
        )
    return found


def _add(found: Input, entry: Entry) -> None:
    """Add a resource to the input, or an issue when its name is already there."""
    first = found.index.get(entry.ref)
    if first is None:
        found.entries.append(entry)
        for key in entry.keys:
            found.index.setdefault(key, entry)
        return
    same = first.resource == entry.resource
    found.issues.append(
        DataIssue(
            kind="ignored" if same else "conflict",
            severity="info" if same else "warning",
            resource=entry.ref,
            message=f"{entry.ref} is given twice; "
            + (
                "the copies are identical and were read once"
                if same
                else "the copies differ: the first was read, the second ignored"
            ),
        )
    )


def _unreadable(where: str, reason: str) -> DataIssue:
    return DataIssue(
        kind="unreadable",
        severity="warning",
        field=where,
        message=f"{where} could not be read: {reason}",
    )


def _resources(
    item: Any,
    where: str,
    full_url: str | None,
    request: dict[str, Any] | None,
    issues: list[DataIssue],
    depth: int,
    out: list[Entry],
) -> None:
    """Append the resources of one input item (a resource, or a Bundle's) to ``out``."""
    if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
        issues.append(_unreadable(where, "not a FHIR resource (no resourceType)"))
        return
    kind = item["resourceType"]
    if kind == "Bundle":
        if depth >= _MAX_DEPTH:
            issues.append(_unreadable(where, f"Bundles nested more than {_MAX_DEPTH} deep"))
            return
        _bundle(item, where, issues, depth + 1, out)
        return
    resource_id = item.get("id")
    if not isinstance(resource_id, str) or not resource_id:
        resource_id = _id_from_request(kind, request)
    keys: list[str] = []
    if resource_id:
        ref = f"{kind}/{resource_id}"
        keys.append(ref)
    elif full_url:
        ref = full_url
    else:
        ref = f"{kind} ({where})"
    if full_url:
        keys.append(full_url)
    out.append(Entry(item, kind, ref, tuple(keys)))


def _id_from_request(kind: str, request: dict[str, Any] | None) -> str | None:
    """The id in a transaction entry's ``PUT Type/id`` URL."""
    if not request or request.get("method") != "PUT":
        return None
    url = request.get("url")
    if not isinstance(url, str):
        return None
    parts = url.split("?")[0].strip("/").split("/")
    if len(parts) == 2 and parts[0] == kind and parts[1]:
        return parts[1]
    return None


def _bundle(
    bundle: dict[str, Any], where: str, issues: list[DataIssue], depth: int, out: list[Entry]
) -> None:
    """Append the resources of a Bundle's entries to ``out`` (issues for the others)."""
    bundle_type = bundle.get("type") if isinstance(bundle.get("type"), str) else None
    if bundle_type in REFUSED_TYPES:
        raise RecordError(f"{where} is a {bundle_type} Bundle: {REFUSED_TYPES[bundle_type]}")
    if isinstance(bundle.get("id"), str):
        name = f"Bundle/{bundle['id']}"
    else:
        name = "Bundle" if where == "the input" else f"{where} (Bundle)"
    if bundle_type not in READ_TYPES:
        issues.append(
            DataIssue(
                kind="assumed",
                resource=name,
                message=f"{name} has type {bundle_type!r}; its entries were read as a "
                f"collection (read types: {', '.join(READ_TYPES)})",
            )
        )
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next":
            issues.append(
                DataIssue(
                    kind="missing",
                    severity="warning",
                    resource=name,
                    message=f"{name} is one page of a search (it has a 'next' link): the "
                    "resources on the following pages were not read; fetch every page",
                )
            )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        issues.append(_unreadable(f"{name}.entry", "not a list"))
        return
    for index, entry in enumerate(entries):
        common = _plain_entry(entry)
        if common is not None:
            out.append(common)
            continue
        place = f"{name}.entry[{index}]"
        if not isinstance(entry, dict):
            issues.append(_unreadable(place, "not a JSON object"))
            continue
        request = entry.get("request") if isinstance(entry.get("request"), dict) else None
        method = request.get("method") if request else None
        resource = entry.get("resource")
        search: dict[str, Any] = entry["search"] if isinstance(entry.get("search"), dict) else {}
        if search.get("mode") == "outcome" or (
            isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"
        ):
            issues.append(_outcome(place, resource))
            continue
        if method in ("GET", "HEAD", "DELETE") or (resource is None and request is not None):
            url = request.get("url") if request else None
            issues.append(
                DataIssue(
                    kind="ignored",
                    field=place,
                    message=f"{place} is a {method} {url} request, not a resource: not read",
                )
            )
            continue
        if method == "PATCH":
            issues.append(
                DataIssue(
                    kind="ignored",
                    severity="warning",
                    field=place,
                    message=f"{place} is a PATCH of {request.get('url') if request else '?'}: "
                    "patches are not applied; send the patched resource",
                )
            )
            continue
        if resource is None:
            issues.append(_unreadable(place, "no resource"))
            continue
        full_url = entry.get("fullUrl")
        _resources(
            resource,
            place,
            full_url if isinstance(full_url, str) else None,
            request,
            issues,
            depth,
            out,
        )


def _plain_entry(entry: Any) -> Entry | None:
    """The entry of the common case (a resource with a type and an id, no request or search
    element), read without the general path; None for anything else."""
    if type(entry) is not dict or "request" in entry or "search" in entry:
        return None
    resource = entry.get("resource")
    if type(resource) is not dict:
        return None
    kind, resource_id = resource.get("resourceType"), resource.get("id")
    if type(kind) is not str or kind in ("Bundle", "OperationOutcome"):
        return None
    if type(resource_id) is not str or not resource_id:
        return None
    ref = f"{kind}/{resource_id}"
    full_url = entry.get("fullUrl")
    keys = (ref, full_url) if type(full_url) is str and full_url else (ref,)
    return Entry(resource, kind, ref, keys)


def _outcome(place: str, resource: Any) -> DataIssue:
    """A server's OperationOutcome in the input, with its messages."""
    texts = []
    if isinstance(resource, dict):
        for issue in resource.get("issue") or ():
            if not isinstance(issue, dict):
                continue
            details: dict[str, Any] = (
                issue["details"] if isinstance(issue.get("details"), dict) else {}
            )
            text = issue.get("diagnostics") or details.get("text")
            texts.append(f"{issue.get('severity', '?')}: {text or issue.get('code', '?')}")
    said = "; ".join(str(t) for t in texts[:5]) or "no message"
    return DataIssue(
        kind="ignored",
        severity="warning" if any(t.startswith(("error", "fatal")) for t in texts) else "info",
        field=place,
        message=f"{place} is an OperationOutcome from the server ({said}): check that the "
        "search returned every resource",
    )
