"""Cohort monitoring on Dask: partition by partition, never collecting the input."""

from __future__ import annotations

from typing import Any


def is_dask(tables: Any) -> bool:
    """True for a mapping holding Dask DataFrames."""
    if not hasattr(tables, "values"):
        return False
    return any(type(v).__module__.startswith("dask") for v in tables.values())
