"""A large day by region (分区调拨): priced by each region's LP, planned store by store, with a bound.

Store-to-store moves stay inside a region, and a store's headroom and
shipment cap concern its own region only, so the regions are coupled by one
thing: the DC's stock of each SKU. Hence:

1. **Bound and prices.** Each region's LP relaxation with the DC's stock
   relaxed (every region may draw what it likes). Relaxing a constraint and
   integrality only raises the optimum, so the regions' optima add up to a
   valid bound on the whole day. Their duals price a unit at each position
   and a unit of headroom in each store; their DC draws say what each region
   wants from the DC.
2. **Search, region by region** (``lagrangian.search``, ``price_steps`` each,
   under the day's ceiling less a little for each region still to plan): the store-by-store relaxation from those prices, with the
   DC still relaxed, tightens the region's bound; each route choice it makes
   is a plan once the routes are fixed.
3. **DC stock in turn.** A region plans with the DC's stock less what the
   regions after it drew in their LPs (rounded down in proportion where the
   DC is short), then hands on what it did not use. The plans add up to a
   feasible day.

The gap reported is (Σ regional bounds − plan) / plan over the whole day.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from workbench.allocation.lagrangian import StorePricing, search
from workbench.allocation.optimizer import Plan, PlanSettings, _Model, _moves, checked, explain_moves, touched

__all__ = ["solve_by_region"]

UNLIMITED = 10**7  # DC stock no region can exhaust (for the bound)
LATER_REGION_S = 2.0  # seconds of the ceiling kept for each region still to plan


def _region_tables(positions, arcs, routes, stores, mask: np.ndarray, dc_stock: pd.Series | None):
    """The region's arcs, the positions they touch (the DC's with ``dc_stock`` per SKU), its routes and stores."""
    sub_arcs = arcs[mask].reset_index(drop=True)
    sub = touched(positions, sub_arcs)
    at_dc = ~sub["location_id"].isin(stores["store_id"])
    sub.loc[at_dc, "stock"] = (sub.loc[at_dc, "sku_id"].map(dc_stock).fillna(0).astype(int).to_numpy()
                               if dc_stock is not None else UNLIMITED)
    sub_routes = routes.merge(sub_arcs[["origin", "dest"]].drop_duplicates(), on=["origin", "dest"])
    sub_stores = stores[stores["store_id"].isin(sub_arcs["dest"]) | stores["store_id"].isin(sub_arcs["origin"])]
    return sub, sub_arcs, sub_routes, sub_stores.reset_index(drop=True)


def _dc_draw(model: _Model, x: np.ndarray) -> pd.Series:
    """Units of each SKU the arcs ``x`` take from the DC."""
    from_dc = ~model.arcs["origin"].isin(model.stores["store_id"]).to_numpy()
    return pd.Series(x[from_dc], index=model.arcs.loc[from_dc, "sku_id"].to_numpy()).groupby(level=0).sum()


def _reserves(draws: dict, dc_stock: pd.Series) -> dict:
    """Whole units of each SKU kept for each region: its LP draw, rounded down, scaled down in proportion
    where the regions together drew more than the DC holds (so the reserves never exceed the stock)."""
    table = pd.DataFrame(draws).fillna(0.0)
    stock = dc_stock.reindex(table.index).fillna(0).to_numpy(float)[:, None]
    wanted = table.to_numpy()
    total = wanted.sum(axis=1, keepdims=True)
    scale = np.minimum(1.0, stock / np.maximum(total, 1e-9))
    kept = np.floor(wanted * scale + 1e-9)
    return {r: pd.Series(kept[:, i], index=table.index) for i, r in enumerate(table.columns)}


def solve_by_region(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
                    region_of: pd.Series, settings: PlanSettings = PlanSettings()) -> Plan:
    """The day's plan, region by region, with its gap to a bound on the whole day (see the module docstring).

    ``region_of``: region by store id. Store-to-store arcs must stay inside a region.
    """
    started = time.perf_counter()
    positions, arcs, routes, stores = checked(positions, arcs, routes, stores)
    if arcs.empty:
        return Plan(_moves(arcs, np.zeros(0)), 0.0, 0.0, "no candidate moves", 0.0)
    from_dc = ~arcs["origin"].isin(stores["store_id"]).to_numpy()
    region = arcs["dest"].map(region_of).to_numpy()
    if (~from_dc & (arcs["origin"].map(region_of).to_numpy() != region)).any():
        raise ValueError("a store-to-store arc crosses regions: plan the day whole (optimizer.solve)")
    relaxed, lp, timed_out = {}, {}, False
    for r in pd.unique(region):
        relaxed[r] = _Model(*_region_tables(positions, arcs, routes, stores, region == r, None), settings)
        lp[r] = relaxed[r].relax()
        timed_out |= relaxed[r].timed_out
    dc_left = positions[~positions["location_id"].isin(stores["store_id"])].groupby("sku_id")["stock"].sum()
    reserves = _reserves({r: _dc_draw(relaxed[r], lp[r].x) for r in lp}, dc_left)
    moves, objective, bound = [], 0.0, 0.0
    ceiling = started + 0.9 * settings.time_limit_s  # a tenth held back: each search ends with one more plan
    for i, r in enumerate(lp):
        later = [reserves[q] for q in list(lp)[i + 1:]]
        kept = pd.concat(later).groupby(level=0).sum() if later else pd.Series(dtype=float)
        mine = dc_left.sub(kept, fill_value=0).clip(lower=0)
        # price_steps is the budget; the deadline only a ceiling, with a few seconds kept for each region
        # still to plan (their first prices and plan), so a slow machine still plans every region
        deadline = max(ceiling - LATER_REGION_S * (len(lp) - i - 1), time.perf_counter() + 1.0)
        planned = _Model(*_region_tables(positions, arcs, routes, stores, region == r, mine), settings)
        found = search(StorePricing(relaxed[r]), lp[r].unit_value, lp[r].headroom_value, deadline,
                       planned.plan_on, settings.mip_gap, most_steps=settings.price_steps)
        timed_out |= found.timed_out or planned.timed_out
        bound += min(lp[r].bound, found.bound)
        objective += found.plan_value
        moves.append(explain_moves(planned.p, planned.src, planned.dst, _moves(planned.arcs, found.x), found.x))
        dc_left = dc_left.sub(_dc_draw(planned, found.x), fill_value=0)
    gap = max(bound - objective, 0.0) / max(abs(objective), 1e-9)
    status = "Optimal" if gap <= settings.mip_gap else "Best plan found by prices"
    return Plan(pd.concat(moves, ignore_index=True), objective, gap, status, time.perf_counter() - started,
                repeatable=not timed_out)
