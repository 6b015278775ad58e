"""The daily allocation at chain scale: the MILP of ``optimizer.py`` solved by parts, with a proven gap.

The monolithic MILP is exact but stalls beyond some 20,000 positions (README, "Scale"). The same model
is solved here in three steps, all on whole tables at once:

1. **DC → store.** Each unit a store could take from the DC is worth its gain less the unit freight.
   Each DC SKU's stock goes to the units worth most; each store keeps its best units up to its
   headroom; a delivery that does not clear its fixed cost plus the threshold is dropped and its
   units go back to the DC. Repeated until nothing changes.
2. **Store → store**, one small MILP (``optimizer.py``) per group of stores linked by transfer
   routes (a region), on what is left: stock after step 1, headroom and shipments not used.
3. **The bound.** Put a price on every position's units and on every store's headroom, and the
   model falls apart into one tiny problem per position and per route (Lagrangian relaxation).
   Whatever the prices, the best of those tiny problems is worth at least the best plan; prices
   read off our plan (each position's marginal unit) make the bound tight. The reported ``gap``
   is (bound − plan) / |plan|: how far the plan can at most be from the optimum of the full model.

:func:`solve_plan` picks the monolithic MILP for small days and this for large ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from workbench.allocation.expected_sales import tail, unit_ranks
from workbench.allocation.optimizer import (
    Plan, PlanSettings, Steps, _moves, arc_ends, checked, explain_moves, solve_arcs, unit_steps)

__all__ = ["solve_plan", "solve_decomposed", "SMALL_DAY"]

SMALL_DAY = 200_000  # positions: below this the warm-started MILP (LP bound, rounded start) is quicker and closer
BIG = 1e9  # a price no unit reaches: "no further step" on that side


def solve_plan(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
               settings: PlanSettings = PlanSettings(), small: int = SMALL_DAY) -> Plan:
    """The day's plan: the monolithic MILP for a small day, the decomposition for a large one."""
    tables = checked(positions, arcs, routes, stores)
    if len(tables[0]) < small:
        return solve_arcs(*tables, settings)[0]
    return _decomposed(*tables, settings)


def solve_decomposed(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
                     settings: PlanSettings = PlanSettings()) -> Plan:
    """The plan by parts (DC replenishment, transfers per region), with its gap to a bound on the optimum."""
    return _decomposed(*checked(positions, arcs, routes, stores), settings)


@dataclass
class _Day:
    """The day as arrays: arcs' ends, costs and routes; stores' headroom and shipments; unit steps."""

    p: pd.DataFrame
    arcs: pd.DataFrame
    routes: pd.DataFrame
    stores: pd.DataFrame
    src: np.ndarray
    dst: np.ndarray
    cost: np.ndarray
    route_of: np.ndarray  # arc -> row of routes
    fixed: np.ndarray  # per route: fixed freight + threshold
    route_store: np.ndarray  # per route: destination store row, -1 if not a store
    into: np.ndarray  # per arc: destination store row, -1 if not a store
    out_of: np.ndarray  # per arc: origin store row, -1 if not a store
    headroom: np.ndarray
    cap: np.ndarray
    steps: Steps
    up_start: np.ndarray
    down_start: np.ndarray


def _day(positions, arcs, routes, stores, settings: PlanSettings) -> _Day:
    src, dst = arc_ends(positions, arcs)
    routes = routes.drop_duplicates(["origin", "dest"]).reset_index(drop=True)
    width = int(max(routes["origin"].max(), routes["dest"].max(), arcs["origin"].max(), arcs["dest"].max())) + 1
    route_key = pd.Index(routes["origin"].to_numpy(np.int64) * width + routes["dest"].to_numpy(np.int64))
    route_of = route_key.get_indexer(arcs["origin"].to_numpy(np.int64) * width + arcs["dest"].to_numpy(np.int64))
    store_index = pd.Index(stores["store_id"])
    steps = unit_steps(positions, arcs, src, dst, settings)
    return _Day(
        positions, arcs, routes, stores, src, dst, arcs["unit_cost"].to_numpy(float), route_of,
        routes["fixed_cost"].to_numpy(float) + settings.threshold, store_index.get_indexer(routes["dest"]),
        store_index.get_indexer(arcs["dest"]), store_index.get_indexer(arcs["origin"]),
        np.maximum(stores["headroom"].to_numpy(float), 0.0), stores["max_shipments"].to_numpy(float), steps,
        np.cumsum(steps.n_up) - steps.n_up, np.cumsum(steps.n_down) - steps.n_down)


