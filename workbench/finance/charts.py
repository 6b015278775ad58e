"""Charts of the finance report, with hvplot.

The report notebook draws them with hvplot's matplotlib backend (``hvplot.extension("matplotlib")``), so
the archived HTML and its PDF carry plain images that read the same offline; in a live notebook or a
Voila app the bokeh backend makes the same objects interactive.
"""

from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot on DataFrames)
import pandas as pd

from workbench.finance import stock_age
from workbench.finance.bridge import EFFECTS

__all__ = ["bridge_chart", "units_chart", "trend_chart", "stock_age_chart", "label_column"]

SIZE = dict(width=720, height=320)


def label_column(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """One readable label per row of a table cut by ``by`` (a store shows its code; no region: online)."""
    cols = ["store_code" if b == "store" else b for b in by]
    return frame[cols].astype("string").fillna("(none)").agg(" / ".join, axis=1)


def bridge_chart(bridge: pd.DataFrame, title: str = "Profit bridge: what moved contribution"):
    """Base, each effect's rise or fall, and current, summed over the groups: a waterfall read left to right."""
    total = "contribution" if "base_contribution" in bridge.columns else "margin"
    steps = [(f"base {total}", bridge[f"base_{total}"].sum())]
    steps += [(e.replace("_", " "), bridge[e].sum()) for e in EFFECTS if e in bridge.columns]
    steps += [(f"current {total}", bridge[f"current_{total}"].sum())]
    frame = pd.DataFrame(steps, columns=["step", "value"])
    ends = frame.index.isin([0, len(frame) - 1])
    frame["total"] = frame["value"].where(ends, 0.0)
    frame["rise"] = frame["value"].where(~ends & (frame["value"] > 0), 0.0)
    frame["fall"] = frame["value"].where(~ends & (frame["value"] < 0), 0.0)
    return frame.hvplot.bar(x="step", y=["total", "rise", "fall"], stacked=True, rot=30, ylabel="CNY",
                            title=title, legend="top_right", **SIZE)


def units_chart(pnl: pd.DataFrame, by: list[str]):
    """Net sales and contribution (or the plan, when costs are hidden) per unit of management, side by side:
    the 20 largest units by net sales."""
    measures = [m for m in ("net_sales", "contribution", "plan_net_sales") if m in pnl.columns][:2]
    frame = pnl.assign(unit=label_column(pnl, by)).sort_values("net_sales").tail(20)
    charts = [frame.hvplot.barh(x="unit", y=m, title=m.replace("_", " ").capitalize() + " by unit", xlabel="",
                                ylabel="CNY", width=360, height=320) for m in measures]
    return hv.Layout(charts).cols(2)


def trend_chart(by_month: pd.DataFrame, title: str = "Net sales against plan by month"):
    """The monthly trend of net sales, the plan and gross margin (those the reader may see), as lines."""
    measures = [m for m in ("net_sales", "plan_net_sales", "gross_margin") if m in by_month.columns]
    frame = by_month.assign(month=pd.to_datetime(by_month["month"]).dt.strftime("%Y-%m"))
    return frame.hvplot.line(x="month", y=measures, ylabel="CNY", xlabel="", title=title, legend="top_left",
                             rot=45, **SIZE)


def stock_age_chart(by_age: pd.DataFrame, title: str = "Stock by age since receipt"):
    """Stock value per age bucket, own stock, B-goods and consignment stacked apart (at cost when shown)."""
    value = "cost_value" if "cost_value" in by_age.columns else "retail_value"
    kind = (by_age["quality"].eq("B").map({True: "B-goods", False: "A stock"})
            .where(~by_age["consignment"], "consignment"))
    frame = stock_age.by_age_bucket(by_age.assign(kind=kind), "kind").set_index("kind").T
    frame = frame.rename_axis("age_bucket").reset_index()
    parts = [c for c in ("A stock", "B-goods", "consignment") if c in frame.columns]
    return frame.hvplot.bar(x="age_bucket", y=parts, stacked=True, ylabel=f"CNY ({value.replace('_', ' ')})",
                            title=title, legend="top_right", **SIZE)
