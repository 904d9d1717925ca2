"""Stage 2 of an evaluation: the record's antipsychotic courses, and the drugs it cannot place.

A medication the catalogue does not recognise may be an antipsychotic whose drug-specific
monitoring would then be lost: it is a warning-level data issue, never a silent skip,
unless its code shows it is not an antipsychotic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cvrisk import vocab
from cvrisk.issues import DataIssue
from cvrisk.record import Medication, PatientRecord
from cvrisk.rules.episodes import Prescription, merge_courses
from cvrisk.rules.messages import phrase


def _known_non_antipsychotic(med: Medication) -> bool:
    """An ATC code outside N05A (antipsychotics) is known not to concern the protocols."""
    if med.system is None or med.code is None:
        return False
    return vocab.normalise_system(med.system) == "atc" and not med.code.startswith("N05A")


def courses_of(
    record: PatientRecord, lang: str = "en"
) -> tuple[list[Prescription], list[DataIssue]]:
    """The record's antipsychotic prescriptions. A drug the catalogue does not know is
    reported as a warning (it may be an antipsychotic cvrisk cannot recognise), unless
    its ATC code shows it is not an antipsychotic."""
    courses, issues = [], []
    for index, med in enumerate(record.medications):
        drug = med.ingredient
        if drug is not None and vocab.is_antipsychotic(drug):
            courses.append(Prescription(drug, med.start, med.stop))
        elif not _known_non_antipsychotic(med):
            code = med.drug or f"{med.system}|{med.code}"
            issues.append(
                DataIssue(
                    kind="unknown_drug",
                    severity="warning",
                    message=phrase("issue.unknown_drug", lang, code=code),
                    field=f"medications[{index}]",
                    resource=med.id,
                )
            )
    return courses, issues


def active_drugs(courses: Sequence[Prescription], as_of: dt.date) -> list[str]:
    """The antipsychotics taken on ``as_of``, sorted."""
    return sorted({c.drug for c in courses if c.active_on(as_of)})


def current_starts(courses: Sequence[Prescription], as_of: dt.date) -> dict[str, dt.date]:
    """Start of the current (merged) course of each antipsychotic active on ``as_of``."""
    return {c.drug: c.start for c in merge_courses(courses) if c.active_on(as_of)}
