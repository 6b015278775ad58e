"""The policies the benchmark replays, each deciding one day's moves from a :class:`~.replay.View`.

- ``no_transfer``: DC replenishment only, sell one replenish one (卖一补一) twice a week.
- ``weekly_rule``: the business today: the same replenishment, plus each
  Monday slow stock (3 units or more of a size, no sale in four weeks) moves
  to the region's best seller of the style (单店滞销换店).
- ``proportional``: each Monday the DC tops stores up to their share of the
  SKU's stock in proportion to the last four weeks' sales.
- ``workbench``: every day, the optimiser's plan (:func:`~.planning.plan_day`)
  from the latest weekly forecast.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from workbench.allocation import strategies
from workbench.allocation.expected_sales import horizon_demand
from workbench.allocation.planning import PlanningSettings, plan_day, shop_positions
from workbench.allocation.rules import RuleContext

__all__ = ["NoTransfer", "WeeklyRule", "Proportional", "Workbench", "POLICIES"]

REPLENISH_DAYS = {0: 4, 3: 3}  # Monday and Thursday: days of sales each cycle replaces


class NoTransfer:
    name = "no_transfer"

    def __init__(self, stores: pd.DataFrame, products: pd.DataFrame):
        self.stores, self.products = stores, products
        self.dc_id = int(stores.loc[stores["store_type"] == "dc", "store_id"].iloc[0])
        self.grades = stores[["store_id", "grade"]]

    def replenish(self, day: dt.date, view) -> pd.DataFrame:
        days = REPLENISH_DAYS.get(day.weekday())
        if days is None:
            return None
        return strategies.sell_one_replenish_one(view.sales(days), view.dc_stock(), self.dc_id, self.grades)

    def plan(self, day: dt.date, view) -> pd.DataFrame:
        return self.replenish(day, view)


class WeeklyRule(NoTransfer):
    name = "weekly_rule"
    look_back_days = 28  # slow: no sale in four weeks
    min_slow_units = 3  # a merchandiser moves a pile, not a single unit on display

    def plan(self, day: dt.date, view) -> pd.DataFrame:
        moves = self.replenish(day, view)
        if day.weekday() != 0:
            return moves
        shops = view.stock(with_transit=False).rename(columns={"location_id": "store_id", "stock": "on_hand"})
        shops = shops[(shops["store_id"] != self.dc_id) & (shops["on_hand"] >= self.min_slow_units)]
        swap = strategies.slow_stock_swap(shops, view.sales(self.look_back_days), self.products, self.stores)
        return pd.concat([moves, swap], ignore_index=True)


class Proportional(NoTransfer):
    name = "proportional"
    look_back_days = 28

    def plan(self, day: dt.date, view) -> pd.DataFrame:
        if day.weekday() != 0:
            return None
        shops = view.stock().rename(columns={"location_id": "store_id", "stock": "on_hand"})
        shops = shops[shops["store_id"] != self.dc_id]
        sales = view.sales(self.look_back_days)
        # the DC releases at most the look-back's chain-wide sales a week: stores hold weeks, not the season
        release = view.dc_stock().merge(sales.groupby("sku_id", as_index=False)["units"].sum(), on="sku_id",
                                        suffixes=("", "_sold"))
        release["units"] = release[["units", "units_sold"]].min(axis=1)
        return strategies.proportional_to_sales(shops, sales, release[["sku_id", "units"]], self.dc_id, self.grades)


class Workbench:
    """The optimiser every day, on the latest forecast made on or before the day."""

    name = "workbench"

    def __init__(self, stores: pd.DataFrame, forecasts: dict[dt.date, pd.DataFrame], settings: PlanningSettings,
                 solver=None):
        if not forecasts:
            raise ValueError("the workbench policy needs at least one forecast")
        self.stores, self.forecasts, self.settings = stores, dict(sorted(forecasts.items())), settings
        self.solver = solver
        self.last_solve: dict | None = None

    def demand(self, day: dt.date) -> pd.DataFrame:
        made = [as_of for as_of in self.forecasts if as_of <= day]
        if not made:
            raise ValueError(f"no forecast made on or before {day}")
        forecast = self.forecasts[made[-1]]
        dates = pd.to_datetime(forecast["date"])
        window = forecast[(dates > pd.Timestamp(day)) & (dates <= pd.Timestamp(day + dt.timedelta(self.settings.horizon_days)))]
        return horizon_demand(window)

    def plan(self, day: dt.date, view) -> pd.DataFrame:
        started = time.perf_counter()
        stock = view.stock()
        demand = self.demand(day)
        margins = view.replay.margins(day, shop_positions(stock, demand, self.stores)).fillna({"margin": 0.0})
        kwargs = {"solver": self.solver} if self.solver else {}
        context = RuleContext(sales=view.sales(self.settings.rule_look_back_days), products=view.data.products)
        moves, plan = plan_day(stock, demand, self.stores, margins, view.data.routes, self.settings, context=context,
                               **kwargs)
        self.last_solve = {"solve_s": plan.solve_s, "wall_s": time.perf_counter() - started, "gap": plan.gap,
                           "status": plan.status, "objective": plan.objective}
        return moves


def rule_policies(stores: pd.DataFrame, products: pd.DataFrame) -> list:
    return [cls(stores, products) for cls in (NoTransfer, WeeklyRule, Proportional)]


POLICIES = ("no_transfer", "weekly_rule", "proportional", "workbench")
