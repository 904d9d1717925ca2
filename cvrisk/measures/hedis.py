"""SSD, SMD, SMC and APM over the cohort tables, vectorised (docs/measures.md).

:func:`measure` evaluates the measures of ``cvrisk/data/measures.toml`` for one measurement
year and returns, per patient and rate, whether the patient is in the denominator, excluded,
in the numerator, and why (``reason``; ``evidence``: the code or result behind it). What
counts, row by row:

- **age**: completed years on 31 December of the year (``year - birth year``: every birthday,
  29 February included, has passed by then);
- **diagnoses**: a condition row whose code belongs to one of the measure's condition sets
  (``cvrisk.vocab.conditions_matching``: ICD-10 by prefix, SNOMED CT exactly), with an onset
  on or before 31 December (or no onset) and no abatement before 1 January;
- **antipsychotic prescriptions**: medication rows recognised as antipsychotics
  (``cvrisk.vocab.resolve_drug``: catalogue or not) whose ``start`` falls in the year; each
  row is one prescription or dispensing event (a name/code conflict is not counted);
- **tests**: observation rows of the test's analytes (``analyte``, or a LOINC ``code``) dated
  in the year, whatever the result or its status.

Every criterion and its public source is in the data file; the code lists approximate NCQA's
licensed value sets (docs/measures.md lists what each includes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk import vocab
from cvrisk.data import load_data
from cvrisk.errors import CvriskError, OptionError

if TYPE_CHECKING:
    import pandas as pd

MEASURES = ("ssd", "smd", "smc", "apm")
RESULT_COLUMNS = [
    "patient_id",
    "measure",
    "rate",
    "stratum",
    "age",
    "sex",
    "denominator",
    "excluded",
    "numerator",
    "reason",
    "evidence",
]


@cache
def definitions() -> dict[str, Any]:
    """``cvrisk/data/measures.toml`` (read-only)."""
    return load_data("measures.toml")


@dataclass
class MeasureResult:
    """The measures of one year: ``patients`` has one row per patient and rate
    (:data:`RESULT_COLUMNS`); :meth:`summary` and :func:`cvrisk.measures.rates_by` count them."""

    year: int
    patients: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Denominator, numerator, exclusions and rate with its Wilson 95 % interval, per
        measure, rate and stratum (``total`` for every measure)."""
        from cvrisk.measures.rates import rates_by

        return rates_by(self, by=[])


def _frame(tables: Any, name: str) -> pd.DataFrame:
    frame = tables.get(name) if isinstance(tables, Mapping) else getattr(tables, name, None)
    if frame is None:
        raise OptionError(
            f"the cohort tables have no {name!r} table: give the four cohort tables "
            "(patients, conditions, medications, observations)"
        )
    return frame


