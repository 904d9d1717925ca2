"""What both summaries are built from: the report, the record, and what follows from them.

The report says what is due and why; the record holds what the report does not repeat: the
antipsychotic courses (for the timeline) and every dated result (for trends and the values
of last results). Everything here is computed by the same core functions the evaluation
used (:class:`~cvrisk.rules.facts.Results`, :func:`~cvrisk.rules.courses.courses_of`,
:func:`~cvrisk.rules.episodes.course_events`), so the summary cannot disagree with the
report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from cvrisk.record import Observation, PatientRecord
from cvrisk.rules.courses import active_drugs, courses_of
from cvrisk.rules.episodes import Episode, Prescription, course_events
from cvrisk.rules.facts import Result, Results
from cvrisk.rules.report import Report
from cvrisk.rules.schema import Protocol
from cvrisk.rules.selection import applicable_protocols
from cvrisk.summary.thresholds import Threshold, report_protocols, thresholds_for


@dataclass(frozen=True)
class Course:
    """One antipsychotic course for the timeline: the merged course, how it began (start,
    switch, addition, continuation) and the record entries behind it (their indexes)."""

    prescription: Prescription
    event: str
    entries: tuple[int, ...]


@dataclass
class Context:
    """A report with its record, and the derived views both summaries read."""

    report: Report
    record: PatientRecord
    lang: str
    _observation_index: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    @property
    def as_of(self) -> dt.date:
        return self.report.as_of

    @cached_property
    def results(self) -> Results:
        """The record's results on or before the evaluation date, in canonical units."""
        return Results.from_record(self.record, self.as_of)

    @cached_property
    def prescriptions(self) -> list[Prescription]:
        """The catalogue-antipsychotic prescriptions the evaluation used."""
        courses, _ = courses_of(self.record, self.lang, self.as_of)
        return courses

    @cached_property
    def active(self) -> list[str]:
        """Antipsychotics taken on the evaluation date."""
        return active_drugs(self.prescriptions, self.as_of)

    @cached_property
    def courses(self) -> list[Course]:
        """The merged antipsychotic courses, in start order, with their events."""
        out = []
        for prescription, event in course_events(self.prescriptions):
            entries = tuple(
                index
                for index, med in enumerate(self.record.medications)
                if med.ingredient == prescription.drug
                and prescription.start <= med.start
                and (prescription.stop is None or med.start <= prescription.stop)
            )
            out.append(Course(prescription, event, entries))
        return out

    @cached_property
    def episodes(self) -> dict[str, Episode]:
        """The current treatment episode of each evaluated (shipped) protocol."""
        age = self.record.age_on(self.as_of)
        applicable = applicable_protocols(self.protocols, self.prescriptions, age, self.as_of)
        return {protocol.id: episode for protocol, episode in applicable}

    @cached_property
    def protocols(self) -> list[Protocol]:
        """The evaluated protocols shipped with cvrisk (their thresholds can be read)."""
        return report_protocols(self.report.protocols)[0]

    @cached_property
    def unreadable_protocols(self) -> list[str]:
        """Evaluated protocols that are not shipped (local files): no thresholds drawn."""
        return report_protocols(self.report.protocols)[1]

    def thresholds(self, analyte: str) -> list[Threshold]:
        """The evaluated protocols' thresholds on ``analyte`` that apply to the patient."""
        return thresholds_for(analyte, self.protocols, self.record, self.as_of, self.active)

    def observation_index(self, observation: Observation) -> int:
        """The index of a result in ``record.observations`` (its source path)."""
        if not self._observation_index:
            self._observation_index.update(
                {id(obs): i for i, obs in enumerate(self.record.observations)}
            )
        return self._observation_index[id(observation)]

    @cached_property
    def by_day(self) -> dict[tuple[str, dt.date], list[tuple[int, Result]]]:
        """Results by (analyte, day), each with its index in ``results.<analyte>``."""
        table: dict[tuple[str, dt.date], list[tuple[int, Result]]] = defaultdict(list)
        for analyte, results in self.results.by_analyte.items():
            for index, result in enumerate(results):
                table[(analyte, result.day)].append((index, result))
        return dict(table)
