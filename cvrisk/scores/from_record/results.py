"""What :func:`~cvrisk.scores.from_record.score_inputs` and ``score_record`` return.

Frozen dataclasses with an ``as_dict()`` JSON form: the inputs found (:class:`ScoreInputs`),
the risk (:class:`ScoreResult`), and the pieces they hold: where a value came from
(:class:`Evidence`), what could not be found and why (:class:`MissingInput`), and the
warnings to show with the score (:class:`Caveat`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cvrisk.errors import Problem
from cvrisk.issues import DataIssue

SourceKind = Literal["patient", "observation", "condition", "medication", "given", "assumed"]


@dataclass(frozen=True)
class Evidence:
    """Where a value came from: the record item (kind and index in its list) and its date."""

    kind: SourceKind
    index: int | None
    date: dt.date | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO text)."""
        return {
            "kind": self.kind,
            "index": self.index,
            "date": self.date.isoformat() if self.date else None,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class MissingInput:
    """An input the model needs that the record could not give, and why.

    Attributes:
        name: the column id (e.g. ``hba1c``).
        reason: why it was not found and what to do.
        label: the input's name as a clinician reads it, in the requested language
            (``[labels]`` of record_inputs.toml; the column id when none is defined).
    """

    name: str
    reason: str
    label: str = ""

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Caveat:
    """A warning to show with the score: an id, the text (in the requested language), its source."""

    id: str
    text: str
    source: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ScoreInputs:
    """The inputs of one model for one patient on ``as_of``.

    Attributes:
        model: model id.
        as_of: the evaluation date.
        row: canonical column -> value (numbers in each input's default unit, booleans,
            category strings), ready for ``cvrisk.score(model, [row], **options)``.
        missing: inputs the model needs that the record could not provide, with reasons.
        sources: column -> the record items (or ``given``) the value came from.
        caveats: warnings about the inputs or the model for this patient.
        conflicts: given values that the record contradicts (warning-level data issues of
            kind ``conflict`` naming both values); the given values are used.
        issues: what reading the record met (a FHIR resource not used, an assumed partial
            date...), from :func:`cvrisk.sources.read_record`; empty for a PatientRecord.
    """

    model: str
    as_of: dt.date
    row: Mapping[str, Any]
    missing: tuple[MissingInput, ...]
    sources: Mapping[str, tuple[Evidence, ...]]
    caveats: tuple[Caveat, ...]
    conflicts: tuple[DataIssue, ...] = ()
    issues: tuple[DataIssue, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every needed input was found."""
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "model": self.model,
            "as_of": self.as_of.isoformat(),
            "row": dict(self.row),
            "missing": [
                {"name": m.name, "label": m.label, "reason": m.reason} for m in self.missing
            ],
            "sources": {k: [e.as_dict() for e in v] for k, v in self.sources.items()},
            "caveats": [{"id": c.id, "text": c.text, "source": c.source} for c in self.caveats],
            "conflicts": [issue.model_dump() for issue in self.conflicts],
            "data_issues": [issue.model_dump(exclude_none=True) for issue in self.issues],
        }


@dataclass(frozen=True)
class ScoreResult:
    """A model's risk for one patient, or None with the reasons it could not be computed.

    Attributes:
        model: model id.
        risk: predicted probability in [0, 1]; None when inputs are missing or invalid.
        missing: inputs the record could not provide (see :class:`ScoreInputs`).
        caveats: warnings to show with the score.
        inputs: the inputs used, with their sources.
        invalid: values found but rejected by the model (e.g. an age outside the validated
            range), as :class:`~cvrisk.errors.Problem` s.
    """

    model: str
    risk: float | None
    missing: tuple[MissingInput, ...]
    caveats: tuple[Caveat, ...]
    inputs: ScoreInputs
    invalid: tuple[Problem, ...] = field(default=())

    @property
    def conflicts(self) -> tuple[DataIssue, ...]:
        """Given values that the record contradicts (see :class:`ScoreInputs`)."""
        return self.inputs.conflicts

    @property
    def issues(self) -> tuple[DataIssue, ...]:
        """What reading the record met (see :attr:`ScoreInputs.issues`)."""
        return self.inputs.issues

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        out = self.inputs.as_dict()
        out["risk"] = self.risk
        out["invalid"] = [
            {"column": p.column, "value": p.value, "reason": p.reason} for p in self.invalid
        ]
        return out
