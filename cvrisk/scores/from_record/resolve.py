"""Which record reading answers each model input.

:class:`Resolver` maps an input (an :class:`~cvrisk.scores.base.InputSpec`) to a
:data:`~cvrisk.scores.from_record.lookup.Lookup`: a patient field, a measurement
(``[measurements]`` of ``record_inputs.toml``), a boolean flag (``[flags]``: diagnoses,
drug classes, antipsychotic generation), an age at the onset of a diagnosis
(``[onset_ages]``), or a special reading (age, BMI, smoking, diabetes type). An input none of
these covers is "not held in a patient record".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cvrisk.record import PatientRecord
from cvrisk.scores.base import InputSpec
from cvrisk.scores.from_record.codes import Codes
from cvrisk.scores.from_record.lookup import Found, Lookup, NotFound
from cvrisk.scores.from_record.observations import Observations
from cvrisk.scores.from_record.results import Evidence
from cvrisk.scores.from_record.tables import config
from cvrisk.units import convert

_PATIENT_FIELDS = ("sex", "race", "ethnicity")
_LIPIDS = ("total_cholesterol", "hdl_cholesterol")
#: QRISK3's smoking categories for the record's never/former ("current" needs the amount)
_SMOKING = {"never": "non", "former": "ex"}


class Resolver:
    """Maps each model input to a record-derived value (or a reason it has none).

    One resolver serves one record on one date; readings shared by several inputs (the
    cholesterol pair, the flags) are made once.
    """

    def __init__(self, record: PatientRecord, as_of: dt.date) -> None:
        self.record = record
        self.as_of = as_of
        self.observations = Observations(record, as_of)
        self.codes = Codes(record, as_of)
        self._lipids: tuple[Lookup, Lookup] | None = None
        self._flags: dict[str, Lookup] = {}

    def resolve(self, spec: InputSpec) -> Lookup:
        """The value of ``spec`` from the record, or why it has none."""
        name = spec.name
        handler: Callable[[InputSpec], Lookup] | None = getattr(self, f"_input_{name}", None)
        if handler is not None:
            return handler(spec)
        if name in _PATIENT_FIELDS:
            return self._patient(name)
        if name in config()["measurements"]:
            return self._measurement(spec)
        if name in config()["flags"]:
            return self.flag(name)
        if name in config().get("onset_ages", {}):
            return self.onset_age(name)
        spec_hint = "pass it as an option" if spec.option else "pass it with given="
        return NotFound("not held in a patient record", hint=spec_hint)

    def _patient(self, name: str) -> Lookup:
        value = getattr(self.record.patient, name)
        if value is None:
            return NotFound(f"patient.{name} is not recorded", hint="add it to the record")
        return Found(value, (Evidence("patient", None, None, f"patient.{name} = {value}"),))

    def _input_age(self, spec: InputSpec) -> Lookup:
        born = self.record.patient.birth_date
        age = self.record.age_on(self.as_of)
        detail = f"birth_date {born}: {age:g} whole years on {self.as_of}"
        return Found(age, (Evidence("patient", None, born, detail),))

    def _measurement(self, spec: InputSpec) -> Lookup:
        if spec.name not in _LIPIDS:
            return self.observations.measurement(config()["measurements"][spec.name], spec.unit)
        if self._lipids is None:
            self._lipids = self.observations.lipid_pair()
        found = self._lipids[_LIPIDS.index(spec.name)]
        if isinstance(found, Found) and spec.unit is not None:
            value = float(convert(found.value, "mmol/L", spec.unit, "cholesterol"))
            return Found(value, found.evidence)
        return found

    def _input_bmi(self, spec: InputSpec) -> Lookup:
        return self.observations.bmi()

    def _input_smoker(self, spec: InputSpec) -> Lookup:
        found = self.observations.smoking_status()
        if isinstance(found, NotFound):
            return found
        return Found(found.value == "current", found.evidence)

    def _input_smoking(self, spec: InputSpec) -> Lookup:
        found = self.observations.smoking_status()
        if isinstance(found, NotFound):
            return found
        if found.value in _SMOKING:
            return Found(_SMOKING[found.value], found.evidence)
        return NotFound(
            "the record says 'current' smoker, but this model needs the amount: light (<10 "
            "cigarettes/day), moderate (10-19) or heavy (20 or more)"
        )

    def _input_diabetes_type(self, spec: InputSpec) -> Lookup:
        found = self.codes.conditions(["diabetes_type1", "diabetes_type2"])
        type1, type2 = found.get("diabetes_type1", []), found.get("diabetes_type2", [])
        if type1 and type2:
            return NotFound("both type 1 and type 2 diabetes are coded")
        if type1:
            return Found("type1", tuple(type1))
        if type2:
            return Found("type2", tuple(type2))
        return NotFound("no diabetes diagnosis is recorded", unrecorded="none")

    def onset_entries(self, name: str) -> tuple[list[Evidence], list[Evidence]]:
        """The diagnoses of ``[onset_ages.<name>]``: (with an onset date, earliest first;
        without one), on or before as_of."""
        sets = list(config()["onset_ages"][name]["conditions"])
        found = [e for items in self.codes.conditions(sets).values() for e in items]
        dated = sorted(((e.date, e) for e in found if e.date is not None), key=lambda pair: pair[0])
        return [e for _, e in dated], [e for e in found if e.date is None]

    def onset_age(self, name: str) -> Lookup:
        """Age in completed years on the earliest recorded onset of the diagnosis."""
        spec = config()["onset_ages"][name]
        dated, undated = self.onset_entries(name)
        if dated:
            first = dated[0]
            assert first.date is not None
            born = self.record.patient.birth_date
            if first.date < born:
                return NotFound(
                    f"the onset {first.date} of {first.detail} is before the date of birth {born}",
                    hint=f"correct the record, or pass given={{{name!r}: ...}}",
                )
            age = self.record.age_on(first.date)
            detail = f"{first.detail}, onset {first.date}: {age:g} whole years"
            return Found(age, (Evidence("condition", first.index, first.date, detail),))
        if undated:
            codes = "; ".join(e.detail for e in undated)
            return NotFound(
                f"the diagnosis ({codes}) has no onset date, so {spec['label']} is unknown",
                hint=f"record the date of diagnosis, or pass given={{{name!r}: ...}}",
            )
        return NotFound(
            f"no diagnosis for it is recorded ({spec['definition']})",
            hint=f"pass it with given={{{name!r}: ...}}",
        )

    def flag(self, name: str) -> Lookup:
        """A boolean input from [flags.<name>]: true on record evidence, else not found."""
        if name not in self._flags:
            self._flags[name] = self._read_flag(name)
        return self._flags[name]

    def _read_flag(self, name: str) -> Lookup:
        spec = config()["flags"][name]
        evidence: list[Evidence] = []
        if "conditions" in spec:
            for items in self.codes.conditions(list(spec["conditions"])).values():
                evidence.extend(items)
            what = "no such diagnosis is recorded"
        elif "medication_class" in spec:
            evidence = self.codes.in_class(spec["medication_class"])
            what = "no active prescription of this class is recorded"
            if not evidence and self.codes.unclassified:
                return NotFound(
                    f"{what}, and {self.codes.unclassified} active prescription(s) coded "
                    "outside ATC could not be classified"
                )
        else:
            evidence = self.codes.antipsychotics(spec["antipsychotic_generation"])
            what = "no active prescription of this kind is recorded"
        if evidence:
            return Found(True, tuple(evidence))
        return NotFound(f"{what} ({spec['definition']})", unrecorded=False)
