"""The daily allocation MILP (调拨优化): which units to move where, solved with HiGHS.

Pure: it takes tables and returns tables (the session reads inputs, the
output module writes the plan). See ``README.md`` in this package for the model.
In short:

- ``positions``: one row per SKU × location that may give or take units.
  It carries the stock the plan starts from, the horizon's demand (``mean``,
  ``nb_size``), the ``margin`` a unit sold earns, and ``keep``, the units a
  donor must keep (its minimum display; 0 for the DC, which sells nothing:
  give it ``margin`` 0). An optional ``core_bonus`` is the size-break
  penalty (断码): what the first unit of a core size at 0 stock is worth on
  top of its expected sale, because it mends a broken size run on display.
- ``arcs``: candidate moves (``origin, dest, sku_id``), each with
  ``unit_cost``. ``routes`` (``origin, dest``) carry ``fixed_cost`` per
  shipment. A route used at all is one shipment that day.
- ``stores``: ``store_id``, ``headroom`` (capacity left) and ``max_shipments``
  in per day.

Each position's stock after the plan is its stock plus unit steps up (gain
``margin × P(D >= s + j)``) minus unit steps down (loss ``margin ×
P(D >= s - j + 1)``). Expected sales are concave in stock, so the LP takes
the steps in order and the piecewise-linear curve is exact at whole units.
``threshold`` is added to every shipment's fixed cost. A shipment in the
optimal plan therefore earns at least its freight plus the threshold:
dropping it would not pay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from workbench.allocation.expected_sales import tail, unit_ranks
from workbench.allocation.lagrangian import StorePricing, TooManyRoutes, search

__all__ = ["Plan", "PlanSettings", "solve"]

POSITION_COLUMNS = ("sku_id", "location_id", "stock", "mean", "nb_size", "margin", "keep")
ARC_COLUMNS = ("origin", "dest", "sku_id", "unit_cost")
ROUTE_COLUMNS = ("origin", "dest", "fixed_cost")
STORE_COLUMNS = ("store_id", "headroom", "max_shipments")


@dataclass(frozen=True)
class PlanSettings:
    threshold: float = 0.0  # extra benefit a shipment must bring beyond its freight (the business's trigger)
    max_units_in: int = 30  # most units one position may receive in a plan (bounds the unit steps)
    mip_gap: float = 1e-4  # stop when the plan is provably within this share of the optimum (HiGHS' default)
    time_limit_s: float = 60.0  # a ceiling for a slow machine: Plan.repeatable says when it bound
    # The work budgets, counted in steps and nodes rather than seconds, so that a re-run of the same day
    # plans the same moves.
    price_steps: int = 60  # subgradient steps of the price search (lagrangian.search)
    region_price_steps: int = 600  # the same, per region of a large day (regional.solve_by_region)
    branch_nodes: int = 1000  # HiGHS branch-and-bound nodes


SEARCH_SHARE = 0.8  # of the time limit: the price search's ceiling, leaving branch and bound the rest


@dataclass
class Plan:
    """The moves (one row per arc with units), the solver's report, and the expected effect."""

    moves: pd.DataFrame
    objective: float
    gap: float
    status: str
    solve_s: float
    repeatable: bool = True  # False when the time limit bound: a re-run of the same day may plan otherwise


@dataclass
class Relaxation:
    """The LP relaxation's optimum (a bound on any plan), units per arc, and its prices: the value of one
    more unit at each position (balance duals) and of one more unit of headroom per store (<= 0)."""

    bound: float
    x: np.ndarray
    y: np.ndarray  # share of each route's shipment opened
    unit_value: np.ndarray
    headroom_value: np.ndarray


def arc_positions(arcs: pd.DataFrame) -> pd.DataFrame:
    """The SKU × location keys the arcs start or end at, once each."""
    return pd.concat([arcs[["sku_id", "origin"]].set_axis(["sku_id", "location_id"], axis=1),
                      arcs[["sku_id", "dest"]].set_axis(["sku_id", "location_id"], axis=1)]).drop_duplicates()


def touched(positions: pd.DataFrame, arcs: pd.DataFrame) -> pd.DataFrame:
    """The positions the arcs start or end at."""
    return positions.merge(arc_positions(arcs), on=["sku_id", "location_id"])


def _check(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"{name} lacks the columns {sorted(missing)}")
    return frame.reset_index(drop=True)


