"""``monitor``: the tests due, alerts and data issues of every patient of a cohort, at once.

The vectorised twin of :func:`cvrisk.rules.evaluate.evaluate` (``scores=[]``,
``on_invalid="report"``), stage by stage: rows validated (:mod:`~cvrisk.cohort.validate`),
courses and episodes (:mod:`~cvrisk.cohort.episodes`), protocol selection and coverage, the
tests due (:mod:`~cvrisk.cohort.due`), the facts and the alert rules' compiled conditions
(:mod:`~cvrisk.cohort.facts`), the repeat tests alerts ask for, one entry per test (the merge
of :func:`cvrisk.rules.due.merge_requests`), the data issues in report order. Every interval,
threshold and text comes from the protocols and vocabularies through the core's loaders and
functions; texts are worded once per distinct key and joined back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk import vocab
from cvrisk.cohort import due as cohort_due
from cvrisk.cohort import episodes as cohort_episodes
from cvrisk.cohort import facts as cohort_facts
from cvrisk.cohort import plausible, sameday, sorting
from cvrisk.cohort.issuelog import (
    BASELINE,
    COVERAGE,
    ENDED,
    FUTURE,
    IMPLAUSIBLE,
    LAPSED,
    SCORES,
    IssueLog,
    order_key,
)
from cvrisk.cohort.result import (
    ISSUE_COLUMNS,
    REQUEST_COLUMNS,
    STATUS_COLUMNS,
    CohortResult,
    categories_in_order,
    coded,
    concat_frames,
    concat_tables,
    conform,
    empty_result,
    objects,
    patient_column,
    with_patients,
)
from cvrisk.cohort.tables import CohortTables, read_tables
from cvrisk.cohort.validate import Checked, check, keyed, observation_analyte, per_key
from cvrisk.errors import OptionError
from cvrisk.issues import DataIssue
from cvrisk.record import Patient, PatientRecord
from cvrisk.rules import engine
from cvrisk.rules.alerts import MESSAGE_INPUTS, SEVERITY_ORDER, alert_message
from cvrisk.rules.courses import formulation_coverage
from cvrisk.rules.coverage import after_stop_issues, coverage_issues, ended_issues
from cvrisk.rules.due import STATUS_ORDER, period_missed_issue
from cvrisk.rules.durations import parse_duration
from cvrisk.rules.episodes import Episode, Prescription
from cvrisk.rules.facts import FactSet, Results, _no_baseline, future_results_issue
from cvrisk.rules.messages import drug_label, duration_text, phrase, test_label
from cvrisk.rules.options import EvaluationOptions
from cvrisk.rules.report import Evidence
from cvrisk.rules.schema import AlertRule, Protocol, text_in
from cvrisk.rules.scoring import wanted_models
from cvrisk.rules.selection import select_protocols
from cvrisk.rules.timeline import BASELINE_WINDOW_DAYS, fixed_occurrences

if TYPE_CHECKING:
    import pandas as pd

NONE = cohort_due.NONE
#: Each request's place in the list evaluate merges (schedule items in protocol and item
#: order, then the rechecks of the alerts in rule order): ties in report order keep it.
_SEQ_STEP = 1000
_SEQ_ITEM = _SEQ_STEP
_SEQ_RECHECK = _SEQ_STEP**4
_NOBODY = PatientRecord(patient=Patient(birth_date=dt.date(1800, 1, 1), sex="female"))


def monitor(
    tables: Any,
    *,
    as_of: dt.date | str | None = None,
    jurisdiction: str | None = None,
    protocols: Sequence[str | Path] | str | Path | None = None,
    lang: str = "en",
    progress: bool = False,
    workers: int = 1,
) -> CohortResult:
    """Tests due, alerts, data issues and a worklist for every patient of a cohort.

    Args:
        tables: the cohort tables (:func:`cvrisk.cohort.read_tables` reads every supported
            source), or a mapping of Dask DataFrames partitioned by patient (then every
            result table is a Dask DataFrame computed partition by partition).
        as_of, jurisdiction, protocols, lang: as for :func:`cvrisk.evaluate`.
        progress: show a progress bar (patients done) on a terminal.
        workers: processes monitoring batches of BATCH_PATIENTS patients side by side (a
            cohort of more than one batch; the results are the same as with 1, in the same
            order). Each holds one batch's working memory besides the caller's.

    Computes what ``evaluate(record, ..., scores=[], on_invalid="report")`` gives for each
    patient's record (:func:`cvrisk.cohort.patient_records`): no risk score is computed, a
    rule reading a score is reported as not assessed.

    Raises:
        TableError: a table does not follow the contract. OptionError, ProtocolError: an
        invalid argument.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptionError(f"workers={workers!r}: give a positive integer")
    opts = EvaluationOptions.check(
        as_of=as_of,
        protocols=protocols,
        jurisdiction=jurisdiction,
        lang=lang,
        scores=[],
        score_inputs=None,
        record_complete=False,
        on_invalid="report",
        strict=False,
    )
    from cvrisk.cohort import distributed

    if distributed.is_dask(tables):
        return distributed.monitor_dask(tables, opts)
    data = read_tables(tables)
    return monitor_tables(data, opts, progress=progress, workers=workers)


#: Patients per batch: bounds the memory of one pass (and paces the progress bar).
BATCH_PATIENTS = 100_000


def monitor_tables(
    data: CohortTables, opts: EvaluationOptions, *, progress: bool = False, workers: int = 1
) -> CohortResult:
    """:func:`monitor` over in-memory tables, in batches of patients (``workers`` processes
    side by side). A batch's tables are cut when it is monitored, not all at once, so the
    input is never held twice."""
    n = len(data.patients)
    if n <= BATCH_PATIENTS:
        return _monitor(data, opts)
    bar = _progress_bar(n) if progress else None
    plan = _Batches(data)
    if workers == 1:
        parts = []
        for number in range(plan.count):
            batch = plan.batch(number)
            parts.append(_monitor(batch, opts, with_worklist=False))
            if bar is not None:
                bar.update(len(batch.patients))
            del batch
    else:
        parts = _in_processes(plan, opts, workers, bar)
    if bar is not None:
        bar.close()
    return _combine(parts)


def _combine(parts: list[CohortResult]) -> CohortResult:
    """The batches' results as one, each table concatenated in turn and the batches' copy
    of it dropped at once (the peak holds one table twice, not every table); the worklist
    is built over the whole cohort (most urgent patients first), not batch by batch."""

    tables: dict[str, pd.DataFrame] = {}
    for name in CohortResult.TABLES:
        if name == "worklist":
            continue
        tables[name] = concat_tables(name, [getattr(p, name) for p in parts])
        for part in parts:
            setattr(part, name, None)
    parts.clear()
    tables["worklist"] = conform("worklist", worklist(tables["status"], tables["alerts"]))
    return CohortResult(**tables)


#: The batch plan forked worker processes read (set in the parent before forking, so the
#: workers cut their batch from the memory they share with it instead of a pickled copy).
_FORKED: list[_Batches] = []


