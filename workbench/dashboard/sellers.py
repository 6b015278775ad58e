"""Top and slow sellers (畅销 / 滞销) by region, per style-colour (款色).

Top sellers rank by net sales in the period. Slow sellers are style-colours
that hold stock at the period's last snapshot and sold the smallest share of
what they had: the lowest in-period sell-through (``sell_through_period``,
the registry's definition), then the most stock. The DC is left out unless
a channel filter asks for it (it holds stock and sells nothing); online has
no region and shows as ``(none)``. Both ranks are window
functions in the engine, so only ``2 x n`` rows per region come back.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from workbench.dashboard import trace
from workbench.dashboard.state import NONE_LABEL, DashboardState

MEASURES = ["net_sales", "units", "stock_units", "sell_through_period"]
SELLING_CHANNELS = ("store", "online")
COLUMNS = ["region", "kind", "rank", "skc_code", "style_name", *MEASURES]


def top_and_slow(session: Any, state: DashboardState, n: int = 10) -> pd.DataFrame:
    """Per region the ``n`` top sellers (``kind = "top"``) and the ``n`` slowest (``kind = "slow"``)."""
    where = state.where
    # The DC holds stock but sells nothing: it is no slow seller. A channel filter of the user's wins.
    where.setdefault("channel", list(SELLING_CHANNELS))
    grid, call = trace.compute_expr(session, MEASURES, ["region", "skc_code", "style_name"], state.start, state.end,
                                    where)
    top_rank = ibis.row_number().over(group_by="region", order_by=[ibis.desc("net_sales"), "skc_code"])
    top = grid.filter(grid.units > 0).mutate(kind=ibis.literal("top"), rank=top_rank + 1)
    slow_rank = ibis.row_number().over(
        group_by="region", order_by=[grid.sell_through_period.asc(nulls_first=True), ibis.desc("stock_units"), "skc_code"])
    slow = grid.filter(grid.stock_units > 0).mutate(kind=ibis.literal("slow"), rank=slow_rank + 1)
    both = top.filter(top["rank"] <= n).union(slow.filter(slow["rank"] <= n))
    out = trace.run(both.select(*COLUMNS), "top_and_slow", call)
    out["region"] = out["region"].fillna(NONE_LABEL)
    order = {"top": 0, "slow": 1}
    out = out.sort_values(["region", "kind", "rank"], key=lambda c: c.map(order) if c.name == "kind" else c)
    return out.reset_index(drop=True)
