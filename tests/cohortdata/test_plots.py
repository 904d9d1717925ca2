"""Plots: each is rendered to PNG and checked for what it shows (labels, series, extents)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import cvrisk
from cvrisk import vocab
from cvrisk.cohort.synth import synthesize
from cvrisk.errors import OptionError
from cvrisk.plot import coverage_by_month, coverage_over_time, patient_timeline, risk_distribution
from cvrisk.plot.coverage import month_ends
from tests.cohortdata.helpers import records

AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def cohort():
    return synthesize(60, seed=3)


def _png(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def test_risk_distribution_draws_one_histogram_per_group(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"risk": rng.uniform(0, 0.3, 200), "sex": rng.choice(["female", "male"], 200)}
    )
    frame.loc[:4, "risk"] = np.nan  # not computable
    fig = risk_distribution(frame, by="sex")
    _png(fig, tmp_path, "risk")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "risk (%)" and ax.get_ylabel() == "patients"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 2 and all(label.startswith(("female", "male")) for label in labels)
    assert sum(int(label.split("n=")[1].split(")")[0].split(",")[0]) for label in labels) == 195
    assert "not computable" in " ".join(labels)
    assert len(ax.patches) == 2 and len(ax.lines) == 2  # two step histograms, two medians
    assert ax.get_xlim()[1] >= frame["risk"].max() * 100
    with pytest.raises(OptionError, match="outside"):
        risk_distribution({"risk": [12.0, 30.0]})
    with pytest.raises(OptionError, match="no 'site'"):
        risk_distribution(frame, by="site")


def _statuses(cohort):
    """A stand-in for the cohort engine: cvrisk.evaluate per patient, as a status table."""
    read = records(cohort.tables(), cohort.patients["patient_id"].astype(str), on_invalid="report")

    def monitor(_tables, *, as_of, **options):
        rows = []
        for pid, result in read.items():
            report = cvrisk.evaluate(
                result.record, as_of=as_of, scores=[], on_invalid="report", **options
            )
            for t in report.tests:
                rows.append(
                    {
                        "patient_id": pid,
                        "test": t.test,
                        "label": t.label,
                        "status": t.status,
                        "verifiable": t.verifiable,
                    }
                )
        return pd.DataFrame(rows)

    return monitor


def test_coverage_by_month_and_its_plot(cohort, tmp_path):
    months = month_ends(dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    assert [m.isoformat() for m in months][:2] == ["2025-01-31", "2025-02-28"] and len(months) == 6
    monitor = _statuses(cohort)
    coverage = coverage_by_month(cohort.tables(), months, monitor=monitor, jurisdiction="GB")
    assert set(coverage["month"].dt.month) == set(range(1, 7))
    assert (coverage["covered"] <= coverage["required"]).all()
    assert coverage["share"].between(0, 1).all()
    # cross-check one month and test with the statuses themselves
    status = monitor(None, as_of=months[-1], jurisdiction="GB")
    status = status[status["verifiable"] & status["status"].isin(["overdue", "due", "upcoming"])]
    weight = status[status["test"] == "weight"]
    row = coverage[
        (coverage["month"] == pd.Timestamp(months[-1])) & (coverage["test"] == "weight")
    ].iloc[0]
    assert row["required"] == weight["patient_id"].nunique()
    assert row["covered"] == (weight["status"] != "overdue").sum()
    fig = coverage_over_time(coverage)
    _png(fig, tmp_path, "coverage")
    ax = fig.axes[0]
    assert (
        ax.get_ylabel() == "patients inside the protocol window (%)" and ax.get_xlabel() == "month"
    )
    assert len(ax.lines) == coverage["test"].nunique()
    assert ax.get_ylim() == (0.0, 100.0)
    for line in ax.lines:
        assert len(line.get_xdata()) == len(months)
    only = coverage_over_time(coverage, tests=["weight"])
    assert len(only.axes[0].lines) == 1
    with pytest.raises(OptionError):
        coverage_over_time(coverage, tests=["nothing"])
    with pytest.raises(OptionError):
        coverage_by_month(cohort.tables(), [], monitor=monitor)


def test_patient_timeline_shows_windows_results_alerts_and_courses(cohort, tmp_path):
    clozapine = cohort.medications[
        cohort.medications["drug"].astype(str).isin(["clozapine", "Clozaril", "Denzapine"])
    ]
    pid = (
        str(clozapine["patient_id"].iloc[0])
        if len(clozapine)
        else str(cohort.patients["patient_id"].iloc[0])
    )
    record = records(cohort.tables(), [pid])[pid].record
    report = cvrisk.evaluate(record, as_of=AS_OF, scores=[])
    fig = patient_timeline(report, record)
    _png(fig, tmp_path, "timeline")
    ax = fig.axes[0]
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    verifiable = [t for t in report.tests if t.verifiable]
    assert lanes == [*(t.label for t in verifiable), "alerts", "antipsychotics"]
    # a window bar per test and a bar per course shown
    courses = [
        m
        for m in record.medications
        if m.match
        and m.match.category == "antipsychotic"
        and (m.stop or AS_OF) >= AS_OF - dt.timedelta(days=730)
    ]
    assert len(ax.patches) == len(verifiable) + len(courses)
    # the result dots of each lane are the test's results in the shown period
    from matplotlib.dates import date2num

    shown_from = AS_OF - dt.timedelta(days=730)
    for lane, entry in enumerate(verifiable):
        analytes = set(vocab.test_analytes(entry.test))
        expected = {
            date2num(o.day)
            for o in record.observations
            if o.analyte_id in analytes and shown_from <= o.day <= AS_OF
        }
        dots = [
            line
            for line in ax.lines
            if line.get_marker() == "o" and set(line.get_ydata()) == {lane}
        ]
        assert {float(x) for d in dots for x in d.get_xdata()} == expected, entry.test
    assert ax.get_xlim()[0] == pytest.approx(date2num(shown_from))
    other = records(cohort.tables(), [str(cohort.patients["patient_id"].iloc[1])])
    other_record = next(iter(other.values())).record
    with pytest.raises(OptionError, match="the report is for patient"):
        patient_timeline(report, other_record)


def test_importing_cvrisk_plot_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import cvrisk.plot, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
