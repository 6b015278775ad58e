"""A large day by region (分区调拨): priced by each region's LP, planned store by store, with a bound.

Store-to-store moves stay inside a region, and a store's headroom and
shipment cap concern its own region only, so the regions are coupled by one
thing: the DC's stock of each SKU. Hence:

1. **Bound and prices.** The DC's stock is priced, not split: a unit of a
   SKU the stores want more of than the DC holds costs its water level (水位,
   ``dc_unit_prices``). Each region's LP relaxation then draws what it likes
   from the DC at that price. For any prices λ ≥ 0 the regions' optima plus
   λ × the DC's stock bound the whole day (Lagrangian relaxation of the DC's
   stock; relaxing integrality only raises each optimum). Without the price
   the bound of a day whose DC is short counts every short unit once per
   region that wants it, which made a realistic `large` day's gap 200 %. The
   LPs' duals price a unit at each position and a unit of headroom in each
   store.
2. **Search, each region on its own** (``lagrangian.search``,
   ``region_price_steps`` at most; two regions at a time): the store-by-store
   relaxation from those prices, with the DC still priced, tightens the
   region's bound. Its Polyak target is the plan on the LP prices' routes with
   the DC unlimited at its prices; the route choice at the best prices is what
   the region ships on.
3. **DC stock in turn**, the largest region first, each as soon as it is
   priced: the units on its chosen routes, with the DC's stock less what is
   kept for the regions after it: their stores' share of the units that fit
   under the water level (``dc_wants``). It hands on what it did not use.
   The plans add up to a feasible day. (Keeping the regions' LP draws instead,
   scaled down where short, cost the realistic `large` day 0.2 % of its value.)

The gap reported is (Σ regional bounds + DC prices × DC stock − plan) / plan over the whole day.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from workbench.allocation.lagrangian import StorePricing, search
from workbench.allocation.expected_sales import unit_ranks
from workbench.allocation.optimizer import (Plan, PlanSettings, _Model, _moves, arc_ends, checked, explain_moves,
                                            touched, unit_steps)

__all__ = ["dc_unit_prices", "solve_by_region"]

UNLIMITED = 10**7  # DC stock no region can exhaust (for the bound)
PLAN_S = 2.0  # seconds of the ceiling kept for each region's plan once every region is priced
PRICING_THREADS = min(2, os.cpu_count() or 1)  # regions priced at once


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


def dc_unit_prices(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
                   settings: PlanSettings) -> pd.Series:
    """What one more unit of each short SKU at the DC would earn: its water level (水位).

    Where the stores want more of a SKU than the DC holds (``dc_wants``), the price is the net gain of
    the first unit that does not fit; SKUs the DC has enough of are left out (worth 0). Any prices give
    a valid bound; these make it tight when the DC is short.
    """
    return _water_level(dc_wants(positions, arcs, routes, stores, settings), _dc_stock(positions, stores))


def _water_level(wants: pd.DataFrame, dc_stock: pd.Series) -> pd.Series:
    first_left_out = wants.groupby("sku_id").cumcount().to_numpy() == wants["sku_id"].map(dc_stock).fillna(0).to_numpy()
    return wants[first_left_out].set_index("sku_id")["net"].clip(lower=0.0).rename("dc_price")


def dc_wants(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
             settings: PlanSettings) -> pd.DataFrame:
    """Every unit the stores would take from the DC (``sku_id, dest, net``), best first within a SKU.

    A unit's net gain is the receiving position's next expected margin less the unit freight and the
    store's share of one delivery's fixed cost and threshold; a store's best units count up to its
    headroom. Full stores are left out: they take a DC unit only by sending one away, which rarely
    pays, and counting them would price the DC's stock far above what it is worth that day.
    """
    src, dst = arc_ends(positions, arcs)
    steps = unit_steps(positions, arcs, src, dst, settings)
    headroom = stores.set_index("store_id")["headroom"]
    room = arcs["dest"].map(headroom).fillna(0).to_numpy() > 0
    from_dc = np.flatnonzero(~arcs["origin"].isin(stores["store_id"]).to_numpy() & room)
    n = steps.n_up[dst[from_dc]]
    arc = np.repeat(from_dc, n)
    first_step = (np.cumsum(steps.n_up) - steps.n_up)[dst[arc]]
    units = pd.DataFrame({"sku_id": arcs["sku_id"].to_numpy()[arc], "dest": arcs["dest"].to_numpy()[arc],
                          "net": steps.up_gain[first_step + unit_ranks(n)] - arcs["unit_cost"].to_numpy()[arc]})
    units = units[units["net"] > 0].sort_values(["dest", "net"], ascending=[True, False], kind="stable")
    units = units[units.groupby("dest").cumcount().to_numpy() < units["dest"].map(headroom).to_numpy()]
    # a delivery pays its fixed cost and the threshold once: spread them over the units the store would take
    fixed = routes.set_index(["origin", "dest"])["fixed_cost"].groupby(level="dest").min() + settings.threshold
    per_store = units.groupby("dest")["net"].agg(["sum", "size"])
    share = fixed.reindex(per_store.index).fillna(0.0) / per_store["size"]
    units = units[units["dest"].isin(per_store.index[per_store["sum"] > share * per_store["size"]])]
    units = units.assign(net=units["net"] - units["dest"].map(share).to_numpy())
    return units.sort_values(["sku_id", "net"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _water_reserves(wants: pd.DataFrame, dc_stock: pd.Series, region_of: pd.Series) -> dict:
    """Units of each SKU kept for each region: its stores' share of the DC units that fit (the best
    ``dc_stock`` of the stores' wants, ``dc_wants``), so a region plans with what the prices gave it."""
    fits = wants[wants.groupby("sku_id").cumcount().to_numpy() < wants["sku_id"].map(dc_stock).fillna(0).to_numpy()]
    kept = fits.groupby([fits["dest"].map(region_of).rename("region"), "sku_id"]).size().astype(float)
    return {r: kept.xs(r) for r in kept.index.get_level_values("region").unique()}


