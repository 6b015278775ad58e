"""The review gate as a chart: champion against challenger per segment, on the metric it decided on.

Built without pyplot, like :mod:`workbench.forecasting.plots`, so it renders in
a notebook and on a server with no display. Nothing here reads data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.tracking.review import ReviewDecision

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHAMPION_COLOUR = "#969696"
CHALLENGER_COLOUR = "#08519c"
REFUSED_COLOUR = "#cb181d"  # a segment that stopped the promotion
REFUSING = ("worse beyond tolerance", "not better enough", "no challenger value")


def review_chart(decision: ReviewDecision) -> "Figure":
    """Horizontal bars per segment (overall first): the champion's value and the challenger's, the latter
    red where that segment refused the promotion. Lower is better for the error metrics the gate uses."""
    from matplotlib.figure import Figure

    rows = decision.evidence[decision.evidence["metric"] == decision.metric].reset_index(drop=True)
    labels = [k if k == s else f"{k}: {s}" for k, s in zip(rows["segment_kind"], rows["segment"])]
    fig = Figure(figsize=(8, 0.45 * len(rows) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y - 0.2, rows["champion"].astype(float), height=0.38, color=CHAMPION_COLOUR,
            label=f"champion v{decision.champion_version}" if decision.champion_version else "no champion")
    colours = [REFUSED_COLOUR if v in REFUSING else CHALLENGER_COLOUR for v in rows["verdict"]]
    ax.barh(y + 0.2, rows["challenger"].astype(float), height=0.38, color=colours,
            label=f"challenger v{decision.challenger_version}")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"{decision.metric} (lower is better)")
    ax.set_title(f"{decision.name}: {'promoted' if decision.promoted else 'rejected'}", loc="left")
    ax.legend(loc="lower right", frameon=False)
    return fig
