"""A tight bound and a good plan for a large day: Lagrangian relaxation by receiving store (按门店分解).

Why: the LP relaxation of the daily MILP charges a route only the share of
its fixed cost (freight plus the business's threshold) that its busiest arc
uses. Sending one unit on an arc that could carry three costs a third of a
shipment, so the LP bound sits far above any real plan on a day with
thousands of small shipments.

Here the units a donor gives (its balance, the DC's stock included) and each
store's headroom get prices, and what is left falls apart into one small
problem per receiving store, solved exactly: which of its routes to open (at
most its shipment cap) and how many units of each SKU to take on them, given
the concave expected sales of its receiving positions. Each store's exact
answer pays the whole fixed cost of a route it opens, so the bound
(``value``) is tighter than the LP's, and still valid for any prices.
Prices are improved by subgradient steps; each step's route choice is also a
plan: with the routes fixed, the rest is the LP of a network flow, which
comes out in whole units (``optimizer.fixed_routes``).

In a store's problem, a receiving position served by arcs sorted by reduced
unit cost takes its j-th unit on the j-th cheapest slot while its j-th
unit's gain beats that cost. Gains fall with j, so the units that pay are a
prefix: one binary search and a prefix sum per arc give the value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["StorePricing", "Relaxed", "Search", "TooManyRoutes", "search"]

TIE = 1e-7  # a reduced cost this small (relative to the price) is nil: the step may be taken or not
DEFLECTION = 0.1  # each step's direction: this share of the new slope, the rest the last direction
MOST_SUBSETS = 200_000  # route subsets over all stores; beyond this the stores' problems are too many to list


class TooManyRoutes(ValueError):
    """Stores with so many candidate routes that listing their route choices would not pay."""


@dataclass
class Relaxed:
    """One evaluation: the bound on the plan's value and each store's route choice."""

    value: float  # an upper bound on the day's objective (maximised)
    open_routes: np.ndarray  # route rows opened by the stores' own answers


class StorePricing:
    """The store-by-store relaxation of an ``optimizer._Model``; ``evaluate(prices)`` solves it."""

    def __init__(self, model):
        self.m = m = model
        n_pos = len(m.p)
        self.priced = np.zeros(n_pos, bool)  # positions whose balance gets a price: every origin (DC included)
        self.priced[m.src] = True
        self.fixed = m.routes["fixed_cost"].to_numpy(float) + m.settings.threshold
        self.unit_cost = m.arcs["unit_cost"].to_numpy(float)
        self.upper = m.arc_upper
        stores = m.stores.set_index("store_id")
        self.store_of_route = stores.index.get_indexer(m.routes["dest"])
        self.dest_store = stores.index.get_indexer(m.arcs["dest"])
        self.orig_store = stores.index.get_indexer(m.arcs["origin"])
        self.headroom = np.maximum(stores["headroom"].to_numpy(float), 0.0)
        up_start = np.cumsum(m.n_up) - m.n_up
        self.up_start, self.gain_sum = up_start, np.concatenate([[0.0], np.cumsum(m.up_gain)])
        # positions sit in disjoint key ranges, steps in falling gain: one global binary search finds
        # how many of a position's steps gain more than a cost
        self.spread = float(np.abs(m.up_gain).max(initial=0.0) + np.abs(self.unit_cost).max(initial=0.0)) * 4 + 1e6
        self.step_key = m.up_pos * self.spread - m.up_gain
        self.route_bit = m.routes.groupby("dest").cumcount().to_numpy()
        if self.route_bit.max(initial=0) >= 20:
            raise TooManyRoutes("a store has more than 20 candidate routes: lower routes_per_store")
        self._combos()
        self._subsets(stores["max_shipments"].to_numpy(int))

    def _combos(self) -> None:
        """Every set of arcs a receiving position could be served by (its arcs on the store's open routes)."""
        m = self.m
        kept = np.flatnonzero(~self.priced[m.dst])
        self.linear = np.flatnonzero(self.priced[m.dst])  # into a priced position: a plain unit price
        kept = kept[np.lexsort((kept, m.dst[kept]))]
        position = m.dst[kept]
        first = np.r_[True, position[1:] != position[:-1]]
        rank = np.arange(len(kept)) - np.flatnonzero(first)[np.cumsum(first) - 1]
        size = np.bincount(np.cumsum(first) - 1)[np.cumsum(first) - 1]
        combo_arc, combo_id, n = [], [], 0
        for width in np.unique(size):  # positions with `width` arcs: all 2^width − 1 non-empty subsets
            rows = np.flatnonzero(size == width)
            for mask in range(1, 2**width):
                member = rows[(mask >> rank[rows]) & 1 == 1]
                owner = np.cumsum(np.r_[True, position[member][1:] != position[member][:-1]]) - 1
                combo_arc.append(kept[member])
                combo_id.append(n + owner)
                n += owner.max(initial=-1) + 1
        self.combo_arc = np.concatenate(combo_arc) if combo_arc else np.zeros(0, int)
        self.combo_of = np.concatenate(combo_id) if combo_id else np.zeros(0, int)
        self.n_combo = n
        bits = 1 << self.route_bit[m.route_of[self.combo_arc]]
        self.combo_mask = np.bitwise_or.reduceat(bits, _starts(self.combo_of)) if n else np.zeros(0, int)
        self.combo_position = m.dst[self.combo_arc][_starts(self.combo_of)] if n else np.zeros(0, int)
        every = np.zeros(len(m.p), int)
        np.bitwise_or.at(every, self.combo_position, self.combo_mask)
        self.combo_full = every[self.combo_position]  # the routes of all the position's arcs

    def _subsets(self, caps: np.ndarray) -> None:
        """Each store's route subsets within its shipment cap, and which position combos each one serves."""
        routes_in = np.bincount(self.store_of_route, minlength=len(caps))
        store, mask, listed = [], [], 0
        for s in np.flatnonzero(routes_in):
            k = int(routes_in[s])
            listed += sum(math.comb(k, i) for i in range(1, min(k, int(caps[s])) + 1))
            if listed > MOST_SUBSETS:
                raise TooManyRoutes(f"over {MOST_SUBSETS:,} route choices to list: lower routes_per_store")
            masks = np.arange(1, 2**k)
            masks = masks[_popcount(masks) <= caps[s]]
            store.append(np.full(len(masks), s))
            mask.append(masks)
        self.sub_store = np.concatenate(store) if store else np.zeros(0, int)
        self.sub_mask = np.concatenate(mask) if mask else np.zeros(0, int)
        # a subset's routes: (subset row, route row) pairs
        by_bit = np.lexsort((self.route_bit, self.store_of_route))  # routes by store, then bit
        first_route = np.r_[0, np.cumsum(routes_in)]
        sub_rows, route_rows = [], []
        for bit in range(int(routes_in.max(initial=0))):
            has = (self.sub_mask >> bit) & 1 == 1
            sub_rows.append(np.flatnonzero(has))
            route_rows.append(by_bit[first_route[self.sub_store[has]] + bit])
        self.pair_sub = np.concatenate(sub_rows) if sub_rows else np.zeros(0, int)
        self.pair_route = np.concatenate(route_rows) if route_rows else np.zeros(0, int)
        self._meets(len(caps))

    def _meets(self, n_stores: int) -> None:
        """Which combo each subset uses at each receiving position: the subset's routes among the
        position's. Positions of a store with the same routes share the lookup, so combos' values are
        summed per (store, position's routes, combo's routes) and each subset adds up its groups."""
        width = 1 << 20  # route masks have fewer than 20 bits
        store = self.dest_store[self.combo_arc[_starts(self.combo_of)]].astype(np.int64) if self.n_combo else np.zeros(0, np.int64)
        self.group_keys, self.combo_group = np.unique((store * width + self.combo_full) * width + self.combo_mask,
                                                      return_inverse=True)
        patterns = np.unique(store * width + self.combo_full)
        p_store, p_full = patterns // width, patterns % width
        # every (subset, pattern of the same store) pair
        sub_order = np.argsort(self.sub_store, kind="stable")
        first_sub = np.searchsorted(self.sub_store[sub_order], np.arange(n_stores))
        reps = np.bincount(self.sub_store, minlength=n_stores)[p_store]
        pattern_row = np.repeat(np.arange(len(patterns)), reps)
        sub_row = sub_order[np.repeat(first_sub[p_store], reps) + _ranks(reps)]
        meet = self.sub_mask[sub_row] & p_full[pattern_row]
        key = (p_store[pattern_row] * width + p_full[pattern_row]) * width + meet
        found = np.minimum(np.searchsorted(self.group_keys, key), max(len(self.group_keys) - 1, 0))
        ok = (meet > 0) & (self.group_keys[found] == key) if len(self.group_keys) else meet > 0
        self.meet_sub, self.meet_group = sub_row[ok], found[ok]

    def reduced_cost(self, price: np.ndarray, headroom_price: np.ndarray) -> np.ndarray:
        """Each arc's unit cost with the prices: freight, plus the origin's unit value, plus headroom."""
        m = self.m
        d = self.unit_cost + price[m.src] - np.where(self.priced[m.dst], price[m.dst], 0.0)
        d -= np.where(self.dest_store >= 0, headroom_price[np.maximum(self.dest_store, 0)], 0.0)
        d += np.where(self.orig_store >= 0, headroom_price[np.maximum(self.orig_store, 0)], 0.0)
        return d

    def evaluate(self, price: np.ndarray, headroom_price: np.ndarray) -> Relaxed:
        """The relaxation at these prices (``headroom_price`` <= 0): its value bounds the day's plan."""
        m = self.m
        d = self.reduced_cost(price, headroom_price)
        units, combo_value = self._combo_units(d)
        subset_value = np.bincount(self.pair_sub, self.fixed[self.pair_route] + self._linear_route(d)[self.pair_route],
                                   minlength=len(self.sub_mask))
        group_value = np.bincount(self.combo_group, combo_value, minlength=len(self.group_keys))
        subset_value += np.bincount(self.meet_sub, group_value[self.meet_group], minlength=len(self.sub_mask))
        best = self._best_subsets(subset_value)
        chosen_mask = np.zeros(len(self.headroom), int)
        chosen_mask[self.sub_store[best]] = self.sub_mask[best]
        open_routes = np.flatnonzero((chosen_mask[self.store_of_route] >> self.route_bit) & 1 == 1)
        is_open = np.zeros(len(self.fixed), bool)
        is_open[open_routes] = True
        x = np.zeros(len(d))
        lin = self.linear[is_open[m.route_of[self.linear]] & (d[self.linear] < 0)]
        x[lin] = self.upper[lin]
        # the chosen combo of each receiving position: the one whose mask is its store's choice ∩ its arcs
        choice = chosen_mask[self.dest_store[self.combo_arc]] & self.combo_full[self.combo_of]
        used = self.combo_mask[self.combo_of] == choice
        x[self.combo_arc[used]] = units[used]
        # the priced positions' own steps, each taken when its reduced cost is negative
        down = m.down_loss - price[m.down_pos]
        up_priced = self.priced[m.up_pos]
        up = price[m.up_pos[up_priced]] - m.up_gain[up_priced]
        value = (subset_value[best].sum() + np.minimum(down, 0).sum() + np.minimum(up, 0).sum()
                 + headroom_price @ self.headroom)
        # steps whose reduced cost is nil (prices read off an LP sit on them) may be taken or not
        tie = TIE * (1.0 + np.abs(price))
        self._last = (x, down < 0, up < 0, up_priced, np.abs(down) <= tie[m.down_pos],
                      np.abs(up) <= tie[m.up_pos[up_priced]])
        return Relaxed(-float(value), open_routes)

    def _combo_units(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per combo arc: the units it carries when its combo serves the position; per combo: the value."""
        m = self.m
        cost = d[self.combo_arc]
        order = np.lexsort((cost, self.combo_of))
        arc, cost, combo = self.combo_arc[order], cost[order], self.combo_of[order]
        cap = self.upper[arc].astype(np.int64)
        lo = np.cumsum(cap) - cap
        lo -= (np.cumsum(cap) - cap)[_starts(combo)][combo]  # units the combo's cheaper arcs fill first
        position = m.dst[arc]
        lo = np.minimum(lo, m.n_up[position])  # cheaper arcs that could fill every step leave none
        reach = self.spread / 4  # beyond every gain: clipping keeps the search inside the position's keys
        paying = np.searchsorted(self.step_key, position * self.spread - np.clip(cost, -reach, reach)) - self.up_start[position]
        top = np.minimum(lo + cap, np.minimum(paying, m.n_up[position]))
        n = np.maximum(top - lo, 0)
        start = self.up_start[position]
        value = n * cost - (self.gain_sum[start + lo + n] - self.gain_sum[start + lo])
        units = np.empty_like(n, dtype=float)
        units[order] = n
        return units, np.bincount(combo, value, minlength=self.n_combo)

    def _linear_route(self, d: np.ndarray) -> np.ndarray:
        """Per route: what its arcs into priced positions earn when it is open (each at its full bound)."""
        lin = self.linear
        return np.bincount(self.m.route_of[lin], np.minimum(d[lin], 0.0) * self.upper[lin], minlength=len(self.fixed))

    def _best_subsets(self, subset_value: np.ndarray) -> np.ndarray:
        """Per store, the subset worth most (most negative); none where opening nothing is best."""
        order = np.lexsort((subset_value, self.sub_store))
        first = order[_starts(self.sub_store[order])]
        return first[subset_value[first] < 0]

    def slopes(self) -> tuple[np.ndarray, np.ndarray]:
        """The subgradient at the last evaluation: each priced position's units over-given (balance
        violated) and each store's headroom left; prices move along it.

        Where a position's own step costs nothing at its price (a tie), taking it or not are both
        answers, and so both slopes are subgradients: the one nearest balance is used. Prices read off
        an LP sit on such ties at nearly every position; breaking them all one way gave a slope so long
        that no step from there lowered the bound (a `large` day's regions stalled at 2.2 % above the plan).
        """
        m = self.m
        x, down_taken, up_taken, up_priced, down_tie, up_tie = self._last
        n = len(m.p)
        net = (np.bincount(m.dst, x, minlength=n) - np.bincount(m.src, x, minlength=n)
               - np.bincount(m.up_pos[up_priced][up_taken], minlength=n)
               + np.bincount(m.down_pos[down_taken], minlength=n))
        more_down = np.bincount(m.down_pos[down_tie & ~down_taken], minlength=n)
        fewer_up = np.bincount(m.up_pos[up_priced][up_tie & up_taken], minlength=n)
        more_up = np.bincount(m.up_pos[up_priced][up_tie & ~up_taken], minlength=n)
        fewer_down = np.bincount(m.down_pos[down_tie & down_taken], minlength=n)
        net = np.clip(0.0, net - more_up - fewer_down, net + more_down + fewer_up)
        balance = np.where(self.priced, -net, 0.0)
        k = len(self.headroom)
        into = np.bincount(self.dest_store[self.dest_store >= 0], x[self.dest_store >= 0], minlength=k)
        out = np.bincount(self.orig_store[self.orig_store >= 0], x[self.orig_store >= 0], minlength=k)
        return balance, self.headroom - (into - out)

    def first_prices(self) -> tuple[np.ndarray, np.ndarray]:
        """Start: a donor's unit is worth what the first unit it gives would lose; a position that also
        receives, what its next unit would gain (no more: it would buy at that). A store's headroom is
        worth what the last unit that fits would earn when every route is open."""
        m = self.m
        price = np.zeros(len(m.p))
        first_down, first_up = np.cumsum(m.n_down) - m.n_down, np.cumsum(m.n_up) - m.n_up
        has = m.n_down > 0
        price[has] = m.down_loss[first_down[has]]
        has = (m.n_up > 0) & self.priced
        price[has] = m.up_gain[first_up[has]]
        return price, self._headroom_prices(self.reduced_cost(price, np.zeros(len(self.headroom))))

    def _headroom_prices(self, d: np.ndarray) -> np.ndarray:
        """Per store, minus the earnings of the unit at its headroom (0 where everything that pays fits)."""
        m = self.m
        units, _ = self._combo_units(d)
        full = self.combo_mask[self.combo_of] == self.combo_full[self.combo_of]
        arc, n = self.combo_arc[full], units[full].astype(np.int64)
        # the arcs of a full combo in cost order fill the position's steps one after another
        order = np.lexsort((d[arc], m.dst[arc]))
        arc, n = arc[order], n[order]
        position = m.dst[arc]
        before = np.cumsum(n) - n
        before -= before[_starts(position)][np.cumsum(np.r_[True, position[1:] != position[:-1]]) - 1]
        row = np.repeat(np.arange(len(arc)), n)
        step = self.up_start[position[row]] + before[row] + _ranks(n)
        earns = m.up_gain[step] - d[arc[row]]
        store = self.dest_store[arc[row]]
        order = np.lexsort((-earns, store))
        store, earns = store[order], earns[order]
        rank = _ranks(np.bincount(store, minlength=len(self.headroom)))
        at_limit = rank == self.headroom[store].astype(np.int64)  # the first unit that does not fit
        prices = np.zeros(len(self.headroom))
        prices[store[at_limit]] = -earns[at_limit]
        return prices


@dataclass
class Search:
    """What the price search found: the tightest bound, and the best plan among the route choices tried.
    ``timed_out``: it stopped at the deadline, not its step budget, so a re-run may find another plan."""

    bound: float
    plan_value: float
    x: np.ndarray  # units per arc of the best plan
    steps: int
    timed_out: bool = False
    routes: np.ndarray | None = None  # the route choice at the best prices


def search(pricing: StorePricing, price: np.ndarray, headroom_price: np.ndarray, deadline: float,
           plan_on: Callable[[np.ndarray], tuple[float, np.ndarray]], gap: float = 1e-4,
           plan_every: int | None = 10, patience: int = 10, most_steps: int = 60, plan_last: bool = True) -> Search:
    """Subgradient steps on the prices (Polyak's step towards the best plan's value) until the plan is
    within ``gap`` of the bound, the steps have shrunk to nothing, or ``most_steps`` are taken. Steps, not
    seconds, are the budget, so the same day gives the same plan on every run; ``deadline``
    (``time.perf_counter()``) is only a ceiling for a slow machine. ``plan_on(open_routes)`` turns a route
    choice into a plan: (value, units), for the first prices, every ``plan_every`` steps (None: never) and,
    with ``plan_last``, the best prices at the end (their route choice is returned either way). The step is
    halved, and the prices go back to the best seen, after ``patience`` steps that did not lower the bound
    by a real amount. Each step's direction keeps part of
    the last one (``DEFLECTION``), which damps the zig-zag of plain subgradient steps."""
    relaxed = pricing.evaluate(price, headroom_price)
    best = _Best(relaxed.value, (price, headroom_price), *plan_on(relaxed.open_routes), {relaxed.open_routes.tobytes()})
    theta, stalled, steps, lap, timed_out = 1.0, 0, 0, time.perf_counter(), False
    direction = None
    while theta > 1e-4 and steps < most_steps:
        # stop while one more step and the closing plan still fit before the deadline
        if time.perf_counter() + 2 * (time.perf_counter() - lap) >= deadline:
            timed_out = True
            break
        lap = time.perf_counter()
        slope = _projected(pricing.slopes(), headroom_price)
        if best.bound - best.plan_value <= gap * abs(best.plan_value) or _norm(slope) < 1e-12:
            break  # close enough, or no price change can lower the bound
        direction = slope if direction is None else tuple(
            DEFLECTION * g + (1 - DEFLECTION) * d for g, d in zip(slope, direction))
        step = theta * max(relaxed.value - best.plan_value, 1e-6 * abs(best.plan_value)) / max(_norm(direction), 1e-12)
        price, headroom_price = price + step * direction[0], np.minimum(headroom_price + step * direction[1], 0.0)
        relaxed = pricing.evaluate(price, headroom_price)
        steps += 1
        stalled = 0 if relaxed.value < best.bound - 1e-5 * abs(best.bound) else stalled + 1  # a crawl is a stall
        best.bound_at(relaxed.value, (price, headroom_price))
        if plan_every and steps % plan_every == 0:
            best.plan_from(relaxed.open_routes, plan_on)
        if stalled >= patience:  # back to the best prices with a shorter step
            theta, stalled, direction = theta / 2, 0, None
            price, headroom_price = best.prices
            relaxed = pricing.evaluate(price, headroom_price)
    routes = pricing.evaluate(*best.prices).open_routes
    if plan_last:
        best.plan_from(routes, plan_on)
    return Search(best.bound, best.plan_value, best.x, steps, timed_out, routes)


@dataclass
class _Best:
    """The search's best bound (with its prices) and best plan, and the route choices already planned."""

    bound: float
    prices: tuple
    plan_value: float
    x: np.ndarray
    tried: set

    def bound_at(self, value: float, prices: tuple) -> None:
        if value < self.bound:
            self.bound, self.prices = value, prices

    def plan_from(self, open_routes: np.ndarray, plan_on) -> None:
        if open_routes.tobytes() in self.tried:
            return
        self.tried.add(open_routes.tobytes())
        value, x = plan_on(open_routes)
        if value > self.plan_value:
            self.plan_value, self.x = value, x


def _projected(slope: tuple[np.ndarray, np.ndarray], headroom_price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slope without the headroom it cannot move: a price already at 0 (headroom to spare) stays 0.
    Left in, the spare headroom of every roomy store swamped the step's length."""
    balance, headroom = slope
    return balance, np.where((headroom_price >= 0) & (headroom > 0), 0.0, headroom)


def _norm(slope: tuple[np.ndarray, np.ndarray]) -> float:
    return float(sum(part @ part for part in slope))


def _starts(sorted_ids: np.ndarray) -> np.ndarray:
    """Index of the first row of each run of equal ids in a sorted array."""
    return np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]) if len(sorted_ids) else np.zeros(0, int)


def _popcount(values: np.ndarray) -> np.ndarray:
    """Routes in each subset (bits set)."""
    count = np.zeros(len(values), dtype=int)
    for bit in range(int(values.max(initial=0)).bit_length()):
        count += (values >> bit) & 1
    return count


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c − 1 for each count c, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
