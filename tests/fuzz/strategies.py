"""hypothesis strategies for adversarial input: mutated records, FHIR-like JSON, hostile
arguments to evaluate/schedule/score_record, and command lines.

Every strategy mixes valid input with the kinds of damage the adversarial campaign found
(wrong types and shapes, deep nesting, extreme numbers and dates, codes of the wrong system,
strings with null bytes or a million characters), so that a target's outcome is either a
result or a :class:`~cvrisk.errors.CvriskError`; anything else is a bug. Used by
``tests/fuzz/test_fuzz.py`` (CI size) and ``bench/fuzz.py`` (10^5 inputs).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.rules.strategies import DRUGS, record

# -- building blocks ------------------------------------------------------------------------

ANALYTE_IDS = [
    "weight",
    "height",
    "bmi",
    "waist",
    "sbp",
    "dbp",
    "hba1c",
    "fasting_glucose",
    "total_cholesterol",
    "hdl_cholesterol",
    "neutrophils",
    "qtc",
    "crp",
    "troponin",
    "smoking_status",
    "nonsense",
]
UNITS = ["kg", "g", "cm", "m", "mm[Hg]", "mmol/L", "mg/dL", "%", "10*9/L", "ms", "mg", "", "kg/m2"]
SYSTEMS = ["icd10", "snomed", "loinc", "atc", "rxnorm", "http://snomed.info/sct", "nope", ""]
CODES = ["F20.0", "ZZZ99", "58214004", "58214005", "2345-7", "N05AH02", "2626", "E11", "", "0"]

numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**63, 10**400]),
)
strings = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "null", "2024-02-30", "9999-12-31", "0001-01-01", "ÿ"]),
    st.builds(lambda n: "x" * n, st.integers(10_000, 2_000_000)),
)
date_texts = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-13-01", "2024-02-30", "24-01-01", "2024-01-01T25:00", "today"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings, date_texts)


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values (and some that JSON cannot hold: tuples, non-string keys)."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.text(max_size=8), inner, max_size=4),
            st.tuples(inner, inner),
        ),
        max_leaves=max_leaves,
    )


def _nested(depth: int, as_list: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


nested = st.builds(_nested, st.integers(50, 50_000), st.booleans())

hostile = st.one_of(scalars, json_values(4), st.just(object()), st.just([["x"]]))


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value (4 in 5), sometimes a hostile one (``one_of`` would flatten the
    hostile alternatives and draw them far more often)."""
    return st.integers(0, 4).flatmap(lambda pick: hostile if pick == 0 else valid)


# -- records --------------------------------------------------------------------------------


@st.composite
def entry(draw: st.DrawFn) -> dict[str, Any]:
    """One record entry, plausible or not, with fields drawn from the real vocabulary."""
    kind = draw(st.sampled_from(["observation", "medication", "condition"]))
    extreme_dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
    dates_any = maybe(st.one_of(extreme_dates.map(str), date_texts))
    if kind == "observation":
        out = {
            "analyte": draw(maybe(st.sampled_from(ANALYTE_IDS))),
            "value": draw(maybe(st.one_of(st.floats(-1e6, 1e6), numbers))),
            "unit": draw(maybe(st.sampled_from(UNITS))),
            "date": draw(dates_any),
        }
        if draw(st.booleans()):
            out["code"] = draw(maybe(st.sampled_from(["29463-7", "2345-7", "2345-8", "x"])))
            out["system"] = draw(maybe(st.sampled_from(SYSTEMS)))
    elif kind == "medication":
        out = {
            "drug": draw(maybe(st.sampled_from(DRUGS))),
            "start": draw(dates_any),
            "dose": draw(
                maybe(
                    st.fixed_dictionaries({"value": numbers, "unit": maybe(st.sampled_from(UNITS))})
                )
            ),
        }
        if draw(st.booleans()):
            out["code"] = draw(maybe(st.sampled_from(CODES)))
            out["system"] = draw(maybe(st.sampled_from(SYSTEMS)))
    else:
        out = {
            "code": draw(maybe(st.sampled_from(CODES))),
            "system": draw(maybe(st.sampled_from(SYSTEMS))),
            "onset": draw(dates_any),
        }
    for key in draw(st.lists(st.sampled_from(sorted(out)), max_size=2, unique=True)):
        del out[key]
    if draw(st.booleans()):
        out[draw(st.sampled_from(["code", "system", "id", "stop", "abatement", "coded", "x"]))] = (
            draw(maybe(date_texts))
        )
    return {"kind": kind, "entry": out}


_LISTS = {"observation": "observations", "medication": "medications", "condition": "conditions"}


@st.composite
def mutated_record(draw: st.DrawFn) -> Any:
    """A generated valid record with damage: entries replaced, fields deleted or retyped,
    deep nesting inserted, or the whole record replaced by arbitrary JSON."""
    base: dict[str, Any] = draw(record(max_observations=8))
    damage = draw(
        st.sampled_from(["none", "entries", "patient", "field", "nested", "shape", "whole"])
    )
    if damage == "entries":
        for item in draw(st.lists(entry(), min_size=1, max_size=4)):
            base.setdefault(_LISTS[item["kind"]], []).append(item["entry"])
    elif damage == "patient":
        patient = dict(base["patient"])
        patient[draw(st.sampled_from(["birth_date", "sex", "ethnicity", "race", "id", "x"]))] = (
            draw(json_values(4))
        )
        base["patient"] = patient
    elif damage == "field":
        base[
            draw(st.sampled_from(["patient", "observations", "medications", "conditions", "x"]))
        ] = draw(json_values(6))
    elif damage == "nested":
        key = draw(st.sampled_from(["patient", "observations", "conditions"]))
        base[key] = draw(nested)
    elif damage == "shape":
        return draw(st.sampled_from([[base], (base,), 3, None, b"\xff", "-", "{", "[]"]))
    elif damage == "whole":
        return draw(json_values(30))
    return base


