"""The Patient resource: sex, date of birth, ethnicity and race, death.

- ``gender`` ``male``/``female`` is the record's sex; ``other``, ``unknown`` or none is an
  error (the protocols and risk equations need one of the two; give it in a native record).
- ``birthDate`` is required; a partial one (``1980``, ``1980-05``) is read as the middle of
  the period (:mod:`cvrisk.fhir.dates`) with an ``assumed`` issue.
- ``deceasedBoolean: true`` or ``deceasedDateTime``: the record is still evaluated (a report
  can be wanted for review or audit), with a ``deceased`` warning saying tests and alerts
  must not be acted on.
- **Ethnicity**: the UK Core ethnic category extension (NHS ethnic categories of England,
  A-S, Z, 99) and the US Core race and ethnicity extensions (OMB categories, detailed CDC
  codes), mapped through ``cvrisk/data/fhir_codes.toml`` to the record's QRISK3 ``ethnicity``
  (which also selects the lower BMI thresholds for South Asian and Chinese people) and the
  PCE ``race``. A value that cannot be mapped is an issue, never a guess; UK Core and US Core
  values that disagree are a conflict (neither is used).
- **Several Patients** in one input are an error: cvrisk evaluates one patient, and choosing
  one could mix two people's data. Split Bulk Data exports by patient first.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cvrisk.errors import RecordError
from cvrisk.fhir import dates
from cvrisk.fhir.bundle import Entry
from cvrisk.fhir.context import Context, codes, validation_text
from cvrisk.fhir.model import Coding, Extension, adapter, describe
from cvrisk.fhir.model import Patient as FhirPatient
from cvrisk.record import Patient


def read_patient(ctx: Context) -> Patient:
    """The record's patient from the input's one Patient resource.

    Raises:
        RecordError: no Patient, several, or one without a usable sex or date of birth.
    """
    entries = [e for e in ctx.found.entries if e.type == "Patient"]
    if not entries:
        raise RecordError(
            "the FHIR input has no Patient resource: cvrisk needs the patient's gender and "
            "birthDate; add the Patient to the Bundle (or to the list of resources)"
        )
    if len(entries) > 1:
        names = ", ".join(e.ref for e in entries[:5])
        raise RecordError(
            f"the FHIR input holds {len(entries)} Patient resources ({names}): cvrisk "
            "evaluates one patient at a time; send one patient's resources (split a Bulk Data "
            "export by patient)"
        )
    entry = entries[0]
    try:
        patient: FhirPatient = adapter(FhirPatient).validate_python(entry.resource)
    except ValidationError as exc:
        raise RecordError(f"invalid FHIR resource {entry.ref}: {validation_text(exc)}") from None
    ctx.patient_ref = entry.ref
    ctx.patient_keys = frozenset(entry.keys)
    sex = _sex(patient, entry)
    born = _birth_date(patient, entry, ctx)
    ctx.birth_date = born
    _deceased(patient, entry, ctx)
    ethnicity, race = _ethnicity_and_race(patient, entry, ctx)
    try:  # the record's own rules (a birth date outside the supported dates, docs/limits.md)
        return Patient(id=entry.ref, birth_date=born, sex=sex, ethnicity=ethnicity, race=race)
    except ValidationError as exc:
        raise RecordError(
            f"invalid FHIR resource {entry.ref} (birthDate as birth_date): {validation_text(exc)}"
        ) from None


def _sex(patient: FhirPatient, entry: Entry) -> Any:
    gender = patient.get("gender")
    if gender in ("male", "female"):
        return gender
    raise RecordError(
        f"{entry.ref} gender is {gender!r}: the protocols and risk equations need "
        "'male' or 'female'; cvrisk cannot evaluate this patient from FHIR without it"
    )


def _birth_date(patient: FhirPatient, entry: Entry, ctx: Context) -> Any:
    born = patient.get("birthDate")
    if born is None:
        raise RecordError(
            f"{entry.ref} has no birthDate: ages (protocol populations, risk equations) "
            "cannot be computed; add it"
        )
    try:
        parsed = dates.parse(born, allow_time=False)
    except dates.DateError as exc:
        raise RecordError(f"{entry.ref} birthDate: {exc}") from None
    if parsed.assumed is not None:
        ctx.add(
            "assumed",
            f"{entry.ref} birthDate {parsed.assumed}; ages near a protocol or score age limit "
            "may be off by up to six months (a year) or two weeks (a month)",
            resource=entry.ref,
            field="birthDate",
        )
    return parsed.day


def _deceased(patient: FhirPatient, entry: Entry, ctx: Context) -> None:
    if "deceasedDateTime" in patient:
        when = f" on {patient['deceasedDateTime']}"
    elif patient.get("deceasedBoolean"):
        when = ""
    else:
        return
    ctx.add(
        "deceased",
        f"{entry.ref} is recorded as deceased{when}: the tests, alerts and scores of an "
        "evaluation dated after the death are for review only and must not be acted on",
        resource=entry.ref,
        severity="warning",
        field="deceased",
    )


def _ethnicity_and_race(patient: FhirPatient, entry: Entry, ctx: Context) -> tuple[Any, Any]:
    """(QRISK3 ethnicity, PCE race) from the UK Core and US Core extensions."""
    table = codes()["ethnicity"]
    uk_url = table["uk_core"]["extension"]
    us = table["us_core"]
    extensions = patient.get("extension", [])
    uk = [e for e in extensions if e["url"] == uk_url]
    race_ext = [e for e in extensions if e["url"] == us["race_extension"]]
    eth_ext = [e for e in extensions if e["url"] == us["ethnicity_extension"]]
    uk_value = _uk_ethnicity(uk, entry, ctx) if uk else None
    us_ethnicity, race = _us_core(race_ext, eth_ext, entry, ctx) if race_ext else (None, None)
    if uk_value is not None and us_ethnicity is not None and uk_value != us_ethnicity:
        ctx.add(
            "conflict",
            f"{entry.ref}: the UK Core ethnic category ({uk_value}) and the US Core race "
            f"({us_ethnicity}) disagree: neither is used; QRISK3 and the lower BMI thresholds "
            "need the patient's ethnicity",
            resource=entry.ref,
            severity="warning",
            field="extension",
        )
        return None, race
    return uk_value or us_ethnicity, race


def _uk_ethnicity(extensions: list[Extension], entry: Entry, ctx: Context) -> str | None:
    table = codes()["ethnicity"]["uk_core"]
    found: set[str] = set()
    for extension in extensions:
        concept = extension.get("valueCodeableConcept")
        codings = concept.get("coding", []) if concept else []
        mapped = [
            c["code"]
            for c in codings
            if c.get("system") == table["system"] and c.get("code") in table["codes"]
        ]
        if not mapped:
            said = describe(concept) if concept else "no value"
            _unmapped(ctx, entry, f"UK Core ethnic category {said!r}", table["system"])
            continue
        for code in mapped:
            category = table["codes"][code][1]
            if code == "99":
                ctx.add(
                    "assumed",
                    f"{entry.ref} ethnic category 99 (Not known) is read as not_stated, as "
                    "QRISK3 treats not recorded and not stated alike; the lower BMI "
                    "thresholds for South Asian and Chinese people are not applied",
                    resource=entry.ref,
                    field="extension",
                )
            found.add(category)
    if len(found) > 1:
        ctx.add(
            "conflict",
            f"{entry.ref} has several UK Core ethnic categories ({', '.join(sorted(found))}): "
            "none is used",
            resource=entry.ref,
            severity="warning",
            field="extension",
        )
        return None
    return next(iter(found), None)


def _unmapped(ctx: Context, entry: Entry, what: str, expected: str) -> None:
    ctx.add(
        "ignored",
        f"{entry.ref}: {what} cannot be mapped to a QRISK3 ethnic group (expected a code of "
        f"{expected}); the ethnicity is left unrecorded, so QRISK3 cannot be computed and the "
        "lower BMI thresholds for South Asian and Chinese people are not applied",
        resource=entry.ref,
        severity="warning",
        field="extension",
    )


def _sub(extensions: list[Extension], name: str) -> list[Coding]:
    out: list[Coding] = []
    for extension in extensions:
        for part in extension.get("extension", ()):
            if part["url"] == name and "valueCoding" in part:
                out.append(part["valueCoding"])
    return out


def _us_core(
    race_ext: list[Extension], eth_ext: list[Extension], entry: Entry, ctx: Context
) -> tuple[str | None, str | None]:
    """(QRISK3 ethnicity, PCE race) from US Core race and ethnicity."""
    table = codes()["ethnicity"]["us_core"]
    system, null_system = table["system"], table["null_flavor_system"]
    omb = _sub(race_ext, "ombCategory")
    detailed = _sub(race_ext, "detailed")
    categories = {
        c["code"] for c in omb if c.get("system") == system and c.get("code") in table["omb_race"]
    }
    unknown = [
        c for c in omb if c.get("system") == null_system and c.get("code") in ("UNK", "ASKU")
    ]
    other = [c for c in omb if c not in unknown and c.get("code") not in categories]
    hispanic = any(
        c.get("system") == system and c.get("code") == table["mapping_status"]["hispanic"]
        for c in _sub(eth_ext, "ombCategory")
    )
    if other:
        _unmapped(ctx, entry, f"US Core race {other[0].get('code')!r}", system)
    if not categories:
        if unknown and not other:
            ctx.add(
                "assumed",
                f"{entry.ref} US Core race is {unknown[0].get('code')} (unknown): ethnicity "
                "read as not_stated (QRISK3 treats not recorded and not stated alike); race left "
                "unrecorded",
                resource=entry.ref,
                field="extension",
            )
            return "not_stated", None
        if not other:
            _unmapped(ctx, entry, "US Core race without an OMB category", system)
        return None, None
    races = {table["omb_race"][code][1] for code in categories}
    race = races.pop() if len(races) == 1 else None
    if race is None:
        ctx.add(
            "ignored",
            f"{entry.ref}: US Core race has several OMB categories "
            f"({', '.join(sorted(str(c) for c in categories))}): the Pooled Cohort Equations' "
            "race (white, African American, other) cannot be told; race left unrecorded",
            resource=entry.ref,
            field="extension",
        )
    elif race == "white" and hispanic:
        race = "other"  # Goff 2013: the white equations were derived in non-Hispanic whites
    return _us_ethnicity(categories, detailed, entry, ctx), race


def _us_ethnicity(
    categories: set[str], detailed: list[Coding], entry: Entry, ctx: Context
) -> str | None:
    table = codes()["ethnicity"]["us_core"]
    from_detailed = {
        table["detailed_race"][c["code"]][1]
        for c in detailed
        if c.get("system") == table["system"] and c.get("code") in table["detailed_race"]
    }
    if len(from_detailed) == 1:
        return str(from_detailed.pop())
    if len(categories) > 1:
        # several races: a mixed background, QRISK3's 'other' (ClinRisk maps mixed groups to 9)
        return "other"
    category = table["omb_race"][next(iter(categories))]
    if category[2]:
        return str(category[2])
    _unmapped(
        ctx,
        entry,
        f"US Core race {category[0]!r} without a detailed code that names the group",
        "the CDC detailed race codes listed in cvrisk/data/fhir_codes.toml",
    )
    return None
