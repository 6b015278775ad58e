"""Out-of-stock and size-break coverage by store (缺货 / 断码).

Two views of the same checks, both from the metrics layer: the rates over
the period's stock snapshots (``core_size_stockout_rate``,
``size_break_rate``), and the counts at the period's last snapshot from the
row-level flags (:func:`~workbench.metrics.size_break`,
:func:`~workbench.metrics.core_size_stockouts`), which say how many
style-colours a store has broken *now* and how many core sizes are out.
Everything is joined in the engine and runs as one query.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.dashboard import trace
from workbench.dashboard.state import DashboardState
from workbench.metrics import core_size_stockouts, size_break

RATES = ["size_break_rate", "core_size_stockout_rate", "stock_units"]
COLUMNS = ["store_code", "store_name", "region", *RATES, "snapshot_date", "skcs_on_display", "skcs_size_broken",
           "core_sizes_checked", "core_sizes_out"]


def availability(session: Any, state: DashboardState) -> pd.DataFrame:
    """One row per store in scope: period rates, then the counts at the last snapshot; worst size breaks first."""
    rates, call = trace.compute_expr(session, RATES, ["store_code"], state.start, state.end, state.where)
    broken = size_break(session, state.end, where=state.where)
    broken = broken.group_by("store_id").aggregate(
        snapshot_date=broken.snapshot_date.max(),
        skcs_on_display=broken.on_display.sum(), skcs_size_broken=broken.size_break.sum())
    out = core_size_stockouts(session, state.end, where=state.where)
    out = out.group_by("store_id").aggregate(core_sizes_checked=out.count(), core_sizes_out=out.is_out.sum())
    stores = session.table("stores").select("store_id", "store_code", "store_name", "region")
    joined = (rates.join(stores, "store_code")
              .left_join(broken, "store_id").drop("store_id_right")
              .left_join(out, "store_id").drop("store_id_right"))
    frame = trace.run(joined.select(*COLUMNS), "availability", call)
    counts = ["skcs_on_display", "skcs_size_broken", "core_sizes_checked", "core_sizes_out"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"]).dt.date  # a day, not a midnight
    frame = frame.sort_values(["size_break_rate", "store_code"], ascending=[False, True], na_position="last")
    return frame.reset_index(drop=True)
