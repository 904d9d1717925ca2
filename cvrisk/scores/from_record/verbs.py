"""The public verbs: :func:`score_inputs` (record -> model inputs) and :func:`score_record`.

:func:`score_inputs` walks the model's inputs in order. For each one: a ``given`` value wins;
an option passed as a keyword is left to the model; an input meant for the other sex is
skipped; otherwise the record is read (:mod:`~cvrisk.scores.from_record.resolve`). What the
record cannot give is missing, or false when ``record_complete`` says absence is absence, or
left to the model's own substitute (``when_absent``) with a caveat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cvrisk.errors import InvalidInputError, MissingInputError, OptionError, Problem, quoted
from cvrisk.limits import date_argument
from cvrisk.record import PatientRecord
from cvrisk.scores.base import InputSpec, RiskModel
from cvrisk.scores.from_record.caveats import (
    caveat,
    check_lang,
    label,
    model_title,
    patient_caveats,
    value_text,
)
from cvrisk.scores.from_record.codes import recorded_codes
from cvrisk.scores.from_record.conflicts import find_conflicts
from cvrisk.scores.from_record.lookup import Found, Lookup, NotFound
from cvrisk.scores.from_record.resolve import Resolver
from cvrisk.scores.from_record.results import (
    Caveat,
    Evidence,
    MissingInput,
    ScoreInputs,
    ScoreResult,
)
from cvrisk.scores.from_record.tables import config
from cvrisk.scores.registry import get_model
from cvrisk.sources import read_record

_ASSUMED = (Evidence("assumed", None, None, "record_complete=True and nothing recorded"),)


def score_inputs(
    record: Any,
    model: str,
    *,
    as_of: dt.date | dt.datetime,
    given: Mapping[str, Any] | None = None,
    record_complete: bool = False,
    lang: str = "en",
    **options: Any,
) -> ScoreInputs:
    """The inputs of ``model`` for the patient of ``record`` on ``as_of``, with their sources.

    Args:
        record: a :class:`~cvrisk.record.PatientRecord`, its native JSON (dict or text), FHIR
            R4 resources, or the path of such a file (read by :func:`cvrisk.sources.read_record`;
            what reading met is kept in the result's ``issues``).
        model: model id (``cvrisk.models()``), e.g. ``"qrisk3"``.
        as_of: the evaluation date: age is taken on it, results and prescriptions after it
            are ignored, look-back windows end on it.
        given: values the caller supplies (column -> value in the default unit), e.g.
            ``{"family_history_chd": False}``; they replace record-derived values.
        record_complete: the record holds every diagnosis and prescription (a full GP
            record): boolean inputs without record evidence are then false, not missing.
        lang: language of the caveat texts, input labels and conflicts (``en`` or ``fr``).
        **options: the model's options (``region="high"``, ``race="black"``...): option
            inputs given here are not looked for in the record.

    A given value that the record contradicts (``[conflicts]`` of record_inputs.toml) is
    still used, and listed in ``conflicts`` as a warning.

    Raises:
        RecordError: the record is invalid or describes nobody on ``as_of``.
        UnknownModelError: no such model.
        OptionError: ``given`` or an option names something the model does not read, a
            given value is not of the input's kind (a category outside its values, a flag
            that is not True/False, a number that is not a number), or ``lang`` is not
            supported.
    """
    check_lang(lang)
    day = date_argument(as_of, "as_of")
    given = _given(given)
    if not isinstance(record_complete, bool):
        raise OptionError(f"record_complete={quoted(record_complete)}: give True or False")
    risk_model = get_model(model)
    read = read_record(record)
    patient_record = read.record
    patient_record.check_dates(day)
    _check_names(risk_model, given, options)
    _check_given_values(risk_model, given)

    resolver = Resolver(patient_record, day)
    built = _Row(risk_model, resolver, given, options, record_complete, lang)
    for name, spec in risk_model.inputs.items():
        built.add(name, spec)
    row, sources, caveats = built.row, built.sources, built.caveats
    caveats.extend(patient_caveats(risk_model, resolver, row, sources, given, lang))
    if built.assumed_absent:
        names = ", ".join(label(name, lang) for name in built.assumed_absent)
        caveats.append(caveat("unrecorded_as_absent", lang, inputs=names))
    conflicts = tuple(find_conflicts(risk_model, resolver, given, lang))
    return ScoreInputs(
        model,
        day,
        row,
        tuple(built.missing),
        sources,
        tuple(caveats),
        conflicts,
        tuple(read.issues),
    )


def score_record(
    record: Any,
    model: str,
    *,
    as_of: dt.date | dt.datetime,
    given: Mapping[str, Any] | None = None,
    record_complete: bool = False,
    lang: str = "en",
    **options: Any,
) -> ScoreResult:
    """The risk of ``model`` for the patient of ``record`` on ``as_of``, with its caveats.

    Takes the arguments of :func:`score_inputs`. The risk is None when an input is missing
    (``missing`` says which and why) or when a value is outside the model's validated range
    (``invalid``); it is never computed from a made-up value.

    Raises:
        RecordError, UnknownModelError, OptionError: as :func:`score_inputs`.
    """
    read = read_record(record)  # parsed once, for the inputs and the exclusions
    patient_record = read.record
    inputs = score_inputs(
        patient_record,
        model,
        as_of=as_of,
        given=given,
        record_complete=record_complete,
        lang=lang,
        **options,
    )
    inputs = dataclasses.replace(inputs, issues=tuple(read.issues))
    excluded = _exclusion(
        patient_record, model, date_argument(as_of, "as_of"), lang, dict(given or {})
    )
    if excluded is not None:
        problem = Problem(None, "conditions", excluded.id, "outside the model's population")
        caveats = (*(c for c in inputs.caveats if c.id != excluded.id), excluded)
        return ScoreResult(model, None, (), caveats, inputs, (problem,))
    age_problem = _age_outside_range(get_model(model), inputs.row.get("age"))
    if age_problem is not None:  # say why first: a child's score is not merely incomplete
        return ScoreResult(model, None, (), inputs.caveats, inputs, (age_problem,))
    if inputs.missing:
        return ScoreResult(model, None, inputs.missing, inputs.caveats, inputs)
    try:
        risk = get_model(model).score([dict(inputs.row)], errors="raise", **options)
    except InvalidInputError as exc:
        return ScoreResult(model, None, (), inputs.caveats, inputs, tuple(exc.problems))
    except MissingInputError as exc:  # defensive: the model needs something not foreseen
        gap = MissingInput(
            exc.name, f"required by {model}; pass it with given=", label(exc.name, lang)
        )
        return ScoreResult(model, None, (gap,), inputs.caveats, inputs)
    value = float(risk[0])
    return ScoreResult(model, None if math.isnan(value) else value, (), inputs.caveats, inputs)


def _exclusion(
    record: PatientRecord, model: str, day: dt.date, lang: str, given: Mapping[str, Any]
) -> Caveat | None:
    """The caveat of the first population exclusion ([exclusions] of record_inputs.toml)
    that applies: a diagnosis of its ``condition_sets`` is recorded on ``day`` (established
    CVD for primary-prevention scores), or none of its ``required_condition_sets`` is (type 2
    diabetes for SCORE2-Diabetes), unless the caller's ``given`` values say otherwise."""
    for exclusion in config()["exclusions"].values():
        if model not in exclusion["models"]:
            continue
        lifted = exclusion.get("unless_given", {})
        if any(name in given and given[name] == value for name, value in lifted.items()):
            continue
        title = model_title(get_model(model), lang)
        codes = recorded_codes(record, day, exclusion.get("condition_sets", ()))
        if codes:
            return caveat(exclusion["caveat"], lang, title=title, codes=", ".join(codes))
        required = exclusion.get("required_condition_sets", ())
        if required and not recorded_codes(record, day, required):
            return caveat(exclusion["caveat"], lang, title=title, codes="")
    return None


