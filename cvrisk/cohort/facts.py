"""Results and alert facts over the whole cohort (the vectorised twin of
:mod:`cvrisk.rules.facts`), and the alert rules' compiled conditions evaluated over them.

Results are the valid observations dated on or before the evaluation date, values in the
analyte's canonical unit by the core's affine conversion (``facts._affine``), ordered per
(patient, analyte) by day, then as the core orders one day's results; BMI is derived from
weight and height as :func:`~cvrisk.rules.facts.derived_bmi` does (an as-of join). Facts
(latest, coded, change_from_baseline, change_within) become columns, and each rule's
condition, the JSON that :func:`cvrisk.rules.engine.rule_condition` compiles for
durable-rules, is evaluated over those columns by :func:`matches` with durable-rules'
semantics (a field a fact lacks matches no comparison), so alert logic is the protocols'
data, read once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk import vocab
from cvrisk.cohort import sameday, sorting
from cvrisk.rules.facts import _affine, _unit_name, reading

if TYPE_CHECKING:
    import pandas as pd

NONE = np.iinfo(np.int64).min


def results(
    obs: pd.DataFrame,
    analyte_code: np.ndarray,
    names: list[str],
    built: sameday.Built | None = None,
) -> pd.DataFrame:
    """Results (see the module docstring): pidx, analyte (categorical of ``names``, indexed
    by ``analyte_code``), day, value (canonical, NaN when coded), row (index of the
    observation), kind (0 recorded, 1 derived), pos, tod (time of day, ns; 0 for a date and
    for a derived result); sorted by (pidx, analyte, day), each
    day's results in the core's order (:func:`cvrisk.cohort.sameday.order_same_day`, which
    adds the core results it builds to ``built``)."""
    import pandas as pd

    from cvrisk.cohort.validate import day_numbers

    day, _ = day_numbers(obs["date"])
    values = obs["value"].to_numpy(dtype=np.float64)
    units = pd.Categorical(obs["unit"])
    unit_code = units.codes.astype(np.int64)
    # one conversion per (analyte, unit) pair present, looked up by a small integer key
    width = len(units.categories) + 1
    key = analyte_code * width + unit_code + 1
    slope = np.full(len(names) * width, np.nan)
    offset = np.full(len(names) * width, np.nan)
    for pair in np.flatnonzero(np.bincount(key, minlength=len(slope))).tolist():
        name, unit = names[pair // width], pair % width - 1
        if vocab.analyte(name).unit is None or unit < 0:
            continue
        slope[pair], offset[pair] = _affine(str(units.categories[unit]), name)
    canonical = values * slope[key] + offset[key]  # as Results.from_record
    pidx = obs["pidx"].to_numpy()
    pos = obs["pos"].to_numpy()
    tod = sameday.time_of_day(obs)
    order = sameday.order_same_day(
        sorting.lexsort((pos, day, analyte_code, pidx)),
        obs,
        pidx,
        analyte_code,
        day,
        canonical,
        built,
    )
    categories = pd.Index(names, dtype=object)
    return pd.DataFrame(
        {
            "pidx": pidx[order],
            "analyte": pd.Categorical.from_codes(analyte_code[order], categories=categories),
            "day": day[order],
            "value": canonical[order],
            "row": order,
            "kind": np.zeros(len(obs), dtype=np.int8),
            "pos": pos[order],
            "tod": tod[order],
        },
        copy=False,  # fresh arrays: no consolidation copy
    )


def with_bmi(res: pd.DataFrame, keep: Any = None) -> pd.DataFrame:
    """Add BMI derived from each weight and the latest height on or before it (or the first
    height), on days without a recorded BMI (:func:`cvrisk.rules.facts.derived_bmi`).
    ``keep(derived)``: the derived rows to keep (the plausibility tier), a bool mask."""
    import pandas as pd

    weights = res[res["analyte"] == "weight"]
    heights = res[res["analyte"] == "height"]
    if not len(weights) or not len(heights):
        return res
    weights = weights[weights["pidx"].isin(heights["pidx"])]
    heights = heights.assign(order=np.arange(len(heights)))
    joined = pd.merge_asof(
        weights.assign(order=np.arange(len(weights))).sort_values(["day", "order"]),
        heights[["pidx", "day", "value", "row", "order"]]
        .rename(columns={"value": "height", "row": "height_row", "order": "height_order"})
        .sort_values(["day", "height_order"]),
        on="day",
        by="pidx",
        direction="backward",
        allow_exact_matches=True,
    ).sort_values("order")
    first = heights.groupby("pidx", sort=False).head(1).set_index("pidx")
    missing = joined["height"].isna().to_numpy()
    if missing.any():
        lookup = first.loc[joined["pidx"].to_numpy()[missing]]
        joined.loc[missing, "height"] = lookup["value"].to_numpy()
        joined.loc[missing, "height_row"] = lookup["row"].to_numpy()
    joined = joined[joined["height"] > 0]
    metres = joined["height"].to_numpy() / 100.0
    bmi = joined["value"].to_numpy() / (metres * metres)
    return _add_derived(
        res.assign(height_row=-1), "bmi", joined, bmi, joined["height_row"].to_numpy(), keep
    )


def with_non_hdl(res: pd.DataFrame, keep: Any = None) -> pd.DataFrame:
    """Add non-HDL cholesterol, each total cholesterol minus the last HDL cholesterol of the
    same day, on days without a recorded non-HDL (:func:`cvrisk.rules.facts.derived_non_hdl`).
    ``keep(derived)``: the derived rows to keep (the plausibility limits), a bool mask. The
    derived rows carry the total's ``row`` and the HDL's in ``height_row`` (evidence)."""

    name = "non_hdl_cholesterol"
    if "height_row" not in res.columns:
        res = res.assign(height_row=-1)
    values = res["value"].to_numpy()
    totals = res[(res["analyte"] == "total_cholesterol").to_numpy() & ~np.isnan(values)]
    hdls = res[(res["analyte"] == "hdl_cholesterol").to_numpy() & ~np.isnan(values)]
    if not len(totals) or not len(hdls):
        return res
    last_hdl = hdls.drop_duplicates(["pidx", "day"], keep="last")[["pidx", "day", "value", "row"]]
    joined = (
        totals.assign(order=np.arange(len(totals)))
        .merge(last_hdl.rename(columns={"value": "hdl", "row": "hdl_row"}), on=["pidx", "day"])
        .sort_values("order")
    )
    values = joined["value"].to_numpy() - joined["hdl"].to_numpy()
    return _add_derived(res, name, joined, values, joined["hdl_row"].to_numpy(), keep)


def _add_derived(
    res: pd.DataFrame,
    name: str,
    joined: pd.DataFrame,
    values: np.ndarray,
    second_row: np.ndarray,
    keep: Any,
) -> pd.DataFrame:
    """``res`` with derived ``name`` results (one per row of ``joined``: its pidx, day, row
    and pos, ``values``, the second source's row in ``height_row``) on the days without a
    recorded ``name``, those ``keep(derived)`` selects, sorted as :func:`results` sorts."""
    import pandas as pd

    recorded = res[res["analyte"] == name]
    spread = np.int64(1) << np.int64(32)
    taken = recorded["pidx"].to_numpy() * spread + recorded["day"].to_numpy()
    derived = pd.DataFrame(
        {
            "pidx": joined["pidx"].to_numpy(),
            "analyte": name,
            "day": joined["day"].to_numpy(),
            "value": values,
            "row": joined["row"].to_numpy(),
            "kind": np.ones(len(joined), dtype=np.int8),
            "pos": joined["pos"].to_numpy(),
            "tod": np.zeros(len(joined), dtype=np.int64),
            "height_row": second_row.astype(np.int64),
        }
    )
    mine = derived["pidx"].to_numpy() * spread + derived["day"].to_numpy()
    derived = derived[~np.isin(mine, taken)].reset_index(drop=True)
    if keep is not None and len(derived):
        derived = derived[keep(derived)]
    categories = res["analyte"].cat.categories
    if name not in categories:
        categories = categories.append(pd.Index([name], dtype=object))
    code = np.int64(categories.get_loc(name))
    # one day's derived results in the core's order (by value; ties in derivation order)
    derived = derived.iloc[
        sorting.lexsort(
            (
                np.arange(len(derived)),
                derived["value"].to_numpy(),
                derived["day"].to_numpy(),
                derived["pidx"].to_numpy(),
            )
        )
    ]
    # merged into the sorted results without sorting them again: recorded and derived
    # results of one analyte never share a day, so each derived row goes after the results
    # of its (patient, analyte, day) and before the next
    res_codes = res["analyte"].cat.codes.to_numpy().astype(np.int64)
    at = np.searchsorted(
        _sort_key(res["pidx"].to_numpy(), res_codes, res["day"].to_numpy(), len(categories)),
        _sort_key(
            derived["pidx"].to_numpy(),
            np.full(len(derived), code),
            derived["day"].to_numpy(),
            len(categories),
        ),
        side="right",
    )
    columns: dict[str, Any] = {}
    for column in res.columns:
        if column == "analyte":
            codes = np.insert(res_codes, at, code)
            columns[column] = pd.Categorical.from_codes(codes, categories=categories)
        else:
            columns[column] = np.insert(res[column].to_numpy(), at, derived[column].to_numpy())
    return pd.DataFrame(columns, copy=False)  # fresh arrays: no consolidation copy


def _sort_key(pidx: np.ndarray, analyte: np.ndarray, day: np.ndarray, analytes: int) -> np.ndarray:
    """One int64 ordering (patient, analyte code, day) as the results are sorted (day
    numbers from 1970: within +-2**20 days, about 2,800 years)."""
    span = np.int64(1) << np.int64(21)
    key: np.ndarray = (pidx.astype(np.int64) * analytes + analyte) * span + (
        day.astype(np.int64) + (span >> np.int64(1))
    )
    return key


def last_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The last row of each patient (the frame is sorted by patient)."""
    pidx = frame["pidx"].to_numpy()
    is_last = np.r_[pidx[1:] != pidx[:-1], True] if len(frame) else np.array([], bool)
    return frame[is_last]


def last_candidates(frame: pd.DataFrame, coded: np.ndarray) -> pd.DataFrame:
    """Each patient's results that may be as late as the last one (of its day: at its time,
    or without a time), one per distinct reading, in order: the core's
    ``latest_candidates`` and ``baseline_candidates`` (distinct by
    :func:`cvrisk.rules.facts.reading`).
    ``frame``: one analyte's results sorted by patient, in the core's order; ``coded``: the
    coded value of each observation row."""
    n = len(frame)
    if not n:
        return frame
    pidx = frame["pidx"].to_numpy()
    day = frame["day"].to_numpy()
    tod = frame["tod"].to_numpy()
    ends = np.flatnonzero(np.r_[pidx[1:] != pidx[:-1], True])
    end = ends[np.searchsorted(ends, np.arange(n))]
    # of the last result's day: those at its time and those without a time of day (tod 0:
    # a date, or a derived result), which the core cannot order against the others
    # (rules.facts._with_last); a tod-0 last result is last of its day only if all are
    last = frame[(day == day[end]) & ((tod == tod[end]) | (tod == 0))]
    lp = last["pidx"].to_numpy()
    shared = sameday.in_runs(lp)
    if not shared.any():
        return last
    values = last["value"].to_numpy()
    rows = last["row"].to_numpy()
    kinds = last["kind"].to_numpy()
    keep = np.ones(len(last), dtype=bool)
    seen: set[tuple[int, str]] = set()
    for at in np.flatnonzero(shared).tolist():
        value = values[at]
        code = coded[rows[at]] if kinds[at] == 0 else None
        said = reading(
            None if value != value else float(value), code if isinstance(code, str) else None
        )
        key = (int(lp[at]), said)
        if key in seen:
            keep[at] = False
        seen.add(key)
    return last[keep]


def reported_unit(units: pd.Series) -> np.ndarray:
    """The parsed unit name of each reported unit (``%`` -> ``percent``), as rule
    equivalents compare it."""
    import pandas as pd

    values = pd.Categorical(units)  # a categorical's own codes and categories, not re-hashed
    codes = np.asarray(values.codes, dtype=np.int64)
    # only the units the rows use: a categorical keeps those of rows screened out as invalid
    # (an unknown unit is one reason), which must not be parsed here
    used = np.zeros(len(values.categories) + 1, dtype=bool)
    used[codes] = True
    names = np.array(
        [_unit_name(str(u)) if used[i] else None for i, u in enumerate(values.categories)] + [None],
        dtype=object,
    )
    result: np.ndarray = names[codes]
    return result


# -- compiled conditions over columns ------------------------------------------------------

Columns = dict[str, Any]
_COMPARE = {"$gt": np.greater, "$gte": np.greater_equal, "$lt": np.less, "$lte": np.less_equal}


def matches(condition: dict[str, Any], facts: Columns, n: int) -> np.ndarray:
    """Which facts (rows of the ``facts`` columns) a compiled durable-rules condition matches.

    ``facts`` maps a field name to a scalar (the same for every row) or an array, ``None``
    (or NaN in a numeric array) meaning the fact lacks the field; a lacking field matches no
    comparison (``$neq`` included), as in durable-rules.
    """
    out = np.ones(n, dtype=bool)
    for key, term in condition.items():
        if key == "$and":
            for part in term:
                out &= matches(part, facts, n)
        elif key == "$or":
            any_of = np.zeros(n, dtype=bool)
            for part in term:
                any_of |= matches(part, facts, n)
            out &= any_of
        elif key == "$neq":
            ((name, value),) = term.items()
            present, column = _field(facts, name, n)
            out &= present & _unequal(column, value)
        elif key in _COMPARE:
            ((name, value),) = term.items()
            present, column = _field(facts, name, n)
            numbers = np.where(present, column, np.nan).astype(np.float64)
            with np.errstate(invalid="ignore"):
                out &= present & _COMPARE[key](numbers, value)
        elif key.startswith("$"):
            raise ValueError(f"condition operator {key!r} is not supported by the cohort path")
        else:
            present, column = _field(facts, key, n)
            out &= present & ~_unequal(column, term)
    return out


def _unequal(column: Any, value: Any) -> Any:
    return column != value


def _field(facts: Columns, name: str, n: int) -> tuple[np.ndarray, Any]:
    """(present mask, values) of one field."""
    if name not in facts:
        return np.zeros(n, dtype=bool), np.full(n, None, dtype=object)
    column = facts[name]
    if not isinstance(column, np.ndarray):
        present = np.full(n, column is not None, dtype=bool)
        return present, np.full(n, column, dtype=object if isinstance(column, str) else None)
    if column.dtype.kind == "f":
        return ~np.isnan(column), column
    if column.dtype == object:
        return np.array([v is not None for v in column], dtype=bool), column
    return np.ones(n, dtype=bool), column
