"""From one patient record to the inputs of a risk score, and to the score with its caveats.

:func:`score_inputs` reads a :class:`~cvrisk.record.PatientRecord` on a date (``as_of``) and
builds the row a model needs, in each input's default unit, ready for :func:`cvrisk.score`:

- measurements are the latest usable result inside a look-back window (total and HDL
  cholesterol from the same day; BMI recorded, or computed from a recent weight and an adult
  height); age is in whole years on ``as_of``;
- boolean inputs (diabetes, severe mental illness, atrial fibrillation, blood-pressure
  treatment, statin, atypical antipsychotic...) are true only on record evidence: a coded
  diagnosis (condition sets of ``cvrisk/data/conditions.toml``) or an active prescription
  (WHO ATC class, or the antipsychotic catalogue's ``generation``);
- nothing is filled in: a value the record cannot give is listed in ``missing`` with the
  reason and what to do (pass it with ``given={...}``, or declare the record complete with
  ``record_complete=True`` so that unrecorded diagnoses and prescriptions count as absent);
- a ``given`` value is used, but when the record holds evidence of another value the
  contradiction is listed in ``conflicts`` (a warning naming both values); a given value the
  input cannot take is an :class:`~cvrisk.errors.OptionError`.

Every window, drug class, flag definition and caveat text lives, with its source, in
``cvrisk/scores/data/record_inputs.toml``. :func:`score_record` then computes the score, or
returns ``risk=None`` with the reasons, and adds the caveats, among them the warning that a
model without a severe-mental-illness term underestimates risk in people with SMI.

Modules, in the order a call uses them:

- ``verbs``: :func:`score_inputs` and :func:`score_record`;
- ``resolve``: which record reading answers each model input;
- ``observations``: measurements, the latest usable result inside a look-back window;
- ``codes``: diagnoses and active prescriptions (condition sets, ATC classes, antipsychotics);
- ``conflicts``: given values that the record contradicts (warning-level data issues);
- ``lookup``: a value found with its evidence, or the reason it was not;
- ``caveats``: when each caveat applies, and its text in ``en`` or ``fr``;
- ``tables``: the parsed ``record_inputs.toml`` and its look-back windows;
- ``results``: the returned types (:class:`ScoreInputs`, :class:`ScoreResult`,
  :class:`Evidence`, :class:`MissingInput`, :class:`Caveat`).
"""

from __future__ import annotations

from cvrisk.scores.from_record.results import (
    Caveat,
    Evidence,
    MissingInput,
    ScoreInputs,
    ScoreResult,
)

# the parsed data file, for tests and tools (not part of __all__)
from cvrisk.scores.from_record.tables import config as config
from cvrisk.scores.from_record.verbs import score_inputs, score_record

__all__ = [
    "Caveat",
    "Evidence",
    "MissingInput",
    "ScoreInputs",
    "ScoreResult",
    "score_inputs",
    "score_record",
]