def _decomposed(positions, arcs, routes, stores, settings: PlanSettings) -> Plan:
    started = time.perf_counter()
    if len(arcs) == 0:
        return Plan(_moves(arcs, np.zeros(0)), 0.0, 0.0, "no candidate moves", 0.0)
    day = _day(positions, arcs, routes, stores, settings)
    x = _replenish(day)
    x = x + _transfer(day, x, settings, started)
    objective = plan_value(day, x)
    bound = upper_bound(day, x)
    gap = max(bound - objective, 0.0) / max(abs(objective), 1e-9)
    moves = explain_moves(day.p, day.src, day.dst, _moves(day.arcs, x), x)
    status = "Decomposed: within the gap" if gap <= settings.mip_gap else "Decomposed: gap above mip_gap"
    return Plan(moves, objective, gap, status, time.perf_counter() - started)


class _Ranker:
    """Ranks candidates within groups by value (best first), counting only those still in play."""

    def __init__(self, group: np.ndarray, by_value: np.ndarray):
        self.perm = by_value[np.argsort(group[by_value], kind="stable")]
        g = group[self.perm]
        new = np.r_[True, g[1:] != g[:-1]]
        self.starts, self.member = np.flatnonzero(new), np.cumsum(new) - 1

    def rank(self, mask: np.ndarray) -> np.ndarray:
        m = mask[self.perm].astype(np.int64)
        before = np.cumsum(m) - m
        out = np.empty(len(mask), dtype=np.int64)
        out[self.perm] = before - before[self.starts][self.member]
        return out


def _replenish(day: _Day) -> np.ndarray:
    """DC → store units per arc: DC stock to the best units, stores up to headroom, deliveries that pay."""
    n_arc, st = len(day.src), day.steps
    dest_cap = np.where(day.into >= 0, day.cap[np.maximum(day.into, 0)], np.inf)
    first = np.flatnonzero((day.out_of < 0) & (dest_cap > 0))
    # one supplier per receiving position: the cheapest (several DCs are rare; the bound tells the cost)
    first = first[np.lexsort((day.cost[first], day.dst[first]))]
    first = first[np.r_[True, day.dst[first][1:] != day.dst[first][:-1]]]
    units = st.arc_upper[first].astype(int)
    arc = np.repeat(first, units)
    value = st.up_gain[day.up_start[day.dst[arc]] + unit_ranks(units)] - day.cost[arc]
    arc, value = arc[value > 0], value[value > 0]
    by_value = np.argsort(-value, kind="stable")
    origin = _Ranker(day.src[arc], by_value)
    n_store = len(day.stores)
    group = np.where(day.into[arc] >= 0, day.into[arc], n_store)
    store = _Ranker(group, by_value)
    supply = st.n_down[day.src[arc]]
    room = np.r_[day.headroom, np.inf][group]
    alive = np.ones(len(arc), dtype=bool)
    for _ in range(50):
        sent = alive & (origin.rank(alive) < supply)
        taken = sent & (store.rank(sent) < room)
        alive &= ~(sent & ~taken)  # pushed out by better units at a full store: for good
        benefit = np.bincount(day.route_of[arc[taken]], value[taken], minlength=len(day.fixed))
        weak = (benefit > 0) & (benefit <= day.fixed)
        weak |= _over_cap(day, benefit)
        if not weak.any() and (sent == taken).all():
            break
        alive &= ~weak[day.route_of[arc]]  # a delivery that does not pay: its units go back
    return np.bincount(arc[taken], minlength=n_arc).astype(float)


