"""One patient's timeline: results against the schedule windows, alerts, drug courses."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from cvrisk import vocab
from cvrisk.errors import OptionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cvrisk.record import PatientRecord
    from cvrisk.rules.report import Report


def date2num(value: Any) -> Any:
    """matplotlib's day number of a date or list of dates (typed wrapper)."""
    from matplotlib.dates import date2num as convert

    return convert(value)  # type: ignore[no-untyped-call]


#: Colours of the window bars by status.
STATUS_COLOURS = {
    "overdue": "#c0392b",
    "due": "#e67e22",
    "upcoming": "#2e86c1",
    "conditional": "#7f8c8d",
}


def patient_timeline(
    report: Report, record: PatientRecord, *, since: dt.date | None = None, title: str | None = None
) -> Figure:
    """The patient's required tests (one lane each: the current window as a bar coloured by
    status, the due date as a diamond, every result of the test's analytes as a dot), the
    alerts (triangles at their evidence dates, or the evaluation date) and the antipsychotic
    courses (bars) up to the evaluation date (a vertical line).

    Args:
        report: :func:`cvrisk.evaluate`'s report for ``record``.
        record: the record evaluated.
        since: first date shown (default: two years before the evaluation date, or the first
            course's start if later).

    Raises:
        OptionError: the report is not this record's (another patient id).
    """
    from matplotlib.figure import Figure

    if (
        report.patient_id is not None
        and record.patient.id is not None
        and report.patient_id != record.patient.id
    ):
        raise OptionError(
            f"the report is for patient {report.patient_id!r}, the record for "
            f"{record.patient.id!r}: give the report of this record"
        )
    as_of = report.as_of
    start = since or (as_of - dt.timedelta(days=730))
    tests = [t for t in report.tests if t.verifiable]
    lanes = [t.label for t in tests]
    fig = Figure(figsize=(10, 1.2 + 0.45 * (len(lanes) + 2)), layout="constrained")
    ax = fig.add_subplot()
    for y, entry in enumerate(tests):
        colour = STATUS_COLOURS.get(entry.status, "#7f8c8d")
        left = date2num(entry.window.start)
        ax.barh(
            y,
            date2num(entry.window.end) - left + 1,
            left=left,
            height=0.5,
            color=colour,
            alpha=0.35,
        )
        ax.plot(
            [date2num(entry.due_date)],
            [y],
            marker="D",
            color=colour,
            markersize=6,
            linestyle="none",
        )
        analytes = set(vocab.test_analytes(entry.test))
        days = [
            o.day
            for o in record.observations
            if o.analyte_id in analytes and start <= o.day <= as_of
        ]
        if days:
            ax.plot(
                date2num(days),
                [y] * len(days),
                marker="o",
                color="black",
                markersize=4,
                linestyle="none",
            )
    alert_lane = len(tests)
    alert_days = []
    for alert in report.alerts:
        dated = [e.date for e in alert.evidence if e.date is not None]
        alert_days.append(max(dated) if dated else as_of)
    if alert_days:
        ax.plot(
            date2num(alert_days),
            [alert_lane] * len(alert_days),
            marker="^",
            color="#c0392b",
            markersize=8,
            linestyle="none",
        )
    drug_lane = alert_lane + 1
    courses = sorted(
        (
            m
            for m in record.medications
            if m.match is not None and m.match.category == "antipsychotic"
        ),
        key=lambda m: m.start,
    )
    previous: tuple[str | None, dt.date] | None = None
    for med in courses:
        stop = min(med.stop or as_of, as_of)
        if stop < start or med.start > as_of:
            continue
        left = date2num(max(med.start, start))
        ax.barh(
            drug_lane, date2num(stop) - left + 1, left=left, height=0.5, color="#8e44ad", alpha=0.6
        )
        # name each run of prescriptions once (a repeat prescription continues the course)
        if previous is None or previous[0] != med.ingredient or (med.start - previous[1]).days > 1:
            ax.annotate(
                med.ingredient or "",
                (left, drug_lane),
                xytext=(2, 8),
                textcoords="offset points",
                fontsize=7,
            )
        previous = (med.ingredient, stop)
    ax.axvline(date2num(as_of), color="black", linewidth=1)
    ax.set_yticks(range(len(lanes) + 2), [*lanes, "alerts", "antipsychotics"])
    right = max([as_of + dt.timedelta(days=60), *(t.window.end for t in tests)])
    ax.set_xlim(date2num(start), date2num(min(right, as_of + dt.timedelta(days=400))))
    ax.set_ylim(-0.7, drug_lane + 0.7)
    ax.xaxis_date()
    ax.set_xlabel("date")
    ax.set_title(title or f"Patient {report.patient_id or ''} on {as_of.isoformat()}")
    return fig
