"""The business's rules inside the optimiser, each on a case small enough to solve by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.planning import PlanningSettings, plan_day
from workbench.allocation.rules import RuleContext

DC, A, C, D = 0, 1, 2, 3
STORES = pd.DataFrame({"store_id": [DC, A, C, D], "store_type": ["dc", "own", "own", "own"],
                       "grade": [None, "A", "C", "B"], "region": ["East"] * 4, "city": ["HZ"] * 4,
                       "capacity_units": [10_000, 500, 500, 500]})
ROUTES = pd.DataFrame({"origin": [DC, DC, DC, A, C, D, D, A, C], "dest": [A, C, D, C, A, A, C, D, D],
                       "relation": ["dc"] * 3 + ["same_city"] * 6, "fixed_cost": 1.0, "unit_cost": 1.0,
                       "lead_days": 1})
PRODUCTS = pd.DataFrame({"sku_id": [10, 11, 12], "skc_id": 5, "is_core_size": [True, True, False]})


def plan(stock, demand, settings, context=None):
    stock = pd.DataFrame(stock, columns=["sku_id", "location_id", "stock"])
    demand = pd.DataFrame(demand, columns=["sku_id", "store_id", "mean"]).assign(nb_size=np.inf)
    pairs = pd.concat([stock[["sku_id", "location_id"]],
                       demand[["sku_id", "store_id"]].set_axis(["sku_id", "location_id"], axis=1)]).drop_duplicates()
    margins = pairs[pairs["location_id"] != DC].assign(margin=100.0)
    moves, _ = plan_day(stock, demand, STORES, margins, ROUTES, settings, context=context)
    return sorted(map(tuple, moves[["origin", "dest", "sku_id", "units"]].to_numpy().tolist()))


def test_grade_priority_gives_the_last_dc_unit_to_the_a_store():
    # one unit at the DC, the same demand at the A and the C store: only the grade weight tells them apart
    stock, demand = [(10, DC, 1)], [(10, A, 1.0), (10, C, 1.0)]
    assert plan(stock, demand, PlanningSettings(threshold=0.0, rules=("grade_priority",))) == [(DC, A, 10, 1)]
    favoured = PlanningSettings(threshold=0.0, rules=("grade_priority",), grade_weights={"C": 2.0, "default": 1.0})
    assert plan(stock, demand, favoured) == [(DC, C, 10, 1)]


def test_size_break_only_sends_the_missing_core_size_and_nothing_else():
    # store A shows style 5 with core size 11; core size 10 and non-core 12 are missing; all three would sell
    stock = [(10, DC, 5), (11, DC, 5), (12, DC, 5), (11, A, 1)]
    demand = [(10, A, 3.0), (11, A, 3.0), (12, A, 3.0)]
    everything = plan(stock, demand, PlanningSettings(threshold=0.0))
    assert {sku for _, _, sku, _ in everything} == {10, 11, 12}
    only = plan(stock, demand, PlanningSettings(threshold=0.0, rules=("size_break_only",)), RuleContext(products=PRODUCTS))
    assert [(o, d, sku) for o, d, sku, _ in only] == [(DC, A, 10)]


def test_slow_stock_only_takes_from_the_store_where_it_does_not_sell():
    # A and D both hold 6 units nobody is expected to buy; C sells; D sold one last week, so under the rule
    # only A may give. Without the rule the optimiser would take from either (same costs).
    stock = [(10, A, 6), (10, D, 6)]
    demand = [(10, C, 8.0), (10, A, 0.01), (10, D, 0.01)]
    sales = pd.DataFrame({"sku_id": [10], "store_id": [D], "units": [1]})
    settings = PlanningSettings(threshold=0.0, rules=("slow_stock_only",), min_display={"default": 1})
    moves = plan(stock, demand, settings, RuleContext(sales=sales))
    assert {o for o, _, _, _ in moves} == {A} and sum(u for *_, u in moves) == 5  # A keeps 1 on display


def test_sell_one_replenish_one_serves_only_what_sold():
    stock, demand = [(10, DC, 10)], [(10, A, 2.0), (10, C, 2.0)]
    sales = pd.DataFrame({"sku_id": [10], "store_id": [C], "units": [2]})
    moves = plan(stock, demand, PlanningSettings(threshold=0.0, rules=("sell_one_replenish_one",)), RuleContext(sales=sales))
    assert {d for _, d, _, _ in moves} == {C}


def test_rules_are_named_and_their_inputs_required():
    with pytest.raises(ValueError, match="unknown allocation rule"):
        PlanningSettings(rules=("first_come",))
    with pytest.raises(ValueError, match="need recent sales"):
        plan([(10, DC, 1)], [(10, A, 1.0)], PlanningSettings(rules=("slow_stock_only",)))


def test_the_size_break_penalty_mends_a_broken_run_that_would_not_pay_on_sales_alone():
    # store A shows style 5 (size 11 held) and misses core size 10, which is expected to sell little
    stock, demand = [(10, DC, 3), (11, A, 2)], [(10, A, 0.02), (11, A, 0.5)]
    settings = PlanningSettings(threshold=0.0, size_break_penalty=0.0)
    assert plan(stock, demand, settings, RuleContext(products=PRODUCTS)) == []  # 100 × 0.02 < freight 2
    mended = PlanningSettings(threshold=0.0, size_break_penalty=50.0)
    assert plan(stock, demand, mended, RuleContext(products=PRODUCTS)) == [(DC, A, 10, 1)]  # one unit mends it


def test_bad_input_names_what_to_fix():
    with pytest.raises(ValueError, match="negative stock"):
        plan([(10, DC, -1)], [(10, A, 1.0)], PlanningSettings())
    lonely = ROUTES[ROUTES["dest"] != C]  # no route reaches store C, which has demand
    stock = pd.DataFrame([(10, DC, 5)], columns=["sku_id", "location_id", "stock"])
    demand = pd.DataFrame([(10, C, 3.0)], columns=["sku_id", "store_id", "mean"]).assign(nb_size=np.inf)
    margins = pd.DataFrame({"sku_id": [10], "location_id": [C], "margin": [100.0]})
    with pytest.raises(ValueError, match=r"stores \[2\] have demand but no route in"):
        plan_day(stock, demand, STORES, margins, lonely, PlanningSettings(threshold=0.0))
    with pytest.raises(ValueError, match="no selling price"):
        plan_day(stock, demand, STORES, margins.iloc[:0], ROUTES, PlanningSettings(threshold=0.0))
