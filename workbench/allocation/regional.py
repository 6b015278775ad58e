"""A large day by region (分区调拨): one MILP per region, the DC's stock shared out by the LP, a bound for all.

Store-to-store moves stay inside a region, and a store's headroom and
shipment cap concern its own region only, so the regions are coupled by one
thing: the DC's stock of each SKU. Hence:

1. **Bound.** Relax the DC's stock (every region may draw what it likes)
   and solve each region's LP relaxation. Relaxing a constraint and
   integrality only raises the optimum, so the sum is a valid upper bound on
   the whole day's plan (the Lagrangian bound with zero prices on DC stock;
   tight when the DC is not short, which is most SKUs on most days).
2. **Shares.** Each region's LP draw of each SKU from the DC, scaled down
   where the regions together want more than the DC holds.
3. **Plans.** Each region's warm-started MILP (``optimizer``) with its share,
   in the time left. The union is feasible: shares add up to the DC's stock.

The gap reported is (bound − plan) / plan over the whole day.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from workbench.allocation.optimizer import Plan, PlanSettings, _Model, _moves, checked, solve_arcs

__all__ = ["solve_by_region"]

UNLIMITED = 10**7  # DC stock no region can exhaust (for the bound)


def _region_tables(positions, arcs, routes, stores, mask: np.ndarray, dc_stock: pd.Series | None):
    """The region's arcs, the positions they touch (the DC's with ``dc_stock`` per SKU), its routes and stores."""
    sub_arcs = arcs[mask].reset_index(drop=True)
    keys = pd.concat([sub_arcs[["sku_id", "origin"]].set_axis(["sku_id", "location_id"], axis=1),
                      sub_arcs[["sku_id", "dest"]].set_axis(["sku_id", "location_id"], axis=1)]).drop_duplicates()
    sub = positions.merge(keys, on=["sku_id", "location_id"])
    at_dc = ~sub["location_id"].isin(stores["store_id"])
    sub.loc[at_dc, "stock"] = (sub.loc[at_dc, "sku_id"].map(dc_stock).fillna(0).astype(int).to_numpy()
                               if dc_stock is not None else UNLIMITED)
    sub_routes = routes.merge(sub_arcs[["origin", "dest"]].drop_duplicates(), on=["origin", "dest"])
    sub_stores = stores[stores["store_id"].isin(sub_arcs["dest"]) | stores["store_id"].isin(sub_arcs["origin"])]
    return sub, sub_arcs, sub_routes, sub_stores.reset_index(drop=True)


def _dc_draw(arcs: pd.DataFrame, x: np.ndarray, from_dc: np.ndarray) -> pd.Series:
    return pd.Series(x[from_dc], index=arcs.loc[from_dc, "sku_id"].to_numpy()).groupby(level=0).sum()


def _shares(draws: dict, dc_stock: pd.Series) -> dict:
    """Whole units of each SKU per region: its LP draw where the DC has enough; where it has not, the
    stock split in proportion to the draws, the odd units to the largest remainders (Hamilton's method)."""
    table = pd.DataFrame(draws).fillna(0.0)
    stock = dc_stock.reindex(table.index).fillna(0).to_numpy(float)[:, None]
    wanted = np.ceil(table.to_numpy() - 1e-9)
    total = wanted.sum(axis=1, keepdims=True)
    short = (total > stock).ravel()
    exact = wanted[short] * stock[short] / np.maximum(total[short], 1e-9)
    floor = np.floor(exact + 1e-9)
    left = (stock[short] - floor.sum(axis=1, keepdims=True)).astype(int).ravel()
    order = np.argsort(-(exact - floor), axis=1, kind="stable")  # largest remainder first
    ranks = np.argsort(order, axis=1, kind="stable")
    floor += ranks < left[:, None]
    wanted[short] = floor
    return {r: pd.Series(wanted[:, i], index=table.index) for i, r in enumerate(table.columns)}


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
    crossing = ~from_dc & (arcs["origin"].map(region_of).to_numpy() != region)
    if crossing.any():
        raise ValueError("a store-to-store arc crosses regions: plan the day whole (optimizer.solve)")
    at_dc = ~positions["location_id"].isin(stores["store_id"])
    dc_stock = positions[at_dc].groupby("sku_id")["stock"].sum()
    bound, draws = 0.0, {}
    for r in pd.unique(region):
        mask = region == r
        model = _Model(*_region_tables(positions, arcs, routes, stores, mask, None), settings)
        value, x = model.relax()
        bound += value
        draws[r] = _dc_draw(model.arcs, x, ~model.arcs["origin"].isin(stores["store_id"]).to_numpy())
    shares = _shares(draws, dc_stock)
    moves, objective, statuses = [], 0.0, set()
    regions = list(shares)
    for i, r in enumerate(regions):
        left = max(settings.time_limit_s - (time.perf_counter() - started), 1.0) / (len(regions) - i)
        tables = _region_tables(positions, arcs, routes, stores, region == r, shares[r])
        plan, _ = solve_arcs(*tables, PlanSettings(settings.threshold, settings.max_units_in, settings.mip_gap, left))
        moves.append(plan.moves)
        objective += plan.objective
        statuses.add(plan.status)
    gap = max(bound - objective, 0.0) / max(abs(objective), 1e-9)
    status = "Optimal" if gap <= settings.mip_gap else f"By region: {', '.join(sorted(statuses))}"
    return Plan(pd.concat(moves, ignore_index=True), objective, gap, status, time.perf_counter() - started)