# -- FHIR-like structures (the detection path, and the reader when one is installed) ----------

RESOURCE_TYPES = [
    "Bundle",
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "Encounter",
    "",
    "patient",
]


@st.composite
def fhir_like(draw: st.DrawFn) -> Any:
    """Dicts and lists that look like FHIR (``resourceType``) with arbitrary content."""

    def resource() -> dict[str, Any]:
        out = draw(st.dictionaries(st.text(max_size=10), json_values(6), max_size=5))
        out["resourceType"] = draw(st.one_of(st.sampled_from(RESOURCE_TYPES), scalars))
        return out

    shape = draw(st.sampled_from(["resource", "list", "bundle", "ndjson", "deep"]))
    if shape == "resource":
        return resource()
    if shape == "list":
        return [resource() for _ in range(draw(st.integers(1, 4)))]
    if shape == "bundle":
        entries = [{"resource": resource()} for _ in range(draw(st.integers(0, 4)))]
        return {"resourceType": "Bundle", "type": draw(scalars), "entry": entries}
    if shape == "deep":
        return {"resourceType": "Bundle", "entry": draw(nested)}
    import json

    lines = [json.dumps(resource(), default=str) for _ in range(draw(st.integers(2, 4)))]
    return "\n".join(lines)


_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _fhir_examples() -> list[Any]:
    import json

    return [json.loads(path.read_text()) for path in sorted(_EXAMPLES.glob("*.fhir.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to an element (keys and indices) of a parsed JSON document."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, new)}
    copy = list(document)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


@st.composite
def mutated_fhir(draw: st.DrawFn) -> Any:
    """A real FHIR example (examples/*.fhir.json) with one to three elements replaced by
    arbitrary JSON, or deleted: the reader's own paths, not just its front door."""
    document = draw(st.sampled_from(_fhir_examples()))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths[1:] or paths))
        document = _replaced(document, path, draw(json_values(8)))
    return document


# -- arguments ------------------------------------------------------------------------------

evaluate_kwargs = st.fixed_dictionaries(
    {},
    optional={
        "as_of": maybe(
            st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)) | date_texts
        ),
        "protocols": maybe(
            st.lists(st.sampled_from(["nice-cg178", "clozapine-uk", "ecg-qtc", "x.toml", "nope"]))
        ),
        "jurisdiction": maybe(st.sampled_from(["GB", "US", "FR", "uk", "INT", "XX", None])),
        "lang": maybe(st.sampled_from(["en", "fr"])),
        "scores": maybe(st.lists(st.sampled_from(["qrisk3", "pce", "score2", "nope"]))),
        "score_inputs": maybe(
            st.dictionaries(
                st.sampled_from(["qrisk3", "pce", "nope"]),
                st.dictionaries(st.sampled_from(["sbp", "smoking", "zzz"]), scalars, max_size=2),
                max_size=2,
            )
        ),
        "record_complete": maybe(st.booleans()),
        "on_invalid": maybe(st.sampled_from(["raise", "report"])),
        "strict": maybe(st.booleans()),
    },
)

schedule_args = st.fixed_dictionaries(
    {
        "drug": maybe(st.sampled_from(DRUGS)),
        "start": maybe(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2499, 12, 31))),
    },
    optional={
        "protocol": maybe(st.sampled_from(["nice-cg178", "clozapine-uk", "nope", "a.toml"])),
        "patient": maybe(
            st.fixed_dictionaries(
                {
                    "birth_date": st.dates(min_value=dt.date(1900, 1, 1)).map(str) | date_texts,
                    "sex": st.sampled_from(["female", "male", "x"]),
                }
            )
        ),
        "jurisdiction": maybe(st.sampled_from(["GB", "FR", "US"])),
        "lang": maybe(st.sampled_from(["en", "fr"])),
    },
)

score_record_args = st.fixed_dictionaries(
    {
        "model": maybe(st.sampled_from(["qrisk3", "pce", "score2", "prevent", "framingham"])),
        "as_of": maybe(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))),
    },
    optional={
        "given": maybe(st.dictionaries(st.sampled_from(["sbp", "smoking", "zzz"]), scalars)),
        "record_complete": maybe(st.booleans()),
        "lang": maybe(st.sampled_from(["en", "fr"])),
    },
)

# -- command lines --------------------------------------------------------------------------

_WORDS = st.one_of(
    st.sampled_from(
        [
            "evaluate",
            "schedule",
            "protocols",
            "schema",
            "--as-of",
            "--protocol",
            "--jurisdiction",
            "--lang",
            "--format",
            "--drug",
            "--start",
            "--birth-date",
            "--sex",
            "--score-input",
            "--record-complete",
            "json",
            "table",
            "record",
            "protocol",
            "clozapine",
            "olanzapine",
            "2025-01-01",
            "9999-12-31",
            "GB",
            "fr",
            "qrisk3.sbp=140",
            "nice-cg178",
            "{record}",
            "{garbage}",
            "-",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def cli_argv(draw: st.DrawFn) -> list[str]:
    """A command line (never ``score``: its input errors belong to the cohort scorer)."""
    command = draw(st.sampled_from(["evaluate", "schedule", "protocols", "schema", "x"]))
    rest = draw(st.lists(_WORDS, max_size=6))
    argv = [command, *rest]
    if "score" in argv:
        argv = [a for a in argv if a != "score"]
    return argv
