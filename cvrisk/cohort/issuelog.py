"""The data issues of a cohort, gathered in bulk and put in report order at the end.

Most issues are shared by many patients (the same "no protocol for this drug" text), so each
distinct issue is kept once and patients refer to it. Each entry has a sort key standing for
its place in ``Report.data_issues`` (the stage that raised it, then its position in that
stage), so the final table lists every patient's issues in the order evaluate reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.cohort import sorting
from cvrisk.issues import DataIssue

if TYPE_CHECKING:
    import pandas as pd

_SHIFT = (50, 25, 0)
_LIMIT = 1 << 25

#: Stages, in report order (cvrisk/rules/evaluate.py).
READ, DRUGS, COVERAGE, ENDED, LAPSED, FUTURE, BASELINE, IMPLAUSIBLE, SCORES = (
    0,
    1,
    2,
    4,
    5,
    6,
    7,
    8,
    9,
)


def order_key(*parts: int) -> int:
    """The sort key of (stage, position, sub-position)."""
    key = 0
    for part, shift in zip(parts, _SHIFT, strict=False):
        if not 0 <= part < _LIMIT:
            raise ValueError(f"issue order {parts} out of range")
        key |= part << shift
    return key


class IssueLog:
    """Issues by patient index, each distinct issue stored once."""

    def __init__(self) -> None:
        self._issues: list[DataIssue] = []
        self._index: dict[int, int] = {}
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        #: per chunk, per-row field and resource replacing the issue's (None: the issue's own)
        self._overrides: list[tuple[np.ndarray | None, np.ndarray | None]] = []
        self._pidx: list[int] = []
        self._keys: list[int] = []
        self._which: list[int] = []

    def _number(self, issue: DataIssue) -> int:
        number = self._index.get(id(issue))
        if number is None:
            number = len(self._issues)
            self._issues.append(issue)  # kept alive: its id stays unique
            self._index[id(issue)] = number
        return number

    def add(self, pidx: int, key: int, issue: DataIssue) -> None:
        """One issue of one patient."""
        self._pidx.append(pidx)
        self._keys.append(key)
        self._which.append(self._number(issue))

    def add_many(
        self,
        pidx: np.ndarray,
        key: int | np.ndarray,
        issue: DataIssue,
        *,
        field: np.ndarray | None = None,
        resource: np.ndarray | None = None,
    ) -> None:
        """The same issue for many patients (``field``, ``resource``: per-row values
        replacing the issue's own, e.g. the entry each one is about)."""
        if not len(pidx):
            return
        keys = np.broadcast_to(np.asarray(key, dtype=np.int64), np.shape(pidx))
        which = np.full(len(pidx), self._number(issue), dtype=np.int64)
        self._chunks.append((np.asarray(pidx, dtype=np.int64), np.array(keys), which))
        self._overrides.append((field, resource))

    def frame(self, ids: np.ndarray, columns: list[str]) -> pd.DataFrame:
        """The issues as a table (``patient_id`` then the DataIssue fields), in report order."""
        import pandas as pd

        pidx = np.concatenate([np.array(self._pidx, dtype=np.int64), *(c[0] for c in self._chunks)])
        keys = np.concatenate([np.array(self._keys, dtype=np.int64), *(c[1] for c in self._chunks)])
        which = np.concatenate(
            [np.array(self._which, dtype=np.int64), *(c[2] for c in self._chunks)]
        )
        order = sorting.lexsort((keys, pidx))
        table = pd.DataFrame([i.model_dump() for i in self._issues], columns=columns[1:])
        from cvrisk.cohort.result import coded, objects, patient_column

        out: dict[str, Any] = {"patient_id": patient_column(ids, pidx[order])}
        for name in columns[1:]:
            values = table[name].to_numpy(dtype=object) if len(table) else np.array([], object)
            if name in ("field", "resource") and any(
                o[0 if name == "field" else 1] is not None for o in self._overrides
            ):
                column = values[which] if len(which) else np.array([], dtype=object)
                out[name] = self._overridden(column, name)[order]
            else:  # coded by distinct issue, not one object a row
                out[name] = coded(values, which[order])
        return objects({name: out[name] for name in columns}, len(order))

    def _overridden(self, column: np.ndarray, name: str) -> np.ndarray:
        start = len(self._pidx)
        for (pidx, _keys, _which), overrides in zip(self._chunks, self._overrides, strict=True):
            given = overrides[0 if name == "field" else 1]
            if given is not None:
                column[start : start + len(pidx)] = given
            start += len(pidx)
        return column
