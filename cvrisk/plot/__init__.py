"""Plots of cohorts and patients (``cvrisk[plot]``: matplotlib, imported on first use).

- :func:`risk_distribution`: predicted risks by group (e.g. from :func:`cvrisk.score`);
- :func:`coverage_over_time`: the share of patients whose monitoring is inside its protocol
  window, month by month, per test (from :func:`coverage_by_month`);
- :func:`patient_timeline`: one patient's results against the schedule windows of their
  report, with alerts and antipsychotic courses.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state: safe in servers and tests); ``figure.savefig(path)`` writes it.
"""

from __future__ import annotations

from cvrisk.plot.coverage import coverage_by_month, coverage_over_time
from cvrisk.plot.risk import risk_distribution
from cvrisk.plot.timeline import patient_timeline

__all__ = ["coverage_by_month", "coverage_over_time", "patient_timeline", "risk_distribution"]
