"""Distribution of predicted risks, overall or by group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cvrisk.errors import OptionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def risk_distribution(
    data: Any,
    *,
    risk: str = "risk",
    by: str | None = None,
    bins: int = 40,
    title: str | None = None,
) -> Figure:
    """Histogram of risks (as %) per group, each group's median marked.

    Args:
        data: a DataFrame (or mapping of columns) with a ``risk`` column of probabilities in
            [0, 1], e.g. ``frame.assign(risk=cvrisk.score("qrisk3", frame))``; missing risks
            (not computable) are counted in the legend, not plotted.
        risk: the risk column's name.
        by: a grouping column (sex, site, age band...); one step histogram per group.
        bins: number of bins over the plotted range.

    Raises:
        OptionError: a column is missing, or risks lie outside [0, 1].
    """
    import pandas as pd
    from matplotlib.figure import Figure

    frame = pd.DataFrame(data)
    if risk not in frame.columns:
        raise OptionError(f"no {risk!r} column: give risk= the column of predicted risks")
    if by is not None and by not in frame.columns:
        raise OptionError(f"no {by!r} column to group by")
    values = pd.to_numeric(frame[risk], errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise OptionError(f"{risk!r} holds values outside [0, 1]: give probabilities, not %")
    groups = [("all", np.ones(len(frame), dtype=bool))]
    if by is not None:
        labels = frame[by].astype(object).where(frame[by].notna(), "(missing)")
        groups = [(str(g), (labels == g).to_numpy()) for g in pd.unique(labels)]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    upper = max(float(np.nanmax(finite)) * 100 if finite.size else 1.0, 1.0)
    edges = np.linspace(0.0, upper, bins + 1)
    for label, mask in groups:
        group = values[mask]
        shown = group[np.isfinite(group)] * 100
        missing = int((~np.isfinite(group)).sum())
        text = f"{label} (n={shown.size}" + (f", {missing} not computable)" if missing else ")")
        if shown.size == 0:
            continue
        patch = ax.stairs(np.histogram(shown, bins=edges)[0], edges, label=text, linewidth=1.5)
        median = float(np.median(shown))
        ax.axvline(median, linestyle="--", linewidth=1, color=patch.get_edgecolor())
    ax.set_xlabel(f"{risk} (%)")
    ax.set_ylabel("patients")
    ax.set_title(title or ("Predicted risk" + (f" by {by}" if by else "")))
    ax.legend(loc="upper right", fontsize="small")
    return fig
