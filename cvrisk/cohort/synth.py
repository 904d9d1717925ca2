"""A synthetic cohort of people with severe mental illness, in the cohort tables' shape.

:func:`synthesize` draws ``n`` patients (vectorised numpy, one seeded generator: a seed always
gives the same cohort) and returns the four cohort tables of the contract (docs/cohort.md:
``patients``, ``conditions``, ``medications``, ``observations``), a ``sites`` table
(``patient_id``, ``site``, ``country``) outside the contract, and a ``truth`` table of what
was drawn per patient (for tests). The writers put the same people in native Parquet/CSV
files, FHIR Bulk Data NDJSON (:mod:`cvrisk.cohort.synth_fhir`) and OMOP CDM v5.4 tables
(:mod:`cvrisk.cohort.synth_omop`).

Every number comes from ``cvrisk/data/synth.toml``, where each carries its source or says it
is invented; docs/synth.md explains the model. The data are synthetic: shaped like records,
never a model of a population. Text columns are pandas categoricals (codes into a small list
of labels), entry ids Arrow-backed strings, dates ``datetime64``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.data import load_data
from cvrisk.errors import OptionError
from cvrisk.units import convert

if TYPE_CHECKING:
    import pandas as pd

#: The seed used when none is given: the default cohort never changes.
DEFAULT_SEED = 20251231

_DAY: Any = np.timedelta64(1, "D")
_NAT: Any = np.datetime64("NaT", "D")
_MAX_COURSES = 40
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
COUNTRIES = ("GB", "US", "FR")
DIAGNOSES = ("schizophrenia", "schizoaffective", "bipolar", "none")

# (analyte, unit kind) -> LOINC code written: the code whose property matches the unit (mass
# or molar concentration), all listed for the analyte in cvrisk/data/analytes.toml.
LOINC_BY_KIND = {
    ("total_cholesterol", "molar"): "14647-2",
    ("total_cholesterol", "mass"): "2093-3",
    ("hdl_cholesterol", "molar"): "14646-4",
    ("hdl_cholesterol", "mass"): "2085-9",
    ("ldl_cholesterol", "molar"): "39469-2",
    ("ldl_cholesterol", "mass"): "13457-7",
    ("triglycerides", "molar"): "14927-8",
    ("triglycerides", "mass"): "2571-8",
    ("fasting_glucose", "molar"): "14771-0",
    ("fasting_glucose", "mass"): "1558-6",
    ("random_glucose", "molar"): "14749-6",
    ("random_glucose", "mass"): "2345-7",
    ("hba1c", "ratio"): "59261-8",
    ("hba1c", "percent"): "4548-4",
}
_LOINC_PLAIN = {
    "weight": "29463-7",
    "height": "8302-2",
    "bmi": "39156-5",
    "sbp": "8480-6",
    "dbp": "8462-4",
    "prolactin": "2842-3",
    "qtc": "8636-3",
    "neutrophils": "751-8",
    "wbc": "6690-2",
    "smoking_status": "72166-2",
}
UNIT_KIND = {"mmol/L": "molar", "mg/dL": "mass", "g/L": "mass", "mmol/mol": "ratio", "%": "percent"}
#: Decimals laboratories write, by unit.
_DECIMALS = {
    "mmol/L": 2,
    "mg/dL": 0,
    "g/L": 2,
    "mmol/mol": 0,
    "%": 1,
    "kg": 1,
    "[lb_av]": 0,
    "cm": 0,
    "kg/m2": 1,
    "mm[Hg]": 0,
    "ng/mL": 1,
    "ms": 0,
    "10*9/L": 2,
}


@cache
def parameters() -> dict[str, Any]:
    """The distributions of ``cvrisk/data/synth.toml`` (read-only)."""
    return load_data("synth.toml")


@dataclass
class SyntheticCohort:
    """The synthetic cohort: the four cohort tables, the patients' sites, what was drawn.

    ``sites`` (``patient_id``, ``site``, ``country``) is outside the cohort-table contract:
    group results by it, or pick the jurisdiction. ``truth`` (``diagnosis``,
    ``coded_diagnosis``, ``child``, ``diabetes``, ``cvd``, ``propensity``) is what the
    generator drew per patient.
    """

    patients: pd.DataFrame
    conditions: pd.DataFrame
    medications: pd.DataFrame
    observations: pd.DataFrame
    sites: pd.DataFrame
    truth: pd.DataFrame
    seed: int
    window: tuple[dt.date, dt.date]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four cohort tables, by name (what :func:`cvrisk.cohort.monitor` reads)."""
        return {
            "patients": self.patients,
            "conditions": self.conditions,
            "medications": self.medications,
            "observations": self.observations,
        }

    def __len__(self) -> int:
        return len(self.patients)


