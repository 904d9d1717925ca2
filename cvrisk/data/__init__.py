"""Bundled data files (TOML): vocabularies, unit data, plausible ranges."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_data(name: str) -> dict[str, Any]:
    """Load a bundled TOML data file by name (cached; treat the result as read-only)."""
    with resources.files(__name__).joinpath(name).open("rb") as handle:
        return tomllib.load(handle)