def _age_outside_range(risk_model: RiskModel, age: Any) -> Problem | None:
    """A problem when the age is known and outside the model's validated range."""
    spec = risk_model.inputs.get("age")
    if spec is None or spec.minimum is None or spec.maximum is None or age is None:
        return None
    if spec.minimum <= float(age) <= spec.maximum:
        return None
    return Problem(None, "age", age, f"outside the validated range {spec.describe_range()}")


@dataclass
class _Row:
    """The row :func:`score_inputs` builds, with what it learns on the way."""

    risk_model: RiskModel
    resolver: Resolver
    given: Mapping[str, Any]
    options: Mapping[str, Any]
    record_complete: bool
    lang: str
    row: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    missing: list[MissingInput] = field(default_factory=list)
    caveats: list[Caveat] = field(default_factory=list)
    #: boolean inputs set false because ``record_complete=True`` and nothing was recorded
    assumed_absent: list[str] = field(default_factory=list)

    def _with_required_diagnosis(self, name: str, found: Lookup) -> Lookup:
        """A flag found from prescriptions that this model counts only with a diagnosis
        (QRISK3's treated hypertension): not found when the diagnosis is not recorded."""
        required = config()["flags"].get(name, {}).get("requires_diagnosis", {})
        sets = required.get(self.risk_model.id)
        if not sets or not isinstance(found, Found) or found.value is not True:
            return found
        if self.resolver.codes.conditions(list(sets)):
            return found
        drugs = "; ".join(e.detail for e in found.evidence)
        return NotFound(
            f"{drugs} is active but no {' or '.join(sets)} diagnosis is recorded, and "
            f"{self.risk_model.info.title} counts treated hypertension (diagnosis and "
            "treatment); the drug may be for another indication (beta-blockers for "
            "akathisia, anxiety, migraine)",
            unrecorded=False,
        )

    def add(self, name: str, spec: InputSpec) -> None:
        """Decide input ``name``: given, left to the model, read, assumed absent or missing."""
        if name in self.given:
            value = self.given[name]
            self.row[name] = value
            self.sources[name] = (Evidence("given", None, None, f"given {name} = {quoted(value)}"),)
            return
        if spec.option and name in self.options:
            return
        only_for = config()["flags"].get(name, {}).get("only_for_sex")
        if only_for is not None and only_for != self.resolver.record.patient.sex:
            return
        found = self._with_required_diagnosis(name, self.resolver.resolve(spec))
        if isinstance(found, Found):
            self.row[name] = _plain(found.value)
            self.sources[name] = found.evidence
        elif self.record_complete and found.unrecorded is not None:
            self.row[name] = found.unrecorded
            self.sources[name] = _ASSUMED
            self.assumed_absent.append(name)
        elif (spec.required and spec.when_absent is None) or only_for is not None:
            self.missing.append(MissingInput(name, found.explain(name), label(name, self.lang)))
        elif spec.when_absent is not None:
            info = self.risk_model.info
            table = self.risk_model.data["inputs"][name]
            note = table.get("when_absent_note", {}).get(self.lang)
            self.caveats.append(
                caveat(
                    "model_default_used",
                    self.lang,
                    inputs=label(name, self.lang),
                    title=model_title(self.risk_model, self.lang),
                    value=value_text(spec.when_absent, self.lang),
                    source=note or table.get("when_absent_source", info.source),
                )
            )