def _over_cap(day: _Day, benefit: np.ndarray) -> np.ndarray:
    """Routes beyond a store's shipment cap (the least worth first) when several DCs serve it."""
    used = np.flatnonzero((benefit > 0) & (day.route_store >= 0))
    order = used[np.lexsort((-benefit[used], day.route_store[used]))]
    s = day.route_store[order]
    new = np.r_[True, s[1:] != s[:-1]] if len(s) else np.zeros(0, bool)
    rank = np.arange(len(s)) - np.flatnonzero(new)[np.cumsum(new) - 1] if len(s) else np.zeros(0, int)
    out = np.zeros(len(benefit), dtype=bool)
    out[order[rank >= day.cap[s]]] = True
    return out


def _net(day: _Day, x: np.ndarray) -> np.ndarray:
    """Units in less units out, per position."""
    n = len(day.p)
    return np.bincount(day.dst, x, minlength=n) - np.bincount(day.src, x, minlength=n)


def _store_net(day: _Day, x: np.ndarray) -> np.ndarray:
    n = len(day.stores)
    into, out = day.into >= 0, day.out_of >= 0
    return (np.bincount(day.into[into], x[into], minlength=n) - np.bincount(day.out_of[out], x[out], minlength=n))


def _shipments(day: _Day, x: np.ndarray) -> np.ndarray:
    """Per route: 1 if it carries units."""
    return (np.bincount(day.route_of, x, minlength=len(day.fixed)) > 0).astype(float)


def _transfer(day: _Day, x: np.ndarray, settings: PlanSettings, started: float) -> np.ndarray:
    """Store → store units per arc: the MILP per group of linked stores, on what step 1 left."""
    p, out = day.p, np.zeros(len(x))
    stock = p["stock"].to_numpy() + _net(day, x).astype(int)
    margin, mean, k = p["margin"].to_numpy(float), p["mean"].to_numpy(float), p["nb_size"].to_numpy(float)
    ships = _shipments(day, x)
    used = day.route_store >= 0
    cap = day.cap - np.bincount(day.route_store[used], ships[used], minlength=len(day.cap))
    headroom = day.headroom - _store_net(day, x)
    cand = np.flatnonzero((day.out_of >= 0) & (day.into >= 0))
    o, d = day.src[cand], day.dst[cand]
    # only arcs whose first unit still pays after the DC's deliveries, into stores with a shipment left
    first = (margin[d] * tail(mean[d], k[d], stock[d] + 1) - day.cost[cand]
             - margin[o] * tail(mean[o], k[o], stock[o]))
    cand = cand[(first > 0) & (stock[o] > p["keep"].to_numpy()[o]) & (cap[day.into[cand]] > 0)]
    if len(cand) == 0:
        return out
    n_store = len(day.stores)
    link = sparse.coo_matrix((np.ones(len(cand)), (day.out_of[cand], day.into[cand])), shape=(n_store, n_store))
    _, region = connected_components(link, directed=False)
    region_of = region[day.into[cand]]
    groups = pd.Series(cand).groupby(region_of).apply(np.asarray).tolist()
    groups.sort(key=len)
    residual = p.assign(stock=stock)
    stores = day.stores.assign(headroom=headroom, max_shipments=cap)
    for i, arcs in enumerate(groups):
        # transfers get half the day's time: the DC's deliveries carry most of the worth
        left = settings.time_limit_s / 2 - (time.perf_counter() - started)
        limit = max(left / (len(groups) - i), 1.0)
        out[arcs] = _region(day, residual, stores, arcs, replace(settings, time_limit_s=limit))
    return out


