"""The daily plan as a notebook runs it: read, plan, write, and the tables and charts to show.

``make_plan`` reads the stock position, the horizon's forecast and the
prices through the session, plans with the chosen strategy and returns a
:class:`DayPlan`. ``write`` replaces the as-of date's plan in the marts.
Strategies (configuration, ``strategy=``):

- ``workbench``: the optimiser (``planning.plan_day``);
- ``sell_one_replenish_one``, ``proportional_to_sales``,
  ``size_break_replenishment``, ``slow_stock_swap``: the business's rules
  alone (``strategies``), for comparison or as a fallback.

Whatever the strategy, the plan respects the allocation review of earlier days
(``approvals.planner_feedback``): approved moves not shipped yet count as
committed stock, and a route × SKU rejected recently is not proposed again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.allocation import approvals, inputs, output, strategies
from workbench.allocation.optimizer import Plan
from workbench.allocation.planning import PlanningSettings, load_planning_settings, plan_day, shop_positions
from workbench.allocation.routes import load_route_book, route_table
from workbench.allocation.rules import RuleContext

__all__ = ["STRATEGIES", "DayPlan", "make_plan", "size_breaks"]

STRATEGIES = ("workbench", "sell_one_replenish_one", "proportional_to_sales", "size_break_replenishment",
              "slow_stock_swap")
RULE_LOOK_BACK_DAYS = {"sell_one_replenish_one": 7, "proportional_to_sales": 28, "slow_stock_swap": 14}


@dataclass
class DayPlan:
    as_of: dt.date
    strategy: str
    moves: pd.DataFrame
    report: Plan
    stock: pd.DataFrame
    stores: pd.DataFrame
    products: pd.DataFrame
    settings: PlanningSettings
    feedback: approvals.Feedback = field(default_factory=approvals.Feedback)  # from the review of earlier days

    def describe(self) -> str:
        shipments = len(self.moves.drop_duplicates(["origin", "dest"])) if len(self.moves) else 0
        return (f"{self.strategy} plan after the close of {self.as_of}: {len(self.moves)} moves, "
                f"{int(self.moves['units'].sum()) if len(self.moves) else 0} units in {shipments} shipments; "
                f"solver: {self.report.status}, gap {self.report.gap:.2%}, {self.report.solve_s:.1f} s"
                + ("" if self.report.repeatable else "; the time limit bound, so a re-run may plan otherwise: "
                   "raise allocation.time_limit_s")
                + f"; review: {self.feedback.describe()}")

    def impact(self) -> pd.DataFrame:
        """Per relation (DC, same city, same region): moves, units, shipments, expected units, margin, freight."""
        if self.moves.empty:
            return pd.DataFrame(columns=["relation", "moves", "units", "shipments", "expected_units_gained",
                                         "expected_margin", "freight", "net_benefit"])
        m = self.moves.assign(route=self.moves["origin"].astype(str) + ">" + self.moves["dest"].astype(str))
        return m.groupby("relation", as_index=False).agg(
            moves=("sku_id", "size"), units=("units", "sum"), shipments=("route", "nunique"),
            expected_units_gained=("expected_units_gained", "sum"), expected_margin=("expected_margin", "sum"),
            freight=("freight", "sum"), net_benefit=("net_benefit", "sum")).round(2)

    def routes(self, top: int = 15) -> pd.DataFrame:
        """The shipments (origin → destination) with their units and net benefit, biggest first."""
        if self.moves.empty:
            return pd.DataFrame(columns=["from", "to", "relation", "skus", "units", "net_benefit"])
        code = self.stores.set_index("store_id")["store_code"]
        out = self.moves.groupby(["origin", "dest", "relation"], as_index=False).agg(
            skus=("sku_id", "nunique"), units=("units", "sum"), net_benefit=("net_benefit", "sum"))
        out.insert(0, "from", out.pop("origin").map(code))
        out.insert(1, "to", out.pop("dest").map(code))
        return out.sort_values("net_benefit", ascending=False).head(top).round(2).reset_index(drop=True)

    def size_breaks(self) -> pd.DataFrame:
        """Per store: styles on display with a core size missing (断码), before and after the plan."""
        after = _apply(self.stock, self.moves)
        before = size_breaks(self.stock, self.products, self.stores).rename(columns={"broken": "before"})
        later = size_breaks(after, self.products, self.stores).rename(columns={"broken": "after"})
        return before.merge(later, on="store_code", how="outer").fillna(0).astype({"before": int, "after": int})

    def binding(self) -> pd.DataFrame:
        """The limits the plan runs into (``constraint, where, detail``): a store at its shipment cap or
        out of room, a SKU the DC sends its last unit of. Moving nothing is always allowed, so a plan
        always exists; these are what would have to give for it to do more."""
        if self.moves.empty:
            return pd.DataFrame(columns=["constraint", "where", "detail"])
        code = self.stores.set_index("store_id")["store_code"]
        ships = self.moves.groupby("dest")["origin"].nunique()
        capped = ships[ships >= self.settings.max_shipments]
        rows = [("max_shipments", code.get(s, s), f"{n} shipments in (allocation.max_shipments)")
                for s, n in capped.items()]
        held = self.stock.groupby("location_id")["stock"].sum()
        shops = self.stores[self.stores["store_type"] != "dc"].set_index("store_id")
        net = self.moves.groupby("dest")["units"].sum().sub(self.moves.groupby("origin")["units"].sum(), fill_value=0)
        room = shops["capacity_units"] - held.reindex(shops.index).fillna(0)
        full = net.reindex(shops.index).fillna(0) >= room.clip(lower=0)
        rows += [("capacity", code.get(s, s), f"{int(room[s])} units of room left (core.stores.capacity_units)")
                 for s in shops.index[full & (net.reindex(shops.index).fillna(0) > 0)]]
        dc_ids = self.stores.loc[self.stores["store_type"] == "dc", "store_id"]
        dc = self.stock[self.stock["location_id"].isin(dc_ids)].groupby("sku_id")["stock"].sum()
        sent = self.moves[self.moves["origin"].isin(dc_ids)].groupby("sku_id")["units"].sum()
        rows += [("dc_stock", f"SKU {k}", f"all {int(dc[k])} units at the DC sent") for k in sent.index[sent >= dc.reindex(sent.index)]]
        return pd.DataFrame(rows, columns=["constraint", "where", "detail"])

    def write(self, session) -> dict[str, int]:
        """Replace the as-of date's plan in ``marts.replenishment_plan`` and ``marts.transfer_plan``."""
        return output.write_plan(session, self.moves, self.as_of, self.strategy)


