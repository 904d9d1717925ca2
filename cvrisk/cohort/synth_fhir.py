"""The synthetic cohort as FHIR R4 Bulk Data NDJSON: one file per resource type.

:func:`write_fhir` writes ``Patient.ndjson``, ``Condition.ndjson``,
``MedicationRequest.ndjson`` and ``Observation.ndjson`` (one resource a line, as a Bulk Data
``$export`` writes them) and the export's completion manifest ``manifest.json`` (the JSON
body of a completed ``$export`` status request: ``transactionTime``, ``request``,
``requiresAccessToken``, ``output[]`` with ``type``, ``url``, ``count``, ``error[]``).

The resources say what the native rows say, in the codes and URIs the FHIR reader reads
(``cvrisk/data/fhir_codes.toml``): which code to *write* for a category (the first one the
table lists for it) is taken from that table, so writer and reader share one mapping.
Observation rows written by analyte id carry the analyte's LOINC code in FHIR (a FHIR
Observation is coded). Resource ids are the rows' ids; every resource names its patient in
``subject``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.data import load_data
from cvrisk.errors import OptionError

if TYPE_CHECKING:
    import pandas as pd

    from cvrisk.cohort.synth import SyntheticCohort

RESOURCE_TYPES = ("Patient", "Condition", "MedicationRequest", "Observation")
_CHUNK = 200_000
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@cache
def _codes() -> dict[str, Any]:
    """The FHIR reader's code tables (cvrisk/data/fhir_codes.toml)."""
    try:
        return load_data("fhir_codes.toml")
    except FileNotFoundError:  # pragma: no cover - shipped with the FHIR adapter
        raise OptionError(
            "writing FHIR needs cvrisk/data/fhir_codes.toml (the FHIR adapter's code tables)"
        ) from None


def _first_code(table: dict[str, Any], value: str, position: int) -> str | None:
    """The first code of ``table`` whose entry's ``position``-th item is ``value``."""
    for code, entry in table.items():
        if isinstance(entry, list) and len(entry) > position and entry[position] == value:
            return str(code)
        if isinstance(entry, str) and position == 0 and entry == value:
            return str(code)
    return None


def write_fhir(cohort: SyntheticCohort, folder: str | Path) -> dict[str, Path]:
    """Write the cohort as Bulk Data NDJSON files in ``folder`` (created); returns the paths
    by resource type (and ``manifest``)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        "Patient": _patients(cohort),
        "Condition": _conditions(cohort.conditions),
        "MedicationRequest": _medications(cohort.medications, cohort.window[1]),
        "Observation": _observations(cohort.observations),
    }
    paths: dict[str, Path] = {}
    counts: dict[str, int] = {}
    for kind, lines in writers.items():
        path = out / f"{kind}.ndjson"
        count = 0
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            for chunk in lines:
                handle.write("\n".join(chunk))
                handle.write("\n")
                count += len(chunk)
        paths[kind] = path
        counts[kind] = count
    manifest = {
        "transactionTime": f"{cohort.window[1].isoformat()}T23:59:59Z",
        "request": "[base]/Patient/$export",
        "requiresAccessToken": False,
        "output": [{"type": k, "url": f"{k}.ndjson", "count": counts[k]} for k in RESOURCE_TYPES],
        "error": [],
    }
    paths["manifest"] = out / "manifest.json"
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


def _text(series: Any) -> list[Any]:
    """A column as Python values (None for missing), without a Python test per row."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        labels = np.array([*series.cat.categories, None], dtype=object)
        codes = np.asarray(series.cat.codes)
        return list(labels[np.where(codes < 0, labels.size - 1, codes)])
    return list(series.to_numpy(dtype=object, na_value=None))


def _dates(series: Any) -> list[str | None]:
    text = np.datetime_as_string(series.to_numpy().astype("datetime64[D]"), unit="D")
    return list(np.where(text == "NaT", np.array(None, dtype=object), text).astype(object))


@lru_cache(maxsize=65536)
def _q(value: str) -> str:
    """A JSON string literal (cached: codes, units, names and statuses repeat)."""
    return json.dumps(value, ensure_ascii=False)


def _id(value: str) -> str:
    """A resource id as a JSON literal: the generator's ids are letters and digits only."""
    return '"' + value + '"'


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for begin in range(0, len(frame), _CHUNK):
        yield frame.iloc[begin : begin + _CHUNK]


def _patients(cohort: SyntheticCohort) -> Iterator[list[str]]:
    codes = _codes()["ethnicity"]
    uk, us = codes["uk_core"], codes["us_core"]
    uk_code = {name: _first_code(uk["codes"], name, 1) for name in _uk_categories(uk)}
    race_code = {name: _first_code(us["omb_race"], name, 1) for name in ("white", "black", "other")}
    race_display = {k: us["omb_race"][v][0] for k, v in race_code.items() if v}
    for frame in _chunks(cohort.patients):
        ids = _text(frame["patient_id"])
        lines = []
        for pid, sex, born, eth, race in zip(
            ids,
            _text(frame["sex"]),
            _dates(frame["birth_date"]),
            _text(frame["ethnicity"]),
            _text(frame["race"]),
            strict=True,
        ):
            ext = []
            if eth is not None and uk_code.get(eth):
                ext.append(
                    f'{{"url":{_q(uk["extension"])},"valueCodeableConcept":{{"coding":'
                    f'[{{"system":{_q(uk["system"])},"code":{_q(str(uk_code[eth]))}}}]}}}}'
                )
            if race is not None and race_code.get(race):
                ext.append(
                    f'{{"url":{_q(us["race_extension"])},"extension":[{{"url":"ombCategory",'
                    f'"valueCoding":{{"system":{_q(us["system"])},"code":{_q(str(race_code[race]))},'
                    f'"display":{_q(race_display[race])}}}}},{{"url":"text","valueString":'
                    f"{_q(race_display[race])}}}]}}"
                )
            extension = f',"extension":[{",".join(ext)}]' if ext else ""
            lines.append(
                f'{{"resourceType":"Patient","id":{_q(pid)},"gender":{_q(sex)},'
                f'"birthDate":"{born}"{extension}}}'
            )
        yield lines


