"""An alert linked to the pending plan moves that go its fixing way, on a small hand-made plan."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from workbench.merchandise.moves import NO_MOVE, link_moves

AS_OF = dt.date(2025, 11, 9)
LOCATIONS = pd.DataFrame({"store_id": [0, 1, 2, 3], "store_code": ["DC01", "S001", "S002", "S003"],
                          "region": [None, "East", "East", "North"]})
PRODUCTS = pd.DataFrame({"sku_id": [11, 12, 13, 21], "category": ["tops", "tops", "tops", "dresses"]})
MOVES = pd.DataFrame([
    (0, 1, 11, 5, "pending", "r1", "marts.replenishment_plan"),  # DC -> S001 tops
    (2, 1, 12, 3, "approved", "r1", "marts.transfer_plan"),       # S002 -> S001 tops
    (2, 3, 11, 4, "pending", "r1", "marts.transfer_plan"),       # S002 -> S003 tops
    (1, 2, 21, 2, "rejected", "r1", "marts.transfer_plan"),       # S001 -> S002 dresses, rejected: not planned
    (1, 2, 13, 6, "pending", "r1", "marts.transfer_plan"),       # S001 -> S002 tops: the wrong way for both
], columns=["from_store_id", "to_store_id", "sku_id", "units", "status", "run_id", "plan"]).assign(as_of=AS_OF)
PENDING = ("pending", "approved", "edited")


def _alerts(location_col, rows):
    return pd.DataFrame(rows, columns=[location_col, "category", "alert"])


def test_store_alerts_get_the_moves_that_fix_them():
    alerts = _alerts("store_code", [("S001", "tops", "understock"), ("S002", "tops", "overstock"),
                                    ("S001", "dresses", "overstock"), ("S003", "tops", None)])
    got = link_moves(alerts, MOVES, LOCATIONS, PRODUCTS, "store_code", ["category"], PENDING)
    got = got.set_index(["store_code", "category"])
    # S001 short of tops: the DC's 5 and S002's 3 come in (its own 6 going out do not help)
    assert (got.loc[("S001", "tops"), "moves"], got.loc[("S001", "tops"), "move_units"]) == (2, 8)
    assert got.loc[("S001", "tops"), "linked_plan"] == "2 move(s), 8 units in (plan of 2025-11-09, run r1)"
    # S002 over on tops: 3 to S001 and 4 to S003 go out
    assert (got.loc[("S002", "tops"), "moves"], got.loc[("S002", "tops"), "move_units"]) == (2, 7)
    assert got.loc[("S002", "tops"), "moves_as_of"] == "2025-11-09"
    assert got.loc[("S002", "tops"), "moves_run_id"] == "r1"
    # S001's dresses: the only move out was rejected
    assert (got.loc[("S001", "dresses"), "moves"], got.loc[("S001", "dresses"), "linked_plan"]) == (0, NO_MOVE)
    # no alert, no link
    assert pd.isna(got.loc[("S003", "tops"), "moves"]) and got.loc[("S003", "tops"), "linked_plan"] is None


def test_at_region_grain_moves_inside_the_region_do_not_count():
    alerts = _alerts("region", [("East", "tops", "understock"), ("North", "tops", "overstock")])
    got = link_moves(alerts, MOVES, LOCATIONS, PRODUCTS, "region", ["category"], PENDING).set_index("region")
    # into East from outside: only the DC's 5 (S002 -> S001 and S001 -> S002 stay inside East)
    assert (got.loc["East", "moves"], got.loc["East", "move_units"]) == (1, 5)
    # North is over on tops but nothing leaves it; S002's 4 come in, the wrong way
    assert (got.loc["North", "moves"], got.loc["North", "linked_plan"]) == (0, NO_MOVE)


def test_the_statuses_that_count_come_from_the_rules():
    alerts = _alerts("store_code", [("S001", "tops", "understock")])
    got = link_moves(alerts, MOVES, LOCATIONS, PRODUCTS, "store_code", ["category"], ("approved",))
    assert (got.loc[0, "moves"], got.loc[0, "move_units"]) == (1, 3)


def test_no_plan_at_all_says_no_move_planned():
    alerts = _alerts("store_code", [("S001", "tops", "understock"), ("S002", "tops", None)])
    got = link_moves(alerts, MOVES.iloc[0:0], LOCATIONS, PRODUCTS, "store_code", ["category"], PENDING)
    assert got["linked_plan"].tolist() == [NO_MOVE, None]
    assert got.loc[0, "moves"] == 0
