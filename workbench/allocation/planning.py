"""One day's plan (智能调拨): from stock, forecast and routes to explained moves.

Pure: tables in, tables out. :func:`plan_day` builds the optimiser's
candidate problem (:func:`candidate_problem`), solves it and explains each
move in words a store manager can approve. The session work (reading stock
and the forecast, writing the plan) lives in ``inputs`` and ``output``.

Candidates keep the problem small without losing moves that could pay:

- a **receiver** is a store × SKU whose next unit would earn more than the
  cheapest freight of one unit into it;
- a **donor** is a store × SKU holding more than its minimum display whose
  top unit earns less than some receiver's next unit;
- the DC may send to every receiver of a SKU it holds; a store may send to
  receivers of its region (or anywhere, with ``cross_region``), and each
  receiver keeps only the ``donors_per_receiver`` donors that would gain most;
- a store→store route is a candidate only if its arcs' first units together
  could pay its fixed cost, and each store keeps its ``routes_per_store``
  most promising ones (it takes at most ``max_shipments`` a day anyway).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.allocation.decompose import solve_decomposed, solve_plan
from workbench.allocation.expected_sales import tail
from workbench.allocation.optimizer import Plan, PlanSettings, arc_positions
from workbench.allocation.regional import solve_by_region
from workbench.allocation.rules import RuleContext, allowed_donors, allowed_receivers, check_rules, weigh
from workbench.config import CONF_DIR

__all__ = ["PlanningSettings", "load_planning_settings", "shop_positions", "candidate_problem", "plan_day", "MOVE_COLUMNS"]

REGIONAL_FROM = 60_000  # positions: above this a day is solved region by region
MOVE_COLUMNS = ["origin", "dest", "sku_id", "units", "relation", "lead_days", "expected_units_gained",
                "expected_units_lost", "expected_margin", "freight", "net_benefit", "reason"]


@dataclass(frozen=True)
class PlanningSettings:
    horizon_days: int = 14  # expected sales counted over these days
    threshold: float = 400.0  # CNY a shipment must earn beyond its freight
    max_shipments: int = 2  # shipments into one store per day
    min_display: dict = field(default_factory=lambda: {"A": 2, "B": 1, "C": 1, "default": 1})
    donors_per_receiver: int = 3
    routes_per_store: int = 3  # store-to-store routes into a store worth considering (a binary each)
    mip_gap: float = 0.005
    time_limit_s: float = 60.0  # a ceiling: within it, the budgets below make a re-run plan the same moves
    price_steps: int = 60  # steps of the price search per plan
    region_price_steps: int = 600  # ... per region of a large day (planned by region)
    branch_nodes: int = 1000  # HiGHS branch-and-bound nodes
    max_units_in: int = 30
    rules: tuple = ()  # business rules inside the optimiser (workbench.allocation.rules)
    grade_weights: dict = field(default_factory=lambda: {"A": 1.15, "B": 1.0, "C": 0.9, "default": 1.0})
    ranking_top: int = 10  # sales_ranking: the style's best selling stores that may receive
    rule_look_back_days: int = 14  # the sales the rules look at
    size_break_penalty: float = 50.0  # CNY: a core size missing while its style is on display (断码)
    rejection_cooldown_days: int = 7  # a route × SKU rejected in review is not proposed again this long (approvals)
    commitment_days: int = 7  # an approved move not shipped counts as committed this long after its plan

    def __post_init__(self) -> None:
        if self.horizon_days < 1:
            raise ValueError("allocation.horizon_days must be 1 or more")
        if self.threshold < 0 or self.max_shipments < 0:
            raise ValueError("allocation.threshold and allocation.max_shipments cannot be negative")
        if min(self.price_steps, self.region_price_steps, self.branch_nodes) < 0:
            raise ValueError("allocation.price_steps, region_price_steps and branch_nodes cannot be negative")
        if self.rejection_cooldown_days < 0 or self.commitment_days < 0:
            raise ValueError("allocation.rejection_cooldown_days and allocation.commitment_days cannot be negative")
        if any(v < 0 for v in self.min_display.values()):
            raise ValueError("allocation.min_display cannot be negative")
        object.__setattr__(self, "rules", tuple(self.rules or ()))
        check_rules(self.rules, RuleContext(sales=pd.DataFrame(), products=pd.DataFrame()))  # names only here

    def solver(self) -> PlanSettings:
        return PlanSettings(threshold=self.threshold, max_units_in=self.max_units_in, mip_gap=self.mip_gap,
                            time_limit_s=self.time_limit_s, price_steps=self.price_steps,
                            region_price_steps=self.region_price_steps,
                            branch_nodes=self.branch_nodes)

    def keep(self, grades: pd.Series) -> np.ndarray:
        """The display quantity a donor keeps, by its grade (``default`` for ungraded stores)."""
        default = self.min_display.get("default", 1)
        return grades.map(lambda g: self.min_display.get(g, default)).to_numpy(int)


def load_planning_settings(config_file: Path | None = None, **overrides) -> PlanningSettings:
    """``allocation:`` of the settings file (``WB_CONFIG``), with keyword overrides (e.g. a notebook's parameters)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("allocation") or {}
    names = PlanningSettings.__dataclass_fields__
    values = {k: v for k, v in raw.items() if k in names}
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(overrides) - set(names)
    if unknown:
        raise ValueError(f"unknown planning settings {sorted(unknown)}; use {', '.join(names)}")
    return PlanningSettings(**values)


def shop_positions(stock: pd.DataFrame, demand: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """``sku_id, location_id`` of every shop × SKU with stock or demand: the positions that need a margin."""
    pairs = pd.concat([stock[["sku_id", "location_id"]],
                       demand[["sku_id", "store_id"]].rename(columns={"store_id": "location_id"})]).drop_duplicates()
    return pairs[pairs["location_id"].isin(stores.loc[stores["store_type"] != "dc", "store_id"])]


def _shops(stock: pd.DataFrame, demand: pd.DataFrame, stores: pd.DataFrame, margins: pd.DataFrame,
           settings: PlanningSettings) -> pd.DataFrame:
    """Every shop × SKU with stock or demand: stock, horizon demand, margin, the display it keeps, its region."""
    shop_ids = stores.loc[stores["store_type"] != "dc", "store_id"]
    held = stock[stock["location_id"].isin(shop_ids)][["sku_id", "location_id", "stock"]]
    wanted = demand.rename(columns={"store_id": "location_id"})[["sku_id", "location_id", "mean", "nb_size"]]
    wanted = wanted[wanted["location_id"].isin(shop_ids)]  # online stock is not planned here
    rows = held.merge(wanted, on=["sku_id", "location_id"], how="outer")
    rows = rows.fillna({"stock": 0, "mean": 0.0, "nb_size": np.inf})
    info = stores.set_index("store_id")
    rows["region"] = rows["location_id"].map(info["region"])
    rows["keep"] = settings.keep(rows["location_id"].map(info["grade"]))
    rows = rows.merge(margins[["sku_id", "location_id", "margin"]], on=["sku_id", "location_id"], how="left")
    if rows["margin"].isna().any():
        missing = rows[rows["margin"].isna()].head(3)[["sku_id", "location_id"]].to_dict("records")
        raise ValueError(f"no selling price for {missing}: every SKU planned needs a price and a unit cost")
    rows["stock"] = rows["stock"].astype(int)
    return rows


def _size_breaks(shops: pd.DataFrame, context: RuleContext | None, penalty: float) -> np.ndarray:
    """The penalty on each core size at 0 stock whose style is on display at the store (断码); 0 elsewhere."""
    if context is None or context.products is None or penalty <= 0:
        return np.zeros(len(shops))
    rows = shops[["sku_id", "location_id", "stock"]].merge(
        context.products[["sku_id", "skc_id", "is_core_size"]], on="sku_id", how="left")
    shown = rows.groupby(["location_id", "skc_id"])["stock"].transform("sum").to_numpy() > 0
    broken = shown & rows["is_core_size"].fillna(False).astype(bool).to_numpy() & (rows["stock"].to_numpy() <= 0)
    return np.where(broken, penalty, 0.0)


def _receivers_and_donors(shops: pd.DataFrame, cheapest_unit: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    mean, k, s, margin = (shops[c].to_numpy(float) for c in ("mean", "nb_size", "stock", "margin"))
    shops = shops.assign(next_gain=margin * tail(mean, k, s + 1) + shops["core_bonus"] * (s == 0),
                         top_loss=margin * tail(mean, k, s),
                         want=np.maximum(np.ceil(mean - s), 1), surplus=shops["stock"] - shops["keep"])
    receivers = shops[(shops["mean"] > 0) & (shops["next_gain"] > cheapest_unit)]
    best_gain = receivers.groupby("sku_id")["next_gain"].max()
    donors = shops[shops["stock"] > shops["keep"]]
    donors = donors[donors["top_loss"] < donors["sku_id"].map(best_gain).fillna(-np.inf)]
    return receivers, donors


def _store_arcs(receivers: pd.DataFrame, donors: pd.DataFrame, routes: pd.DataFrame, per_receiver: int,
                routes_per_store: int) -> pd.DataFrame:
    # pair receivers and donors within a region only, unless routes cross regions (fewer pairs to weigh)
    keys = ["sku_id"] if routes["relation"].eq("cross_region").any() else ["sku_id", "region"]
    pairs = receivers[[*keys, "location_id", "next_gain", "want"]].merge(
        donors[[*keys, "location_id", "top_loss", "surplus"]], on=keys, suffixes=("_d", "_o"))
    pairs = pairs.rename(columns={"location_id_d": "dest", "location_id_o": "origin"})
    pairs = pairs.merge(routes[["origin", "dest", "unit_cost"]], on=["origin", "dest"])  # allowed routes only
    pairs["edge"] = pairs["next_gain"] - pairs["top_loss"] - pairs["unit_cost"]
    pairs = pairs[pairs["edge"] > 0].sort_values(["sku_id", "dest", "edge", "origin"], ascending=[True, True, False, True])
    pairs = pairs.groupby(["sku_id", "dest"]).head(per_receiver)
    # a store takes few shipments a day, so only its most promising donor stores are worth a route binary
    pairs["potential"] = pairs["edge"] * np.minimum(pairs["want"], pairs["surplus"])  # rough: first unit's edge
    potential = pairs.groupby(["origin", "dest"], as_index=False)["potential"].sum()
    potential = potential.merge(routes[["origin", "dest", "fixed_cost"]], on=["origin", "dest"])
    potential = potential[potential["potential"] > potential["fixed_cost"]].sort_values(
        ["dest", "potential"], ascending=[True, False])
    best = potential.groupby("dest").head(routes_per_store)[["origin", "dest"]]
    return pairs.merge(best, on=["origin", "dest"])[["origin", "dest", "sku_id", "unit_cost"]]


def candidate_problem(stock: pd.DataFrame, demand: pd.DataFrame, stores: pd.DataFrame, margins: pd.DataFrame,
                      routes: pd.DataFrame, settings: PlanningSettings,
                      context: RuleContext | None = None, blocked: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The optimiser's inputs (``positions, arcs, routes, stores``) for one planning day.

    ``stock``: ``sku_id, location_id, stock`` (on hand + in transit; the DC too);
    ``demand``: ``sku_id, store_id, mean, nb_size`` over the horizon
    (:func:`~workbench.allocation.expected_sales.horizon_demand`);
    ``stores``: ``store_id, store_type, grade, region, capacity_units``;
    ``margins``: ``sku_id, location_id, margin`` (price there − unit cost);
    ``routes``: :func:`~workbench.allocation.routes.route_table`;
    ``context``: what ``settings.rules`` look at (:mod:`~workbench.allocation.rules`);
    ``blocked``: ``origin, dest, sku_id`` not to propose (rejected in review, :mod:`~workbench.allocation.approvals`).
    """
    check_rules(settings.rules, context)
    if (stock["stock"] < 0).any():
        bad = stock[stock["stock"] < 0].head(3)[["sku_id", "location_id", "stock"]].to_dict("records")
        raise ValueError(f"negative stock at {bad}: fix the stock position (core.inventory) before planning")
    dc_ids = stores.loc[stores["store_type"] == "dc", "store_id"].tolist()
    shops = _shops(stock, demand, stores, margins, settings)
    shops = weigh(shops, settings.rules, stores.set_index("store_id")["grade"], settings.grade_weights)
    shops["core_bonus"] = _size_breaks(shops, context, settings.size_break_penalty)
    receivers, donors = _receivers_and_donors(shops, float(routes["unit_cost"].min()) if len(routes) else np.inf)
    receivers = allowed_receivers(receivers, shops, settings.rules, context, settings.ranking_top)
    donors = allowed_donors(donors, settings.rules, context)
    dc = stock[stock["location_id"].isin(dc_ids) & (stock["stock"] > 0)]
    dc_arcs = dc[["location_id", "sku_id"]].rename(columns={"location_id": "origin"}).merge(
        receivers[["sku_id", "location_id"]].rename(columns={"location_id": "dest"}), on="sku_id")
    dc_arcs = dc_arcs.merge(routes[["origin", "dest", "unit_cost"]], on=["origin", "dest"])
    unrouted = set(receivers["location_id"]) - set(routes["dest"])
    if unrouted:
        raise ValueError(f"stores {sorted(unrouted)[:5]} have demand but no route in: add their region / city to "
                         "core.stores or the relation to allocation.routes")
    arcs = pd.concat([dc_arcs[["origin", "dest", "sku_id", "unit_cost"]],
                      _store_arcs(receivers, donors, routes[~routes["origin"].isin(dc_ids)],
                                  settings.donors_per_receiver, settings.routes_per_store)], ignore_index=True)
    if blocked is not None and len(blocked):
        from workbench.allocation.approvals import without_blocked

        arcs = without_blocked(arcs, blocked).reset_index(drop=True)
    positions = arc_positions(arcs).merge(shops, on=["sku_id", "location_id"], how="left")
    at_dc = positions["location_id"].isin(dc_ids)
    dc_stock = dc.set_index(["sku_id", "location_id"])["stock"]
    dc_rows = pd.MultiIndex.from_frame(positions.loc[at_dc, ["sku_id", "location_id"]])
    positions.loc[at_dc, "stock"] = dc_stock.reindex(dc_rows).to_numpy(float)
    positions.loc[at_dc, ["mean", "margin", "keep"]] = 0.0
    positions.loc[at_dc, "nb_size"] = np.inf
    positions = positions.astype({"stock": int, "keep": int})
    used = routes.merge(arcs[["origin", "dest"]].drop_duplicates(), on=["origin", "dest"])
    positions["core_bonus"] = positions["core_bonus"].fillna(0.0)
    return {"positions": positions[["sku_id", "location_id", "stock", "mean", "nb_size", "margin", "keep", "core_bonus"]],
            "arcs": arcs, "routes": used[["origin", "dest", "fixed_cost"]], "stores": _headroom(stock, stores, settings)}


def _headroom(stock: pd.DataFrame, stores: pd.DataFrame, settings: PlanningSettings) -> pd.DataFrame:
    shops = stores[stores["store_type"] != "dc"]
    held = stock.groupby("location_id")["stock"].sum()
    headroom = shops["capacity_units"].fillna(np.inf) - shops["store_id"].map(held).fillna(0)
    return pd.DataFrame({"store_id": shops["store_id"], "headroom": headroom.clip(lower=0),
                         "max_shipments": settings.max_shipments})


def plan_day(stock: pd.DataFrame, demand: pd.DataFrame, stores: pd.DataFrame, margins: pd.DataFrame,
             routes: pd.DataFrame, settings: PlanningSettings, solver=None,
             context: RuleContext | None = None, blocked: pd.DataFrame | None = None) -> tuple[pd.DataFrame, Plan]:
    """The day's moves (``MOVE_COLUMNS``), each explained, and the solver's report.

    ``solver`` (optional) has :func:`~workbench.allocation.optimizer.solve`'s signature. By default a day
    of up to ``REGIONAL_FROM`` positions is one MILP, a larger one is solved region by region
    (:mod:`~workbench.allocation.regional`), with the gap against a bound on the whole day.
    ``blocked``: route × SKU not to propose (:func:`candidate_problem`).
    """
    started = time.perf_counter()
    problem = candidate_problem(stock, demand, stores, margins, routes, settings, context, blocked)
    if problem["arcs"].empty:  # nothing could pay its freight today
        return explain(problem["arcs"], routes, settings), Plan(problem["arcs"], 0.0, 0.0, "no candidate moves", 0.0)
    if solver is None and len(problem["positions"]) > REGIONAL_FROM and not routes["relation"].eq("cross_region").any():
        solver = partial(solve_by_region, region_of=stores.set_index("store_id")["region"])
    # the day's time limit covers building the candidates too
    left = replace(settings.solver(), time_limit_s=max(settings.time_limit_s - (time.perf_counter() - started), 1.0))
    plan = (solver or solve_plan)(**problem, settings=left)
    if not np.isfinite(plan.gap):  # no bound in time (not even the LP relaxation): the quick plan by parts
        quick = solve_decomposed(**problem, settings=left)
        plan = quick if quick.objective >= plan.objective else plan
    return explain(plan.moves, routes, settings), plan


def explain(moves: pd.DataFrame, routes: pd.DataFrame, settings: PlanningSettings) -> pd.DataFrame:
    """Each move with its relation, lead time, freight (its share of the shipment's fixed cost) and reason."""
    if moves.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in MOVE_COLUMNS})
    moves = moves.merge(routes[["origin", "dest", "relation", "lead_days", "fixed_cost"]], on=["origin", "dest"])
    shipment_units = moves.groupby(["origin", "dest"])["units"].transform("sum")
    moves["freight"] = moves["units"] * moves["unit_cost"] + moves["fixed_cost"] * moves["units"] / shipment_units
    moves["net_benefit"] = moves["expected_margin"] - moves["freight"]
    source = np.where(moves["relation"] == "dc", "DC replenishment", "transfer (调拨)")
    moves["reason"] = [
        f"{s}: +{g:.2f} expected units sold here"
        + (f", −{lost:.2f} at the donor" if lost > 0.005 else "")
        + f"; margin ¥{m:,.0f} vs freight ¥{f:,.0f}"
        for s, g, lost, m, f in zip(source, moves["expected_units_gained"], moves["expected_units_lost"],
                                    moves["expected_margin"], moves["freight"])
    ]
    return moves[MOVE_COLUMNS].sort_values(["dest", "origin", "sku_id"], kind="stable").reset_index(drop=True)
