"""Write docs/notebooks/cohort.ipynb (the cohort walk-through) from the cells below.

    python tools/make_cohort_notebook.py

The notebook is kept as source here so its cells are reviewed as code; the committed .ipynb
is this script's output, without outputs (tests/cohortdata/test_notebook.py runs it).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    (
        "markdown",
        """# A cohort, end to end

This notebook walks through cvrisk's cohort tools on a **synthetic** cohort (never real data:
see [docs/synth.md](../synth.md)): draw it, write and read it back as OMOP CDM, score
cardiovascular risk, monitor every patient against the protocols, compute the quality
measures, and plot. It runs in well under a minute.""",
    ),
    (
        "code",
        """%matplotlib inline
import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import cvrisk
from cvrisk import vocab
from cvrisk.cohort.omop import read_omop
from cvrisk.cohort.synth import synthesize
from cvrisk.cohort.synth_omop import write_omop

AS_OF = dt.date(2025, 12, 31)
cohort = synthesize(1500)          # the fixed default seed: the same cohort every run
{name: len(frame) for name, frame in cohort.tables().items()}""",
    ),
    (
        "markdown",
        """## Load

The same people as OMOP CDM v5.4 tables, read back with the OMOP reader (the reader works
the same on a DuckDB database, a SQL connection or Parquet/CSV files, see
[docs/cohort-sources.md](../cohort-sources.md)). What the reader could not map is in
`read.issues`, never silently dropped.""",
    ),
    (
        "code",
        """folder = Path(tempfile.mkdtemp())
write_omop(cohort, folder)
read = read_omop(folder)
print(read.source)
read.issues[["kind", "severity", "message"]]""",
    ),
    (
        "markdown",
        """The native tables (with sites and the French subset's g/L units) are used from here
on.""",
    ),
    (
        "code",
        """tables = cohort.tables()
obs = tables["observations"].merge(cohort.sites, on="patient_id")
obs.groupby(["country", "unit"], observed=True).size().unstack(fill_value=0)""",
    ),
    (
        "markdown",
        """## Score

The latest 2025 result of each score input per patient, in its canonical unit
(`cvrisk.units` converts mg/dL and g/L), then SCORE2 for the European sites (low-risk region
as an example) with `cvrisk.score`; rows the model cannot score (outside 40–69, a missing
input) are left empty (`errors="coerce"`).""",
    ),
    (
        "code",
        """from cvrisk.units import convert


def latest(analyte):
    entry = vocab.analyte(analyte)
    rows = obs[(obs["date"].dt.year == 2025)
               & ((obs["analyte"].astype(str) == analyte)
                  | obs["code"].astype(str).isin(entry.loinc))]
    rows = rows.sort_values("date").groupby("patient_id", observed=True).last()
    values = np.empty(len(rows))
    for unit, part in rows.groupby("unit", observed=True):
        values[rows.index.get_indexer(part.index)] = convert(
            part["value"].to_numpy(), str(unit), entry.unit, entry.substance)
    return pd.Series(values, index=rows.index.astype(str), name=analyte)


people = tables["patients"].set_index(tables["patients"]["patient_id"].astype(str))
smokers = obs[obs["coded"].notna()].groupby("patient_id", observed=True)["coded"].last()
smokers.index = smokers.index.astype(str)
conditions = tables["conditions"]
diabetic = conditions["code"].astype(str).isin(["E11.9", "E10.9", "44054006"])
diabetes = set(conditions.loc[diabetic, "patient_id"].astype(str))
sites = cohort.sites.set_index(cohort.sites["patient_id"].astype(str))[["site", "country"]]
frame = pd.DataFrame({
    "age": (pd.Timestamp(AS_OF) - people["birth_date"]).dt.days // 365.25,
    "sex": people["sex"].astype(str),
    "total_cholesterol": latest("total_cholesterol"),
    "hdl_cholesterol": latest("hdl_cholesterol"),
    "sbp": latest("sbp"),
    "smoker": smokers.reindex(people.index).astype(str).eq("current"),
    "diabetes": people.index.isin(diabetes),
}).join(sites)
europe = frame[frame["country"].astype(str) != "US"].copy()
europe["risk"] = cvrisk.score("score2", europe, errors="coerce", region="low")
europe["risk"].describe()""",
    ),
    (
        "markdown",
        """## Monitor

`cvrisk.cohort.monitor` gives every patient's required tests, alerts and data issues (the
vectorised twin of `cvrisk.evaluate`).""",
    ),
    (
        "code",
        """from cvrisk.cohort import monitor

gb = cohort.sites.loc[cohort.sites["country"].astype(str) == "GB", "patient_id"]
gb_tables = {name: frame[frame["patient_id"].isin(gb)] for name, frame in tables.items()}
result = monitor(gb_tables, as_of=AS_OF, jurisdiction="GB")
result.status["status"].value_counts()""",
    ),
    (
        "markdown",
        """## Measure

SSD, SMD, SMC and APM for 2025, with Wilson 95 % intervals, overall and by site. The code
lists approximate NCQA's licensed value sets ([docs/measures.md](../measures.md)).""",
    ),
    (
        "code",
        """from cvrisk.measures import measure, rates_by

measures = measure(tables, 2025)
summary = measures.summary()
summary[summary["stratum"] == "total"]""",
    ),
    ("code", """rates_by(measures, by=["site"], groups=cohort.sites).query("measure == 'ssd'")"""),
    (
        "code",
        """not_met = measures.patients.query("measure == 'ssd' and not numerator")
not_met["reason"].value_counts().head()""",
    ),
    ("markdown", """## Plot"""),
    (
        "code",
        """from cvrisk.plot import (
    coverage_by_month,
    coverage_over_time,
    patient_timeline,
    risk_distribution,
)
from cvrisk.plot.coverage import month_ends

scored = europe.dropna(subset=["risk"])
risk_distribution(scored, by="site", title="SCORE2 (low-risk region), 2025")""",
    ),
    (
        "markdown",
        """Coverage month by month: the engine is run at each month end (here for 300 patients of
the GB sites and the second half of 2025, to keep the notebook short).""",
    ),
    (
        "code",
        """few = set(gb.iloc[:300])
few_tables = {name: frame[frame["patient_id"].isin(few)] for name, frame in tables.items()}
coverage = coverage_by_month(few_tables, month_ends(dt.date(2025, 7, 1), AS_OF), jurisdiction="GB")
coverage_over_time(coverage, tests=["weight", "blood_pressure", "glucose", "lipids"])""",
    ),
    (
        "code",
        """from cvrisk.cohort import patient_records

pid = str(result.status["patient_id"].value_counts().index[0])  # a patient with many tests due
one = {name: frame[frame["patient_id"] == pid] for name, frame in tables.items()}
record = cvrisk.PatientRecord.from_json(next(patient_records(one)))
report = cvrisk.evaluate(record, as_of=AS_OF, jurisdiction="GB", scores=[])
patient_timeline(report, record)""",
    ),
]


def main() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        cell = (
            nbformat.v4.new_markdown_cell(source)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(source)
        )
        notebook.cells.append(cell)
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number:02d}"
    path = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "cohort.ipynb"
    nbformat.write(notebook, path)


if __name__ == "__main__":
    main()