def _validate(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame) -> None:
    if (stores["max_shipments"] < 0).any():
        bad = stores.loc[stores["max_shipments"] < 0, "store_id"].tolist()[:3]
        raise ValueError(f"negative max_shipments for stores {bad}: give 0 or more shipments a day")
    if (positions["stock"] < 0).any():
        bad = positions[positions["stock"] < 0].head(3)
        raise ValueError(f"negative stock at {bad[['sku_id', 'location_id', 'stock']].to_dict('records')}: "
                         "fix the stock position before planning")
    if positions.duplicated(["sku_id", "location_id"]).any():
        raise ValueError("positions repeat a SKU × location: give one row each")
    known = arcs.merge(routes[["origin", "dest"]], on=["origin", "dest"], how="left", indicator=True)
    orphan = known[known["_merge"] == "left_only"]
    if len(orphan):
        pair = orphan.iloc[0]
        raise ValueError(f"no route from {pair['origin']} to {pair['dest']}: add it to the route costs "
                         "(allocation.routes in workbench/conf/workbench.yaml) or drop the arc")


def solve(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame,
          settings: PlanSettings = PlanSettings()) -> Plan:
    """The moves that maximise expected margin − freight − threshold per shipment, in whole units."""
    return solve_arcs(*checked(positions, arcs, routes, stores), settings)[0]


def checked(positions: pd.DataFrame, arcs: pd.DataFrame, routes: pd.DataFrame, stores: pd.DataFrame):
    """The four tables with their columns checked and a fresh index; a ValueError says what to fix."""
    positions = _check(positions, POSITION_COLUMNS, "positions")
    arcs = _check(arcs, ARC_COLUMNS, "arcs")
    routes = _check(routes, ROUTE_COLUMNS, "routes")
    stores = _check(stores, STORE_COLUMNS, "stores")
    _validate(positions, arcs, routes, stores)
    return positions, arcs, routes, stores


def solve_arcs(positions, arcs, routes, stores, settings: PlanSettings) -> tuple[Plan, np.ndarray]:
    """The plan for checked tables, and the units on each arc in ``arcs``' order (for the decomposition)."""
    model = _Model(positions, arcs, routes, stores, settings)
    plan = model.run()
    return plan, model.x


