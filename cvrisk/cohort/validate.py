"""Row validation of the cohort tables: the record's rules, vectorised, lenient.

Every row is screened with vectorised checks built on the record's own validators: each
distinct combination of codes, systems, units and names is validated once with the record's
entry models (:mod:`cvrisk.record`), and the value- and date-dependent rules (plausible
ranges through :func:`cvrisk.units.converter`, dates before birth, a stop before its start)
run over whole columns. A row the screen flags is validated alone by the record's models,
exactly as ``evaluate(..., on_invalid="report")`` validates it: it is skipped with that
``invalid`` data issue (the same message, naming ``observations[3]`` and its ``id``), or, if
the model accepts it after all, kept. Nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from cvrisk import sources, vocab
from cvrisk.cohort.issuelog import READ, IssueLog, order_key
from cvrisk.cohort.tables import ENTRY_TABLES, TABLES, CohortTables, _cells
from cvrisk.errors import CvriskError
from cvrisk.issues import DataIssue
from cvrisk.record import Condition, Medication, Observation, record_error
from cvrisk.units import converter

if TYPE_CHECKING:
    import pandas as pd

#: Days since 1970-01-01 of a missing date.
NO_DAY = np.iinfo(np.int64).min


def day_numbers(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01 as int64, mask of cells holding a valid date) of a normalised
    date column (text that is not a date counts as not valid, missing as not valid)."""
    import pandas as pd

    series = pd.Series(column)
    if series.dtype == object:
        stamps = pd.to_datetime(
            series.where(series.map(lambda v: isinstance(v, dt.datetime)), None)
        )
    else:
        stamps = series
    values = stamps.to_numpy(dtype="datetime64[ns]")
    valid = ~np.isnat(values)
    days = values.astype("datetime64[D]").astype(np.int64)
    days[~valid] = NO_DAY
    return days, valid


@dataclass
class Checked:
    """The cohort after row validation.

    ``patients``: the evaluable patients (``pidx`` 0..n-1, ``birth`` and ``as_of`` day
    numbers); each entry table holds its valid rows with ``pidx`` and ``pos`` (the entry's
    index in the patient's record); ``issues``: one data issue per invalid row or patient,
    with ``pidx`` (-1: a patient not evaluated), ``stage`` and ``order`` for report order.
    """

    patients: pd.DataFrame
    entries: dict[str, pd.DataFrame]
    issues: IssueLog
    skipped: list[tuple[str, DataIssue]]  # (patient_id, issue) of patients not evaluated


def _patient_dict(row: Any) -> dict[str, Any]:
    return {"id": str(row.patient_id), **_cells(row, "patients")}


def check(tables: CohortTables, as_of: dt.date) -> Checked:
    """Validate every row (see the module docstring)."""
    import pandas as pd

    patients = tables.patients.reset_index(drop=True)
    # object, not pandas' Arrow strings: the sets below iterate over every id
    ids = patients["patient_id"].astype(object)
    skipped: list[tuple[str, DataIssue]] = []
    birth, birth_ok = day_numbers(patients["birth_date"])
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    sex_ok = patients["sex"].isin(["female", "male"]).to_numpy()
    eth = patients["ethnicity"]
    eth_ok = (eth.isna() | eth.isin(vocab.ETHNICITIES)).to_numpy()
    race = patients["race"]
    race_ok = (race.isna() | race.isin(["white", "black", "other"])).to_numpy()
    duplicated = ids.duplicated(keep=False).to_numpy()
    good = birth_ok & sex_ok & eth_ok & race_ok & (birth <= as_of_day) & ~duplicated
    for index in np.nonzero(~good)[0]:
        row = patients.iloc[index]
        pid = str(row.patient_id)
        if duplicated[index]:
            count = int((ids == pid).sum())
            text = (
                f"patient {pid!r} has {count} rows in the patients table: give one row per "
                "patient; this patient was not evaluated"
            )
            skipped.append((pid, _patient_issue(text)))
            continue
        problem = _patient_problem(_patient_dict(row), as_of)
        if problem is None:
            good[index] = True
        else:
            skipped.append((pid, _patient_issue(problem)))
    kept = patients[good].reset_index(drop=True)
    kept_ids = kept["patient_id"].astype(object)
    index_of = pd.Index(kept_ids, dtype=object)
    kept["pidx"] = np.arange(len(kept), dtype=np.int64)
    kept["birth"] = birth[good]
    issues = IssueLog()
    entries: dict[str, pd.DataFrame] = {}
    not_evaluated = set(ids) - set(kept_ids)
    orphans: dict[str, dict[str, int]] = {}
    for table_number, name in enumerate(ENTRY_TABLES):
        frame = tables.table(name).reset_index(drop=True)
        pids = frame["patient_id"]
        pos = _positions(pd.Categorical(pids).codes)
        pidx = _patient_index(pids, index_of)
        lost = pidx < 0
        if lost.any():
            for pid, count in pids[lost].astype(str).value_counts().items():
                if pid not in not_evaluated:
                    orphans.setdefault(str(pid), {})[name] = int(count)
        frame = frame.assign(pidx=pidx, pos=pos)[~lost]
        born = kept["birth"].to_numpy()[frame["pidx"].to_numpy()]
        flagged = _screen(name, frame, born)
        valid = ~flagged
        for index in np.nonzero(flagged)[0]:
            row = frame.iloc[index]
            issue = _entry_issue(name, int(row.pos), _cells(row, name), int(born[index]))
            if issue is None:
                valid[index] = True
            else:
                issues.add(int(row.pidx), order_key(READ, table_number, int(row.pos)), issue)
        entries[name] = frame[valid].reset_index(drop=True)
    for pid, counts in sorted(orphans.items()):
        rows = ", ".join(f"{n} {t}" for t, n in counts.items())
        text = (
            f"patient {pid!r} has rows in the entry tables ({rows}) but no row in the "
            "patients table: give its date of birth and sex; these rows were not evaluated"
        )
        skipped.append((pid, _patient_issue(text)))
    return Checked(kept, entries, issues, skipped)


