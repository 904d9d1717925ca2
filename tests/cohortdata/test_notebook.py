"""The cohort notebook runs from top to bottom (nbclient, the venv's python3 kernel) and is
the committed output of tools/make_cohort_notebook.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebooks" / "cohort.ipynb"


def test_the_committed_notebook_is_the_generated_one(tmp_path):
    before = NOTEBOOK.read_text()
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_cohort_notebook.py")], check=True)
    assert NOTEBOOK.read_text() == before, "run tools/make_cohort_notebook.py and commit the result"


def test_the_notebook_runs():
    import cvrisk.cohort

    if not hasattr(cvrisk.cohort, "monitor"):
        pytest.skip("the cohort engine (cvrisk.cohort.monitor) is not merged yet")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    images = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) == 3  # risk distribution, coverage, timeline