def _apply(stock: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    if moves.empty:
        return stock
    delta = pd.concat([moves[["sku_id", "dest", "units"]].set_axis(["sku_id", "location_id", "stock"], axis=1),
                       moves[["sku_id", "origin", "units"]].set_axis(["sku_id", "location_id", "stock"], axis=1)
                       .assign(stock=lambda d: -d["stock"])])
    both = pd.concat([stock[["sku_id", "location_id", "stock"]], delta])
    return both.groupby(["sku_id", "location_id"], as_index=False)["stock"].sum()


def size_breaks(stock: pd.DataFrame, products: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """``store_code, broken``: style-colours a store shows (any size held) with a core size at 0 (断码)."""
    shops = stores[stores["store_type"] != "dc"]
    core = products.loc[products["is_core_size"].fillna(False), ["sku_id", "skc_id"]]
    held = stock[stock["stock"] > 0].merge(products[["sku_id", "skc_id"]], on="sku_id")
    shown = held[["location_id", "skc_id"]].drop_duplicates()
    wanted = shown.merge(core, on="skc_id")
    have = wanted.merge(held[["location_id", "sku_id"]], on=["location_id", "sku_id"], how="left", indicator=True)
    broken = have[have["_merge"] == "left_only"].drop_duplicates(["location_id", "skc_id"])
    counts = broken.groupby("location_id").size()
    return pd.DataFrame({"store_code": shops["store_code"].to_numpy(),
                         "broken": shops["store_id"].map(counts).fillna(0).astype(int).to_numpy()})


def make_plan(session, as_of, strategy: str = "workbench", settings: PlanningSettings | None = None,
              region: str | None = None) -> DayPlan:
    """Plan the moves to ship after the close of ``as_of`` (the stores of ``region``, or all)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    as_of = pd.Timestamp(as_of).date()
    settings = settings or load_planning_settings()
    stores = inputs.planning_stores(session)
    if region is not None:
        if region not in set(stores["region"].dropna()):
            raise ValueError(f"no stores in region {region!r}; regions: {sorted(stores['region'].dropna().unique())}")
        stores = stores[(stores["region"] == region) | (stores["store_type"] == "dc")]
    products = inputs.query(session, "select sku_id, skc_id, is_core_size from core.products")
    feedback = approvals.planner_feedback(session, as_of, settings)
    stock = approvals.apply_commitments(inputs.stock_position(session, as_of), feedback.committed)
    stock = stock[stock["location_id"].isin(stores["store_id"])]
    if strategy == "workbench":
        moves, report = _optimised(session, as_of, stock, stores, products, settings, feedback.blocked)
    else:
        moves, report = _rule(session, strategy, as_of, stock, stores, products, settings)
        moves = approvals.without_blocked(moves, feedback.blocked).reset_index(drop=True)
    return DayPlan(as_of, strategy, moves, report, stock, stores, products, settings, feedback)


def _optimised(session, as_of, stock, stores, products, settings, blocked=None):
    demand = inputs.horizon_forecast(session, as_of, settings.horizon_days)
    demand = demand[demand["store_id"].isin(stores["store_id"])]
    margins = inputs.margins_at(session, as_of, shop_positions(stock, demand, stores), stores).fillna({"margin": 0.0})
    sales = inputs.recent_sales(session, as_of, settings.rule_look_back_days) if settings.rules else None
    context = RuleContext(sales=sales, products=products)
    return plan_day(stock[["sku_id", "location_id", "stock"]], demand, stores, margins,
                    route_table(stores, load_route_book()), settings, context=context, blocked=blocked)


def _rule(session, strategy, as_of, stock, stores, products, settings):
    sales = inputs.recent_sales(session, as_of, RULE_LOOK_BACK_DAYS.get(strategy, 7))
    dc_id = int(stores.loc[stores["store_type"] == "dc", "store_id"].iloc[0])
    shops = stock[stock["location_id"] != dc_id].rename(columns={"location_id": "store_id", "stock": "on_hand"})
    shops = shops[["sku_id", "store_id", "on_hand"]]
    dc = stock[stock["location_id"] == dc_id].rename(columns={"stock": "units"})[["sku_id", "units"]]
    grades = stores[["store_id", "grade"]]
    sales = sales[sales["store_id"].isin(stores["store_id"])]
    if strategy == "sell_one_replenish_one":
        moves = strategies.sell_one_replenish_one(sales, dc, dc_id, grades)
    elif strategy == "proportional_to_sales":
        moves = strategies.proportional_to_sales(shops, sales, dc, dc_id, grades)
    elif strategy == "size_break_replenishment":
        moves = strategies.size_break_replenishment(shops, products, dc, dc_id, grades=grades)
    else:
        moves = strategies.slow_stock_swap(shops, sales, products, stores, keep=settings.min_display.get("default", 1))
    routes = route_table(stores, load_route_book())
    moves = moves.merge(routes[["origin", "dest", "relation", "lead_days", "unit_cost", "fixed_cost"]],
                        on=["origin", "dest"])
    shipment_units = moves.groupby(["origin", "dest"])["units"].transform("sum")
    moves["freight"] = moves["units"] * moves["unit_cost"] + moves["fixed_cost"] * moves["units"] / shipment_units
    for column in ("expected_units_gained", "expected_units_lost", "expected_margin", "net_benefit"):
        moves[column] = np.nan  # a rule does not price its moves
    report = Plan(moves, float("nan"), 0.0, f"rule: {strategy}", 0.0)
    return moves.drop(columns=["unit_cost", "fixed_cost"]), report