class _Model:
    """Columns: arcs (integer units), routes (binary shipments), steps up, steps down; rows built alongside."""

    def __init__(self, positions, arcs, routes, stores, settings: PlanSettings):
        self.p, self.settings = positions, settings
        self.src, self.dst = arc_ends(positions, arcs)
        used = routes.merge(arcs[["origin", "dest"]].drop_duplicates(), on=["origin", "dest"])
        self.arcs, self.routes, self.stores = arcs, used.reset_index(drop=True), stores
        self.route_of = pd.MultiIndex.from_frame(self.routes[["origin", "dest"]]).get_indexer(
            pd.MultiIndex.from_frame(arcs[["origin", "dest"]]))
        steps = unit_steps(positions, arcs, self.src, self.dst, settings)
        self.up_pos, self.up_gain, self.n_up = steps.up_pos, steps.up_gain, steps.n_up
        self.down_pos, self.down_loss, self.n_down = steps.down_pos, steps.down_loss, steps.n_down
        self.arc_upper = paying_upper(self.p, self.arcs, self.stores, self.src, self.dst, steps)
        self.timed_out = False  # a solve here stopped at the time limit: its result may differ on a re-run

    def run(self) -> Plan:
        n_arc, n_route, n_up, n_down = len(self.arcs), len(self.routes), len(self.up_pos), len(self.down_pos)
        self.x = np.zeros(n_arc)
        if n_arc == 0:
            return Plan(_moves(self.arcs.iloc[:0], np.zeros(0)), 0.0, 0.0, "no candidate moves", 0.0)
        cost, upper = self._costs()
        integrality = np.concatenate([np.ones(n_arc + n_route), np.zeros(n_up + n_down)]).astype(int)
        rows, lower, upper_rows = self._rows(n_arc, n_route, n_up, n_down)
        started = time.perf_counter()
        relaxation, start = self._rounded_start(cost, upper, rows, lower, upper_rows, started)
        bound = relaxation.bound if relaxation is not None else np.inf
        if relaxation is not None and not self._within_gap(bound, float(-cost @ start)):
            bound, start = self._priced(relaxation, start, cost, started)
        if self._within_gap(bound, float(-cost @ start)):
            x, value, status = start[:n_arc], float(-cost @ start), "Optimal"  # within mip_gap, as HiGHS means it
            gap = (bound - value) / max(abs(value), 1e-9)
        else:
            x, value, gap, status = self._branch(cost, upper, integrality, rows, lower, upper_rows, start, bound, started)
        self.x = x = np.round(x)
        moves = explain_moves(self.p, self.src, self.dst, _moves(self.arcs, x), x)
        return Plan(moves, value, gap, status, time.perf_counter() - started, repeatable=not self.timed_out)

    def _within_gap(self, bound: float, value: float) -> bool:
        return bound - value <= self.settings.mip_gap * abs(value)

    def _priced(self, relaxation: Relaxation, start: np.ndarray, cost: np.ndarray, started: float):
        """The store-by-store relaxation from the LP's prices (``lagrangian``), for ``price_steps``: a
        tighter bound, and its best route choice as the start when it beats the rounded one."""
        try:
            pricing = StorePricing(self)
        except TooManyRoutes:
            return relaxation.bound, start
        found = search(pricing, relaxation.unit_value, relaxation.headroom_value,
                       started + SEARCH_SHARE * self.settings.time_limit_s, self.plan_on, self.settings.mip_gap,
                       most_steps=self.settings.price_steps)
        self.timed_out |= found.timed_out
        if found.plan_value > float(-cost @ start):
            start = self._full_solution(found.x)
        return min(relaxation.bound, found.bound), start

    def plan_on(self, open_routes: np.ndarray) -> tuple[float, np.ndarray]:
        """The best plan we find that ships on ``open_routes`` (rows of ``self.routes``) only: its value and
        units per arc. Solved on those routes' arcs alone, which is quick."""
        on = np.isin(self.route_of, open_routes)
        x = np.zeros(len(self.arcs))
        if not on.any():
            return 0.0, x
        arcs = self.arcs[on].reset_index(drop=True)
        routes = self.routes.iloc[open_routes].reset_index(drop=True)
        part = _Model(touched(self.p, arcs), arcs, routes, self.stores, self.settings)
        value, x[on] = part.on_routes(np.arange(len(part.routes)))
        self.timed_out |= part.timed_out
        return value, x

    def _full_solution(self, x: np.ndarray) -> np.ndarray:
        """Every column's value for the units per arc ``x``: routes used, and each position's steps up or
        down in order (a plan on fewer arcs never needs more steps than this model has)."""
        n = len(self.p)
        net = np.bincount(self.dst, x, minlength=n) - np.bincount(self.src, x, minlength=n)
        up = unit_ranks(self.n_up) < np.maximum(net, 0)[self.up_pos]
        down = unit_ranks(self.n_down) < np.maximum(-net, 0)[self.down_pos]
        used = np.bincount(self.route_of, x, minlength=len(self.routes)) > 0
        return np.concatenate([x, used, up, down]).astype(float)

    def _branch(self, cost, upper, integrality, rows, lower, upper_rows, start, bound, started):
        """HiGHS' branch and bound from the start, for ``branch_nodes``; the gap against the better bound.

        When the time limit stops it first, its incumbent depends on the machine's speed that day: the
        start is kept instead (with HiGHS' bound), so that a re-run plans the same moves, unless the start
        itself was cut short by time."""
        left = max(self.settings.time_limit_s - (time.perf_counter() - started), 1.0)
        highs = _highs(cost, upper, integrality, rows, lower, upper_rows, self.settings, time_limit_s=left)
        highs.setOptionValue("mip_max_nodes", self.settings.branch_nodes)
        if start.any():
            solution = highspy.HighsSolution()
            solution.col_value = list(start)
            solution.value_valid = True
            highs.setSolution(solution)
        highs.run()
        status, info = highs.modelStatusToString(highs.getModelStatus()), highs.getInfo()
        if np.isfinite(info.mip_dual_bound):
            bound = min(bound, -float(info.mip_dual_bound))
        timed_out = highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        if info.primal_solution_status != 2 or (timed_out and not self.timed_out):  # the start stands
            value = float(-cost @ start)
            if timed_out and info.primal_solution_status == 2:
                status = "Time limit reached: the plan before branch and bound, the same on a re-run"
            return start[:len(self.arcs)], value, max(bound - value, 0.0) / max(abs(value), 1e-9), status
        self.timed_out |= timed_out
        value = -float(info.objective_function_value)
        gap = max(bound - value, 0.0) / max(abs(value), 1e-9) if np.isfinite(bound) else 0.0
        return np.asarray(highs.getSolution().col_value[:len(self.arcs)]), value, gap, status

    def relax(self) -> Relaxation:
        """The LP relaxation: a bound no plan can beat, its (fractional) units per arc, and its prices."""
        if len(self.arcs) == 0:
            return Relaxation(0.0, np.zeros(0), np.zeros(0), np.zeros(len(self.p)), np.zeros(len(self.stores)))
        cost, upper = self._costs()
        relaxation = self._relaxation(cost, upper, *self._rows(len(self.arcs), len(self.routes), len(self.up_pos),
                                                               len(self.down_pos)))
        if relaxation is None:
            raise ValueError("the allocation LP relaxation could not be solved in the time limit")
        return relaxation

    def _relaxation(self, cost, upper, rows, lower, upper_rows) -> Relaxation | None:
        relaxed = self._lp(cost, upper, rows, lower, upper_rows)
        if relaxed is None:
            return None
        n_arc, n_route = len(self.arcs), len(self.routes)
        solution = relaxed.getSolution()
        col, duals = np.asarray(solution.col_value), np.asarray(solution.row_dual)
        headroom = duals[len(duals) - len(self.stores):]  # the last rows (see _rows)
        return Relaxation(-float(relaxed.getInfo().objective_function_value), col[:n_arc],
                          col[n_arc:n_arc + n_route], duals[:len(self.p)], np.minimum(headroom, 0.0))

    def _lp(self, cost, upper, rows, lower, upper_rows) -> highspy.Highs | None:
        """The LP relaxation, solved; None when it did not finish in the time limit."""
        relaxed = _highs(cost, upper, np.zeros(len(cost), int), rows, lower, upper_rows, self.settings)
        relaxed.run()
        self.timed_out |= relaxed.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        return relaxed if relaxed.modelStatusToString(relaxed.getModelStatus()) == "Optimal" else None

    def _costs(self) -> tuple[np.ndarray, np.ndarray]:
        n_route = len(self.routes)
        cost = np.concatenate([
            self.arcs["unit_cost"].to_numpy(float),
            self.routes["fixed_cost"].to_numpy(float) + self.settings.threshold,
            -self.up_gain, self.down_loss,
        ])  # minimised: freight and losses minus gains
        upper = np.concatenate([self.arc_upper, np.ones(n_route), np.ones(len(self.up_pos)), np.ones(len(self.down_pos))])
        return cost, upper

    def _rounded_start(self, cost, upper, rows, lower, upper_rows, started) -> tuple[Relaxation | None, np.ndarray]:
        """The LP relaxation, and a first plan for HiGHS to improve on: the LP's busiest routes, up to each
        store's shipment cap, opened; the others shut (``_on_routes``). Without an LP in time: no
        relaxation, and the empty plan (moving nothing is always allowed)."""
        relaxation = self._relaxation(cost, upper, rows, lower, upper_rows)
        if relaxation is None:
            return None, np.zeros(len(cost))
        ranked = self.routes.assign(y=relaxation.y, k=np.arange(len(self.routes)))
        ranked = ranked[ranked["y"] > 1e-6].sort_values(["dest", "y"], ascending=[True, False], kind="stable")
        cap = ranked["dest"].map(self.stores.set_index("store_id")["max_shipments"]).fillna(np.inf)
        chosen = ranked.loc[ranked.groupby("dest").cumcount().to_numpy() < cap.to_numpy(), "k"].to_numpy()
        return relaxation, self._on_routes(chosen, cost, upper, rows, lower, upper_rows, started)

    def on_routes(self, chosen: np.ndarray) -> tuple[float, np.ndarray]:
        """The best plan that ships on the ``chosen`` routes (rows of ``self.routes``) only: its value and
        the units per arc (all zero when none was found in the time limit)."""
        cost, upper = self._costs()
        rows, lower, upper_rows = self._rows(len(self.arcs), len(self.routes), len(self.up_pos), len(self.down_pos))
        start = self._on_routes(chosen, cost, upper, rows, lower, upper_rows, time.perf_counter())
        return float(-cost @ start), start[:len(self.arcs)]

    def _on_routes(self, chosen, cost, upper, rows, lower, upper_rows, started) -> np.ndarray:
        """The chosen routes opened, the others shut, then the LP again. With the routes fixed the rest is
        nearly a network flow, whose optimum is in whole units, so the result is a feasible plan."""
        n_arc, n_route = len(self.arcs), len(self.routes)
        shut = np.setdiff1d(np.arange(n_route), chosen)
        start = None
        for whole_units in (False, True):  # the LP on fixed routes is a near-network flow: usually whole already
            integrality = np.concatenate([np.full(n_arc, int(whole_units)), np.zeros(len(cost) - n_arc, int)])
            left = max(self.settings.time_limit_s - (time.perf_counter() - started), 2.0)
            fixed = _highs(cost, upper, integrality, rows, lower, upper_rows, self.settings, time_limit_s=left)
            fixed.changeColsBounds(len(shut), (n_arc + shut).astype(np.int32), np.zeros(len(shut)), np.zeros(len(shut)))
            fixed.changeColsBounds(len(chosen), (n_arc + chosen).astype(np.int32), np.ones(len(chosen)),
                                   np.ones(len(chosen)))
            fixed.run()
            self.timed_out |= fixed.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
            if fixed.getInfo().primal_solution_status != 2:
                break
            start = np.asarray(fixed.getSolution().col_value)
            if np.abs(start[:n_arc] - np.round(start[:n_arc])).max(initial=0) < 1e-6:
                break
            start = None
        if start is None:
            return np.zeros(len(cost))  # moving nothing is always allowed
        start[:n_arc] = np.round(start[:n_arc])
        # a route opened but left empty would still pay for a shipment: shut it
        start[n_arc:n_arc + n_route] = np.bincount(self.route_of, start[:n_arc], minlength=n_route) > 0
        return start

    def _rows(self, n_arc, n_route, n_up, n_down):
        """Balance per position, x <= M y per arc, shipments and headroom per store."""
        n_pos = len(self.p)
        arc_cols = np.arange(n_arc)
        route_cols = n_arc + np.arange(n_route)
        up_cols = n_arc + n_route + np.arange(n_up)
        down_cols = n_arc + n_route + n_up + np.arange(n_down)
        blocks = []
        # balance: units in - units out - steps up + steps down = 0
        blocks.append((self.dst, arc_cols, np.ones(n_arc)))
        blocks.append((self.src, arc_cols, -np.ones(n_arc)))
        blocks.append((self.up_pos, up_cols, -np.ones(n_up)))
        blocks.append((self.down_pos, down_cols, np.ones(n_down)))
        lower, upper = [np.zeros(n_pos)], [np.zeros(n_pos)]
        row = n_pos
        # linking: x_a - M_a y_r <= 0, M_a = the most the arc can carry (tight M, tight LP bound)
        big_m = self.arc_upper
        blocks.append((row + arc_cols, arc_cols, np.ones(n_arc)))
        blocks.append((row + arc_cols, route_cols[self.route_of], -big_m))
        lower.append(np.full(n_arc, -np.inf))
        upper.append(np.zeros(n_arc))
        row += n_arc
        stores = self.stores.set_index("store_id")
        dest_store = stores.index.get_indexer(self.routes["dest"])
        has = dest_store >= 0
        # shipments into a store: sum of its routes' y <= max_shipments
        blocks.append((row + dest_store[has], route_cols[has], np.ones(has.sum())))
        lower.append(np.full(len(stores), -np.inf))
        upper.append(stores["max_shipments"].to_numpy(float))
        row += len(stores)
        # headroom: units in - units out <= headroom; a store already over capacity takes nothing net
        # (it is not forced to shed stock, which could leave the plan with no solution at all)
        arc_dest = stores.index.get_indexer(self.arcs["dest"])
        arc_orig = stores.index.get_indexer(self.arcs["origin"])
        blocks.append((row + arc_dest[arc_dest >= 0], arc_cols[arc_dest >= 0], np.ones((arc_dest >= 0).sum())))
        blocks.append((row + arc_orig[arc_orig >= 0], arc_cols[arc_orig >= 0], -np.ones((arc_orig >= 0).sum())))
        lower.append(np.full(len(stores), -np.inf))
        upper.append(np.maximum(stores["headroom"].to_numpy(float), 0.0))
        row += len(stores)
        r, c, v = (np.concatenate(parts) for parts in zip(*blocks))
        matrix = sparse.csc_matrix((v, (r, c)), shape=(row, n_arc + n_route + n_up + n_down))
        return matrix, np.concatenate(lower), np.concatenate(upper)