def _positions(codes: np.ndarray) -> np.ndarray:
    """Each row's index among the earlier rows with the same code (a grouped cumcount)."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if len(codes) else np.zeros(0, bool)
    starts = np.nonzero(first)[0]
    rank = np.arange(len(codes)) - starts[np.cumsum(first) - 1]
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = rank
    return out


def _patient_index(pids: Any, index_of: Any) -> np.ndarray:
    """Each row's patient index (-1: not an evaluated patient), mapped per category."""
    import pandas as pd

    if not len(pids):
        return np.array([], dtype=np.int64)
    values = pd.Categorical(pids)
    by_category = index_of.get_indexer(pd.Index(values.categories).astype(str))
    codes = values.codes.astype(np.int64)
    return np.where(codes >= 0, by_category[codes], -1).astype(np.int64)


def _patient_issue(text: str) -> DataIssue:
    return DataIssue(kind="invalid", severity="warning", field="patient", message=text)


def _patient_problem(patient: dict[str, Any], as_of: dt.date) -> str | None:
    """The error ``evaluate`` raises for a record with this patient, or None."""
    try:
        read = sources.read_record({"patient": patient}, on_invalid="report")
        read.record.check_dates(as_of)
    except CvriskError as exc:
        return str(exc)
    return None


_MODELS: dict[str, type[Condition] | type[Medication] | type[Observation]] = {
    "conditions": Condition,
    "medications": Medication,
    "observations": Observation,
}


def _entry_issue(table: str, pos: int, entry: dict[str, Any], born: int) -> DataIssue | None:
    """The ``invalid`` issue the lenient record reader gives for this entry, or None when it
    is valid (cvrisk.sources: the same model, message and path)."""
    path = f"{table}[{pos}]"
    try:
        item = _MODELS[table].model_validate(entry)
    except ValidationError as exc:
        reason = str(record_error(exc, prefix=path)).removeprefix("invalid patient record: ")
        return sources._invalid(path, reason, entry)
    day = sources._entry_day(item)
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=born)
    if day is not None and day < birth:
        return sources._invalid(path, f"dated {day}, before patient.birth_date {birth}", entry)
    return None


