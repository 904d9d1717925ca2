"""Card and suggestion identifiers: UUIDs derived from content (and a per-call seed).

CDS Hooks asks for a ``card.uuid`` so that feedback can name the card. cvrisk derives it
(UUID version 5) from the card's content and a seed: the service passes the call's
``hookInstance`` (a random UUID chosen by the EHR), so identifiers differ between calls and a
logged identifier reveals nothing about the patient data it was computed from; the same call
always gets the same identifiers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

#: Namespace of every UUID cvrisk derives for cards (UUID v5 of the URL below).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cvrisk:cds-hooks:card")

#: ``json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)``, with the
#: encoder made once rather than per call (a patient-view answer derives about 20 UUIDs).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
#: SHA-1 state after the namespace bytes, which every UUID v5 of ``NAMESPACE`` hashes first.
_HASHED_NAMESPACE = hashlib.sha1(NAMESPACE.bytes)


def derived_uuid(seed: str, content: Any) -> str:
    """A UUID (v5, text form) of ``content`` (JSON-serialisable) under ``seed``: exactly
    ``str(uuid.uuid5(NAMESPACE, f"{seed}\\n{canonical JSON of content}"))``."""
    digest = _HASHED_NAMESPACE.copy()
    digest.update(f"{seed}\n{_CANONICAL.encode(content)}".encode())
    return str(uuid.UUID(bytes=digest.digest()[:16], version=5))
