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
  ``record_complete=True`` so that unrecorded diagnoses and prescriptions count as absent).

Every window, drug class, flag definition and caveat text lives, with its source, in
``cvrisk/scores/data/record_inputs.toml``. :func:`score_record` then computes the score, or
returns ``risk=None`` with the reasons, and adds the caveats, among them the warning that a
model without a severe-mental-illness term underestimates risk in people with SMI.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from cvrisk import vocab
from cvrisk.errors import CvriskError, InvalidInputError, MissingInputError, OptionError, Problem
from cvrisk.record import Medication, Observation, PatientRecord, day_of, load_record
from cvrisk.scores.base import InputSpec, RiskModel
from cvrisk.scores.registry import get_model
from cvrisk.units import convert

LANGS = ("en", "fr")
SourceKind = Literal["patient", "observation", "condition", "medication", "given", "assumed"]


# -- public results ----------------------------------------------------------------------------


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
    """An input the model needs that the record could not give, and why."""

    name: str
    reason: str

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
    """

    model: str
    as_of: dt.date
    row: Mapping[str, Any]
    missing: tuple[MissingInput, ...]
    sources: Mapping[str, tuple[Evidence, ...]]
    caveats: tuple[Caveat, ...]

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
            "missing": [{"name": m.name, "reason": m.reason} for m in self.missing],
            "sources": {k: [e.as_dict() for e in v] for k, v in self.sources.items()},
            "caveats": [{"id": c.id, "text": c.text, "source": c.source} for c in self.caveats],
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        out = self.inputs.as_dict()
        out["risk"] = self.risk
        out["invalid"] = [
            {"column": p.column, "value": p.value, "reason": p.reason} for p in self.invalid
        ]
        return out


# -- configuration -------------------------------------------------------------------------------


@cache
def config() -> dict[str, Any]:
    """The parsed ``record_inputs.toml`` (cached; treat as read-only)."""
    path = resources.files("cvrisk.scores").joinpath("data", "record_inputs.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _shift(day: dt.date, *, years: int = 0, months: int = 0) -> dt.date:
    """``day`` moved back by whole years and months (calendar; 31 Mar - 1 month = 28/29 Feb)."""
    total = day.year * 12 + (day.month - 1) - (years * 12 + months)
    year, month = divmod(total, 12)
    if year < dt.MINYEAR:
        return dt.date.min
    month += 1
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _window_start(analyte: str, as_of: dt.date) -> dt.date | None:
    window = config()["windows"].get(analyte, {})
    if "years" not in window and "months" not in window:
        return None
    return _shift(as_of, years=int(window.get("years", 0)), months=int(window.get("months", 0)))


def _describe_window(analyte: str) -> str:
    window = config()["windows"].get(analyte, {})
    if "years" in window:
        return f"the last {window['years']} year(s)"
    if "months" in window:
        return f"the last {window['months']} month(s)"
    return "the record"


# -- extraction ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    value: Any
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class _NotFound:
    reason: str
    #: a boolean input without record evidence: absent when the record is declared complete
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


_Result = _Found | _NotFound


def _order(index: int, observation: Observation) -> tuple[dt.date, dt.time, int]:
    when = observation.date
    time = when.time() if isinstance(when, dt.datetime) else dt.time.min
    return (observation.day, time, index)


class _Extractor:
    """Reads one record on one date; every method returns a value with its evidence, or why not."""

    def __init__(self, record: PatientRecord, as_of: dt.date) -> None:
        self.record = record
        self.as_of = as_of
        accepted = set(config()["observations"]["statuses"])
        self._observations: dict[str, list[tuple[int, Observation]]] = {}
        for index, observation in enumerate(record.observations):
            if observation.status not in accepted or observation.day > as_of:
                continue
            self._observations.setdefault(observation.analyte_id, []).append((index, observation))
        for items in self._observations.values():
            items.sort(key=lambda item: _order(*item))

    # observations

    def results(self, analyte: str) -> list[tuple[int, Observation]]:
        """Usable results of ``analyte`` inside its window, oldest first."""
        start = _window_start(analyte, self.as_of)
        minimum_age = config()["windows"].get(analyte, {}).get("min_age_years")
        out = []
        for index, observation in self._observations.get(analyte, []):
            if start is not None and observation.day < start:
                continue
            if minimum_age is not None and (
                observation.day < self.record.patient.birth_date
                or self.record.age_on(observation.day) < minimum_age
            ):
                continue
            out.append((index, observation))
        return out

    def _not_found(self, analyte: str, what: str) -> _NotFound:
        older = self._observations.get(analyte, [])
        if older:
            latest = older[-1][1].day
            return _NotFound(
                f"no {what} in {_describe_window(analyte)} before {self.as_of} (latest {latest} "
                f"is outside the window{self._age_note(analyte)})",
                hint="measure it, or pass the value with given=",
            )
        return _NotFound(f"no {what} in the record", hint="measure it, or pass it with given=")

    def _age_note(self, analyte: str) -> str:
        minimum_age = config()["windows"].get(analyte, {}).get("min_age_years")
        return f" or taken before age {minimum_age}" if minimum_age is not None else ""

    @staticmethod
    def _evidence(index: int, observation: Observation, value: float, unit: str) -> Evidence:
        return Evidence(
            "observation", index, observation.day, f"{observation.analyte_id} {value:g} {unit}"
        )

    def measurement(self, analyte: str, unit: str | None) -> _Result:
        """The latest result of ``analyte`` in its window, converted to ``unit``."""
        found = self.results(analyte)
        if not found:
            return self._not_found(analyte, analyte)
        index, observation = found[-1]
        entry = vocab.analyte(analyte)
        canonical = observation.value_in()
        value = canonical
        if unit is not None and entry.unit is not None:
            value = float(convert(canonical, entry.unit, unit, entry.substance))
        return _Found(value, (self._evidence(index, observation, canonical, entry.unit or ""),))

    def lipid_pair(self) -> tuple[_Result, _Result]:
        """Total and HDL cholesterol (mmol/L) from the latest day on which both were measured."""
        total = self.results("total_cholesterol")
        hdl = self.results("hdl_cholesterol")
        by_day_hdl = {obs.day: (i, obs) for i, obs in hdl}
        for index, observation in reversed(total):
            if observation.day in by_day_hdl:
                pair = ((index, observation), by_day_hdl[observation.day])
                found = []
                for i, obs in pair:
                    value = obs.value_in()
                    found.append(_Found(value, (self._evidence(i, obs, value, "mmol/L"),)))
                return found[0], found[1]
        if total and hdl:
            reason = (
                f"total and HDL cholesterol were not measured on the same day in "
                f"{_describe_window('total_cholesterol')}; measure a lipid profile"
            )
            return _NotFound(reason), _NotFound(reason)
        return (
            self._not_found("total_cholesterol", "total cholesterol")
            if not total
            else _NotFound(
                "no HDL cholesterol measured on the day of the latest total cholesterol"
            ),
            self._not_found("hdl_cholesterol", "HDL cholesterol")
            if not hdl
            else _NotFound(
                "no total cholesterol measured on the day of the latest HDL cholesterol"
            ),
        )

    def bmi(self) -> _Result:
        """Latest BMI (kg/m2): recorded, or from the latest weight and the latest adult height."""
        recorded = self.results("bmi")
        weights = self.results("weight")
        heights = self.results("height")
        candidates: list[tuple[tuple[dt.date, dt.time, int], int, _Found]] = []
        if recorded:
            index, observation = recorded[-1]
            value = observation.value_in()
            candidates.append(
                (
                    _order(index, observation),
                    1,
                    _Found(value, (self._evidence(index, observation, value, "kg/m2"),)),
                )
            )
        if weights and heights:
            (wi, weight), (hi, height) = weights[-1], heights[-1]
            kg, cm = weight.value_in("kg"), height.value_in("cm")
            value = kg / (cm / 100.0) ** 2
            evidence = (self._evidence(wi, weight, kg, "kg"), self._evidence(hi, height, cm, "cm"))
            candidates.append((_order(wi, weight), 0, _Found(value, evidence)))
        if candidates:
            # latest wins; on the same day a recorded BMI wins over a computed one
            return max(candidates, key=lambda c: (c[0][0], c[1], c[0][1], c[0][2]))[2]
        if weights:
            return self._not_found("height", "height measured in adulthood")
        if heights:
            return self._not_found("weight", "weight")
        return self._not_found("bmi", "BMI, or weight and height,")

    def smoking_status(self) -> _Result:
        """The latest smoking status (never, former, current) in its window."""
        found = self.results("smoking_status")
        if not found:
            return self._not_found("smoking_status", "smoking status")
        index, observation = found[-1]
        evidence = Evidence(
            "observation", index, observation.day, f"smoking_status {observation.coded}"
        )
        return _Found(observation.coded, (evidence,))

    # conditions and medications

    def conditions(self, set_ids: list[str]) -> dict[str, list[Evidence]]:
        """Recorded diagnoses in each condition set (onset on or before as_of, or no onset)."""
        wanted = set(set_ids)
        out: dict[str, list[Evidence]] = {}
        for index, condition in enumerate(self.record.conditions):
            if condition.onset is not None and condition.onset > self.as_of:
                continue
            for set_id in vocab.conditions_matching(condition.code, condition.system):
                if set_id in wanted:
                    label = vocab.condition_sets()[set_id].get("label", {}).get("en", set_id)
                    detail = (
                        f"{vocab.normalise_system(condition.system)}|{condition.code} ({label})"
                    )
                    out.setdefault(set_id, []).append(
                        Evidence("condition", index, condition.onset, detail)
                    )
        return out

    def active_medications(self) -> list[tuple[int, Medication]]:
        """Prescriptions active on as_of."""
        return [(i, m) for i, m in enumerate(self.record.medications) if m.active_on(self.as_of)]

    def unclassified(self) -> int:
        """Active prescriptions neither coded in ATC nor in the antipsychotic catalogue."""
        count = 0
        for _, medication in self.active_medications():
            if _atc_code(medication) is None and not _is_catalogued(medication):
                count += 1
        return count

    def in_class(self, class_id: str) -> list[Evidence]:
        """Active prescriptions in a drug class (by ATC prefix and, if set, route)."""
        spec = config()["medication_classes"][class_id]
        prefixes = tuple(p.upper() for p in spec["atc_prefixes"])
        routes = {r.lower() for r in spec.get("routes", ())}
        out = []
        for index, medication in self.active_medications():
            code = _atc_code(medication)
            if code is None or not code.startswith(prefixes):
                continue
            if routes and medication.route is not None and medication.route.lower() not in routes:
                continue
            out.append(Evidence("medication", index, medication.start, _describe_drug(medication)))
        return out

    def antipsychotics(self, generation: str) -> list[Evidence]:
        """Active prescriptions of catalogue antipsychotics of one generation."""
        out = []
        for index, medication in self.active_medications():
            entry = vocab.antipsychotics().get(_ingredient(medication) or "")
            if entry is not None and entry.get("generation") == generation:
                out.append(
                    Evidence("medication", index, medication.start, _describe_drug(medication))
                )
        return out


def _ingredient(medication: Medication) -> str | None:
    try:
        return medication.ingredient
    except CvriskError:  # an unknown code system: not in the catalogue
        return None


def _is_catalogued(medication: Medication) -> bool:
    return vocab.is_antipsychotic(_ingredient(medication) or "")


def _atc_code(medication: Medication) -> str | None:
    if medication.code is None or medication.system is None:
        return None
    try:
        system = vocab.normalise_system(medication.system)
    except CvriskError:  # an unknown code system is not ATC
        return None
    return medication.code.strip().upper() if system == "atc" else None


def _describe_drug(medication: Medication) -> str:
    name = medication.drug or f"{medication.system}|{medication.code}"
    stop = f" to {medication.stop}" if medication.stop else ""
    return f"{name} from {medication.start}{stop}"


# -- resolving one model's inputs ---------------------------------------------------------------


_PATIENT_FIELDS = {"sex": "sex", "race": "race", "ethnicity": "ethnicity"}


class _Resolver:
    """Maps each model input to a record-derived value (or a reason it has none)."""

    def __init__(self, extractor: _Extractor) -> None:
        self.x = extractor
        self._lipids: tuple[_Result, _Result] | None = None

    def resolve(self, spec: InputSpec) -> _Result:
        name = spec.name
        handler: Callable[[InputSpec], _Result] | None = getattr(self, f"_input_{name}", None)
        if handler is not None:
            return handler(spec)
        if name in _PATIENT_FIELDS:
            return self._patient(name)
        if name in config()["measurements"]:
            return self._measurement(spec)
        if name in config()["flags"]:
            return self.flag(name)
        spec_hint = "pass it as an option" if spec.option else "pass it with given="
        return _NotFound("not held in a patient record", hint=spec_hint)

    def _patient(self, name: str) -> _Result:
        patient = self.x.record.patient
        value = getattr(patient, _PATIENT_FIELDS[name])
        if value is None:
            return _NotFound(f"patient.{name} is not recorded", hint="add it to the record")
        return _Found(value, (Evidence("patient", None, None, f"patient.{name} = {value}"),))

    def _input_age(self, spec: InputSpec) -> _Result:
        patient = self.x.record.patient
        age = self.x.record.age_on(self.x.as_of)
        detail = f"birth_date {patient.birth_date}: {age:g} whole years on {self.x.as_of}"
        return _Found(age, (Evidence("patient", None, patient.birth_date, detail),))

    def _measurement(self, spec: InputSpec) -> _Result:
        analyte = config()["measurements"][spec.name]
        if spec.name in ("total_cholesterol", "hdl_cholesterol"):
            if self._lipids is None:
                self._lipids = self.x.lipid_pair()
            found = self._lipids[0 if spec.name == "total_cholesterol" else 1]
            if isinstance(found, _Found) and spec.unit is not None:
                value = float(convert(found.value, "mmol/L", spec.unit, "cholesterol"))
                return _Found(value, found.evidence)
            return found
        return self.x.measurement(analyte, spec.unit)

    def _input_bmi(self, spec: InputSpec) -> _Result:
        return self.x.bmi()

    def _input_smoker(self, spec: InputSpec) -> _Result:
        found = self.x.smoking_status()
        if isinstance(found, _NotFound):
            return found
        return _Found(found.value == "current", found.evidence)

    def _input_smoking(self, spec: InputSpec) -> _Result:
        found = self.x.smoking_status()
        if isinstance(found, _NotFound):
            return found
        mapping = {"never": "non", "former": "ex"}
        if found.value in mapping:
            return _Found(mapping[found.value], found.evidence)
        return _NotFound(
            "the record says 'current' smoker, but this model needs the amount: light (<10 "
            "cigarettes/day), moderate (10-19) or heavy (20 or more)"
        )

    def _input_diabetes_type(self, spec: InputSpec) -> _Result:
        found = self.x.conditions(["diabetes_type1", "diabetes_type2"])
        type1, type2 = found.get("diabetes_type1", []), found.get("diabetes_type2", [])
        if type1 and type2:
            return _NotFound("both type 1 and type 2 diabetes are coded")
        if type1:
            return _Found("type1", tuple(type1))
        if type2:
            return _Found("type2", tuple(type2))
        return _NotFound("no diabetes diagnosis is recorded", unrecorded="none")

    def flag(self, name: str) -> _Result:
        """A boolean input from [flags.<name>]: true on record evidence, else not found."""
        spec = config()["flags"][name]
        evidence: list[Evidence] = []
        what: str
        can_be_absent = True
        if "conditions" in spec:
            for items in self.x.conditions(list(spec["conditions"])).values():
                evidence.extend(items)
            what = "no such diagnosis is recorded"
        elif "medication_class" in spec:
            evidence = self.x.in_class(spec["medication_class"])
            what = "no active prescription of this class is recorded"
            if not evidence and self.x.unclassified():
                can_be_absent = False
        else:
            evidence = self.x.antipsychotics(spec["antipsychotic_generation"])
            what = "no active prescription of this kind is recorded"
        if evidence:
            return _Found(True, tuple(evidence))
        if not can_be_absent:
            return _NotFound(
                f"{what}, and {self.x.unclassified()} active prescription(s) coded outside ATC "
                "could not be classified"
            )
        return _NotFound(f"{what} ({spec['definition']})", unrecorded=False)


# -- caveats ------------------------------------------------------------------------------------


def _caveat(caveat_id: str, lang: str, **values: Any) -> Caveat:
    entry = config()["caveats"][caveat_id]
    return Caveat(caveat_id, entry[lang].format(**values), entry["source"])


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise OptionError(f"lang={lang!r}: caveat texts exist in {', '.join(LANGS)}")


# -- the public functions -----------------------------------------------------------------------


def _needed(spec: InputSpec) -> bool:
    return spec.required and spec.when_absent is None


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
        record: a :class:`~cvrisk.record.PatientRecord`, its native JSON (dict or text) or a
            path to a JSON file.
        model: model id (``cvrisk.models()``), e.g. ``"qrisk3"``.
        as_of: the evaluation date: age is taken on it, results and prescriptions after it
            are ignored, look-back windows end on it.
        given: values the caller supplies (column -> value in the default unit), e.g.
            ``{"family_history_chd": False}``; they replace record-derived values.
        record_complete: the record holds every diagnosis and prescription (a full GP
            record): boolean inputs without record evidence are then false, not missing.
        lang: language of the caveat texts (``en`` or ``fr``).
        **options: the model's options (``region="high"``, ``race="black"``...): option
            inputs given here are not looked for in the record.

    Raises:
        RecordError: the record is invalid or describes nobody on ``as_of``.
        UnknownModelError: no such model.
        OptionError: ``given`` or an option names something the model does not read, or
            ``lang`` is not supported.
    """
    _check_lang(lang)
    patient_record = load_record(record)
    day = day_of(as_of)
    patient_record.check_dates(day)
    risk_model = get_model(model)
    given = dict(given or {})
    _check_names(risk_model, given, options)

    extractor = _Extractor(patient_record, day)
    resolver = _Resolver(extractor)
    info = risk_model.info
    row: dict[str, Any] = {}
    sources: dict[str, tuple[Evidence, ...]] = {}
    missing: list[MissingInput] = []
    caveats: list[Caveat] = []
    assumed_absent: list[str] = []
    sex = patient_record.patient.sex

    for name, spec in risk_model.inputs.items():
        if name in given:
            row[name] = given[name]
            sources[name] = (Evidence("given", None, None, f"given {name} = {given[name]!r}"),)
            continue
        if spec.option and name in options:
            continue
        only_for = config()["flags"].get(name, {}).get("only_for_sex")
        if only_for is not None and only_for != sex:
            continue
        found = resolver.resolve(spec)
        if isinstance(found, _Found):
            row[name] = _plain(found.value)
            sources[name] = found.evidence
        elif record_complete and found.unrecorded is not None:
            row[name] = found.unrecorded
            sources[name] = (
                Evidence("assumed", None, None, "record_complete=True and nothing recorded"),
            )
            assumed_absent.append(name)
        elif _needed(spec) or only_for is not None:
            missing.append(MissingInput(name, found.explain(name)))
        elif spec.when_absent is not None:
            table = risk_model.data["inputs"][name]
            caveats.append(
                _caveat(
                    "model_default_used",
                    lang,
                    inputs=name,
                    title=info.title,
                    value=spec.when_absent,
                    source=table.get("when_absent_source", info.source),
                )
            )

    caveats.extend(_patient_caveats(risk_model, resolver, extractor, row, sources, given, lang))
    if assumed_absent:
        caveats.append(_caveat("unrecorded_as_absent", lang, inputs=", ".join(assumed_absent)))
    return ScoreInputs(model, day, row, tuple(missing), sources, tuple(caveats))


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
    inputs = score_inputs(
        record,
        model,
        as_of=as_of,
        given=given,
        record_complete=record_complete,
        lang=lang,
        **options,
    )
    if inputs.missing:
        return ScoreResult(model, None, inputs.missing, inputs.caveats, inputs)
    risk_model = get_model(model)
    try:
        risk = risk_model.score([dict(inputs.row)], errors="raise", **options)
    except InvalidInputError as exc:
        return ScoreResult(model, None, (), inputs.caveats, inputs, tuple(exc.problems))
    except MissingInputError as exc:  # defensive: the model needs something not foreseen
        gap = MissingInput(exc.name, f"required by {model}; pass it with given=")
        return ScoreResult(model, None, (gap,), inputs.caveats, inputs)
    value = float(risk[0])
    return ScoreResult(model, None if math.isnan(value) else value, (), inputs.caveats, inputs)


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


