"""Charts of a day's plan: what it moves by route type, the biggest shipments, size breaks before and after.

Each takes a table from :class:`~workbench.allocation.daily.DayPlan` and
returns a matplotlib ``Figure`` (no pyplot: renders in a notebook and on a
server without a display). Nothing here reads data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["impact_chart", "routes_chart", "size_break_chart"]


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def impact_chart(impact: pd.DataFrame) -> "Figure":
    """Expected margin against freight, per relation (DC, same city, same region)."""
    fig = _figure(7, 3)
    ax = fig.subplots()
    if impact.empty:
        ax.text(0.5, 0.5, "no moves today", ha="center", va="center")
        return fig
    x = np.arange(len(impact))
    ax.bar(x - 0.2, impact["expected_margin"], width=0.4, label="expected margin (CNY)", color="#31a354")
    ax.bar(x + 0.2, impact["freight"], width=0.4, label="freight (CNY)", color="#de2d26")
    ax.set_xticks(x, [f"{r}\n{int(u)} units, {int(s)} shipments" for r, u, s in
                      zip(impact["relation"], impact["units"], impact["shipments"])])
    ax.set_title("What the plan earns and costs, by route type")
    ax.legend()
    return fig


def routes_chart(routes: pd.DataFrame) -> "Figure":
    """The shipments with the most net benefit (from → to), units as labels."""
    fig = _figure(7, max(2.5, 0.3 * len(routes) + 1))
    ax = fig.subplots()
    if routes.empty:
        ax.text(0.5, 0.5, "no shipments today", ha="center", va="center")
        return fig
    labels = [f"{a} → {b} ({r})" for a, b, r in zip(routes["from"], routes["to"], routes["relation"])]
    ax.barh(labels[::-1], routes["net_benefit"].to_numpy()[::-1], color="#3182bd")
    for y, units in enumerate(routes["units"].to_numpy()[::-1]):
        ax.text(0, y, f" {int(units)} units", va="center", color="white", fontsize=8)
    ax.set_xlabel("expected margin less freight (CNY)")
    ax.set_title("Biggest shipments")
    return fig


def size_break_chart(breaks: pd.DataFrame, top: int = 20) -> "Figure":
    """Styles with a core size missing (断码) per store, before and after the plan (the most broken stores)."""
    rows = breaks.sort_values("before", ascending=False).head(top)
    fig = _figure(8, 3)
    ax = fig.subplots()
    x = np.arange(len(rows))
    ax.bar(x - 0.2, rows["before"], width=0.4, label="before the plan", color="#bdbdbd")
    ax.bar(x + 0.2, rows["after"], width=0.4, label="after the plan arrives", color="#3182bd")
    ax.set_xticks(x, rows["store_code"], rotation=90)
    ax.set_ylabel("style-colours with a core size missing")
    ax.set_title("Size breaks (断码) by store")
    ax.legend()
    return fig