def _region(day: _Day, residual: pd.DataFrame, stores: pd.DataFrame, arcs: np.ndarray,
            settings: PlanSettings) -> np.ndarray:
    """One region's transfers by the exact MILP; none if it finds no plan in its time."""
    rows = np.unique(np.r_[day.src[arcs], day.dst[arcs]])
    members = np.unique(np.r_[day.into[arcs], day.out_of[arcs]])
    routes = day.routes.iloc[np.unique(day.route_of[arcs])].reset_index(drop=True)
    try:
        _, x = solve_arcs(residual.iloc[rows].reset_index(drop=True), day.arcs.iloc[arcs].reset_index(drop=True),
                          routes, stores.iloc[members].reset_index(drop=True), settings)
    except ValueError:  # no plan within its time: this region keeps its stock
        return np.zeros(len(arcs))
    return x


def plan_value(day: _Day, x: np.ndarray) -> float:
    """Expected margin gained less lost, less unit freight, less fixed freight and threshold per shipment."""
    p = day.p
    delta = _net(day, x).astype(int)
    stock, margin = p["stock"].to_numpy(int), p["margin"].to_numpy(float)
    mean, k = p["mean"].to_numpy(float), p["nb_size"].to_numpy(float)
    ups, downs = np.maximum(delta, 0), np.maximum(-delta, 0)
    row, j = np.repeat(np.arange(len(p)), ups), unit_ranks(ups)
    gained = np.sum(margin[row] * tail(mean[row], k[row], stock[row] + j + 1))
    row, j = np.repeat(np.arange(len(p)), downs), unit_ranks(downs)
    lost = np.sum(margin[row] * tail(mean[row], k[row], stock[row] - j))
    return float(gained - lost - day.cost @ x - day.fixed @ _shipments(day, x))


def upper_bound(day: _Day, x: np.ndarray, sweeps: int = 4) -> float:
    """A bound on the best plan's worth: the Lagrangian relaxation at prices that start from the plan ``x``.

    Each position's units are priced (π), each store's headroom too (ν). Any prices give a bound. They
    start at each position's marginal unit in the plan and are improved by sweeps that each price one
    kind exactly, the others held: a giving position (the DC's SKU, a donor) at the unit it could no
    longer serve, a full store's headroom at the best unit it had to leave out, a receiving position
    at the cheapest supply of its next unit. The lowest bound seen is kept.
    """
    n = len(day.p)
    delta = _net(day, x).astype(int)
    lo, hi = _price_range(day, delta)
    has_in, has_out = np.bincount(day.dst, minlength=n) > 0, np.bincount(day.src, minlength=n) > 0
    # a position the plan leaves alone: as dear as possible to give, as cheap as possible to fill
    price = np.where(delta > 0, hi, np.where(delta < 0, lo, np.where(
        has_out & ~has_in, hi, np.where(has_in & ~has_out, lo, np.clip(0.0, lo, hi)))))
    nu = np.zeros(len(day.stores))
    best = _lagrangian(day, _receiver_prices(day, price, nu, has_out), nu)
    dc = np.zeros(n, dtype=bool)
    dc[day.src[day.out_of < 0]] = True
    # the DC's SKUs and the stores' headroom are priced in turn on the DC's deliveries alone (pricing
    # donors in the same sweep see-saws); donors keep the prices read off the plan
    supply = ~has_out | dc
    for _ in range(sweeps):
        price = _giver_prices(day, price, nu, _receiver_units(day, price, nu, has_out, supply), has_out, dc)
        nu = _headroom_prices(day, price, nu, _receiver_units(day, price, nu, has_out, supply))
        price = _receiver_prices(day, price, nu, has_out, supply)
        best = min(best, _lagrangian(day, _donor_prices(day, price, nu, has_out & ~dc, lo), nu))
    return best


def _first_flat(group, point, weight, start, n):
    """Per group, the smallest ``point`` where ``start[group]`` plus the weights passed reaches 0: the
    minimiser of a convex piecewise-linear function given by its breakpoints. NaN where a group has none."""
    out = np.full(n, np.nan)
    if len(point) == 0:
        return out
    order = np.lexsort((point, group))
    g, pt, w = group[order], point[order], weight[order]
    new = np.r_[True, g[1:] != g[:-1]]
    cum = np.cumsum(w)
    slope = start[g] + cum - (cum - w)[np.flatnonzero(new)][np.cumsum(new) - 1]
    hit = np.flatnonzero(slope >= -1e-9)
    first_g, first = np.unique(g[hit], return_index=True)
    out[first_g] = pt[hit[first]]
    return out