def _plain(value: Any) -> Any:
    """Plain Python scalars only (row values go to JSON and to cvrisk.score)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _patient_caveats(
    risk_model: RiskModel,
    resolver: _Resolver,
    extractor: _Extractor,
    row: Mapping[str, Any],
    sources: Mapping[str, tuple[Evidence, ...]],
    given: Mapping[str, Any],
    lang: str,
) -> list[Caveat]:
    info = risk_model.info
    caveats: list[Caveat] = []
    smi = given.get("severe_mental_illness")
    has_smi = (
        bool(smi) if smi is not None else isinstance(resolver.flag("severe_mental_illness"), _Found)
    )
    if not info.smi_term and has_smi:
        caveats.append(_caveat("smi_no_term", lang, title=info.title, model=info.id))
    bp = sources.get("bp_treated", ())
    indications = [
        set_id
        for set_id in config()["flags"]["bp_treated"].get("indication_conditions", ())
        if set_id in vocab.condition_sets()
    ]
    diagnosed = bool(indications) and bool(extractor.conditions(indications))
    if row.get("bp_treated") is True and bp and bp[0].kind == "medication" and not diagnosed:
        caveats.append(
            _caveat("bp_treated_indication", lang, value="; ".join(e.detail for e in bp))
        )
    for caveat_id, flag in (("statin_qrisk3", "statin"), ("score2_diabetes", "diabetes")):
        if info.id in config()["caveats"][caveat_id].get("models", ()):
            value = given.get(flag)
            found = bool(value) if value is not None else isinstance(resolver.flag(flag), _Found)
            if found:
                caveats.append(_caveat(caveat_id, lang, title=info.title))
    uses_drugs = any(
        "medication_class" in config()["flags"].get(name, {}) for name in risk_model.inputs
    )
    count = extractor.unclassified()
    if uses_drugs and count:
        caveats.append(_caveat("unclassified_medications", lang, count=count))
    return caveats


__all__ = [
    "Caveat",
    "Evidence",
    "MissingInput",
    "ScoreInputs",
    "ScoreResult",
    "score_inputs",
    "score_record",
]