def _dc_stock(positions: pd.DataFrame, stores: pd.DataFrame) -> pd.Series:
    return positions[~positions["location_id"].isin(stores["store_id"])].groupby("sku_id")["stock"].sum()


def _priced_dc(arcs: pd.DataFrame, stores: pd.DataFrame, dc_price: pd.Series) -> pd.DataFrame:
    """The arcs with each DC unit's price added to its freight (for the bound and the prices only)."""
    from_dc = ~arcs["origin"].isin(stores["store_id"])
    priced = arcs.copy()
    priced.loc[from_dc, "unit_cost"] += priced.loc[from_dc, "sku_id"].map(dc_price).fillna(0.0).to_numpy()
    return priced


def _same_routes(priced: _Model, planned: _Model, rows: np.ndarray) -> np.ndarray:
    """The rows of ``planned.routes`` that are ``priced.routes``' ``rows`` (the same region's models)."""
    used = priced.routes.iloc[rows]
    index = pd.MultiIndex.from_frame(planned.routes[["origin", "dest"]])
    return index.get_indexer(pd.MultiIndex.from_frame(used[["origin", "dest"]]))


def _dc_draw(model: _Model, x: np.ndarray) -> pd.Series:
    """Units of each SKU the arcs ``x`` take from the DC."""
    from_dc = ~model.arcs["origin"].isin(model.stores["store_id"]).to_numpy()
    return pd.Series(x[from_dc], index=model.arcs.loc[from_dc, "sku_id"].to_numpy()).groupby(level=0).sum()


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
    wants = dc_wants(positions, arcs, routes, stores, settings)
    dc_left = _dc_stock(positions, stores)
    dc_price = _water_level(wants, dc_left)
    priced = _priced_dc(arcs, stores, dc_price)

    # Each region's prices are its own business: they run two at a time (HiGHS and most of numpy let go
    # of Python; each region is single-threaded and seeded, so the same answers in any order), the largest
    # first, within a ceiling that keeps a few seconds for each region's plan. The plans follow in the same
    # order, each as soon as its region is priced, because each hands the DC stock it left to the next.
    sizes = pd.Series(region).value_counts()
    order = sorted(sizes.index, key=lambda r: (-sizes[r], str(r)))
    deadline = started + 0.9 * settings.time_limit_s - PLAN_S * len(order)

    def price(r):
        model = _Model(*_region_tables(positions, priced, routes, stores, region == r, None), settings)
        lp = model.relax()
        found = search(StorePricing(model), lp.unit_value, lp.headroom_value, max(deadline, time.perf_counter() + 1.0),
                       model.plan_on, settings.mip_gap, plan_every=None, most_steps=settings.region_price_steps,
                       plan_last=False)
        return model, min(lp.bound, found.bound), found

    reserves = _water_reserves(wants, dc_left, region_of)
    moves, objective, timed_out = [], 0.0, False
    bound = float(dc_price @ dc_left.reindex(dc_price.index).fillna(0))  # the DC's stock at its prices
    with ThreadPoolExecutor(PRICING_THREADS) as pool:
        pricing = {r: pool.submit(price, r) for r in order}
        for i, r in enumerate(order):
            relaxed, region_bound, found = pricing[r].result()
            later = [reserves[q] for q in order[i + 1:] if q in reserves]
            kept = pd.concat(later).groupby(level=0).sum() if later else pd.Series(dtype=float)
            mine = dc_left.sub(kept, fill_value=0).clip(lower=0)
            planned = _Model(*_region_tables(positions, arcs, routes, stores, region == r, mine), settings)
            value, x = planned.plan_on(_same_routes(relaxed, planned, found.routes))  # the DC's stock as it is
            timed_out |= relaxed.timed_out or found.timed_out or planned.timed_out
            bound += region_bound
            objective += value
            moves.append(explain_moves(planned.p, planned.src, planned.dst, _moves(planned.arcs, x), x))
            dc_left = dc_left.sub(_dc_draw(planned, x), fill_value=0)
    gap = max(bound - objective, 0.0) / max(abs(objective), 1e-9)
    status = "Optimal" if gap <= settings.mip_gap else "Best plan found by prices"
    return Plan(pd.concat(moves, ignore_index=True), objective, gap, status, time.perf_counter() - started,
                repeatable=not timed_out)
