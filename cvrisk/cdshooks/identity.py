"""Card and suggestion identifiers: UUIDs derived from content (and a per-call seed).

CDS Hooks asks for a ``card.uuid`` so that feedback can name the card. cvrisk derives it
(UUID version 5) from the card's content and a seed: the service passes the call's
``hookInstance`` (a random UUID chosen by the EHR), so identifiers differ between calls and a
logged identifier reveals nothing about the patient data it was computed from; the same call
always gets the same identifiers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

#: Namespace of every UUID cvrisk derives for cards (UUID v5 of the URL below).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cvrisk:cds-hooks:card")


def derived_uuid(seed: str, content: Any) -> str:
    """A UUID (v5, text form) of ``content`` (JSON-serialisable) under ``seed``."""
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(NAMESPACE, f"{seed}\n{payload}"))
