"""The outcome of looking for one input in a record: a value with its evidence, or why not.

Every reader (observations, diagnoses, prescriptions, patient fields) returns a
:data:`Lookup`; :func:`~cvrisk.scores.from_record.score_inputs` turns a :class:`NotFound`
into a :class:`~cvrisk.scores.from_record.MissingInput` whose reason says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvrisk.scores.from_record.results import Evidence


@dataclass(frozen=True)
class Found:
    """A value (in the reader's unit) and the record items it came from."""

    value: Any
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class NotFound:
    """Why a value could not be read from the record."""

    reason: str
    #: a boolean input without record evidence: its value when the record is declared complete
    unrecorded: Any = None
    #: what to do, when not "pass it with given="
    hint: str | None = None

    def explain(self, name: str) -> str:
        """The reason followed by what the caller can do."""
        if self.hint is not None:
            return f"{self.reason}; {self.hint}"
        if self.unrecorded is not None:
            return (
                f"{self.reason}; absence from the record is not proof of absence: pass "
                f"given={{{name!r}: {self.unrecorded!r}}} or record_complete=True"
            )
        return f"{self.reason}; pass given={{{name!r}: ...}}"


Lookup = Found | NotFound