def explain_moves(p: pd.DataFrame, src: np.ndarray, dst: np.ndarray, moves: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
    """Per move: expected extra units sold at the destination, lost at the origin, margin, freight."""
    if moves.empty:
        return moves
    moved = x > 0
    dst, src, units = dst[moved], src[moved], x[moved].astype(int)
    stock, margin = p["stock"].to_numpy(int), p["margin"].to_numpy(float)
    mean, k = p["mean"].to_numpy(float), p["nb_size"].to_numpy(float)
    # the moves are the arcs with units, in arc order: units sent to (taken from) the same position
    # by earlier rows come first
    before_in = pd.Series(units).groupby(dst).cumsum().to_numpy() - units
    before_out = pd.Series(units).groupby(src).cumsum().to_numpy() - units
    row, step = np.repeat(np.arange(len(units)), units), unit_ranks(units)
    d, o = dst[row], src[row]
    gained = tail(mean[d], k[d], stock[d] + before_in[row] + step + 1)
    lost = tail(mean[o], k[o], stock[o] - before_out[row] - step)
    moves["expected_units_gained"] = np.bincount(row, gained, minlength=len(units))
    moves["expected_units_lost"] = np.bincount(row, lost, minlength=len(units))
    moves["expected_margin"] = (moves["expected_units_gained"] * margin[dst]
                                - moves["expected_units_lost"] * margin[src])
    moves["freight_variable"] = moves["units"] * moves["unit_cost"]
    return moves


def arc_ends(positions: pd.DataFrame, arcs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of each arc's origin and destination positions (one hash lookup on SKU × location)."""
    width = int(max(positions["location_id"].max(), arcs["origin"].max(), arcs["dest"].max(), 0)) + 1
    key = pd.Index(positions["sku_id"].to_numpy(np.int64) * width + positions["location_id"].to_numpy(np.int64))
    sku = arcs["sku_id"].to_numpy(np.int64)
    src = key.get_indexer(sku * width + arcs["origin"].to_numpy(np.int64))
    dst = key.get_indexer(sku * width + arcs["dest"].to_numpy(np.int64))
    if (src < 0).any() or (dst < 0).any():
        raise ValueError("an arc's origin or destination has no position for its SKU: give both a position row")
    return src, dst


@dataclass
class Steps:
    """Unit steps that could pay, grouped by position in order (``*_pos`` sorted): the j-th step up of a
    position gains ``up_gain``, its j-th step down loses ``down_loss``; ``arc_upper`` bounds each arc."""

    up_pos: np.ndarray
    up_gain: np.ndarray
    n_up: np.ndarray
    down_pos: np.ndarray
    down_loss: np.ndarray
    n_down: np.ndarray
    arc_upper: np.ndarray


def unit_steps(p: pd.DataFrame, arcs: pd.DataFrame, src: np.ndarray, dst: np.ndarray, s: PlanSettings) -> Steps:
    """Unit steps per position, only those that could pay: up while the gain beats the cheapest
    freight in, down while the loss is below what the best destination would gain."""
    n = len(p)
    stock, margin = p["stock"].to_numpy(int), p["margin"].to_numpy(float)
    mean, k = p["mean"].to_numpy(float), p["nb_size"].to_numpy(float)
    cost = arcs["unit_cost"].to_numpy(float)
    cheapest_in = np.full(n, np.inf)
    np.minimum.at(cheapest_in, dst, cost)
    # gains fall with j, so the steps that pay are a prefix: step up only the positions still paying
    # 断码: the first unit of a core size missing on display also mends the size run (optional column)
    bonus = p["core_bonus"].to_numpy(float) * (stock == 0) if "core_bonus" in p else np.zeros(n)
    open_, gains = np.flatnonzero(np.isfinite(cheapest_in)), []
    for j in range(1, s.max_units_in + 1):
        gain = margin[open_] * tail(mean[open_], k[open_], stock[open_] + j) + (bonus[open_] if j == 1 else 0.0)
        pays = gain > cheapest_in[open_]
        open_ = open_[pays]
        gains.append((open_, gain[pays]))
    n_up = np.zeros(n, dtype=int)
    for rows, _ in gains:
        n_up[rows] += 1
    start = np.cumsum(n_up) - n_up
    up_gain = np.empty(int(n_up.sum()))
    for j, (rows, gain) in enumerate(gains):
        up_gain[start[rows] + j] = gain
    up_pos = np.repeat(np.arange(n), n_up)
    first_gain = np.zeros(n)
    if gains:
        first_gain[gains[0][0]] = gains[0][1]
    best_out = np.zeros(n)
    np.maximum.at(best_out, src, first_gain[dst] - cost)
    can_take = np.bincount(src, weights=n_up[dst], minlength=n).astype(int)
    room = np.minimum(np.maximum(stock - p["keep"].to_numpy(int), 0), can_take)
    room[best_out <= 0] = 0
    pos = np.repeat(np.arange(n), room)
    j = unit_ranks(room)  # 0 = the top unit held
    loss = margin[pos] * tail(mean[pos], k[pos], stock[pos] - j)
    worth = loss < best_out[pos]  # losses grow with j: a prefix again
    down_pos, down_loss = pos[worth], loss[worth]
    n_down = np.bincount(down_pos, minlength=n)
    arc_upper = np.minimum(n_down[src], n_up[dst]).astype(float)
    return Steps(up_pos, up_gain, n_up, down_pos, down_loss, n_down, arc_upper)


def paying_upper(p: pd.DataFrame, arcs: pd.DataFrame, stores: pd.DataFrame, src: np.ndarray, dst: np.ndarray,
                 steps: Steps) -> np.ndarray:
    """Each arc's bound tightened to the units it could carry alone with each one paying: its j-th unit's
    gain at the destination beats its j-th unit's loss at the origin plus the unit freight.

    Why it holds for an optimal plan: an arc's last unit gains at most its j-th gain (others may fill the
    destination first) and loses at least its j-th loss, so a unit beyond this count earns nothing and
    dropping it keeps the plan as good. Dropping it must also keep the plan feasible, so only arcs whose
    destination position passes nothing on, whose origin position receives nothing, and whose origin
    store's headroom could never bind (a store sending a unit less holds one more) are tightened. A
    tighter bound shrinks how much of a shipment the LP can buy with a share of its fixed cost: the LP
    bound of a realistic `large` day falls 0.8 %.
    """
    upper = steps.arc_upper.astype(int)
    n = len(p)
    store_index = pd.Index(stores["store_id"])
    into, out_of = store_index.get_indexer(arcs["dest"]), store_index.get_indexer(arcs["origin"])
    most_in = np.bincount(into[into >= 0], upper[into >= 0], minlength=len(stores))
    never_full = np.r_[stores["headroom"].to_numpy() >= most_in, True]  # the last entry: not a store (the DC)
    safe = ((np.bincount(src, minlength=n) == 0)[dst] & (np.bincount(dst, minlength=n) == 0)[src]
            & never_full[out_of])
    arc = np.repeat(np.arange(len(upper)), upper)
    j = unit_ranks(upper)
    gain = steps.up_gain[(np.cumsum(steps.n_up) - steps.n_up)[dst[arc]] + j]
    down_start = np.cumsum(steps.n_down) - steps.n_down  # upper <= n_down[src]: every j has its step
    loss = steps.down_loss[np.minimum(down_start[src[arc]] + j, max(len(steps.down_loss) - 1, 0))]
    pays = gain - loss - arcs["unit_cost"].to_numpy(float)[arc] > 0  # gains fall and losses rise: a prefix
    return np.where(safe, np.bincount(arc[pays], minlength=len(upper)), upper).astype(float)


def _moves(arcs: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
    out = arcs.loc[x > 0, ["origin", "dest", "sku_id", "unit_cost"]].copy()
    out["units"] = x[x > 0].astype(int)
    return out.reset_index(drop=True)


def _highs(cost, upper, integrality, matrix, row_lower, row_upper, settings: PlanSettings,
           time_limit_s: float | None = None) -> highspy.Highs:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), matrix.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, np.zeros(len(cost)), upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integrality]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", settings.mip_gap)
    highs.setOptionValue("time_limit", time_limit_s or settings.time_limit_s)
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    return highs