def _codes(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Integer code per row and the distinct values (None for missing: code -1)."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = list(column.cat.categories)
        return np.asarray(column.cat.codes, dtype=np.int64), categories
    codes, uniques = pd.factorize(column.astype(object).where(column.notna(), None))
    return np.asarray(codes, dtype=np.int64), list(uniques)


def _index(column: pd.Series, ids: pd.Index) -> np.ndarray:
    """Patient number of each row (-1: a patient not in the patients table)."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):  # no Python list of the ids
        codes = np.asarray(column.cat.codes, dtype=np.int64)
        categories = column.cat.categories.astype(str)
        position = np.append(ids.get_indexer(categories), -1)
        return position[np.where(codes < 0, len(categories), codes)]
    codes, values = _codes(column)
    position = np.append(ids.get_indexer(pd.Index(values, dtype=object).astype(str)), -1)
    return position[np.where(codes < 0, len(values), codes)]


def _distinct_codes(
    frame: pd.DataFrame, columns: list[str], func: Any
) -> tuple[np.ndarray, list[Any]]:
    """``func(*values)`` per distinct combination of ``columns`` (computed once each), as
    (code per row, value per code); missing values are passed as None. Columns are coded
    one by one (categoricals by their codes) and combined arithmetically: no row-level
    Python."""
    import pandas as pd

    if frame.empty:
        return np.empty(0, dtype=np.int64), []
    coded = [_codes(frame[c]) for c in columns]
    key = np.zeros(len(frame), dtype=np.int64)
    for codes, values in coded:
        key = key * (len(values) + 1) + (codes + 1)
    inverse, distinct = pd.factorize(key)  # hashing: no sort
    results = []
    for k in distinct:
        parts = []
        rest = int(k)
        for _, values in reversed(coded):
            rest, digit = divmod(rest, len(values) + 1)
            parts.append(values[digit - 1] if digit else None)
        results.append(func(*reversed(parts)))
    return np.asarray(inverse, dtype=np.int64).reshape(-1), results


def _year_bounds(year: int) -> tuple[np.datetime64, np.datetime64]:
    return np.datetime64(f"{year:04d}-01-01", "ns"), np.datetime64(
        f"{year:04d}-12-31T23:59:59", "ns"
    )


class _Cohort:
    """The per-row facts every measure needs, computed once."""

    def __init__(self, tables: Any, year: int) -> None:
        import pandas as pd

        self.year = year
        self.start, self.end = _year_bounds(year)
        patients = _frame(tables, "patients")
        self.ids = pd.Index(patients["patient_id"].astype(str))
        if not self.ids.is_unique:
            raise OptionError("the patients table lists a patient_id twice: give each patient once")
        self.n = len(self.ids)
        self.patient_column = pd.Categorical.from_codes(np.arange(self.n), categories=self.ids)
        birth = pd.to_datetime(patients["birth_date"], errors="coerce")
        self.age = (year - birth.dt.year).to_numpy(dtype=float)  # NaN: no date of birth
        sex = patients["sex"].astype("category")
        self.sex_codes = np.asarray(sex.cat.codes, dtype=np.int64)
        self.sex_labels = [str(c) for c in sex.cat.categories]
        self._conditions(_frame(tables, "conditions"))
        self._medications(_frame(tables, "medications"))
        self._observations(_frame(tables, "observations"))

    def _conditions(self, frame: pd.DataFrame) -> None:
        import pandas as pd

        pid = _index(frame["patient_id"], self.ids)
        set_code, sets = _distinct_codes(frame, ["code", "system"], _condition_sets)
        onset = pd.to_datetime(frame["onset"], errors="coerce").to_numpy()
        abated = pd.to_datetime(frame["abatement"], errors="coerce").to_numpy()
        current = (pid >= 0) & ~(onset > self.end) & ~(abated < self.start) & (set_code >= 0)
        codes = frame["code"].astype(object).to_numpy()
        self._condition_rows = (pid, set_code, sets, current, codes)
        self._diagnosis_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    def diagnosis(self, set_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per patient: has a current diagnosis in any of ``set_ids``; its code (first)."""
        key = tuple(set_ids)
        if key not in self._diagnosis_cache:
            pid, set_code, sets, current, codes = self._condition_rows
            wanted = set(set_ids)
            in_sets = np.array([not wanted.isdisjoint(s) for s in sets] + [False], dtype=bool)
            member = in_sets[np.where(set_code < 0, len(sets), set_code)]
            rows = np.flatnonzero(member & current)
            has = np.zeros(self.n, dtype=bool)
            has[pid[rows]] = True
            code = np.full(self.n, None, dtype=object)
            code[pid[rows][::-1]] = codes[rows][::-1]  # first row wins
            self._diagnosis_cache[key] = (has, code)
        return self._diagnosis_cache[key]

    def _medications(self, frame: pd.DataFrame) -> None:
        import pandas as pd

        pid = _index(frame["patient_id"], self.ids)
        row_code, flags = _distinct_codes(frame, ["drug", "code", "system"], _is_antipsychotic)
        antipsychotic = np.array([*flags, False], dtype=bool)[
            np.where(row_code < 0, len(flags), row_code)
        ]
        start = pd.to_datetime(frame["start"], errors="coerce").to_numpy()
        in_year = (start >= self.start) & (start <= self.end)
        rows = (pid >= 0) & antipsychotic & in_year
        self.events = np.bincount(pid[rows], minlength=self.n)

    def _observations(self, frame: pd.DataFrame) -> None:
        import pandas as pd

        pid = _index(frame["patient_id"], self.ids)
        names = list(vocab.analytes())
        row_code, found = _distinct_codes(frame, ["analyte", "code", "system"], _analyte_of)
        per_code = np.array([names.index(a) if a is not None else -1 for a in found] + [-1])
        analyte = per_code[np.where(row_code < 0, len(found), row_code)]
        date = pd.to_datetime(frame["date"], errors="coerce", utc=False)
        if getattr(date.dt, "tz", None) is not None:
            date = date.dt.tz_localize(None)
        day = date.to_numpy()
        keep = (pid >= 0) & (day >= self.start) & (day <= self.end) & (analyte >= 0)
        self._analyte_names = np.array(names, dtype=object)
        self._results = (pid[keep], analyte[keep], day[keep])
        self._test_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def test(self, test_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per patient: a result of the test in the year; its first analyte and date."""
        if test_id not in self._test_cache:
            analytes = definitions()["tests"][test_id]["analytes"]
            pid, analyte, day = self._results
            wanted = np.zeros(len(self._analyte_names), dtype=bool)
            wanted[[list(self._analyte_names).index(a) for a in analytes]] = True
            rows = np.flatnonzero(wanted[analyte])  # a lookup per row, no search
            days = day[rows].astype("datetime64[D]").astype(np.int64)  # < 2**20 until 4840
            key = (pid[rows].astype(np.int64) << 20) | (days - days.min() if days.size else days)
            order = rows[np.argsort(key, kind="stable")]  # nearly sorted input: fast
            first = order[np.r_[True, pid[order][1:] != pid[order][:-1]]] if order.size else order
            done = np.zeros(self.n, dtype=bool)
            done[pid[first]] = True
            first_analyte = np.full(self.n, None, dtype=object)
            first_day = np.full(self.n, np.datetime64("NaT"), dtype="datetime64[ns]")
            first_analyte[pid[first]] = self._analyte_names[analyte[first]]
            first_day[pid[first]] = day[first]
            self._test_cache[test_id] = (done, first_analyte, first_day)
        return self._test_cache[test_id]


@cache
def _condition_sets(code: Any, system: Any) -> frozenset[str]:
    if code is None or system is None:
        return frozenset()
    try:
        return frozenset(vocab.conditions_matching(str(code), str(system)))
    except CvriskError:
        return frozenset()


@cache
def _is_antipsychotic(drug: Any, code: Any, system: Any) -> bool:
    try:
        match = vocab.resolve_drug(
            name=str(drug) if drug is not None else None,
            code=str(code) if code is not None and system is not None else None,
            system=str(system) if code is not None and system is not None else None,
        )
    except CvriskError:  # a name/code conflict or an unknown system: not counted
        return False
    return match is not None and match.category == "antipsychotic"


@cache
def _analyte_of(analyte: Any, code: Any, system: Any) -> str | None:
    if analyte is not None:
        return str(analyte) if str(analyte) in vocab.analytes() else None
    if code is None or system is None:
        return None
    try:
        return vocab.analyte_for_code(str(code), str(system))
    except CvriskError:
        return None


def measure(tables: Any, year: int, *, measures: Iterable[str] = MEASURES) -> MeasureResult:
    """The measures of ``year`` over the cohort tables (a mapping of the four tables or an
    object with ``patients``... attributes; see the module docstring).

    Raises:
        OptionError: an unknown measure, a year that is not an integer, a table missing.
    """
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1800 <= year <= 2499:
        raise OptionError(f"year={year!r}: give the measurement year, e.g. 2025")
    wanted = list(measures)
    unknown = [m for m in wanted if m not in definitions()["measures"]]
    if unknown:
        raise OptionError(f"unknown measure(s) {unknown}: choose among {', '.join(MEASURES)}")
    import pandas as pd

    cohort = _Cohort(tables, int(year))
    parts = [part for m in wanted for part in _evaluate(cohort, m)]
    if not parts:
        return MeasureResult(year=int(year), patients=pd.DataFrame(columns=RESULT_COLUMNS))
    return MeasureResult(year=int(year), patients=_assemble(cohort, parts))


@dataclass
class _Part:
    """One measure rate's per-patient arrays (``reason``: codes into ``texts``)."""

    measure: str
    rate: str
    stratum: np.ndarray
    denominator: np.ndarray
    excluded: np.ndarray
    numerator: np.ndarray
    reason: np.ndarray
    texts: list[str]
    evidence: np.ndarray


def _assemble(cohort: _Cohort, parts: list[_Part]) -> pd.DataFrame:
    """One table for every rate, categorical columns sharing their categories (no
    per-row text: codes are remapped once per part)."""
    import pandas as pd

    def shared(labels: list[str]) -> list[str]:
        return list(dict.fromkeys(labels))

    measures = shared([p.measure for p in parts])
    rates = shared([p.rate for p in parts])
    strata = shared(["total", *(str(s) for p in parts for s in pd.unique(p.stratum))])
    texts = shared([t for p in parts for t in p.texts])
    n = cohort.n
    reason = np.concatenate([np.array([texts.index(t) for t in p.texts])[p.reason] for p in parts])
    stratum_code = np.concatenate(
        [pd.Index(strata).get_indexer(pd.Index(p.stratum, dtype=object)) for p in parts]
    )
    return pd.DataFrame(
        {
            "patient_id": pd.Categorical.from_codes(
                np.tile(np.arange(n), len(parts)), categories=cohort.ids
            ),
            "measure": pd.Categorical.from_codes(
                np.repeat([measures.index(p.measure) for p in parts], n), categories=measures
            ),
            "rate": pd.Categorical.from_codes(
                np.repeat([rates.index(p.rate) for p in parts], n), categories=rates
            ),
            "stratum": pd.Categorical.from_codes(stratum_code, categories=strata),
            "age": np.tile(cohort.age, len(parts)),
            "sex": pd.Categorical.from_codes(
                np.tile(cohort.sex_codes, len(parts)), categories=cohort.sex_labels
            ),
            "denominator": np.concatenate([p.denominator for p in parts]),
            "excluded": np.concatenate([p.excluded for p in parts]),
            "numerator": np.concatenate([p.numerator for p in parts]),
            "reason": pd.Categorical.from_codes(reason, categories=texts),
            "evidence": np.concatenate([p.evidence for p in parts]),
        }
    )


def _set_labels(set_ids: Sequence[str]) -> str:
    labels = [vocab.condition_sets()[s]["label"]["en"].lower() for s in set_ids]
    return " or ".join(labels)


def _evaluate(cohort: _Cohort, measure_id: str) -> list[_Part]:

    spec = definitions()["measures"][measure_id]
    year = cohort.year
    n = cohort.n
    low, high = spec["age"]
    age = cohort.age
    no_birth = np.isnan(age)
    age_ok = ~no_birth & (age >= low) & (age <= high)
    steps: list[tuple[np.ndarray, str]] = [
        (no_birth, "not in the population: no date of birth"),
        (~age_ok, f"not in the population: not aged {low}-{high} on {year}-12-31"),
    ]
    dx_code = np.full(n, None, dtype=object)
    if spec.get("diagnoses"):
        has, dx_code = cohort.diagnosis(spec["diagnoses"])
        steps.append(
            (~has, f"not in the population: no {_set_labels(spec['diagnoses'])} diagnosis")
        )
    if spec.get("with_diagnoses"):
        has_with, _ = cohort.diagnosis(spec["with_diagnoses"])
        steps.append(
            (
                ~has_with,
                f"not in the population: no {_set_labels(spec['with_diagnoses'])} diagnosis",
            )
        )
    events = int(spec.get("antipsychotic_events", 0))
    if events:
        plural = "prescription" if events == 1 else "prescriptions"
        steps.append(
            (
                cohort.events < events,
                f"not in the population: fewer than {events} antipsychotic {plural} "
                f"starting in {year}",
            )
        )
    population = np.ones(n, dtype=bool)
    reason_index = np.full(n, -1)
    for number, (fails, _text) in enumerate(steps):
        first = population & fails
        reason_index[first] = number
        population &= ~fails
    excluded = np.zeros(n, dtype=bool)
    exclusion_code = np.full(n, None, dtype=object)
    if spec.get("exclude"):
        has_excl, excl_code = cohort.diagnosis(spec["exclude"])
        excluded = population & has_excl
        exclusion_code = np.where(excluded, excl_code, np.array(None, dtype=object))
    denominator = population & ~excluded
    strata = spec.get("strata") or []
    stratum = np.full(n, "total", dtype=object)
    for label, s_low, s_high in strata:
        stratum[(age >= s_low) & (age <= s_high)] = label
    frames = []
    for rate, rate_spec in spec["rates"].items():
        tests = rate_spec["tests"]
        done = [cohort.test(t) for t in tests]
        numerator = denominator & np.logical_and.reduce([d[0] for d in done])
        texts = [text for _, text in steps]
        texts.append(
            f"excluded: {_set_labels(spec['exclude'])} diagnosis"
            if spec.get("exclude")
            else "excluded"
        )
        label = " and ".join(definitions()["tests"][t]["label"] for t in tests)
        texts.append(f"in the numerator: {label} in {year}")
        code = reason_index.copy()
        code[excluded] = len(steps)
        code[numerator] = len(steps) + 1
        missing_rows = denominator & ~numerator
        # why not in the numerator: the tests missing
        # the tests missing, as a bit mask per patient: one reason per combination
        mask = np.zeros(n, dtype=np.int64)
        for bit, d in enumerate(done):
            mask |= (~d[0]).astype(np.int64) << bit
        text_of_mask = np.full(1 << len(tests), -1)
        for value in np.unique(mask[missing_rows]):
            names = [
                definitions()["tests"][t]["label"] for b, t in enumerate(tests) if value >> b & 1
            ]
            text_of_mask[value] = len(texts)
            texts.append(
                f"in the denominator, not the numerator: no {' and no '.join(names)} in {year}"
            )
        code[missing_rows] = text_of_mask[mask[missing_rows]]
        evidence = _evidence(
            denominator, numerator, excluded, done, dx_code, exclusion_code, population
        )
        frames.append(
            _Part(
                measure=measure_id,
                rate=rate,
                stratum=stratum,
                denominator=denominator,
                excluded=excluded,
                numerator=numerator,
                reason=code,
                texts=texts,
                evidence=evidence,
            )
        )
    return frames


def _evidence(
    denominator: np.ndarray,
    numerator: np.ndarray,
    excluded: np.ndarray,
    done: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    dx_code: np.ndarray,
    exclusion_code: np.ndarray,
    population: np.ndarray,
) -> np.ndarray:
    """What the reason rests on: the first result of each test (numerator), the exclusion's
    code, or the diagnosis code of a denominator patient missing a test."""
    out = np.full(denominator.size, None, dtype=object)
    rows = np.flatnonzero(numerator)
    if rows.size:
        joined: Any = None
        for _, analyte, day in done:
            day_text = np.datetime_as_string(day[rows].astype("datetime64[D]"), unit="D")
            part = np.char.add(np.char.add(analyte[rows].astype(str), " "), day_text)
            joined = part if joined is None else np.char.add(np.char.add(joined, "; "), part)
        out[rows] = joined.astype(object)
    out[excluded] = exclusion_code[excluded]
    gap = denominator & ~numerator
    out[gap] = dx_code[gap]
    return out


def year_of(value: dt.date | int) -> int:
    """The measurement year of a date (its calendar year), or the year itself."""
    return value.year if isinstance(value, dt.date) else int(value)
