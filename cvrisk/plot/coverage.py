"""Monitoring coverage over time: the share of patients whose tests are inside their protocol
windows, month by month.

:func:`coverage_by_month` asks the cohort engine (:func:`cvrisk.cohort.monitor`, the
vectorised twin of :func:`cvrisk.evaluate`) for every patient's test statuses at the end of
each month: a test a protocol requires (status ``overdue``, ``due`` or ``upcoming``; not
``conditional``, and only tests records can show as done) is **covered** unless it is
``overdue``, i.e. its window passed without a result. Windows and statuses are the core's
(:mod:`cvrisk.rules.timeline`): nothing here computes an interval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cvrisk.errors import OptionError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

COVERAGE_COLUMNS = ["month", "test", "label", "required", "covered", "share"]
_REQUIRED = ("overdue", "due", "upcoming")


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last day of every month from ``first``'s month to ``last``'s."""
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
        year, month = nxt.year, nxt.month
    return out


def coverage_by_month(
    tables: Any,
    months: Sequence[dt.date],
    *,
    monitor: Callable[..., Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Coverage per month-end and test (see the module docstring).

    Args:
        tables: the cohort tables (what ``monitor`` reads).
        months: evaluation dates, e.g. :func:`month_ends`.
        monitor: the engine (default :func:`cvrisk.cohort.monitor`); any callable
            ``monitor(tables, as_of=..., **options)`` returning an object with a ``status``
            table (``patient_id``, ``test``, ``label``, ``status``, ``verifiable``) or that
            table itself.
        options: passed to ``monitor`` (``jurisdiction``, ``protocols``...).

    Returns:
        One row per month and test: ``required`` (patients the protocols ask it of),
        ``covered`` (not overdue) and ``share`` (covered / required).
    """
    import pandas as pd

    if monitor is None:
        try:
            from cvrisk.cohort import monitor as engine
        except ImportError:
            raise OptionError(
                "coverage needs the cohort engine (cvrisk.cohort.monitor) or monitor=: a "
                "callable returning test statuses"
            ) from None
        monitor = engine
    if not months:
        raise OptionError("months: give at least one evaluation date")
    rows = []
    for month in months:
        result = monitor(tables, as_of=month, **options)
        status = result if isinstance(result, pd.DataFrame) else getattr(result, "status", result)
        if hasattr(status, "compute"):  # Dask
            status = status.compute()
        frame = pd.DataFrame(status)
        if frame.empty:
            continue
        if "verifiable" in frame.columns:
            frame = frame[frame["verifiable"].astype(bool)]
        frame = frame[frame["status"].astype(str).isin(_REQUIRED)]
        frame = frame.assign(covered=frame["status"].astype(str) != "overdue")
        grouped = frame.groupby(["test", "label"], observed=True).agg(
            required=("patient_id", "nunique"), covered=("covered", "sum")
        )
        for (test, label), row in grouped.iterrows():
            rows.append((month, test, label, int(row["required"]), int(row["covered"])))
    out = pd.DataFrame(rows, columns=COVERAGE_COLUMNS[:-1])
    # by month, then test as text (the status table's categories are in order of appearance)
    out = out.sort_values(["month", "test", "label"], kind="stable").reset_index(drop=True)
    out["share"] = out["covered"] / out["required"]
    out["month"] = pd.to_datetime(out["month"])
    return out


def coverage_over_time(
    coverage: pd.DataFrame, *, tests: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """One line per test: the share (%) of patients inside the protocol window, by month.

    Args:
        coverage: what :func:`coverage_by_month` returned.
        tests: the tests to draw (default: all).

    Raises:
        OptionError: columns missing or no row to draw.
    """
    import pandas as pd
    from matplotlib.figure import Figure

    missing = [c for c in COVERAGE_COLUMNS if c not in coverage.columns]
    if missing:
        raise OptionError(f"coverage table lacks {missing}: give coverage_by_month's result")
    frame = coverage if tests is None else coverage[coverage["test"].isin(list(tests))]
    if frame.empty:
        raise OptionError("no coverage row to draw (check tests=)")
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for (_test, label), group in frame.groupby(["test", "label"], sort=True):
        group = group.sort_values("month")
        ax.plot(
            pd.to_datetime(group["month"]),
            group["share"] * 100,
            marker="o",
            markersize=3,
            label=f"{label}",
        )
    ax.set_ylim(0, 100)
    ax.set_xlabel("month")
    ax.set_ylabel("patients inside the protocol window (%)")
    ax.set_title(title or "Monitoring coverage by month")
    ax.legend(loc="lower left", fontsize="small", ncols=2)
    fig.autofmt_xdate()
    return fig
