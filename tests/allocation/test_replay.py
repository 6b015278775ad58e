"""The replay world, on a chain small enough to follow by hand: one DC, two stores, one style in two sizes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.bench import summarise
from workbench.allocation.planning import PlanningSettings
from workbench.allocation.policies import NoTransfer, Workbench
from workbench.allocation.replay import Replay, ReplayData

MONDAY = dt.date(2025, 11, 3)
DC, NEAR, FAR = 0, 1, 2


def chain(demand_rows, opening_rows, flows=None, days=7) -> ReplayData:
    stores = pd.DataFrame({"store_id": [DC, NEAR, FAR], "store_type": ["dc", "own", "own"], "grade": [None, "A", "B"],
                           "region": ["East"] * 3, "city": ["HZ", "HZ", "SH"], "capacity_units": [10_000, 100, 100]})
    products = pd.DataFrame({"sku_id": [10, 11], "skc_id": [5, 5], "is_core_size": [True, True], "unit_cost": [40.0, 40.0]})
    dates = [MONDAY + dt.timedelta(days=d) for d in range(days)]
    prices = pd.DataFrame([(d, s, "full_price", 100.0) for d in dates for s in (10, 11)],
                          columns=["sale_date", "sku_id", "channel", "price"])
    routes = pd.DataFrame({"origin": [DC, DC, NEAR, FAR], "dest": [NEAR, FAR, FAR, NEAR],
                           "relation": ["dc", "dc", "same_region", "same_region"], "fixed_cost": [60.0, 60, 80, 80],
                           "unit_cost": [3.0, 3, 4, 4], "lead_days": [2, 2, 2, 2]})
    return ReplayData(
        start=MONDAY, days=days, stores=stores, products=products,
        opening=pd.DataFrame(opening_rows, columns=["location_id", "sku_id", "on_hand"]),
        flows=flows if flows is not None else pd.DataFrame(columns=["ship_date", "receive_date", "origin", "dest", "sku_id", "units"]),
        demand=pd.DataFrame(demand_rows, columns=["sale_date", "store_id", "sku_id", "demand"]),
        prices=prices, sales_before=pd.DataFrame(columns=["sale_date", "store_id", "sku_id", "units"]).astype({"units": int}),
        routes=routes)


class Idle:
    name = "idle"

    def plan(self, day, view):
        return None


def test_stores_sell_what_they_hold_and_lose_the_rest():
    data = chain([(MONDAY, NEAR, 10, 3), (MONDAY + dt.timedelta(1), NEAR, 10, 2)],
                 [(NEAR, 10, 4), (NEAR, 11, 1), (DC, 10, 50)])
    outcome = Replay(data).run(Idle())
    # Monday sells 3 of 4; Tuesday wants 2 and finds 1
    assert outcome.daily["units_sold"].tolist()[:2] == [3, 1]
    assert outcome.daily["lost_sales_units"].sum() == 1
    assert outcome.daily["sales_value"].sum() == 400.0
    assert outcome.daily["gross_margin"].sum() == 4 * 60.0
    # size 10 sold out on Tuesday while size 11 is still shown: one broken run (断码) from then on
    assert outcome.daily["size_breaks"].tolist() == [0, 1, 1, 1, 1, 1, 1]


def test_sell_one_replenish_one_ships_on_monday_and_arrives_after_the_lead_time():
    data = chain([(MONDAY, NEAR, 10, 2), (MONDAY + dt.timedelta(2), NEAR, 10, 1),
                  (MONDAY + dt.timedelta(3), NEAR, 10, 2)],
                 [(NEAR, 10, 2), (NEAR, 11, 1), (DC, 10, 50)])
    outcome = Replay(data).run(NoTransfer(data.stores, data.products))
    moves = outcome.moves
    # Monday's close replaces Monday's 2 units; they reach the shelf on Wednesday (lead 2 days)
    assert moves[["ship_date", "origin", "dest", "sku_id", "units"]].values.tolist()[0] == [MONDAY, DC, NEAR, 10, 2]
    # Wednesday: the 2 arrive and 1 sells; Thursday wants 2 and finds 1, so one sale is lost
    assert outcome.daily["units_sold"].tolist()[:4] == [2, 0, 1, 1]
    assert outcome.daily["lost_sales_units"].sum() == 1
    # Thursday's close replaces the three days' sales since Monday's cycle (Wednesday's 1 and Thursday's 1)
    assert moves[["ship_date", "units"]].values.tolist()[1] == [MONDAY + dt.timedelta(3), 2]
    metrics = summarise(outcome, data)
    assert metrics["shipments"] == len(moves.drop_duplicates(["ship_date", "origin", "dest"]))
    assert metrics["logistics_cost"] == pytest.approx(sum(60 + 3 * u for u in moves.groupby("ship_date")["units"].sum()))
    assert metrics["net_margin"] == pytest.approx(outcome.daily["gross_margin"].sum() - metrics["logistics_cost"])


def test_flows_from_history_are_clamped_to_the_stock_there_is():
    flows = pd.DataFrame({"ship_date": [MONDAY], "receive_date": [MONDAY + dt.timedelta(1)], "origin": [DC],
                          "dest": [FAR], "sku_id": [10], "units": [30]})
    data = chain([(MONDAY + dt.timedelta(2), FAR, 10, 40)], [(DC, 10, 12)], flows)
    outcome = Replay(data).run(Idle())
    assert outcome.daily["units_sold"].sum() == 12  # the DC held 12 of the 30 units history shipped
    assert outcome.daily["lost_sales_units"].sum() == 28


def test_the_optimiser_moves_stock_to_where_it_sells():
    """NEAR holds 6 units nobody wants; FAR sells ~5 a day and holds none: a transfer pays, the DC has nothing."""
    data = chain([(MONDAY + dt.timedelta(d), FAR, 10, 5) for d in range(7)], [(NEAR, 10, 6)])
    dates = pd.date_range(MONDAY, periods=28)
    forecast = pd.DataFrame({"sku_id": 10, "store_id": np.repeat([NEAR, FAR], 28), "date": np.tile(dates, 2),
                             "mean": np.repeat([0.01, 5.0], 28), "nb_size": np.inf})
    policy = Workbench(data.stores, {MONDAY - dt.timedelta(1): forecast}, PlanningSettings(threshold=0.0))
    outcome = Replay(data).run(policy)
    first = outcome.moves.iloc[0]
    assert (first["origin"], first["dest"], first["units"]) == (NEAR, FAR, 4)  # A-grade NEAR keeps 2 on display
    assert outcome.daily["units_sold"].sum() == 4
    assert len(outcome.solves) == 7 and all(s["gap"] <= 0.005 for s in outcome.solves)