def _arc_price_in(day, price, nu):
    """What a unit costs a destination on each arc: the origin's price, freight, and headroom prices."""
    return price[day.src] + day.cost + _store_price(nu, day.into) - _store_price(nu, day.out_of)


def _receiver_units(day, price, nu, has_out, supply=None):
    """For positions that only receive: each step up that could pay, on its cheapest arc in (from
    ``supply`` positions only, when given)."""
    u = _arc_price_in(day, price, nu)
    arcs = np.flatnonzero(~has_out[day.dst] & (True if supply is None else supply[day.src]))
    arcs = arcs[np.lexsort((u[arcs], day.dst[arcs]))]
    arcs = arcs[np.r_[True, day.dst[arcs][1:] != day.dst[arcs][:-1]]] if len(arcs) else arcs
    count = np.minimum(day.steps.n_up[day.dst[arcs]], day.steps.arc_upper[arcs]).astype(int)
    arc = np.repeat(arcs, count)
    gain = day.steps.up_gain[day.up_start[day.dst[arc]] + unit_ranks(count)]
    return arc, gain


def _giver_prices(day, price, nu, units, has_out, which):
    """Positions that give: the price at which what they could supply meets what is asked of them."""
    st, n = day.steps, len(price)
    arc, gain = units
    out = np.flatnonzero(has_out[day.dst] & has_out[day.src])  # to positions that give too: a whole arc
    into = np.flatnonzero(has_out[day.dst])
    zero = day.p["margin"].to_numpy()[st.down_pos] == 0  # the DC's units lose nothing: one breakpoint
    dn = ~zero
    dc_rows = np.flatnonzero(np.bincount(st.down_pos[zero], minlength=n) > 0)
    up_mask = has_out[st.up_pos]
    group = np.concatenate([st.up_pos[up_mask], st.down_pos[dn], dc_rows, day.src[arc], day.src[out], day.dst[into]])
    point = np.concatenate([
        st.up_gain[up_mask], st.down_loss[dn], np.zeros(len(dc_rows)),
        gain - day.cost[arc] - _store_price(nu, day.into[arc]) + _store_price(nu, day.out_of[arc]),
        price[day.dst[out]] - day.cost[out] - _store_price(nu, day.into[out]) + _store_price(nu, day.out_of[out]),
        _arc_price_in(day, price, nu)[into]])
    weight = np.concatenate([
        np.ones(up_mask.sum()), np.ones(dn.sum()), np.bincount(st.down_pos[zero], minlength=n)[dc_rows],
        np.ones(len(arc)), st.arc_upper[out], st.arc_upper[into]])
    start = -(np.bincount(st.up_pos[up_mask], minlength=n) + np.bincount(day.src[arc], minlength=n)
              + np.bincount(day.src[out], st.arc_upper[out], minlength=n))
    new = _first_flat(group, point, weight, start, n)
    # below its cheapest unit's loss a giver only invites more demand: its exact price is never there
    low = np.full(n, np.inf)
    np.minimum.at(low, st.down_pos, st.down_loss)
    new = np.where(np.isfinite(low), np.maximum(new, low), new)
    return np.where(has_out & ~np.isnan(new) & which, new, price)


def _headroom_prices(day, price, nu, units):
    """A store's headroom: the price at which the units worth taking fit in it (0 where they all fit)."""
    arc, gain = units
    at = day.into[arc]
    keep = at >= 0
    point = (gain - price[day.src[arc]] - day.cost[arc] + _store_price(nu, day.out_of[arc]))[keep]
    n = len(nu)
    start = day.headroom - np.bincount(at[keep], minlength=n)
    new = _first_flat(at[keep], point, np.ones(keep.sum()), start, n)
    new = np.where(start >= 0, 0.0, new)  # all it could take fits
    return np.maximum(np.nan_to_num(new, nan=0.0), 0.0)