def _in_processes(
    plan: _Batches, opts: EvaluationOptions, workers: int, bar: Any
) -> list[CohortResult]:
    """Each batch monitored in a pool of ``workers`` processes, results in batch order.

    Where the platform forks (Linux), the workers inherit the tables and cut their batch;
    elsewhere each batch is cut here and sent to its worker."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor, as_completed

    forking = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forking else None)
    results: dict[int, CohortResult] = {}
    if forking:
        _FORKED[:] = [plan]
    try:
        with ProcessPoolExecutor(max_workers=min(workers, plan.count), mp_context=context) as pool:
            futures: dict[Future[CohortResult], int] = {
                (
                    pool.submit(_monitor_forked, number, opts)
                    if forking
                    else pool.submit(_monitor, plan.batch(number), opts, with_worklist=False)
                ): number
                for number in range(plan.count)
            }
            for future in as_completed(futures):
                number = futures[future]
                results[number] = future.result()
                if bar is not None:
                    bar.update(plan.size(number))
    finally:
        _FORKED.clear()
    return [results[number] for number in range(plan.count)]


def _monitor_forked(number: int, opts: EvaluationOptions) -> CohortResult:
    """In a forked worker: monitor batch ``number`` of the plan in :data:`_FORKED`."""
    return _monitor(_FORKED[0].batch(number), opts, with_worklist=False)


def _progress_bar(total: int) -> Any:
    import sys

    from tqdm import tqdm

    return tqdm(total=total, unit="patients", disable=not sys.stderr.isatty())


class _Batches:
    """The tables cut into batches of BATCH_PATIENTS patients (in the patients' order), each
    table's rows keeping their order; a batch is cut when asked for."""

    def __init__(self, data: CohortTables) -> None:
        import pandas as pd

        self.data = data
        ids = pd.Index(data.patients["patient_id"].astype(str))
        self.of_patient = np.arange(len(ids)) // BATCH_PATIENTS
        self.count = int(self.of_patient.max()) + 1 if len(ids) else 0
        self.of_row: dict[str, np.ndarray] = {}
        for name in ("conditions", "medications", "observations"):
            values = pd.Categorical(data.table(name)["patient_id"])
            where = ids.get_indexer(pd.Index(values.categories).astype(str))
            row_patient = np.where(values.codes >= 0, where[values.codes], -1)
            # rows of patients missing from the patients table go with the first batch
            # (reported there)
            self.of_row[name] = np.where(row_patient >= 0, self.of_patient[row_patient], 0)

    def size(self, number: int) -> int:
        """Patients in batch ``number``."""
        return int((self.of_patient == number).sum())

    def batch(self, number: int) -> CohortTables:
        data = self.data
        return CohortTables(
            patients=data.patients[self.of_patient == number].reset_index(drop=True),
            **{
                name: data.table(name)[self.of_row[name] == number].reset_index(drop=True)
                for name in ("conditions", "medications", "observations")
            },
        )


def age_years(birth: np.ndarray, as_of: dt.date) -> np.ndarray:
    """Completed years on ``as_of`` of each birth day number (:meth:`Patient.age_on`)."""
    stamps = birth.astype("datetime64[D]")
    year = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
    month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (stamps - stamps.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    before = (as_of.month, as_of.day) < (0, 0)
    years = as_of.year - year
    before = (as_of.month * 100 + as_of.day) < (month * 100 + day)
    result: np.ndarray = (years - before).astype(np.float64)
    return result


class _Cohort:
    """The per-patient arrays of one batch, filled stage by stage."""

    def __init__(self, checked: Checked, opts: EvaluationOptions) -> None:
        self.opts = opts
        self.as_of: dt.date = opts.as_of
        self.as_of_day = cohort_due.day_of(opts.as_of)
        self.lang = opts.lang
        self.checked = checked
        patients = checked.patients
        self.n = len(patients)
        import pandas as pd

        ids = pd.Categorical(patients["patient_id"])
        self.ids = np.asarray(ids.categories, dtype=object)[ids.codes]
        self.age = age_years(patients["birth"].to_numpy(), opts.as_of)
        self.sex = patients["sex"].astype(object).to_numpy()
        eth = patients["ethnicity"].astype(object)
        self.eth = eth.where(eth.notna(), "unknown").to_numpy()
        self.issues: IssueLog = checked.issues
        #: implausible changes met: (pidx, call order, verdict), reported once each
        self.changes: list[tuple[int, int, Any]] = []
        self._kept: np.ndarray | None = None

    def kept_positions(self, obs: pd.DataFrame) -> np.ndarray:
        """Each valid observation's index among the patient's kept observations (as the
        core names it after lenient reading)."""
        if self._kept is None:
            from cvrisk.cohort.validate import _positions

            self._kept = _positions(obs["pidx"].to_numpy())
        return self._kept


def _monitor(
    data: CohortTables, opts: EvaluationOptions, *, with_worklist: bool = True
) -> CohortResult:
    """The cohort's monitoring (``with_worklist=False``: a batch's, whose worklist is
    built over every batch by :func:`_combine`, so left None)."""
    checked = check(data, opts.as_of)
    cohort = _Cohort(checked, opts)
    lang, as_of = cohort.lang, cohort.as_of
    courses = cohort_episodes.courses(checked.entries["medications"], as_of, lang, cohort.issues)
    runs = cohort_episodes.merged(courses)
    live = runs[(runs["start"] <= cohort.as_of_day) & (cohort.as_of_day <= runs["stop"])]
    drug_ids = cohort_episodes.drug_ids()
    active = np.zeros(cohort.n, dtype=np.int64)
    np.bitwise_or.at(active, live["pidx"].to_numpy(), np.int64(1) << live["d"].to_numpy())
    starts: dict[str, np.ndarray] = {}
    latest_start = live.drop_duplicates(["pidx", "d"], keep="last")  # (start, drug) order
    for code, group in latest_start.groupby("d", sort=False):
        begun = np.full(cohort.n, NONE, dtype=np.int64)
        begun[group["pidx"].to_numpy()] = group["start"].to_numpy()
        starts[drug_ids[int(code)]] = begun
    selected = select_protocols(opts.protocols, opts.jurisdiction)
    episodes: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    applied = np.zeros(cohort.n, dtype=np.int64)
    for number, protocol in enumerate(selected):
        ep, now = cohort_episodes.episodes(runs, protocol, cohort.as_of_day)
        pidx = ep.index.to_numpy()
        ages, which = np.unique(cohort.age[pidx], return_inverse=True)
        fits = np.array([protocol.applies_to.covers_age(a) for a in ages], dtype=bool)
        fits = fits[which.ravel()] if len(pidx) else np.zeros(0, dtype=bool)
        ep = ep[fits] if len(ep) else ep
        now = now[now["pidx"].isin(ep.index)] if len(now) else now
        episodes[protocol.id] = (ep, now)
        applied[ep.index.to_numpy()] |= np.int64(1) << np.int64(number)
    _coverage(cohort, selected, applied, active, drug_ids, courses)
    _ended(cohort, selected, episodes)
    _after_stop(cohort, selected, applied, courses)
    obs = checked.entries["observations"]
    day_all = None
    built: sameday.Built = {}  # core results of same-day rows, built once
    if len(obs):
        which, found = keyed(obs, ["analyte", "code", "system"], observation_analyte)
        names = sorted({str(a) for a in found})
        code = np.array([names.index(str(a)) for a in found], dtype=np.int64)[which]
        day_all = cohort_facts.results(obs, code, names, built)
    if day_all is not None:
        future = day_all[day_all["day"] > cohort.as_of_day].groupby("pidx").size()
        for count, group in future.groupby(future.to_numpy()):
            for issue in future_results_issue(Results({}, int(count)), as_of, lang):
                cohort.issues.add_many(group.index.to_numpy(), order_key(FUTURE), issue)
    res = (
        day_all[day_all["day"] <= cohort.as_of_day].reset_index(drop=True)
        if day_all is not None
        else None
    )
    if res is not None:
        res = _mark_suspects(cohort, res, obs)
        sameday.add_conflict_issues(cohort.issues, res, obs, lang, built)
    items, book = _Items(selected), _Book()
    tests = _tests(cohort, selected, episodes, res, items, book)
    alerts, rechecks = _alerts(cohort, selected, episodes, res, obs, starts, items, book)
    _change_issues(cohort)
    _score_issues(cohort, selected, applied)
    return _assemble(cohort, [*tests, *rechecks], alerts, items, book, with_worklist)


def _mark_suspects(cohort: _Cohort, res: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Flag (``suspect``) the recorded results probably in another unit than stated: they
    still show that the test was done, but are never alerted on; each is reported."""
    import pandas as pd

    from cvrisk.cohort.tables import _cells

    rows = res["row"].to_numpy()
    values = obs["value"].to_numpy(dtype=np.float64)[rows]
    units = pd.Categorical(obs["unit"])
    unit_code = units.codes.astype(np.int64)[rows]
    analyte_code = res["analyte"].cat.codes.to_numpy().astype(np.int64)
    names = res["analyte"].cat.categories
    birth = cohort.checked.patients["birth"].to_numpy()[res["pidx"].to_numpy()]
    ages = plausible.ages_on(birth, res["day"].to_numpy())
    suspect = np.zeros(len(res), dtype=bool)
    kept_pos = cohort.kept_positions(obs)
    # each (analyte, unit) pair's quantities, rows in order (integer codes, no object hashing)
    quantity = np.flatnonzero(~np.isnan(values) & (unit_code >= 0))
    for (a, u), group in _groups(analyte_code[quantity], unit_code[quantity]):
        index = quantity[group]
        analyte, unit = names[a], units.categories[u]
        for row, verdict in plausible.suspects(str(analyte), str(unit), values[index], ages[index]):
            at = index[row]
            suspect[at] = True
            source = int(rows[at])
            issue = plausible.suspect_issue(
                int(kept_pos[source]),
                _cells(obs.iloc[source], "observations"),
                verdict,
                cohort.lang,
            )
            cohort.issues.add(
                int(res["pidx"].iloc[at]), order_key(IMPLAUSIBLE, 0, int(kept_pos[source])), issue
            )
    return res.assign(suspect=suspect)


# -- coverage ----------------------------------------------------------------------------


def _groups(*columns: np.ndarray) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """(distinct combination of the integer columns, the rows having it)."""
    import pandas as pd

    if not len(columns[0]):
        return []
    frame = pd.DataFrame({str(i): c for i, c in enumerate(columns)})
    return [
        (tuple(int(v) for v in (key if isinstance(key, tuple) else (key,))), rows)
        for key, rows in frame.groupby(list(frame.columns), sort=False).indices.items()
    ]


def _coverage(
    cohort: _Cohort,
    selected: list[Protocol],
    applied: np.ndarray,
    active: np.ndarray,
    drug_ids: list[str],
    courses: pd.DataFrame,
) -> None:
    """:func:`~cvrisk.rules.coverage.coverage_issues` and ``formulation_coverage`` once per
    distinct (protocols applied, drugs taken, age, formulations taken)."""
    lang, opts = cohort.lang, cohort.opts
    live = courses[
        (courses["start"] <= cohort.as_of_day)
        & (cohort.as_of_day <= courses["stop"])
        & courses["formulation"].notna()
    ].sort_values(["pidx", "pos"])
    formulated: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for p, drug, form in zip(live["pidx"], live["drug"], live["formulation"], strict=True):
        if (drug, form) not in formulated[int(p)]:
            formulated[int(p)].append((str(drug), str(form)))
    kinds: dict[tuple[tuple[str, str], ...], int] = {(): 0}
    form_key = np.zeros(cohort.n, dtype=np.int64)
    for p, pairs in formulated.items():
        form_key[p] = kinds.setdefault(tuple(pairs), len(kinds))
    by_number = {n: k for k, n in kinds.items()}
    none = active == 0
    text = phrase("issue.no_antipsychotic", lang, as_of=cohort.as_of)
    cohort.issues.add_many(
        np.nonzero(none)[0], order_key(COVERAGE, 0), DataIssue(kind="no_protocol", message=text)
    )
    rows = np.nonzero(~none)[0]
    ages = cohort.age[rows].astype(np.int64)
    for (bits, drugs, age, form), group in _groups(
        applied[rows], active[rows], ages, form_key[rows]
    ):
        ids = {p.id for n, p in enumerate(selected) if bits >> n & 1}
        taken = [d for n, d in enumerate(drug_ids) if drugs >> n & 1]
        fake = [Prescription(d, cohort.as_of, None, f) for d, f in by_number[form]]
        found = [
            *coverage_issues(selected, ids, taken, float(age), opts.jurisdiction, lang),
            *formulation_coverage(fake, ids, cohort.as_of, lang),
        ]
        for number, issue in enumerate(found):
            cohort.issues.add_many(rows[group], order_key(COVERAGE, number), issue)


def _ended(
    cohort: _Cohort,
    selected: list[Protocol],
    episodes: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
) -> None:
    for number, protocol in enumerate(selected):
        if protocol.ends is None:
            continue
        ep, _ = episodes[protocol.id]
        for (anchor,), group in _groups(ep["anchor"].to_numpy().astype(np.int64)):
            episode = Episode(cohort_due.to_date(anchor), "start", ())
            for issue in ended_issues([(protocol, episode)], cohort.as_of, cohort.lang):
                cohort.issues.add_many(ep.index.to_numpy()[group], order_key(ENDED, number), issue)


def _after_stop(
    cohort: _Cohort, selected: list[Protocol], applied: np.ndarray, courses: pd.DataFrame
) -> None:
    """:func:`~cvrisk.rules.coverage.after_stop_issues`: per protocol with ``[after_stop]``
    it does not apply to, the patients whose last covered course stopped within its period,
    worded once per distinct (drug, stop, age)."""
    drug_ids = cohort_episodes.drug_ids()
    forms = cohort_episodes.formulation_ids()
    for number, protocol in enumerate(selected):
        after = protocol.after_stop
        if after is None or not len(courses):
            continue
        covered = np.array(
            [[protocol.applies_to.covers_course(d, f) for f in forms] for d in drug_ids],
            dtype=bool,
        )
        frame = courses[
            covered[courses["d"].to_numpy(), courses["f"].to_numpy()]
            & (courses["start"].to_numpy() <= cohort.as_of_day)
            & (courses["stop"].to_numpy() < cohort.as_of_day)
        ]
        if not len(frame):
            continue
        # the course with the latest (stop, drug) of each patient
        last = frame.sort_values(["pidx", "stop", "d"]).drop_duplicates("pidx", keep="last")
        pidx = last["pidx"].to_numpy()
        stop = last["stop"].to_numpy().astype(np.int64)
        keep = (applied[pidx] >> np.int64(number) & 1) == 0
        until = cohort_due.add(parse_duration(after.monitor_for), stop)
        keep &= cohort.as_of_day <= until
        ages = cohort.age[pidx]
        keep &= np.array([protocol.applies_to.covers_age(a) for a in ages], dtype=bool)
        pidx, stop, d = pidx[keep], stop[keep], last["d"].to_numpy()[keep]
        for (drug, day, age), group in _groups(
            d.astype(np.int64), stop, cohort.age[pidx].astype(np.int64)
        ):
            stopped = cohort_due.to_date(day)
            course = Prescription(drug_ids[drug], stopped, stopped)
            for issue in after_stop_issues(
                [protocol], set(), [course], float(age), cohort.as_of, cohort.lang
            ):
                key = order_key(ENDED, len(selected) + number)
                cohort.issues.add_many(pidx[group], key, issue)


def _score_issues(cohort: _Cohort, selected: list[Protocol], applied: np.ndarray) -> None:
    for (bits,), group in _groups(applied):
        chosen = [p for n, p in enumerate(selected) if bits >> n & 1]
        scores = engine.needs_of(chosen).scores
        # With no score requested (scores=[]), only the rules' models matter: each one is
        # reported as not assessed, whoever the patient is.
        _models, _options, found = wanted_models(
            (), scores, cohort.opts.jurisdiction, _NOBODY, cohort.as_of, cohort.lang
        )
        for number, issue in enumerate(found):
            cohort.issues.add_many(group, order_key(SCORES, number), issue)


# -- tests due -----------------------------------------------------------------------------


def _latest_days(res: pd.DataFrame | None, cohort: _Cohort) -> dict[str, np.ndarray]:
    """Latest day with a recorded result, per analyte, per patient (NONE: none)."""
    out: dict[str, np.ndarray] = {}
    if res is None or not len(res):
        return out
    recorded = res[res["kind"] == 0]
    for analyte, group in recorded.groupby("analyte", observed=True):
        days = np.full(cohort.n, NONE, dtype=np.int64)
        last = group.groupby("pidx")["day"].max()
        days[last.index.to_numpy()] = last.to_numpy()
        out[str(analyte)] = days
    return out


def _drugs_text(drugs: tuple[str, ...], cache: dict[tuple[str, ...], str], lang: str) -> str:
    if drugs not in cache:
        cache[drugs] = ", ".join(drug_label(d, lang) for d in drugs)
    return cache[drugs]


class _Book:
    """Texts interned as integer codes: result tables are built from codes and each text is
    stored once."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {None: 0}
        self.texts: list[Any] = [None]

    def code(self, text: Any) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.texts)
            self.texts.append(text)
        return found

    def codes(self, texts: Any) -> np.ndarray:
        return np.array([self.code(t) for t in texts], dtype=np.int64)

    def array(self) -> np.ndarray:
        out = np.empty(len(self.texts), dtype=object)
        out[:] = self.texts
        return out


class _Items:
    """What each request row stands for (a schedule item, or an alert's repeat test): its
    test, label, protocol, rule, source... by row code, with the ranks report order uses."""

    COLUMNS = (
        "test",
        "label",
        "protocol",
        "rule",
        "source",
        "evidence_status",
        "verifiable",
        "note",
    )

    def __init__(self, selected: list[Protocol]) -> None:
        self.rows: list[tuple[Any, ...]] = []
        pairs = sorted(
            {(p.id, x.id) for p in selected for x in p.schedule}
            | {(p.id, x.id) for p in selected for x in p.alerts}
        )
        self.pair_rank = {pair: n for n, pair in enumerate(pairs)}
        self.tests = {t: n for n, t in enumerate(sorted(vocab.tests()))}

    def add(self, *values: Any) -> int:
        self.rows.append(values)
        return len(self.rows) - 1

    def column(self, name: str) -> np.ndarray:
        index = self.COLUMNS.index(name)
        out = np.empty(len(self.rows), dtype=object)
        out[:] = [row[index] for row in self.rows]
        return out

    def ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """(test rank, (protocol, rule) rank) of each item."""
        tests = np.array([self.tests[row[0]] for row in self.rows], dtype=np.int64)
        pairs = np.array([self.pair_rank[(row[2], row[3])] for row in self.rows], np.int64)
        return tests, pairs


def _tests(
    cohort: _Cohort,
    selected: list[Protocol],
    episodes: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    res: pd.DataFrame | None,
    items: _Items,
    book: _Book,
) -> list[pd.DataFrame]:
    """The tests due, as integer-coded rows (pidx, item, status, dates, occurrence and
    reason codes, seq)."""
    import pandas as pd

    lang = cohort.lang
    latest = _latest_days(res, cohort)
    drug_ids = cohort_episodes.drug_ids()
    code_of = {d: n for n, d in enumerate(drug_ids)}
    texts: dict[int, str] = {}

    def drugs_text(bits: int) -> str:
        if bits not in texts:
            names = [d for n, d in enumerate(drug_ids) if bits >> n & 1]
            texts[bits] = ", ".join(drug_label(d, lang) for d in names)
        return texts[bits]

    frames = []
    for number, protocol in enumerate(selected):
        ep, now = episodes[protocol.id]
        if not len(ep):
            continue
        pidx = ep.index.to_numpy()
        anchor = ep["anchor"].to_numpy().astype(np.int64)
        now_pidx = now["pidx"].to_numpy().astype(np.int64)
        now_bits = np.int64(1) << now["d"].to_numpy().astype(np.int64)
        now_start = now["start"].to_numpy().astype(np.int64)
        all_bits = np.zeros(cohort.n, dtype=np.int64)
        np.bitwise_or.at(all_bits, now_pidx, now_bits)
        for item_number, item in enumerate(protocol.schedule):
            if item.drugs is None:
                item_anchor, keep = anchor, np.ones(len(pidx), bool)
            else:
                wanted = now[now["d"].isin([code_of[d] for d in item.drugs if d in code_of])]
                first = wanted.groupby("pidx")["start"].min()
                found = first.reindex(pidx)
                keep = found.notna().to_numpy()
                item_anchor = np.maximum(anchor, found.fillna(NONE).to_numpy().astype(np.int64))
            if not keep.any():
                continue
            p_k, a_k = pidx[keep], item_anchor[keep]
            test_days = [latest[a][p_k] for a in vocab.test_analytes(item.test) if a in latest]
            last = np.max(test_days, axis=0) if test_days else np.full(len(p_k), NONE)
            req = cohort_due.requirements(item, a_k, last, cohort.as_of)
            if item.applies_for is not None and item.observable:
                _lapsed_issues(cohort, protocol, item, p_k, a_k, res, (number, item_number))
            rows = req["keep"]
            if not rows.any():
                continue
            p_r, a_r = p_k[rows], a_k[rows]
            # Episode.started_at: the active drugs started on the anchor, else all of them
            anchor_of = np.full(cohort.n, NONE, dtype=np.int64)
            anchor_of[p_r] = a_r
            started = np.zeros(cohort.n, dtype=np.int64)
            same = now_start == anchor_of[now_pidx]
            np.bitwise_or.at(started, now_pidx[same], now_bits[same])
            started = np.where(started[p_r] != 0, started[p_r], all_bits[p_r])
            code = items.add(
                item.test,
                test_label(item.test, lang),
                protocol.id,
                item.id,
                item.source,
                item.status,
                item.observable,
                text_in(item.note, lang),
            )
            keys = pd.DataFrame(
                {
                    "label": req["label"][rows],
                    "recurring": req["recurring"][rows],
                    "anchor": a_r,
                    "drugs": started,
                    "last": req["last"][rows],
                }
            )
            reason = cohort_due.reasons(item, keys, lang, drugs_text)
            frames.append(
                pd.DataFrame(
                    {
                        "pidx": p_r,
                        "item": code,
                        "status": _status_codes(req["status"][rows]),
                        "due_date": req["due"][rows],
                        "window_start": req["start"][rows],
                        "window_end": req["end"][rows],
                        "occurrence": _text_codes(req["label"][rows], book),
                        "last_result": req["last"][rows],
                        "reason": book.codes(reason.categories)[reason.codes],
                        "seq": _SEQ_ITEM * (number * _SEQ_STEP + item_number),
                    }
                )
            )
    return frames


def _lapsed_issues(
    cohort: _Cohort,
    protocol: Protocol,
    item: Any,
    pidx: np.ndarray,
    anchor: np.ndarray,
    res: pd.DataFrame | None,
    place: tuple[int, int],
) -> None:
    """:func:`cvrisk.rules.due.lapsed_issues` for one item limited to a period: the patients
    whose period is over, each occurrence without a recorded result of the item's test in
    its window, worded once per distinct (anchor, missed occurrences)."""
    over = cohort_due.lapsed(item, anchor, cohort.as_of_day)
    if not over.any():
        return
    pidx, anchor = pidx[over], anchor[over]
    spread = np.int64(1) << np.int64(32)
    if res is not None and len(res):
        done = res[
            (res["kind"].to_numpy() == 0)
            & res["analyte"].isin(vocab.test_analytes(item.test)).to_numpy()
        ]
        keys = np.sort(done["pidx"].to_numpy().astype(np.int64) * spread + done["day"].to_numpy())
    else:
        keys = np.zeros(0, dtype=np.int64)
    occurrences = cohort_due.fixed_occurrences(item, anchor)
    missed = np.zeros(len(pidx), dtype=np.int64)
    base = pidx.astype(np.int64) * spread
    for bit, (_label, _due, start, end, valid) in enumerate(occurrences):
        found = np.searchsorted(keys, base + end, "right") - np.searchsorted(keys, base + start)
        missed |= np.where(valid & (found == 0), np.int64(1) << np.int64(bit), 0)
    rows = missed != 0
    for (day, bits), group in _groups(anchor[rows], missed[rows]):
        start_day = cohort_due.to_date(day)
        labels = {occurrences[b][0] for b in range(len(occurrences)) if bits >> b & 1}
        listed = [o for o in fixed_occurrences(item, start_day) if o.label in labels]
        issue = period_missed_issue(protocol, item, start_day, listed, cohort.lang)
        cohort.issues.add_many(pidx[rows][group], order_key(LAPSED, *place), issue)


_STATUSES = sorted(STATUS_ORDER, key=STATUS_ORDER.__getitem__)


def _status_codes(statuses: np.ndarray) -> np.ndarray:
    """Statuses as their report rank (overdue 0, due 1, conditional 2, upcoming 3)."""
    out = np.empty(len(statuses), dtype=np.int64)
    for name, rank in STATUS_ORDER.items():
        out[statuses == name] = rank
    return out


def _text_codes(values: np.ndarray, book: _Book) -> np.ndarray:
    distinct = {v: book.code(v) for v in set(values.tolist())}
    return np.array([distinct[v] for v in values.tolist()], dtype=np.int64)


# -- facts and alerts ----------------------------------------------------------------------


class _Facts:
    """The facts of one analyte: latest result per patient (each distinct one when the last
    results at one time disagree), its baseline and its lowest earlier result, computed on
    demand."""

    def __init__(self, cohort: _Cohort, res: pd.DataFrame, obs: pd.DataFrame) -> None:
        self.cohort = cohort
        self.res = res
        self.obs = obs
        self.by_analyte: dict[str, pd.DataFrame] = {
            str(a): g for a, g in res.groupby("analyte", observed=True, sort=False)
        }
        self._latest: dict[str, pd.DataFrame] = {}
        self.units = cohort_facts.reported_unit(obs["unit"])
        self.orig = obs["value"].to_numpy(dtype=np.float64)
        self.coded = _objects(obs["coded"])
        # the evidence's JSON texts of each result's unit, code and id, held once per text
        self.unit_json = _JsonTexts(obs["unit"])
        self.coded_json = _JsonTexts(obs["coded"])
        self.ids_json = _JsonTexts(obs["id"])
        from cvrisk.cohort.validate import day_numbers

        self.days = day_numbers(obs["date"])[0]

    def results(self, analyte: str) -> pd.DataFrame | None:
        return self.by_analyte.get(analyte)

    def latest(self, analyte: str) -> pd.DataFrame | None:
        if analyte not in self._latest:
            found = self.results(analyte)
            self._latest[analyte] = (
                self.candidates(found).set_index("pidx") if found is not None else None
            )
        return self._latest[analyte]

    def candidates(self, results: pd.DataFrame) -> pd.DataFrame:
        """Each patient's last simultaneous results, one per distinct reading (rules about
        the latest or baseline result are checked against each, the first that fires
        speaks: :func:`cvrisk.rules.alerts.raise_alerts`)."""
        return cohort_facts.last_candidates(results, self.coded)


def _alerts(
    cohort: _Cohort,
    selected: list[Protocol],
    episodes: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    res: pd.DataFrame | None,
    obs: pd.DataFrame,
    starts: dict[str, np.ndarray],
    items: _Items,
    book: _Book,
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    alerts: list[pd.DataFrame] = []
    rechecks: list[pd.DataFrame] = []
    if res is None or not len(res):
        return alerts, []
    res = res[~res["suspect"].to_numpy()].drop(columns=["suspect"]).reset_index(drop=True)
    if not len(res):
        return alerts, []
    # derived for every patient, as Results.from_record does, even when no selected protocol
    # alerts on BMI: an impossible BMI (a height in the wrong unit) is reported either way
    res = cohort_facts.with_bmi(res, lambda derived: _judge_bmi(cohort, derived, obs))
    # derived for every patient, as Results.from_record does (an impossible one is reported)
    res = cohort_facts.with_non_hdl(res, lambda derived: _judge_non_hdl(cohort, derived, obs))
    if "height_row" not in res.columns:
        res = res.assign(height_row=-1)
    facts = _Facts(cohort, res, obs)
    conditions = cohort.checked.entries["conditions"]
    condition_sets = _condition_sets(cohort, conditions)
    baseline_done: set[tuple[str, str]] = set()
    needs = engine.needs_of(selected)
    baseline_rank = {key: n for n, key in enumerate(sorted(needs.baseline))}
    within_rank = {key: n for n, key in enumerate(sorted(needs.within))}
    for number, protocol in enumerate(selected):
        ep, _ = episodes[protocol.id]
        if not len(ep):
            continue
        applicable = np.zeros(cohort.n, dtype=bool)
        applicable[ep.index.to_numpy()] = True
        anchors = np.full(cohort.n, NONE, dtype=np.int64)
        anchors[ep.index.to_numpy()] = ep["anchor"].to_numpy()
        for rule_number, rule in enumerate(protocol.alerts):
            if rule.measure == "score" or rule.analyte is None:
                continue
            if rule.measure == "change_from_baseline":
                key = (protocol.id, rule.analyte)
                fired = _baseline_facts(
                    facts,
                    rule.analyte,
                    anchors,
                    applicable,
                    cohort,
                    report=key not in baseline_done,
                    protocol=protocol.id,
                    rank=baseline_rank[key],
                    call=baseline_rank[key],
                )
                baseline_done.add(key)
            elif rule.measure == "change_within":
                assert rule.within is not None
                call = _SEQ_STEP + within_rank[(rule.analyte, rule.within)]
                fired = _within_facts(facts, rule.analyte, rule.within, applicable, cohort, call)
            else:
                fired = _latest_facts(facts, rule, applicable)
            if fired is None or not len(fired["pidx"]):
                continue
            columns = _patient_columns(cohort, fired, rule, starts, condition_sets)
            condition = engine.rule_condition(protocol, rule)
            mask = _first_per_patient(
                cohort_facts.matches(condition, columns, len(fired["pidx"])), fired["pidx"]
            )
            if not mask.any():
                continue
            rank = items.pair_rank[(protocol.id, rule.id)]
            table = _alert_table(protocol, rule, fired, mask, cohort.lang, rank)
            alerts.append(table)
            for recheck_number, recheck in enumerate(rule.recheck):
                seq = _SEQ_RECHECK + (number * _SEQ_STEP + rule_number) * _SEQ_STEP + recheck_number
                rechecks.append(
                    _rechecks(protocol, rule, recheck, table, anchors, cohort, items, book).assign(
                        seq=seq
                    )
                )
    return alerts, rechecks


def _first_per_patient(mask: np.ndarray, pidx: np.ndarray) -> np.ndarray:
    """``mask`` keeping each patient's first matching fact only (``pidx`` grouped): one
    alert per rule, raised by the first fact that fires (raise_alerts)."""
    at = np.flatnonzero(mask)
    if len(at) < 2:
        return mask
    who = pidx[at]
    repeated = at[1:][who[1:] == who[:-1]]
    if not len(repeated):
        return mask
    out = mask.copy()
    out[repeated] = False
    return out


def _judge_bmi(cohort: _Cohort, derived: pd.DataFrame, obs: pd.DataFrame) -> np.ndarray:
    """Which derived BMIs to keep; each one the plausibility tier rejects is reported."""
    pidx = derived["pidx"].to_numpy()
    day = derived["day"].to_numpy()
    birth = cohort.checked.patients["birth"].to_numpy()[pidx]
    values = derived["value"].to_numpy()
    keep = np.ones(len(derived), dtype=bool)
    found = plausible.derived_bmi_unusable(values, plausible.ages_on(birth, day))
    if not found:
        return keep
    from cvrisk.cohort.validate import _positions

    rank = _positions(pidx)
    orig = obs["value"].to_numpy(dtype=np.float64)
    units = obs["unit"].astype(object).to_numpy()
    ids = obs["id"].astype(object).to_numpy()
    days = plausible_days(obs)

    def source(name: str, row: int) -> Evidence:
        value = orig[row]
        return Evidence(
            analyte=name,
            date=cohort_due.to_date(int(days[row])),
            value=None if np.isnan(value) else float(value),
            unit=None if units[row] is None or units[row] != units[row] else str(units[row]),
            role="source",
            resource=ids[row] if isinstance(ids[row], str) else None,
        )

    for row, verdict in found:
        keep[row] = False
        weight = source("weight", int(derived["row"].iloc[row]))
        height = source("height", int(derived["height_row"].iloc[row]))
        issue = plausible.derived_issue(
            cohort_due.to_date(int(day[row])),
            float(values[row]),
            weight,
            height,
            verdict,
            cohort.lang,
        )
        cohort.issues.add(int(pidx[row]), order_key(IMPLAUSIBLE, 1, int(rank[row])), issue)
    return keep


def _judge_non_hdl(cohort: _Cohort, derived: pd.DataFrame, obs: pd.DataFrame) -> np.ndarray:
    """Which derived non-HDL cholesterols to keep: one outside the analyte's limits (a total
    not above its HDL) is judged by the core's check and reported, after the BMIs."""
    from cvrisk import plausibility
    from cvrisk.cohort.validate import _positions
    from cvrisk.rules.facts import ImplausibleDerived, Result, implausible_issues

    name = "non_hdl_cholesterol"
    values = derived["value"].to_numpy()
    limits = vocab.analyte(name).plausible
    unit = vocab.analyte(name).unit
    assert limits is not None and unit is not None
    keep: np.ndarray = (values >= limits[0]) & (values <= limits[1])
    if keep.all():
        return keep
    pidx = derived["pidx"].to_numpy()
    day = derived["day"].to_numpy()
    rank = _positions(pidx)
    orig = obs["value"].to_numpy(dtype=np.float64)
    units = obs["unit"].astype(object).to_numpy()
    ids = obs["id"].astype(object).to_numpy()
    days = plausible_days(obs)

    def source(analyte: str, row: int) -> Evidence:
        value = orig[row]
        return Evidence(
            analyte=analyte,
            date=cohort_due.to_date(int(days[row])),
            value=None if np.isnan(value) else float(value),
            unit=None if units[row] is None or units[row] != units[row] else str(units[row]),
            role="source",
            resource=ids[row] if isinstance(ids[row], str) else None,
        )

    for row in np.nonzero(~keep)[0]:
        verdict = plausibility.check(name, float(values[row]), unit, derived=True)
        if verdict.usable:
            keep[row] = True
            continue
        sources = (
            source("total_cholesterol", int(derived["row"].iloc[row])),
            source("hdl_cholesterol", int(derived["height_row"].iloc[row])),
        )
        result = Result(cohort_due.to_date(int(day[row])), float(values[row]), None, None, sources)
        found = Results({}, 0, [], [ImplausibleDerived(name, result, verdict)])
        (issue,) = implausible_issues(found, FactSet(patient={}), cohort.lang)
        key = order_key(IMPLAUSIBLE, 1, (1 << 20) + int(rank[row]))
        cohort.issues.add(int(pidx[row]), key, issue)
    return keep


def plausible_days(obs: pd.DataFrame) -> np.ndarray:
    from cvrisk.cohort.validate import day_numbers

    return day_numbers(obs["date"])[0]


def _condition_sets(cohort: _Cohort, conditions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per condition set, which patients have an active diagnosis in it (0/1)."""
    from cvrisk.cohort.validate import day_numbers

    out: dict[str, np.ndarray] = {
        name: np.zeros(cohort.n, dtype=np.float64) for name in vocab.condition_sets()
    }
    if not len(conditions):
        return out
    onset, onset_ok = day_numbers(conditions["onset"])
    end, end_ok = day_numbers(conditions["abatement"])
    live = ~(onset_ok & (onset > cohort.as_of_day)) & ~(end_ok & (end <= cohort.as_of_day))
    sets = per_key(
        conditions,
        ["code", "system"],
        lambda row: vocab.conditions_matching(str(row["code"]), str(row["system"])),
    )
    pidx = conditions["pidx"].to_numpy()
    for i in np.nonzero(live)[0]:
        for name in sets[i]:
            out[name][pidx[i]] = 1.0
    return out


def _latest_facts(facts: _Facts, rule: AlertRule, applicable: np.ndarray) -> dict[str, Any] | None:
    assert rule.analyte is not None
    latest = facts.latest(rule.analyte)
    if latest is None:
        return None
    latest = latest[applicable[latest.index.to_numpy()]]
    values = latest["value"].to_numpy()
    coded = rule.measure == "coded"
    rows = latest["row"].to_numpy()
    if coded:
        codes = np.array(
            [facts.coded[r] if k == 0 else None for r, k in zip(rows, latest["kind"], strict=True)],
            dtype=object,
        )
        keep = np.isnan(values) & np.array([c is not None for c in codes], bool)
    else:
        keep = ~np.isnan(values)
    latest = latest[keep]
    rows = latest["row"].to_numpy()
    derived = latest["kind"].to_numpy() == 1
    out: dict[str, Any] = {
        "pidx": latest.index.to_numpy(),
        "t": "coded" if coded else "latest",
        "analyte": rule.analyte,
        "day": latest["day"].to_numpy(),
        "value": latest["value"].to_numpy(),
        "results": [("latest", _refs(latest))],
        "facts": facts,
    }
    if coded:
        out["code"] = np.array([facts.coded[r] for r in rows], dtype=object)
    else:
        out["u"] = np.where(derived, "derived", facts.units[rows]).astype(object)
        out["orig"] = np.where(derived, out["value"], facts.orig[rows])
    return out


def _baseline_facts(
    facts: _Facts,
    analyte: str,
    anchors: np.ndarray,
    applicable: np.ndarray,
    cohort: _Cohort,
    *,
    report: bool,
    protocol: str,
    rank: int,
    call: int,
) -> dict[str, Any] | None:
    results = facts.results(analyte)
    latest = facts.latest(analyte)
    if results is None or latest is None:
        return None
    before, after = BASELINE_WINDOW_DAYS
    anchor = anchors[results["pidx"].to_numpy()]
    day = results["day"].to_numpy()
    inside = (
        applicable[results["pidx"].to_numpy()]
        & (day >= anchor - before)
        & (day <= anchor + after)
        & ~np.isnan(results["value"].to_numpy())
    )
    base = facts.candidates(results[inside]).set_index("pidx")
    latest = latest[applicable[latest.index.to_numpy()]]
    if report:
        lacking = latest.index.difference(base.index).to_numpy()
        for (a,), group in _groups(anchors[lacking]):
            issue = _no_baseline(protocol, analyte, cohort_due.to_date(a), cohort.lang)
            cohort.issues.add_many(lacking[group], order_key(BASELINE, rank), issue)
    # every (baseline, latest) pair, baseline-major as add_change_from_baseline meets them
    both = latest.assign(_latest_rank=np.arange(len(latest))).join(
        base.add_suffix("_base").assign(_base_rank=np.arange(len(base))), how="inner"
    )
    both = both.sort_values(["_base_rank", "_latest_rank"], kind="stable").drop(
        columns=["_base_rank", "_latest_rank"]
    )
    both = both[~np.isnan(both["value"].to_numpy()) & (both["day"] > both["day_base"])]
    both = _plausible_changes(cohort, analyte, both, "_base", call)
    return _change_facts(
        facts, analyte, both, "_base", "change_from_baseline", "baseline", protocol=protocol
    )


def _plausible_changes(
    cohort: _Cohort, analyte: str, both: pd.DataFrame, suffix: str, call: int
) -> pd.DataFrame:
    """The pairs whose change is plausible (``FactSet.plausible_change``); the others are
    noted for their ``implausible`` issue (once per patient and change)."""
    if not len(both):
        return both
    pidx = both.index.to_numpy()
    found = plausible.implausible_changes(
        analyte,
        (both[f"day{suffix}"].to_numpy().astype(np.int64), both[f"value{suffix}"].to_numpy()),
        (both["day"].to_numpy().astype(np.int64), both["value"].to_numpy()),
        cohort.age[pidx],
    )
    if not found:
        return both
    keep = np.ones(len(both), dtype=bool)
    for row, verdict in found:
        keep[row] = False
        cohort.changes.append((int(pidx[row]), call, verdict))
    return both[keep]


def _change_issues(cohort: _Cohort) -> None:
    """One ``implausible`` issue per patient and implausible change, in the order evaluate
    meets them (baseline changes by (protocol, analyte), then look-back changes)."""
    seen: set[tuple[int, Any]] = set()
    texts: dict[Any, DataIssue] = {}
    numbers: dict[int, int] = {}
    for pidx, _call, verdict in sorted(cohort.changes, key=lambda c: (c[0], c[1])):
        if (pidx, verdict) in seen:
            continue
        seen.add((pidx, verdict))
        if verdict not in texts:
            texts[verdict] = plausible.change_issue(verdict, cohort.lang)
        number = numbers.get(pidx, 0)
        numbers[pidx] = number + 1
        cohort.issues.add(pidx, order_key(IMPLAUSIBLE, 2, number), texts[verdict])


def _rise(latest: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cvrisk.rules.facts._rise` over arrays."""
    rise = latest - reference
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(reference > 0, 100.0 * rise / np.where(reference > 0, reference, 1), 0.0)
    return rise, pct


def _within_facts(
    facts: _Facts, analyte: str, within: str, applicable: np.ndarray, cohort: _Cohort, call: int
) -> dict[str, Any] | None:
    results = facts.results(analyte)
    latest = facts.latest(analyte)
    if results is None or latest is None:
        return None
    latest = latest[applicable[latest.index.to_numpy()] & ~np.isnan(latest["value"].to_numpy())]
    once = latest[~latest.index.duplicated()]  # candidates share their day
    start = pd_series(
        cohort_due.add(parse_duration(within), once["day"].to_numpy(), -1), once.index
    )
    last_day = pd_series(once["day"].to_numpy(), once.index)
    p = results["pidx"].to_numpy()
    known = np.isin(p, latest.index.to_numpy())
    sub = results[known]
    p = sub["pidx"].to_numpy()
    begin = start.reindex(p).to_numpy()
    end = last_day.reindex(p).to_numpy()
    day = sub["day"].to_numpy()
    earlier = sub[(day >= begin) & (day < end) & ~np.isnan(sub["value"].to_numpy())]
    earlier = earlier.assign(order=np.arange(len(earlier)))
    lowest = earlier.sort_values(["pidx", "value", "day", "order"], kind="stable")
    lowest = lowest.groupby("pidx", sort=False).head(1).set_index("pidx")
    both = latest.join(lowest.add_suffix("_low"), how="inner")
    both = _plausible_changes(cohort, analyte, both, "_low", call)
    return _change_facts(facts, analyte, both, "_low", "change_within", "reference", within=within)


def _change_facts(
    facts: _Facts,
    analyte: str,
    both: pd.DataFrame,
    suffix: str,
    kind: str,
    role: str,
    **fields: str,
) -> dict[str, Any]:
    """The change facts of (latest, reference) pairs: ``both`` holds the latest result's
    columns and the reference's with ``suffix``; ``role`` names the reference in the
    evidence (``baseline``, ``reference``); ``fields``: the fact kind's own fields."""
    rise, pct = _rise(both["value"].to_numpy(), both[f"value{suffix}"].to_numpy())
    reference = both[[c for c in both.columns if c.endswith(suffix)]].rename(
        columns=lambda c: c.removesuffix(suffix)
    )
    return {
        "pidx": both.index.to_numpy(),
        "t": kind,
        "analyte": analyte,
        **fields,
        "day": both["day"].to_numpy(),
        "value": both["value"].to_numpy(),
        "rise_abs": rise,
        "rise_pct": pct,
        "results": [(role, _refs(reference)), ("latest", _refs(both))],
        "facts": facts,
    }


def pd_series(values: np.ndarray, index: Any) -> pd.Series:
    import pandas as pd

    return pd.Series(values, index=index)


def _patient_columns(
    cohort: _Cohort,
    fired: dict[str, Any],
    rule: AlertRule,
    starts: dict[str, np.ndarray],
    condition_sets: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The fields every fact carries (:func:`cvrisk.rules.facts.patient_fields` and
    ``FactSet.add``), for the facts' patients."""
    pidx = fired["pidx"]
    columns: dict[str, Any] = {
        k: v for k, v in fired.items() if k not in ("pidx", "results", "facts", "day")
    }
    columns["sex"] = cohort.sex[pidx]
    columns["eth"] = cohort.eth[pidx]
    columns["age"] = cohort.age[pidx]
    for name in rule.unless_conditions:
        columns[engine.condition_field(name)] = condition_sets[name][pidx]
    day = fired["day"]
    for drug in rule.drugs or ():
        begun = starts[drug][pidx] if drug in starts else np.full(len(pidx), NONE)
        on = begun != NONE
        columns[f"from_{drug}"] = np.where(
            on & (day >= begun - BASELINE_WINDOW_DAYS[0]), 1.0, np.nan
        )
        columns[f"on_{drug}"] = np.where(on & (day >= begun), 1.0, np.nan)
    return columns


def _refs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The result columns evidence is made of (day, kind, row, height_row, value)."""
    return {
        "day": frame["day"].to_numpy().astype(np.int64),
        "kind": frame["kind"].to_numpy(),
        "row": frame["row"].to_numpy().astype(np.int64),
        "height_row": frame["height_row"].to_numpy().astype(np.int64),
        "value": frame["value"].to_numpy(dtype=np.float64),
    }


def _evidence_json(
    facts: _Facts, analyte: str, parts: list[tuple[str, dict[str, np.ndarray]]]
) -> np.ndarray:
    """Each fact's evidence as the JSON of ``Alert.evidence`` (Evidence.model_dump, in
    order), built column-wise: :meth:`cvrisk.rules.facts.Result.evidence` of each result."""
    items: list[np.ndarray] = []
    for role, refs in parts:
        derived = refs["kind"] == 1
        dates = _json_days(refs["day"])
        rows = refs["row"]
        recorded = _items(
            json.dumps(analyte),
            dates,
            _json_numbers(facts.orig[rows]),
            facts.unit_json.at(rows),
            facts.coded_json.at(rows),
            json.dumps(role),
            facts.ids_json.at(rows),
        )
        if not derived.any():
            items.append(recorded)
            continue
        bmi_value = _json_numbers(np.round(refs["value"], 2))
        derived_item = _items(
            json.dumps(analyte),
            dates,
            bmi_value,
            json.dumps(vocab.analyte(analyte).unit),
            "null",
            json.dumps(f"{role} (derived)"),
            "null",
        )
        sources = []
        for name, source_rows in zip(
            _DERIVED_FROM[analyte], (rows, refs["height_row"]), strict=True
        ):
            safe = np.where(source_rows >= 0, source_rows, 0)
            sources.append(
                _items(
                    json.dumps(name),
                    _json_days(facts.days[safe]),
                    _json_numbers(facts.orig[safe]),
                    facts.unit_json.at(safe),
                    facts.coded_json.at(safe),
                    json.dumps("source"),
                    facts.ids_json.at(safe),
                )
            )
        joined = [f"{a}, {b}, {c}" for a, b, c in zip(derived_item, *sources, strict=True)]
        items.append(np.where(derived, np.array(joined, dtype=object), recorded))
    texts = [f"[{', '.join(row)}]" for row in zip(*items, strict=True)]
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


#: The two results each derived analyte is computed from (evidence order): the row of the
#: first is the derived row's ``row``, that of the second its ``height_row``.
_DERIVED_FROM = {
    "bmi": ("weight", "height"),
    "non_hdl_cholesterol": ("total_cholesterol", "hdl_cholesterol"),
}


def _items(
    analyte: Any, date: Any, value: Any, unit: Any, coded: Any, role: Any, resource: Any
) -> np.ndarray:
    """JSON objects with the Evidence fields, in Evidence's field order (each argument a
    JSON text, or an array of them)."""
    n = max(len(x) for x in (date, value, unit, coded) if isinstance(x, np.ndarray))
    columns = [
        x if isinstance(x, np.ndarray) else [x] * n
        for x in (analyte, date, value, unit, coded, role, resource)
    ]
    texts = [
        f'{{"analyte": {a}, "date": {d}, "value": {v}, "unit": {u}, "coded": {c}, '
        f'"role": {r}, "resource": {x}}}'
        for a, d, v, u, c, r, x in zip(*columns, strict=True)
    ]
    out = np.empty(n, dtype=object)
    out[:] = texts
    return out


def _json_numbers(values: np.ndarray) -> np.ndarray:
    """Each number (float64; NaN: missing) as JSON text, written once per distinct value
    (factorized as numbers, not as Python objects)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=np.float64), use_na_sentinel=True)
    texts = np.array([json.dumps(float(u)) for u in uniques] + ["null"], dtype=object)
    result: np.ndarray = texts[codes]
    return result


def _json_days(days: np.ndarray) -> np.ndarray:
    """Each day number as the JSON text of its ISO date, written once per distinct day."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(days, dtype=np.int64))
    dates = np.datetime_as_string(uniques.astype("datetime64[D]"), unit="D")
    texts = np.array([json.dumps(str(d)) for d in dates], dtype=object)
    result: np.ndarray = texts[codes]
    return result


def _objects(column: pd.Series) -> np.ndarray:
    """A text column as Python objects, None where missing (picked by the categorical's
    codes, without an intermediate object column and mask)."""
    values = categories_in_order(column, appearance=False)
    texts = np.empty(len(values.categories) + 1, dtype=object)  # the last: None
    texts[:-1] = np.asarray(values.categories, dtype=object)
    result: np.ndarray = texts[np.asarray(values.codes, dtype=np.int64)]
    return result


class _JsonTexts:
    """A text column's values as JSON texts (missing: ``null``): :meth:`at` writes the JSON
    of the categories some rows use, once each, without a pass over the column's Python
    objects (nor over every category: an id column has one a row)."""

    def __init__(self, column: pd.Series) -> None:
        values = categories_in_order(column, appearance=False)
        self.codes = np.asarray(values.codes, dtype=np.int64)
        self.categories = np.asarray(values.categories, dtype=object)

    def at(self, rows: np.ndarray) -> np.ndarray:
        import pandas as pd

        found, uniques = pd.factorize(self.codes[rows])
        texts = np.array(
            ["null" if c < 0 else json.dumps(str(self.categories[c])) for c in uniques],
            dtype=object,
        )
        result: np.ndarray = texts[found]
        return result


def _message_inputs(template: str) -> set[str]:
    """The fired facts' values a message template is worded from
    (:data:`cvrisk.rules.alerts.MESSAGE_INPUTS`; every value for a placeholder it does not
    know)."""
    import string

    used: set[str] = set()
    everything = {k for inputs in MESSAGE_INPUTS.values() for k in inputs}
    try:
        fields = [f for _text, f, _spec, _conv in string.Formatter().parse(template) if f]
    except ValueError:
        return everything
    for name in fields:
        used.update(MESSAGE_INPUTS.get(name, everything))
    return used


def _alert_table(
    protocol: Protocol,
    rule: AlertRule,
    fired: dict[str, Any],
    mask: np.ndarray,
    lang: str,
    rank: int,
) -> pd.DataFrame:
    """The alerts one rule raises (its facts where ``mask``), as table rows: messages worded
    once per distinct value they are worded from by :func:`cvrisk.rules.alerts.alert_message`."""
    import pandas as pd

    facts: _Facts = fired["facts"]
    chosen = {
        k: (v[mask] if isinstance(v, np.ndarray) else v)
        for k, v in fired.items()
        if k not in ("results", "facts")
    }
    shown_names = [
        k
        for k in ("value", "u", "orig", "rise_abs", "rise_pct")
        if k in chosen and not (k == "value" and fired["t"] == "coded")
    ]
    day = chosen["day"]
    # keyed by the values the message is worded from only (a message without {value} is
    # the same for every value)
    used = _message_inputs(rule.message.get(lang))
    key_columns: dict[str, Any] = {k: chosen[k] for k in shown_names if k in used}
    if "date" in used:
        key_columns["day"] = day
    n = int(mask.sum())
    if key_columns:
        codes, first = cohort_due.distinct_rows(pd.DataFrame(key_columns))
    else:
        codes, first = np.zeros(n, dtype=np.int64), np.zeros(min(n, 1), dtype=np.int64)
    texts = []
    for row in first:
        shown: dict[str, Any] = {
            k: (chosen[k][row] if isinstance(chosen[k][row], str) else float(chosen[k][row]))
            for k in shown_names
        }
        shown["date"] = cohort_due.to_date(int(day[row]))
        texts.append(alert_message(rule, shown, lang))
    parts = [(role, {k: v[mask] for k, v in refs.items()}) for role, refs in fired["results"]]
    zeros = np.zeros(n, dtype=np.int64)
    return objects(
        {
            "pidx": chosen["pidx"],
            "_order": SEVERITY_ORDER[rule.severity] * _SEQ_STEP**2 + rank,
            "code": coded([f"{protocol.id}/{rule.id}"], zeros),
            "severity": coded([rule.severity], zeros),
            "message": coded(texts, codes),
            "protocol": coded([protocol.id], zeros),
            "rule": coded([rule.id], zeros),
            "source": coded([rule.source], zeros),
            "evidence_status": coded([rule.status], zeros),
            "lead": coded(
                [json.dumps([{"role": x.role, "leads": x.leads} for x in rule.lead])], zeros
            ),
            "analyte": coded([fired["analyte"]], zeros),
            "date": day,
            "evidence": _evidence_json(facts, fired["analyte"], parts),
        }
    )


def _rechecks(
    protocol: Protocol,
    rule: AlertRule,
    recheck: Any,
    alerts: pd.DataFrame,
    anchors: np.ndarray,
    cohort: _Cohort,
    items: _Items,
    book: _Book,
) -> pd.DataFrame:
    """:func:`cvrisk.rules.due.recheck_entry` of each alert, as integer-coded rows."""
    import pandas as pd

    lang = cohort.lang
    label = test_label(recheck.test, lang)
    trigger = alerts["date"].to_numpy().astype(np.int64)
    pidx = alerts["pidx"].to_numpy()
    due = np.maximum(cohort_due.add(parse_duration(recheck.within), trigger), anchors[pidx])
    within = duration_text(recheck.within, lang)
    codes, uniques = pd.factorize(trigger)
    reasons = np.array(
        [
            book.code(
                phrase(
                    "reason.recheck",
                    lang,
                    test=label,
                    within=within,
                    date=cohort_due.to_date(int(t)),
                    alert=f"{protocol.id}/{rule.id}",
                )
            )
            for t in uniques
        ],
        dtype=np.int64,
    )
    code = items.add(
        recheck.test, label, protocol.id, rule.id, rule.source, rule.status, True, None
    )
    return pd.DataFrame(
        {
            "pidx": pidx,
            "item": code,
            "status": np.where(
                cohort.as_of_day > due, STATUS_ORDER["overdue"], STATUS_ORDER["due"]
            ).astype(np.int64),
            "due_date": due,
            "window_start": trigger,
            "window_end": due,
            "occurrence": book.code(f"recheck {recheck.within}"),
            "last_result": trigger,
            "reason": reasons[codes],
        }
    )


# -- assembly ------------------------------------------------------------------------------


def _assemble(
    cohort: _Cohort,
    test_frames: list[pd.DataFrame],
    alerts: list[pd.DataFrame],
    items: _Items,
    book: _Book,
    with_worklist: bool,
) -> CohortResult:
    import pandas as pd

    result = empty_result()
    ids = cohort.ids
    if test_frames:
        result.status, result.requests = _status_tables(
            pd.concat(test_frames, ignore_index=True), ids, items, book
        )
    if alerts:
        frame = concat_frames(alerts, list(alerts[0].columns))
        order = sorting.lexsort((frame["_order"].to_numpy(), frame["pidx"].to_numpy()))
        result.alerts = _finish(frame.iloc[order].drop(columns=["_order"]), ids, ["date"])
    result.issues = _issues(cohort)
    for table in CohortResult.TABLES:
        if table != "worklist":
            setattr(result, table, with_patients(conform(table, getattr(result, table)), ids))
    result.worklist = (
        conform("worklist", worklist(result.status, result.alerts)) if with_worklist else None
    )
    return result


def _status_tables(
    tests: pd.DataFrame, ids: np.ndarray, items: _Items, book: _Book
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(status, requests) from the integer-coded requests: one entry per (patient, test),
    the most urgent request shown (:func:`cvrisk.rules.due.merge_requests`), in report order
    (:func:`cvrisk.rules.due.ordered`)."""
    import pandas as pd

    test_rank, pair_rank = items.ranks()
    item = tests["item"].to_numpy()
    pidx = tests["pidx"].to_numpy()
    status = tests["status"].to_numpy()
    due = tests["due_date"].to_numpy()
    seq = tests["seq"].to_numpy()
    order = sorting.lexsort((seq, pair_rank[item], due, status, test_rank[item], pidx))
    tests = tests.iloc[order].reset_index(drop=True)
    item, pidx = item[order], pidx[order]
    test = test_rank[item]
    first = np.r_[True, (pidx[1:] != pidx[:-1]) | (test[1:] != test[:-1])]
    group = np.cumsum(first) - 1
    starts_at = np.nonzero(first)[0]
    request = np.arange(len(tests)) - starts_at[group]
    sizes = np.diff(np.r_[starts_at, len(tests)])
    protocols, rules = items.column("protocol"), items.column("rule")
    codes = np.char.add(np.char.add(protocols.astype(str), "/"), rules.astype(str))
    joined = codes[item].astype(object)
    for size in np.unique(sizes[sizes > 1]):  # tests asked for by several items
        begins = starts_at[sizes == size]
        members = item[begins[:, None] + np.arange(size)[None, :]]
        distinct, which = np.unique(members, axis=0, return_inverse=True)
        texts = np.array(["; ".join(codes[row]) for row in distinct], dtype=object)
        joined[begins] = texts[which.ravel()]
    texts = book.array()
    statuses = np.array(_STATUSES, dtype=object)
    joined_codes, joined_texts = pd.factorize(pd.Series(joined, dtype=object))

    def table(rows: np.ndarray, names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"pidx": tests["pidx"].to_numpy()[rows]}
        for name in names:
            if name in ("protocol", "rule", "source", "evidence_status", "note", "label", "test"):
                out[name] = coded(items.column(name), item[rows])
            elif name in _Items.COLUMNS:
                out[name] = items.column(name)[item[rows]]
            elif name == "status":
                out[name] = coded(statuses, tests["status"].to_numpy()[rows])
            elif name in ("occurrence", "reason"):
                out[name] = coded(texts, tests[name].to_numpy()[rows])
            else:
                out[name] = tests[name].to_numpy()[rows]
        return out

    requests = table(np.arange(len(tests)), [c for c in REQUEST_COLUMNS[1:] if c != "request"])
    requests["request"] = request
    # a merged entry stands where its test first appears in evaluate's list
    first_seq = np.minimum.reduceat(tests["seq"].to_numpy(), starts_at)
    lead = starts_at[
        sorting.lexsort(
            (
                first_seq,
                pair_rank[item[starts_at]],
                due[order][starts_at],
                status[order][starts_at],
                pidx[starts_at],
            )
        )
    ]
    shown = table(lead, [c for c in STATUS_COLUMNS[1:] if c not in ("requested_by", "requests")])
    shown["requested_by"] = coded(np.asarray(joined_texts, dtype=object), joined_codes[lead])
    shown["requests"] = sizes[group[lead]]
    dates = ["due_date", "window_start", "window_end"]
    return (
        _finish(objects(shown), ids, [*dates, "last_result"]),
        _finish(objects(requests), ids, dates),
    )


def _finish(frame: pd.DataFrame, ids: np.ndarray, dates: list[str]) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    out.insert(0, "patient_id", patient_column(ids, out["pidx"].to_numpy()))
    for name in dates:
        values = out[name].to_numpy().astype(np.int64)
        stamps = values.astype("datetime64[D]").astype("datetime64[ns]")
        stamps[values == NONE] = np.datetime64("NaT")
        out[name] = stamps
    return out.drop(columns=["pidx"])


def _issues(cohort: _Cohort) -> pd.DataFrame:
    import pandas as pd

    frame = cohort.issues.frame(cohort.ids, ISSUE_COLUMNS)
    skipped = pd.DataFrame(
        [{"patient_id": pid, **issue.model_dump()} for pid, issue in cohort.checked.skipped],
        columns=ISSUE_COLUMNS,
    )
    if not len(skipped):
        return frame
    # the skipped patients' ids after the cohort's
    skipped["patient_id"] = categories_in_order(skipped["patient_id"], appearance=False)
    return concat_frames([frame, skipped], ISSUE_COLUMNS)


def worklist(status: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """What to do, by patient: overdue tests and critical alerts first, then due tests and
    other alerts. One row per action (``kind`` test or alert); patients ordered by their most
    urgent action, then by id; within a patient, by priority, alerts before tests, due date.
    ``status`` and ``alerts``: conformed tables (text columns categorical)."""
    tests = status[status["status"].isin(["overdue", "due"])]
    rows = conform(
        "worklist",
        objects(
            {
                "patient_id": tests["patient_id"].array,
                "priority": np.where((tests["status"] == "overdue").to_numpy(), 0, 1),
                "kind": "test",
                "what": tests["label"].array,
                "status": tests["status"].array,
                "due_date": tests["due_date"].to_numpy(),
                "action": tests["reason"].array,
                "protocol": tests["protocol"].array,
                "rule": tests["rule"].array,
            },
            len(tests),
        ),
    )
    severity = alerts["severity"]
    found = conform(
        "worklist",
        objects(
            {
                "patient_id": alerts["patient_id"].array,
                "priority": np.select(
                    [(severity == "critical").to_numpy(), (severity == "warning").to_numpy()],
                    [0, 1],
                    2,
                ),
                "kind": "alert",
                "what": alerts["code"].array,
                "status": alerts["severity"].array,
                "due_date": np.full(len(alerts), np.datetime64("NaT"), dtype="datetime64[ns]"),
                "action": alerts["message"].array,
                "protocol": alerts["protocol"].array,
                "rule": alerts["rule"].array,
            },
            len(alerts),
        ),
    )
    both = concat_tables("worklist", [found, rows])
    if not len(both):
        return both
    patients = both["patient_id"].array
    # patients by id (as text), whatever the order of the categories
    rank = np.empty(len(patients.categories), dtype=np.int64)
    rank[np.argsort(np.asarray(patients.categories, dtype=object), kind="stable")] = np.arange(
        len(rank)
    )
    patient = rank[np.asarray(patients.codes, dtype=np.int64)]
    priority = both["priority"].to_numpy()
    best = np.full(int(patient.max()) + 1, 9, dtype=np.int64)
    np.minimum.at(best, patient, priority)
    kind = (both["kind"] == "test").to_numpy().astype(np.int64)
    due = both["due_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    order = sorting.lexsort((due, kind, priority, patient, best[patient]))
    return both.iloc[order].reset_index(drop=True)


__all__: list[str] = ["monitor", "worklist"]
_unused: Callable[..., Any] | None = None