def _uk_categories(uk: dict[str, Any]) -> list[str]:
    return sorted({entry[1] for entry in uk["codes"].values()})


def _conditions(frame: pd.DataFrame) -> Iterator[list[str]]:
    clinical = f'"clinicalStatus":{{"coding":[{{"system":"{_CLINICAL}","code":"active"}}]}}'
    verified = (
        f'"verificationStatus":{{"coding":[{{"system":"{_VERIFICATION}","code":"confirmed"}}]}}'
    )
    for part in _chunks(frame):
        lines = []
        for rid, pid, code, system, onset in zip(
            _text(part["id"]),
            _text(part["patient_id"]),
            _text(part["code"]),
            _text(part["system"]),
            _dates(part["onset"]),
            strict=True,
        ):
            onset_text = f',"onsetDateTime":"{onset}"' if onset else ""
            lines.append(
                f'{{"resourceType":"Condition","id":{_id(rid)},{clinical},{verified},'
                f'"code":{{"coding":[{{"system":{_q(system)},"code":{_q(code)}}}]}},'
                f'"subject":{{"reference":"Patient/{pid}"}}{onset_text}}}'
            )
        yield lines


def _medications(frame: pd.DataFrame, window_end: dt.date) -> Iterator[list[str]]:
    for part in _chunks(frame):
        lines = []
        for rid, pid, drug, code, system, start, stop, route in zip(
            _text(part["id"]),
            _text(part["patient_id"]),
            _text(part["drug"]),
            _text(part["code"]),
            _text(part["system"]),
            _dates(part["start"]),
            _dates(part["stop"]),
            _text(part["route"]),
            strict=True,
        ):
            coding = (
                f'"coding":[{{"system":{_q(system)},"code":{_q(code)}}}],'
                if code and system
                else ""
            )
            status = "active" if stop is None else "completed"
            bounds = f'{{"start":"{start}"' + (f',"end":"{stop}"}}' if stop else "}")
            route_text = f',"route":{{"text":{_q(route)}}}' if route else ""
            lines.append(
                f'{{"resourceType":"MedicationRequest","id":{_id(rid)},"status":"{status}",'
                f'"intent":"order","medicationCodeableConcept":{{{coding}"text":{_q(drug)}}},'
                f'"subject":{{"reference":"Patient/{pid}"}},"authoredOn":"{start}",'
                f'"dosageInstruction":[{{"timing":{{"repeat":{{"boundsPeriod":{bounds}}}}}'
                f"{route_text}}}]}}"
            )
        yield lines


def _observations(frame: pd.DataFrame) -> Iterator[list[str]]:
    from cvrisk import vocab

    smoking = _codes()["smoking"]
    answer = {v: _first_code(smoking["codes"], v, 0) for v in ("current", "former", "never")}
    loinc = vocab.analytes()
    for part in _chunks(frame):
        lines = []
        for rid, pid, analyte, code, value, unit, coded, day, status in zip(
            _text(part["id"]),
            _text(part["patient_id"]),
            _text(part["analyte"]),
            _text(part["code"]),
            part["value"].tolist(),
            _text(part["unit"]),
            _text(part["coded"]),
            _dates(part["date"]),
            _text(part["status"]),
            strict=True,
        ):
            if code is None:
                code = _analyte_code(loinc[analyte].loinc, unit)
            if coded is not None:
                result = (
                    f'"valueCodeableConcept":{{"coding":[{{"system":"{smoking["system"]}",'
                    f'"code":"{answer[coded]}"}}],"text":{_q(coded)}}}'
                )
            else:
                result = (
                    f'"valueQuantity":{{"value":{value!r},"unit":{_q(unit)},'
                    f'"system":"http://unitsofmeasure.org","code":{_q(unit)}}}'
                )
            lines.append(
                f'{{"resourceType":"Observation","id":{_id(rid)},"status":"{status or "final"}",'
                f'"code":{{"coding":[{{"system":"http://loinc.org","code":"{code}"}}]}},'
                f'"subject":{{"reference":"Patient/{pid}"}},"effectiveDateTime":"{day}",{result}}}'
            )
        yield lines


@lru_cache(maxsize=1024)
def _analyte_code(codes: tuple[str, ...], unit: str | None) -> str:
    """The LOINC code of an analyte written by id: the synthetic generator's choice for the
    unit's kind when it made one, else the analyte's preferred (first) code."""
    from cvrisk.cohort.synth import LOINC_BY_KIND, UNIT_KIND

    kind = UNIT_KIND.get(unit or "")
    for (_analyte, k), code in LOINC_BY_KIND.items():
        if k == kind and code in codes:
            return code
    return codes[0]