def _codes(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """One integer per distinct combination of the (categorical) columns ``names``."""
    key = np.zeros(len(frame), dtype=np.int64)
    for name in names:
        codes = frame[name].cat.codes.to_numpy().astype(np.int64) + 1
        key = key * (len(frame[name].cat.categories) + 1) + codes
    return key


def keyed(frame: pd.DataFrame, names: list[str], check_one: Any) -> tuple[np.ndarray, list[Any]]:
    """(index of each row's result, the results): ``check_one(row)`` run once per distinct
    combination of the categorical columns ``names`` (on its first row)."""
    key = _codes(frame, names)
    _unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.ravel(), [check_one(frame.iloc[int(i)]) for i in first]


def per_key(frame: pd.DataFrame, names: list[str], check_one: Any) -> list[Any]:
    """``check_one(row)`` run once per distinct combination of the categorical columns
    ``names`` (on its first row), spread back to every row (a list, one item per row)."""
    key = _codes(frame, names)
    _unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    results = [check_one(frame.iloc[int(i)]) for i in first]
    return [results[i] for i in inverse.ravel()]


def _screen(table: str, frame: pd.DataFrame, born: np.ndarray) -> np.ndarray:
    """Rows that may be invalid (True): validated alone afterwards."""
    flagged = np.zeros(len(frame), dtype=bool)
    if not len(frame):
        return flagged
    if table == "conditions":
        flagged |= ~np.array(per_key(frame, ["code", "system"], _condition_key_ok), dtype=bool)
        onset, onset_ok = day_numbers(frame["onset"])
        end, end_ok = day_numbers(frame["abatement"])
        flagged |= frame["onset"].notna().to_numpy() & ~onset_ok
        flagged |= frame["abatement"].notna().to_numpy() & ~end_ok
        flagged |= onset_ok & end_ok & (end < onset)
        flagged |= onset_ok & (onset < born)
    elif table == "medications":
        names = ["drug", "code", "system", "formulation"]
        flagged |= ~np.array(per_key(frame, names, _medication_key_ok), dtype=bool)
        start, start_ok = day_numbers(frame["start"])
        stop, stop_ok = day_numbers(frame["stop"])
        flagged |= ~start_ok
        flagged |= frame["stop"].notna().to_numpy() & ~stop_ok
        flagged |= start_ok & stop_ok & (stop < start)
        flagged |= start_ok & (start < born)
    else:
        flagged |= _screen_observations(frame, born)
    return flagged


def _condition_key_ok(row: Any) -> bool:
    try:
        Condition.model_validate(_cells(row, "conditions") | {"onset": None, "abatement": None})
    except ValidationError:
        return False
    return True


def _medication_key_ok(row: Any) -> bool:
    cells = {k: v for k, v in _cells(row, "medications").items() if k not in ("start", "stop")}
    try:
        Medication.model_validate({**cells, "start": "2000-01-01"})
    except ValidationError:
        return False
    return True


def observation_analyte(row: Any) -> str | None:
    """The analyte id of an observation row (None when it cannot be resolved)."""
    cells = _cells(row, "observations")
    if cells.get("analyte") is not None:
        return str(cells["analyte"]) if cells["analyte"] in vocab.analytes() else None
    try:
        return vocab.analyte_for_code(str(cells.get("code")), str(cells.get("system")))
    except CvriskError:
        return None


OBSERVATION_KEY = ["analyte", "code", "system", "unit", "coded", "status"]


def _observation_key_ok(row: Any) -> bool:
    """True when an observation with these codes, unit and status can be valid: the row
    itself validates, or fails only on its value's plausibility."""
    cells = _cells(row, "observations")
    cells["date"] = "2000-01-01"
    try:
        Observation.model_validate(cells)
    except ValidationError as exc:
        errors = exc.errors()
        cause = errors[0].get("ctx", {}).get("error") if len(errors) == 1 else None
        return bool(
            cause is not None
            and getattr(cause, "field", None) == "value"
            and "implausible" in str(cause)
        )
    return True


def _key_groups(keys: np.ndarray) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """(first row of each distinct key, the rows of key number k): hashed, not sorted,
    when the keys are few (the usual case: a few analytes and units)."""
    import pandas as pd

    codes, uniques = pd.factorize(keys)
    first = np.full(len(uniques), len(keys), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(keys)))
    if len(uniques) <= 64:  # a pass per key beats a sort of every row
        return first, lambda k: np.flatnonzero(codes == k)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return first, lambda k: order[bounds[k] : bounds[k + 1]]


def _screen_observations(frame: pd.DataFrame, born: np.ndarray) -> np.ndarray:
    values = frame["value"].to_numpy(dtype=np.float64)
    has_value = ~np.isnan(values)
    keys = _codes(frame, OBSERVATION_KEY) * 2 + has_value
    first, rows_of = _key_groups(keys)
    flagged = np.zeros(len(frame), dtype=bool)
    if "value_text" in frame.columns:
        flagged |= frame["value_text"].notna().to_numpy()
    flagged |= np.isinf(values)
    for number, index in enumerate(first):
        row = frame.iloc[int(index)]
        rows = rows_of(number)
        if not _observation_key_ok(row):
            flagged[rows] = True
            continue
        analyte = observation_analyte(row)
        entry = vocab.analyte(analyte) if analyte is not None else None
        if entry is None or entry.coded or entry.unit is None or not has_value[index]:
            continue
        if entry.plausible is None:
            continue
        low, high = entry.plausible
        unit = str(row["unit"])
        with np.errstate(invalid="ignore", over="ignore"):
            canonical = converter(unit, entry.unit, entry.substance)(values[rows])
        flagged[rows] |= ~((low <= canonical) & (canonical <= high))
    day, day_ok = day_numbers(frame["date"])
    flagged |= ~day_ok
    flagged |= day_ok & (day < born)
    return flagged


def entry_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]