def _given(given: Any) -> dict[str, Any]:
    """``given`` as a dict of input names to values; OptionError for anything else."""
    if given is None:
        return {}
    if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
        raise OptionError(
            f"given={quoted(given)}: give a mapping of input names to values, "
            "e.g. {'smoking': 'non'}"
        )
    return dict(given)


def _check_names(
    risk_model: RiskModel, given: Mapping[str, Any], options: Mapping[str, Any]
) -> None:
    unknown = sorted(set(given) - set(risk_model.inputs))
    if unknown:
        raise OptionError(
            f"{risk_model.id}: given= names {unknown}, which this model does not read; "
            f"its inputs are {sorted(risk_model.inputs)}"
        )
    accepted = {n for n, s in risk_model.inputs.items() if s.option} | set(risk_model.option_specs)
    bad = sorted(set(options) - accepted)
    if bad:
        raise OptionError(
            f"{risk_model.id}: unknown option(s) {bad}; accepted options: "
            f"{sorted(accepted) or 'none'}"
        )
    both = sorted(set(given) & set(options))
    if both:
        raise OptionError(f"{risk_model.id}: {both} given both in given= and as options; give one")


def _check_given_values(risk_model: RiskModel, given: Mapping[str, Any]) -> None:
    """Raise :class:`OptionError` for a given value the input cannot take."""
    for name, value in given.items():
        spec = risk_model.inputs[name]
        problem = _given_problem(spec, value)
        if problem is not None:
            raise OptionError(
                f"{risk_model.id}: given {name}={quoted(value)} is not valid: {problem}"
            )


def _given_problem(spec: InputSpec, value: Any) -> str | None:
    """Why ``value`` cannot be given for ``spec`` (None when it can)."""
    if value is None:
        return "give a value, or leave the input out to read it from the record"
    if spec.kind == "category":
        if isinstance(value, str) and value in spec.categories:
            return None
        return f"accepted values are {list(spec.categories)}"
    if spec.kind == "flag":
        if isinstance(value, bool | np.bool_):
            return None
        if isinstance(value, int | float) and value in (0, 1):
            return None
        return "give True or False"
    if hasattr(value, "magnitude") and hasattr(value, "units"):  # a pint quantity
        return None
    is_number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if is_number and not isinstance(value, np.bool_) and math.isfinite(float(value)):
        return None
    unit = f" in {spec.unit}" if spec.unit else ""
    return f"give a number{unit} (or a pint quantity)"


def _plain(value: Any) -> Any:
    """Plain Python scalars only (row values go to JSON and to cvrisk.score)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value
