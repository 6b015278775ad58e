"""The business's rules, each on a case small enough to check by hand."""

from __future__ import annotations

import pandas as pd

from workbench.allocation.strategies import (
    cumulative_sales_ranking, proportional_to_sales, ration, sell_one_replenish_one, size_break_replenishment,
    slow_stock_swap,
)

DC = 0
GRADES = pd.DataFrame({"store_id": [1, 2, 3], "grade": ["C", "A", "A"]})


def dc(**units) -> pd.DataFrame:
    return pd.DataFrame({"sku_id": [int(k[3:]) for k in units], "units": list(units.values())})


def test_a_short_dc_serves_grade_a_first_then_the_larger_want():
    wants = pd.DataFrame({"sku_id": [1, 1, 1], "store_id": [1, 2, 3], "units": [4, 3, 1]})
    assert ration(wants, dc(sku1=5), GRADES).tolist() == [1, 3, 1]
    assert ration(wants, dc(sku1=5)).tolist() == [4, 1, 0]  # no grades: the larger want first
    assert ration(wants, dc(sku1=0), GRADES).tolist() == [0, 0, 0]


def test_sell_one_replenish_one_sends_back_what_sold_while_the_dc_has_it():
    sold = pd.DataFrame({"sku_id": [1, 1, 2], "store_id": [1, 1, 1], "units": [1, 1, 1]})
    moves = sell_one_replenish_one(sold, dc(sku1=10, sku2=0), DC, GRADES)
    assert moves[["origin", "dest", "sku_id", "units"]].to_dict("records") == [
        {"origin": DC, "dest": 1, "sku_id": 1, "units": 2}]
    assert moves["reason"].iloc[0] == "sell one, replenish one"


def test_proportional_spreads_the_network_stock_by_sales_share():
    # sales 3 : 1, network stock 0 + 2 + 6 (DC) = 8, so targets 6 and 2; store 2 already has its 2
    stock = pd.DataFrame({"sku_id": [1, 1], "store_id": [1, 2], "on_hand": [0, 2]})
    sales = pd.DataFrame({"sku_id": [1, 1], "store_id": [1, 2], "units": [3, 1]})
    moves = proportional_to_sales(stock, sales, dc(sku1=6), DC)
    assert moves[["dest", "sku_id", "units"]].to_dict("records") == [{"dest": 1, "sku_id": 1, "units": 6}]


def test_size_breaks_on_display_get_their_missing_core_size_only():
    products = pd.DataFrame({"sku_id": [11, 12, 13], "skc_id": 10, "is_core_size": [False, True, True]})
    # store 1 shows the style (2 of size 13) and lacks core size 12 and non-core 11; store 2 shows nothing
    stock = pd.DataFrame({"sku_id": [11, 12, 13, 11, 12, 13], "store_id": [1, 1, 1, 2, 2, 2],
                          "on_hand": [0, 0, 2, 0, 0, 0]})
    moves = size_break_replenishment(stock, products, dc(sku12=5, sku11=5), DC, display_units=2)
    assert moves[["dest", "sku_id", "units"]].to_dict("records") == [{"dest": 1, "sku_id": 12, "units": 2}]


def test_slow_stock_goes_to_the_regions_best_seller_of_the_style_keeping_the_display():
    products = pd.DataFrame({"sku_id": [11, 12], "skc_id": [10, 10]})
    stores = pd.DataFrame({"store_id": [1, 2, 3, 4], "region": ["East", "East", "East", "North"]})
    # store 1 holds 4 of size 11 and sold none; store 3 sells the style best in East (size 12), store 4 is North
    stock = pd.DataFrame({"sku_id": [11, 11, 12], "store_id": [1, 2, 3], "on_hand": [4, 1, 0]})
    sales = pd.DataFrame({"sku_id": [11, 12, 11], "store_id": [2, 3, 4], "units": [1, 3, 9]})
    moves = slow_stock_swap(stock, sales, products, stores, keep=1)
    assert moves[["origin", "dest", "sku_id", "units"]].to_dict("records") == [
        {"origin": 1, "dest": 3, "sku_id": 11, "units": 3}]
    assert slow_stock_swap(stock, sales, products, stores, keep=4).empty  # nothing above the display to move


def test_cumulative_sales_ranking_serves_the_styles_best_seller_first():
    products = pd.DataFrame({"sku_id": [11, 12], "skc_id": [10, 10]})
    # style 10 to date: store 1 sold 2 + 1, store 2 sold 5 (of the other size), store 3 nothing
    to_date = pd.DataFrame({"sku_id": [11, 12, 12], "store_id": [1, 1, 2], "units": [2, 1, 5]})
    ranking = cumulative_sales_ranking(to_date, products)
    assert ranking[ranking.sku_id == 11].set_index("store_id")["rank"].to_dict() == {1: 2, 2: 1}
    wants = pd.DataFrame({"sku_id": [11, 11, 11], "store_id": [1, 2, 3], "units": [3, 1, 2]})
    assert ration(wants, dc(sku11=3), ranking=ranking).tolist() == [2, 1, 0]
    same_grade = pd.DataFrame({"store_id": [1, 2, 3], "grade": ["B", "B", "A"]})
    # grade A (store 3) first, then the better-ranked of the B stores (store 2)
    assert ration(wants, dc(sku11=3), same_grade, ranking).tolist() == [0, 1, 2]
