"""The registry of input readers by kind (``"fhir"``: a dotted path to its function).

Kept free of imports so that ``import cvrisk`` registers the shipped readers without loading
the record models (:mod:`cvrisk.sources` reads the registry when an input is read).
"""

from __future__ import annotations

#: input kind -> ``"package.module:function"``, imported when an input of that kind is read
READERS: dict[str, str] = {}


def register_reader(kind: str, target: str) -> None:
    """Register the reader of an input kind by dotted path (``"package.module:function"``).

    The module is imported only when an input of that kind is read.
    """
    READERS[kind] = target