def _donor_prices(day, price, nu, donors, lo):
    """A donor's units priced at what its best receiver pays at the margin: no transfer earns more."""
    arcs = np.flatnonzero(donors[day.src])
    t = price[day.dst[arcs]] - day.cost[arcs] - _store_price(nu, day.into[arcs]) + _store_price(nu, day.out_of[arcs])
    top = np.full(len(price), -np.inf)
    np.maximum.at(top, day.src[arcs], t)
    new = price.copy()
    new[donors] = np.maximum(top[donors], lo[donors])
    return new


def _receiver_prices(day, price, nu, has_out, supply=None):
    """Positions that only receive: the price where their cheapest supply meets the steps worth taking."""
    st, n = day.steps, len(price)
    up_mask = ~has_out[st.up_pos]
    into = np.flatnonzero(~has_out[day.dst] & (True if supply is None else supply[day.src]))
    group = np.concatenate([st.up_pos[up_mask], day.dst[into]])
    point = np.concatenate([st.up_gain[up_mask], _arc_price_in(day, price, nu)[into]])
    weight = np.concatenate([np.ones(up_mask.sum()), st.arc_upper[into]])
    start = -np.bincount(st.up_pos[up_mask], minlength=n).astype(float)
    new = _first_flat(group, point, weight, start, n)
    return np.where(~has_out & ~np.isnan(new), new, price)


def _price_range(day: _Day, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the prices at which its net change in the plan is its own best choice."""
    st = day.steps
    k_up, k_down = np.clip(delta, 0, st.n_up), np.clip(-delta, 0, st.n_down)
    gains, losses = np.r_[st.up_gain, 0.0], np.r_[st.down_loss, 0.0]

    def up(j):  # gain of the j-th step up, -BIG where there is none
        ok = (j >= 1) & (j <= st.n_up)
        return np.where(ok, gains[np.where(ok, day.up_start + j - 1, -1)], -BIG)

    def down(j):  # loss of the j-th step down, BIG where there is none
        ok = (j >= 1) & (j <= st.n_down)
        return np.where(ok, losses[np.where(ok, day.down_start + j - 1, -1)], BIG)

    lo = np.where(delta < 0, down(k_down), up(k_up + 1))
    hi = np.where(delta > 0, up(k_up), down(k_down + 1))
    return np.minimum(lo, hi), hi


def _store_price(nu: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.where(rows >= 0, nu[np.maximum(rows, 0)], 0.0) if len(nu) else np.zeros(len(rows))


def _lagrangian(day: _Day, price: np.ndarray, nu: np.ndarray) -> float:
    """The relaxation's worth at these prices: best net change per position, best shipments per store."""
    st = day.steps
    positions = (np.maximum(st.up_gain - price[st.up_pos], 0).sum()
                 + np.maximum(price[st.down_pos] - st.down_loss, 0).sum())
    margin = (price[day.dst] - price[day.src] - day.cost - _store_price(nu, day.into)
              + _store_price(nu, day.out_of))
    worth = np.bincount(day.route_of, st.arc_upper * np.maximum(margin, 0), minlength=len(day.fixed)) - day.fixed
    return float(positions + _best_shipments(day, worth) + nu @ day.headroom)


def _best_shipments(day: _Day, worth: np.ndarray) -> float:
    """Each store's best ``max_shipments`` routes in that are worth anything; all such routes elsewhere."""
    good = np.flatnonzero(worth > 0)
    store = day.route_store[good]
    free = worth[good][store < 0].sum()
    good, store = good[store >= 0], store[store >= 0]
    order = np.lexsort((-worth[good], store))
    good, store = good[order], store[order]
    new = np.r_[True, store[1:] != store[:-1]] if len(store) else np.zeros(0, bool)
    rank = np.arange(len(store)) - np.flatnonzero(new)[np.cumsum(new) - 1] if len(store) else np.zeros(0, int)
    return float(free + worth[good][rank < day.cap[store]].sum())