def synthesize(n: int, *, seed: int = DEFAULT_SEED, entry_ids: bool = True) -> SyntheticCohort:
    """A synthetic cohort of ``n`` patients (see the module docstring and docs/synth.md).

    ``entry_ids``: give every condition, medication and observation row an ``id`` (``c0``,
    ``m0``, ``o0``...; the FHIR resource ids and OMOP row ids derive from them). False leaves
    the optional ``id`` column empty, which saves time and memory on very large cohorts.

    Raises:
        OptionError: ``n`` is not a positive integer or ``seed`` not a non-negative integer.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise OptionError(f"n={n!r}: give the number of patients, a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise OptionError(f"seed={seed!r}: give a non-negative integer")
    return _Generator(int(n), int(seed), entry_ids).run()


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    """Indexes into ``list(shares)`` drawn with the given probabilities (normalised)."""
    p = np.array(list(shares.values()), dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _truncnorm(
    rng: np.random.Generator, mean: Any, sd: float, low: Any, high: Any, size: int
) -> np.ndarray:
    """Normal draws redrawn until inside [low, high] (vectorised rejection, then clipped)."""
    mean_a = np.broadcast_to(np.asarray(mean, dtype=float), (size,))
    low_a = np.broadcast_to(np.asarray(low, dtype=float), (size,))
    high_a = np.broadcast_to(np.asarray(high, dtype=float), (size,))
    out = rng.normal(mean_a, sd)
    bad = (out < low_a) | (out > high_a)
    for _ in range(50):
        if not bad.any():
            break
        out[bad] = rng.normal(mean_a[bad], sd)
        bad = (out < low_a) | (out > high_a)
    return np.clip(out, low_a, high_a)


def _normal(rng: np.random.Generator, params: Any, size: int) -> np.ndarray:
    """Normal draws with ``params`` = [mean, sd] from synth.toml."""
    mean, sd = params
    return rng.normal(float(mean), float(sd), size)


def _days(count: Any) -> np.ndarray:
    return np.asarray(np.round(count), dtype=np.int64).astype("timedelta64[D]")


def text_ids(prefix: str, count: int) -> Any:
    """``prefix0``, ``prefix1``... as an Arrow-backed pandas string array (no Python loop)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(np.arange(count, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(pa.scalar(prefix), numbers, pa.scalar(""))
    return pd.arrays.ArrowStringArray(joined)


def categorical(codes: np.ndarray, labels: list[str] | tuple[str, ...]) -> Any:
    """A pandas categorical from integer codes into ``labels`` (-1: missing)."""
    import pandas as pd

    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(labels))


class _Labels:
    """A growing list of labels and their codes (units, codes, names written)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, label: str) -> int:
        found = self.index.get(label)
        if found is None:
            found = self.index[label] = len(self.items)
            self.items.append(label)
        return found

    def codes(self, labels: list[str] | tuple[str, ...]) -> np.ndarray:
        return np.array([self.code(x) for x in labels], dtype=np.int64)


@dataclass
class _Part:
    """Observation rows of one analyte, as codes (assembled once at the end)."""

    analyte: int
    pid: np.ndarray
    day: np.ndarray
    value: np.ndarray | None
    unit: np.ndarray | None  # codes into _Generator.units
    coded: np.ndarray | None  # codes into _Generator.coded_values


class _Generator:
    """Draws the cohort table by table; arrays are indexed by patient number."""

    def __init__(self, n: int, seed: int, entry_ids: bool) -> None:
        self.n = n
        self.seed = seed
        self.entry_ids = entry_ids
        self.rng = np.random.default_rng(seed)
        self.p = parameters()
        window = self.p["window"]
        self.start: Any = np.datetime64(window["start"], "D")
        self.end: Any = np.datetime64(window["end"], "D")
        self.units = _Labels()
        self.analytes = _Labels()
        self.coded_values = _Labels()
        mixes = self.p["antipsychotics"]
        self.drugs = sorted({d for key in ("GB", "US", "FR", "child") for d in mixes[key]})

    def run(self) -> SyntheticCohort:
        import pandas as pd

        self._people()
        conditions = self._conditions()
        medications = self._courses()
        observations = self._observations()
        ids = self.patient_ids
        patients = pd.DataFrame(
            {
                "patient_id": ids,
                "birth_date": self.birth.astype("datetime64[ns]"),
                "sex": categorical(self.male.astype(np.int64), ["female", "male"]),
                "ethnicity": categorical(self.ethnicity, list(self.p["ethnicity"]["share"])),
                "race": categorical(self.race, list(self.p["race"]["share"])),
            }
        )
        sites = pd.DataFrame(
            {
                "patient_id": ids,
                "site": categorical(self.site, self.site_names),
                "country": categorical(self.country, COUNTRIES),
            }
        )
        truth = pd.DataFrame(
            {
                "patient_id": ids,
                "diagnosis": categorical(self.diagnosis, DIAGNOSES),
                "coded_diagnosis": self.diagnosis < 3,
                "child": self.child,
                "diabetes": ~np.isnat(self.diabetes_onset),
                "cvd": ~np.isnat(self.cvd_onset),
                "propensity": self.propensity,
            }
        )
        return SyntheticCohort(
            patients=patients,
            conditions=conditions,
            medications=medications,
            observations=observations,
            sites=sites,
            truth=truth,
            seed=self.seed,
            window=(self.start.astype(dt.date), self.end.astype(dt.date)),
        )

    def _patient_column(self, pid: np.ndarray) -> Any:
        """The ``patient_id`` column of entry rows: a categorical over the patients' ids."""
        import pandas as pd

        return pd.Categorical.from_codes(pid, dtype=self.patient_dtype)

    def _ids(self, prefix: str, count: int) -> Any:
        if self.entry_ids:
            return text_ids(prefix, count)
        import pandas as pd

        return pd.array([None] * count, dtype="string[pyarrow]")

    # -- patients ---------------------------------------------------------------------

    def _people(self) -> None:
        import pandas as pd

        n, rng, p = self.n, self.rng, self.p
        labels = [f"syn{i:07d}" for i in range(n)]
        self.patient_dtype = pd.CategoricalDtype(labels)
        self.patient_ids = pd.Categorical.from_codes(np.arange(n), dtype=self.patient_dtype)
        self.site_names = list(p["sites"]["share"])
        self.site = _draw(rng, p["sites"]["share"], n)
        site_country = np.array(
            [COUNTRIES.index(p["sites"]["country"][s]) for s in self.site_names]
        )
        self.country = site_country[self.site]
        age_p = p["age"]
        self.child = rng.random(n) < age_p["child_share"]
        dx = p["diagnosis"]
        self.diagnosis = _draw(rng, dx["share"], n)
        no_dx = np.where(self.child, dx["child_no_diagnosis_share"], dx["no_diagnosis_share"])
        self.diagnosis = np.where(rng.random(n) < no_dx, 3, self.diagnosis)
        male_share = np.array([p["sex"]["male_share"][d] for d in DIAGNOSES])
        self.male = rng.random(n) < male_share[self.diagnosis]
        adult = age_p["adult"]
        age = _truncnorm(rng, adult["mean"], adult["sd"], adult["low"], adult["high"], n)
        kids = np.flatnonzero(self.child)
        age[kids] = rng.uniform(age_p["child"]["low"], age_p["child"]["high"], kids.size)
        self.age_end = age
        self.birth = self.end - _days(age * 365.25)
        onset = age_p["onset"]
        onset_age = _truncnorm(rng, onset["mean"], onset["sd"], onset["low"], age, n)
        onset_age[kids] = rng.uniform(np.maximum(3.0, age[kids] - 3.0), age[kids])
        self.onset = self.birth + _days(onset_age * 365.25)
        gb, us = self.country == 0, self.country == 1
        self.ethnicity = np.where(gb, _draw(rng, p["ethnicity"]["share"], n), -1)
        self.race = np.where(us, _draw(rng, p["race"]["share"], n), -1)
        test = p["testing"]
        prop = rng.beta(test["propensity"]["a"], test["propensity"]["b"], n)
        disengaged = rng.random(n) < test["disengaged_share"]
        self.propensity = np.where(disengaged, prop * test["disengaged_factor"], prop)
        v = p["values"]
        w, h = v["weight_kg"], v["height_cm"]
        self.base_weight = np.where(
            self.male, _normal(rng, w["male"], n), _normal(rng, w["female"], n)
        )
        self.height = np.clip(
            np.where(self.male, _normal(rng, h["male"], n), _normal(rng, h["female"], n)),
            *h["clip"],
        )
        self.gain_factor = rng.lognormal(0.0, p["weight_gain"]["individual_sigma"], n)
        self.tc_level = _normal(rng, v["total_cholesterol"]["mean"], n)
        hdl = v["hdl_cholesterol"]
        self.hdl_level = np.where(
            self.male, _normal(rng, hdl["male"], n), _normal(rng, hdl["female"], n)
        )
        tg = v["triglycerides"]
        self.tg_level = rng.lognormal(np.log(tg["median"]), tg["sigma"], n)

    # -- conditions -------------------------------------------------------------------

    def _conditions(self) -> pd.DataFrame:
        import pandas as pd

        n, rng, p = self.n, self.rng, self.p
        codes = p["codes"]
        snomed_share = np.array([p["diagnosis"]["snomed_share"][c] for c in COUNTRIES])
        use_snomed = rng.random(n) < snomed_share[self.country]
        labels, systems = _Labels(), (ICD10, SNOMED)
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

        def add(who: np.ndarray, group: str, onset: np.ndarray) -> None:
            idx = np.flatnonzero(who)
            snomed = use_snomed[idx] & bool(codes["snomed"][group])
            icd = labels.codes(codes["icd10"][group])
            sct = labels.codes(codes["snomed"][group] or codes["icd10"][group])
            code = np.where(
                snomed,
                sct[rng.integers(0, sct.size, idx.size)],
                icd[rng.integers(0, icd.size, idx.size)],
            )
            rows.append((idx, code, snomed.astype(np.int64), onset[idx]))

        for number, group in enumerate(DIAGNOSES[:3]):
            add(self.diagnosis == number, group, self.onset)
        comorbid = p["comorbidity"]
        adult = ~self.child
        year = 365.25
        t2 = adult & (rng.random(n) < comorbid["diabetes_type2"])
        earliest = np.maximum(self.birth + _days(25 * year), self.start - _days(10 * year))
        span = np.maximum((self.end - earliest) / _DAY, 1.0)
        t2_onset = earliest + _days(np.floor(rng.random(n) * span))
        t1 = (rng.random(n) < comorbid["diabetes_type1"]) & ~t2
        t1_onset = np.minimum(self.birth + _days(rng.uniform(5, 20, n) * year), self.end)
        self.diabetes_onset = np.where(t2, t2_onset, np.where(t1, t1_onset, _NAT))
        add(t2, "diabetes_type2", t2_onset)
        add(t1, "diabetes_type1", t1_onset)
        old_enough = adult & (self.age_end >= comorbid["cvd_min_age"])
        share_old = float(old_enough[adult].mean()) if adult.any() else 1.0
        p_cvd = min(1.0, comorbid["cvd"] / max(share_old, 1e-9))
        cvd = old_enough & (rng.random(n) < p_cvd)
        cvd_earliest = np.maximum(self.birth + _days(30 * year), self.start - _days(5 * year))
        cvd_span = np.maximum((self.end - cvd_earliest) / _DAY, 1.0)
        cvd_onset = cvd_earliest + _days(np.floor(rng.random(n) * cvd_span))
        self.cvd_onset = np.where(cvd, cvd_onset, _NAT)
        add(cvd, "cvd", cvd_onset)
        pid = np.concatenate([r[0] for r in rows])
        order = np.argsort(pid, kind="stable")
        pid = pid[order]
        return pd.DataFrame(
            {
                "patient_id": self._patient_column(pid),
                "id": self._ids("c", pid.size),
                "code": categorical(np.concatenate([r[1] for r in rows])[order], labels.items),
                "system": categorical(np.concatenate([r[2] for r in rows])[order], systems),
                "onset": np.concatenate([r[3] for r in rows])[order].astype("datetime64[ns]"),
                "abatement": np.full(pid.size, _NAT).astype("datetime64[ns]"),
            }
        )

    # -- antipsychotic courses and prescriptions ---------------------------------------

    def _courses(self) -> pd.DataFrame:
        n, rng, c = self.n, self.rng, self.p["courses"]
        first_mean = 18 * 30.4375 / -np.log(1.0 - c["discontinued_by_18_months"])
        history_start = self.start - _days(c["history_days"])
        low, high = c["first_delay_days"]
        delay = _days(rng.uniform(float(low), float(high), n))
        start = np.maximum(self.onset + delay, history_start)
        start = np.maximum(start, self.birth + _days(3 * 365.25))  # never before age 3
        pid_parts, drug_parts, start_parts, stop_parts = [], [], [], []
        active = start <= self.end
        previous = np.full(n, -1)
        for k in range(_MAX_COURSES):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            drug = self._pick_drugs(idx, previous[idx])
            mean = first_mean if k == 0 else float(c["later_mean_days"])
            length = _days(np.maximum(rng.exponential(mean, idx.size), 7))
            stop = start[idx] + length
            running = stop > self.end
            pid_parts.append(idx)
            drug_parts.append(drug)
            start_parts.append(start[idx].copy())
            stop_parts.append(np.where(running, _NAT, stop))
            previous[idx] = drug
            switch = rng.random(idx.size) < c["switch_share"]
            gap = np.where(
                switch,
                rng.integers(c["switch_gap_days"][0], c["switch_gap_days"][1] + 1, idx.size),
                rng.integers(c["restart_gap_days"][0], c["restart_gap_days"][1] + 1, idx.size),
            )
            start[idx] = stop + gap.astype("timedelta64[D]")
            active[idx] = ~running & (start[idx] <= self.end)
        pid = np.concatenate(pid_parts)
        course_start = np.concatenate(start_parts)
        order = np.lexsort((course_start, pid))
        self.course_pid = pid[order]
        self.course_drug = np.concatenate(drug_parts)[order]
        self.course_start = course_start[order]
        self.course_stop = np.concatenate(stop_parts)[order]
        self.first_course = np.full(n, _NAT)
        first_pid, first_row = np.unique(self.course_pid, return_index=True)
        self.first_course[first_pid] = self.course_start[first_row]
        return self._prescriptions()

    def _pick_drugs(self, idx: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """A drug code per patient of ``idx``, from the country's mix (children: the
        children's mix), different from the previous course's drug."""
        rng, mixes = self.rng, self.p["antipsychotics"]
        out = np.empty(idx.size, dtype=np.int64)
        group = np.where(self.child[idx], 3, self.country[idx])
        for g, key in enumerate(("GB", "US", "FR", "child")):
            where = np.flatnonzero(group == g)
            if where.size == 0:
                continue
            shares = mixes[key]
            to_code = np.array([self.drugs.index(d) for d in shares])
            drawn = to_code[_draw(rng, shares, where.size)]
            same = drawn == previous[where]
            for _ in range(30):
                if not same.any():
                    break
                drawn[same] = to_code[_draw(rng, shares, int(same.sum()))]
                same = drawn == previous[where]
            out[where] = drawn
        return out

    def _prescriptions(self) -> pd.DataFrame:
        """Courses as medication rows: one row for the part before the detailed period, repeat
        prescriptions of ``prescription_days`` inside it."""
        import pandas as pd

        c = self.p["courses"]
        step = int(c["prescription_days"])
        detailed_from = self.end - _days(c["detailed_days"])
        start, stop = self.course_start, self.course_stop
        until = np.where(np.isnat(stop), self.end, stop)
        head = start < detailed_from
        split_from = np.where(head, detailed_from, start)
        tail = until >= split_from
        head_stop = np.where(tail, detailed_from - _DAY, stop)
        span = np.where(tail, ((until - split_from) / _DAY).astype(np.int64) + 1, 0)
        pieces = (span + step - 1) // step
        h = np.flatnonzero(head)
        course = np.repeat(np.arange(start.size), pieces)
        k = np.arange(course.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        r_start = split_from[course] + (k * step).astype("timedelta64[D]")
        last = k == pieces[course] - 1
        r_stop = np.where(last, stop[course], r_start + np.timedelta64(step - 1, "D"))
        course = np.concatenate([h, course])
        r_start = np.concatenate([start[h], r_start])
        r_stop = np.concatenate([head_stop[h], r_stop])
        pid = self.course_pid[course]
        order = np.lexsort((r_start, pid))
        course, r_start, r_stop, pid = course[order], r_start[order], r_stop[order], pid[order]
        drug = self.course_drug[course]
        # route: paliperidone and haloperidol courses are depot injections with the toml share
        injectable = np.isin(np.array(self.drugs, dtype=object), ["paliperidone", "haloperidol"])
        course_depot = injectable[self.course_drug] & (
            self.rng.random(start.size) < c["depot_share"]
        )
        names, codes, code_labels = self._drug_names(pid, drug)
        is_us = self.country[pid] == 1
        return pd.DataFrame(
            {
                "patient_id": self._patient_column(pid),
                "id": self._ids("m", pid.size),
                "drug": categorical(names[0], names[1]),
                "code": categorical(codes, code_labels),
                "system": categorical(np.where(is_us & (codes >= 0), 0, -1), [RXNORM]),
                "formulation": categorical(np.full(pid.size, -1), []),
                "start": r_start.astype("datetime64[ns]"),
                "stop": r_stop.astype("datetime64[ns]"),
                "route": categorical(course_depot[course].astype(np.int64), ["oral", "depot"]),
            }
        )

    def _drug_names(
        self, pid: np.ndarray, drug: np.ndarray
    ) -> tuple[tuple[np.ndarray, list[str]], np.ndarray, list[str]]:
        """The name written on each prescription (the INN, or with ``brand_share`` an oral
        brand of the patient's country from synth.toml) as (codes, labels); the RxNorm
        ingredient code the US site writes besides it (codes into the returned labels)."""
        from cvrisk import vocab

        rng, mixes = self.rng, self.p["antipsychotics"]
        names = _Labels()
        name_code = names.codes(self.drugs)[drug]
        brand = rng.random(pid.size) < mixes["brand_share"]
        country = self.country[pid]
        for where, table in mixes["brands"].items():
            for ingredient, options in table.items():
                if ingredient not in self.drugs:
                    continue
                d, c = self.drugs.index(ingredient), COUNTRIES.index(where)
                sel = np.flatnonzero(brand & (drug == d) & (country == c))
                name_code[sel] = names.codes(options)[rng.integers(0, len(options), sel.size)]
        catalogue = vocab.antipsychotics()
        rx_labels: list[str] = []
        rx_of_drug = np.full(len(self.drugs), -1)
        for d, name in enumerate(self.drugs):
            rx = catalogue.get(name, {}).get("rxnorm")
            if rx is not None:
                rx_of_drug[d] = len(rx_labels)
                rx_labels.append(str(rx))
        codes = np.where(country == 1, rx_of_drug[drug], -1)
        return (name_code, names.items), codes, rx_labels

    # -- observations -----------------------------------------------------------------

    def _observations(self) -> pd.DataFrame:
        n, rng, t = self.n, self.rng, self.p["testing"]
        # children are seen from 30 days before their first course; adults from 18
        seen_from = np.where(
            self.child,
            np.maximum(self.first_course - np.timedelta64(30, "D"), self.start),
            np.maximum(self.start, self.birth + _days(18 * 365.25)),
        )
        seen_from = np.where(np.isnat(seen_from), self.end, seen_from)
        length = np.maximum((self.end - seen_from) / _DAY, 0.0)
        events: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        factors = t["comorbidity_factor"]
        has = {"diabetes": ~np.isnat(self.diabetes_onset), "cvd": ~np.isnat(self.cvd_onset)}
        for group, rate in t["per_year"].items():
            boost = np.ones(n)
            for condition, table in factors.items():
                boost = np.where(has[condition], boost * table.get(group, 1.0), boost)
            count = rng.poisson(rate * boost * self.propensity * length / 365.25)
            pid = np.repeat(np.arange(n), count)
            day = seen_from[pid] + _days(np.floor(rng.random(pid.size) * length[pid]))
            events[group] = (pid, day)
        inside = (self.course_start >= self.start) & (self.course_start <= self.end)
        cpid, cstart = self.course_pid[inside], self.course_start[inside]
        for group, prob in t["baseline"].items():
            take = rng.random(cpid.size) < prob * self.propensity[cpid]
            offset = rng.integers(-21, 8, int(take.sum())).astype("timedelta64[D]")
            day = np.clip(cstart[take] + offset, self.start, self.end)
            pid0, day0 = events[group]
            events[group] = (np.concatenate([pid0, cpid[take]]), np.concatenate([day0, day]))
        parts = [
            *self._weights(*events["weight"]),
            self._heights(*events["height"]),
            *self._blood_pressure(*events["blood_pressure"]),
            *self._glucose(*events["glucose"]),
            *self._lipids(*events["lipids"]),
            self._prolactin(*events["prolactin"]),
            self._qtc(*events["ecg"]),
            *self._clozapine_fbc(),
            self._smoking(),
        ]
        return self._assemble(parts)

    def _latest_course(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index of each patient's latest course starting on or before ``day`` (-1: none),
        with one searchsorted over (patient, start) keys."""
        big = np.int64(1 << 22)
        course_key = self.course_pid.astype(np.int64) * big + self.course_start.astype(np.int64)
        key = pid.astype(np.int64) * big + day.astype(np.int64)
        idx = np.searchsorted(course_key, key, side="right") - 1
        ok = idx >= 0
        ok[ok] = self.course_pid[idx[ok]] == pid[ok]
        return np.where(ok, idx, -1)

    def _gain(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Weight gained on the latest antipsychotic course by ``day`` (kg; synth.toml
        [weight_gain]: kept after the course stops)."""
        wg = self.p["weight_gain"]
        g10 = {**wg["at_10_weeks_kg"], **wg["at_10_weeks_invented_kg"]}
        tau = float(wg["tau_days"])
        plateau_of = np.array([g10.get(d, 0.0) for d in self.drugs]) / (1.0 - np.exp(-70.0 / tau))
        idx = self._latest_course(pid, day)
        has = np.flatnonzero(idx >= 0)
        out = np.zeros(pid.size)
        course = idx[has]
        stop = self.course_stop[course]
        until = np.where(np.isnat(stop), day[has], np.minimum(day[has], stop))
        elapsed = np.maximum((until - self.course_start[course]) / _DAY, 0.0)
        who = pid[has]
        factor = self.gain_factor[who] * np.where(self.child[who], wg["children_factor"], 1.0)
        out[has] = plateau_of[self.course_drug[course]] * factor * (1.0 - np.exp(-elapsed / tau))
        return out

    def _age_on(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.asarray((day - self.birth[pid]) / _DAY) / 365.25

    def _height_on(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        height: np.ndarray = self.height[pid].copy()
        kids = np.flatnonzero(self.child[pid])
        ch = self.p["values"]["child_height_cm"]
        grown = ch["intercept"] + ch["per_year"] * self._age_on(pid[kids], day[kids])
        height[kids] = np.minimum(grown, height[kids])
        return height

    def _weights(self, pid: np.ndarray, day: np.ndarray) -> list[_Part]:
        rng, v = self.rng, self.p["values"]
        base = self.base_weight[pid].copy()
        kids = np.flatnonzero(self.child[pid])
        cw = v["child_weight_kg"]
        age = self._age_on(pid[kids], day[kids])
        base[kids] = (cw["intercept"] + cw["per_year"] * age) * np.exp(
            rng.normal(0.0, cw["sd"], kids.size)
        )
        weight = base + self._gain(pid, day) + rng.normal(0, 0.8, pid.size)
        weight = np.clip(weight, *v["weight_kg"]["clip"])
        parts = [self._rows("weight", pid, day, weight, "kg", unit_group="weight")]
        # the US site records BMI (from the height) with half of the weights
        us = np.flatnonzero((self.country[pid] == 1) & (rng.random(pid.size) < 0.5))
        height_m = self._height_on(pid[us], day[us]) / 100.0
        bmi = np.clip(weight[us] / height_m**2, 10, 90)
        parts.append(self._rows("bmi", pid[us], day[us], bmi, "kg/m2"))
        return parts

    def _heights(self, pid: np.ndarray, day: np.ndarray) -> _Part:
        return self._rows("height", pid, day, np.clip(self._height_on(pid, day), 80, 210), "cm")

    def _blood_pressure(self, pid: np.ndarray, day: np.ndarray) -> list[_Part]:
        v, rng = self.p["values"], self.rng
        sbp = np.clip(_normal(rng, v["sbp"], pid.size), 80, 220)
        dbp = np.clip(np.minimum(_normal(rng, v["dbp"], pid.size), sbp - 20), 40, 130)
        return [
            self._rows("sbp", pid, day, sbp, "mm[Hg]"),
            self._rows("dbp", pid, day, dbp, "mm[Hg]"),
        ]

    def _glucose(self, pid: np.ndarray, day: np.ndarray) -> list[_Part]:
        rng, v, t = self.rng, self.p["values"], self.p["testing"]
        onset = self.diabetes_onset[pid]
        diabetic = ~np.isnat(onset) & (onset <= day)
        a1c_share = np.array([t["hba1c_share"][c] for c in COUNTRIES])[self.country[pid]]
        is_a1c = rng.random(pid.size) < a1c_share
        fasting = rng.random(pid.size) < t["fasting_share"]
        fg = v["fasting_glucose"]
        glucose = np.where(
            diabetic,
            _normal(rng, fg["with_diabetes"], pid.size),
            _normal(rng, fg["without_diabetes"], pid.size),
        )
        glucose = np.clip(
            np.where(fasting, glucose, glucose + v["random_glucose_offset"]), *fg["clip"]
        )
        a = v["hba1c_mmol_mol"]
        a1c = np.where(
            diabetic,
            _normal(rng, a["with_diabetes"], pid.size),
            _normal(rng, a["without_diabetes"], pid.size),
        )
        a1c = np.clip(a1c, *a["clip"])
        fg_rows, rg_rows = ~is_a1c & fasting, ~is_a1c & ~fasting
        return [
            self._rows(
                "hba1c", pid[is_a1c], day[is_a1c], a1c[is_a1c], "mmol/mol", unit_group="hba1c"
            ),
            self._rows(
                "fasting_glucose",
                pid[fg_rows],
                day[fg_rows],
                glucose[fg_rows],
                "mmol/L",
                unit_group="glucose",
            ),
            self._rows(
                "random_glucose",
                pid[rg_rows],
                day[rg_rows],
                glucose[rg_rows],
                "mmol/L",
                unit_group="glucose",
            ),
        ]

    def _lipids(self, pid: np.ndarray, day: np.ndarray) -> list[_Part]:
        rng, v = self.rng, self.p["values"]
        tc = np.clip(
            self.tc_level[pid] + rng.normal(0, 0.3, pid.size), *v["total_cholesterol"]["clip"]
        )
        hdl = np.clip(
            self.hdl_level[pid] + rng.normal(0, 0.08, pid.size), *v["hdl_cholesterol"]["clip"]
        )
        tg = np.clip(
            self.tg_level[pid] * rng.lognormal(0, 0.15, pid.size), *v["triglycerides"]["clip"]
        )
        ldl = tc - hdl - tg / 2.2  # Friedewald, molar form (synth.toml [values] ldl_source)
        calc = (tg < 4.5) & (ldl >= 0.3)
        unit = self._unit_for(pid, "lipids")  # one unit per panel
        return [
            self._rows("total_cholesterol", pid, day, tc, "mmol/L", units=unit),
            self._rows("hdl_cholesterol", pid, day, hdl, "mmol/L", units=unit),
            self._rows("triglycerides", pid, day, tg, "mmol/L", units=unit),
            self._rows(
                "ldl_cholesterol", pid[calc], day[calc], ldl[calc], "mmol/L", units=unit[calc]
            ),
        ]

    def _prolactin(self, pid: np.ndarray, day: np.ndarray) -> _Part:
        pr = self.p["values"]["prolactin_ng_ml"]
        idx = self._latest_course(pid, day)
        raised_drugs = np.isin(np.array(self.drugs, dtype=object), pr["raised"])
        raised = (idx >= 0) & raised_drugs[self.course_drug[np.maximum(idx, 0)]]
        median = np.where(raised, pr["raised_median"], pr["median"])
        value = np.clip(self.rng.lognormal(np.log(median), pr["sigma"]), *pr["clip"])
        return self._rows("prolactin", pid, day, value, "ng/mL")

    def _qtc(self, pid: np.ndarray, day: np.ndarray) -> _Part:
        value = np.clip(_normal(self.rng, self.p["values"]["qtc_ms"], pid.size), 330, 560)
        return self._rows("qtc", pid, day, value, "ms")

    def _clozapine_fbc(self) -> list[_Part]:
        """Blood counts of clozapine courses: weekly to week 18, fortnightly to week 52, then
        every 4 weeks; each check missed with the synth.toml probability."""
        rng, v = self.rng, self.p["values"]
        offsets = np.concatenate(
            [
                np.arange(0, 18 * 7, 7),
                np.arange(18 * 7, 52 * 7, 14),
                np.arange(52 * 7, 40 * 365, 28),
            ]
        )
        clozapine = self.drugs.index("clozapine") if "clozapine" in self.drugs else -2
        cloz = np.flatnonzero(self.course_drug == clozapine)
        stop = np.where(np.isnat(self.course_stop[cloz]), self.end, self.course_stop[cloz])
        length = ((stop - self.course_start[cloz]) / _DAY).astype(np.int64)
        count = np.searchsorted(offsets, length, side="right")
        course = np.repeat(cloz, count)
        k = np.arange(course.size) - np.repeat(np.cumsum(count) - count, count)
        jitter = rng.integers(-2, 3, k.size)
        day = self.course_start[course] + (offsets[k] + jitter).astype("timedelta64[D]")
        missed = rng.random(k.size) < self.p["testing"]["clozapine_fbc_missed"]
        keep = (day >= self.start) & (day <= self.end) & ~missed
        pid, day = self.course_pid[course[keep]], day[keep]
        ne, extra = v["neutrophils"], v["wbc_extra"]
        anc = np.clip(rng.lognormal(np.log(ne["median"]), ne["sigma"], pid.size), *ne["clip"])
        wbc = anc + rng.lognormal(np.log(extra["median"]), extra["sigma"], pid.size)
        return [
            self._rows("neutrophils", pid, day, anc, "10*9/L"),
            self._rows("wbc", pid, day, wbc, "10*9/L"),
        ]

    def _smoking(self) -> _Part:
        rng, s = self.rng, self.p["smoking"]
        adults = np.flatnonzero(~self.child & (rng.random(self.n) < s["recorded_share"]))
        span = float((self.end - self.start) / _DAY)
        day = self.start + _days(np.floor(rng.random(adults.size) * span))
        coded = self.coded_values.codes(list(s["share"]))[_draw(rng, s["share"], adults.size)]
        return _Part(self.analytes.code("smoking_status"), adults, day, None, None, coded)

    def _unit_for(self, pid: np.ndarray, group: str) -> np.ndarray:
        """A unit code per row, drawn with the patient's country's shares for the group."""
        out = np.full(pid.size, -1, dtype=np.int64)
        for number, country in enumerate(COUNTRIES):
            shares = self.p["units"][country][group]
            sel = np.flatnonzero(self.country[pid] == number)
            out[sel] = self.units.codes(list(shares))[_draw(self.rng, shares, sel.size)]
        return out

    def _rows(
        self,
        analyte: str,
        pid: np.ndarray,
        day: np.ndarray,
        value: np.ndarray,
        canonical: str,
        *,
        unit_group: str | None = None,
        units: np.ndarray | None = None,
    ) -> _Part:
        """Rows of one analyte: values converted from ``canonical`` into each row's unit with
        cvrisk.units (one source of truth), rounded as laboratories write them."""
        from cvrisk import vocab

        if units is None:
            units = (
                self._unit_for(pid, unit_group)
                if unit_group
                else np.full(pid.size, self.units.code(canonical), dtype=np.int64)
            )
        substance = vocab.analyte(analyte).substance
        out = np.empty(pid.size)
        for code in np.unique(units):
            unit = self.units.items[code]
            sel = units == code
            converted = (
                value[sel] if unit == canonical else convert(value[sel], canonical, unit, substance)
            )
            out[sel] = np.round(converted, _DECIMALS.get(unit, 2))
        return _Part(self.analytes.code(analyte), pid, day, out, units, None)

    def _assemble(self, parts: list[_Part]) -> pd.DataFrame:
        import pandas as pd

        parts = [part for part in parts if part.pid.size]
        size = [part.pid.size for part in parts]
        pid = np.concatenate([part.pid for part in parts])
        day = np.concatenate([part.day for part in parts])
        analyte = np.repeat([part.analyte for part in parts], size)
        value = np.concatenate(
            [
                part.value if part.value is not None else np.full(s, np.nan)
                for part, s in zip(parts, size, strict=True)
            ]
        )
        unit = np.concatenate(
            [
                part.unit if part.unit is not None else np.full(s, -1)
                for part, s in zip(parts, size, strict=True)
            ]
        )
        coded = np.concatenate(
            [
                part.coded if part.coded is not None else np.full(s, -1)
                for part, s in zip(parts, size, strict=True)
            ]
        )
        keep = (day >= self.birth[pid]) & (day <= self.end)
        order = np.flatnonzero(keep)
        order = order[np.lexsort((analyte[order], day[order], pid[order]))]
        pid, day, analyte, value, unit, coded = (
            a[order] for a in (pid, day, analyte, value, unit, coded)
        )
        # LOINC code of each (analyte, unit) pair; the French site writes half of its results
        # by analyte id, without a code
        loinc = _Labels()
        pair_code = np.full((len(self.analytes.items), len(self.units.items) + 1), -1)
        for a, name in enumerate(self.analytes.items):
            for u in range(-1, len(self.units.items)):
                kind = UNIT_KIND.get(self.units.items[u]) if u >= 0 else None
                code = _LOINC_PLAIN.get(name) or LOINC_BY_KIND.get((name, str(kind)))
                if code is not None:
                    pair_code[a, u] = loinc.code(code)
        code = pair_code[analyte, unit]
        by_name = (self.country[pid] == 2) & (self.rng.random(pid.size) < 0.5)
        return pd.DataFrame(
            {
                "patient_id": self._patient_column(pid),
                "id": self._ids("o", pid.size),
                "analyte": categorical(np.where(by_name, analyte, -1), self.analytes.items),
                "code": categorical(np.where(by_name, -1, code), loinc.items),
                "system": categorical(np.where(by_name, -1, 0), [LOINC]),
                "value": value,
                "unit": categorical(unit, self.units.items),
                "coded": categorical(coded, self.coded_values.items),
                "date": day.astype("datetime64[ns]"),
                "status": categorical(np.zeros(pid.size, dtype=np.int64), ["final"]),
            }
        )
