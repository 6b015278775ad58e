"""Buy suggestions (AI订货) and the structure check, on cases checked by hand and against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.allocation.buying import BuySettings, buy_suggestions, structure_check


def products(shares: dict, skc: int = 10, price: float = 100.0, cost: float = 40.0, **extra) -> pd.DataFrame:
    return pd.DataFrame({"sku_id": list(shares), "skc_id": skc, "full_price": price, "unit_cost": cost,
                         "size_share": list(shares.values()), **extra})


def stock(**on_hand) -> pd.DataFrame:
    return pd.DataFrame({"sku_id": [int(k[3:]) for k in on_hand], "on_hand": list(on_hand.values()), "on_order": 0})


NONE_OWNED = stock()
SALVAGE_25 = BuySettings(salvage_rate=0.25)
POISSON_2 = pd.DataFrame({"skc_id": [10], "mean": [2.0], "nb_size": [np.inf]})


def test_newsvendor_by_hand_split_to_sizes_less_what_is_owned():
    # price 100, cost 40, salvage 25 % of price = 25: under = 60, over = 15, critical ratio 60 / 75 = 0.8.
    # Poisson(2): P(D <= 2) = 5e^-2 = 0.677 < 0.8 <= P(D <= 3) = 19/3 e^-2 = 0.857, so the SKC buys 3.
    # Sizes 60 / 40: 1.8 and 1.2, floors 1 + 1, the leftover unit to the larger remainder (0.8): 2 and 1.
    # One unit of size 11 is already on hand: order 1 and 1.
    got = buy_suggestions(POISSON_2, stock(sku11=1), products({11: 0.6, 12: 0.4}), SALVAGE_25)
    assert got["critical_ratio"].tolist() == pytest.approx([0.8, 0.8])
    assert got["skc_target"].tolist() == [3, 3]
    assert got["target_units"].tolist() == [2, 1]
    assert got["order_units"].tolist() == [1, 1]
    assert got["order_value"].tolist() == [100.0, 100.0] and got["order_cost"].tolist() == [40.0, 40.0]
    assert got["reason"].iloc[0] == ("AI订货: newsvendor at critical ratio 0.80 → SKC quantity 3; "
                                     "size share 0.60 → 2; less 1 owned → 1")


def test_newsvendor_quantity_is_the_nb_quantile_at_the_critical_ratio():
    demand = pd.DataFrame({"skc_id": [10, 20], "mean": [50.0, 7.5], "nb_size": [5.0, 1.2]})
    items = pd.concat([products({11: 1.0}, skc=10, price=299.0, cost=95.0),
                       products({21: 1.0}, skc=20, price=59.0, cost=30.0)])
    got = buy_suggestions(demand, NONE_OWNED, items, BuySettings(salvage_rate=0.3)).set_index("skc_id")
    for skc, mean, k, price, cost in [(10, 50.0, 5.0, 299.0, 95.0), (20, 7.5, 1.2, 59.0, 30.0)]:
        ratio = (price - cost) / (price - 0.3 * price)
        expected = stats.nbinom.ppf(ratio, k, k / (k + mean))
        assert got.loc[skc, "critical_ratio"] == pytest.approx(ratio)
        assert got.loc[skc, "skc_target"] == expected
        # the defining property: the smallest q covering the ratio
        cdf = stats.nbinom.cdf([expected - 1, expected], k, k / (k + mean))
        assert cdf[1] >= ratio > cdf[0]


def test_store_rows_are_summed_by_moment_matching():
    # two Poisson(1) stores make Poisson(2): the same answer as the hand case
    stores = pd.DataFrame({"skc_id": [10, 10], "mean": [1.0, 1.0], "nb_size": [np.inf, np.inf]})
    got = buy_suggestions(stores, NONE_OWNED, products({11: 1.0}), SALVAGE_25)
    assert got["skc_target"].tolist() == [3] and np.isinf(got["skc_nb_size"].iloc[0])


def test_never_negative_and_on_order_counts_as_owned():
    owned = pd.DataFrame({"sku_id": [11, 11, 12], "on_hand": [1, 0, 0], "on_order": [0, 5, 1]})
    got = buy_suggestions(POISSON_2, owned, products({11: 0.6, 12: 0.4}), SALVAGE_25)
    assert got["owned_units"].tolist() == [6, 1]
    assert got["order_units"].tolist() == [0, 0]


def test_orders_round_to_the_nearest_whole_carton():
    demand = pd.DataFrame({"skc_id": [10], "mean": [30.0], "nb_size": [np.inf]})
    # price 100, cost 62.5, salvage 25: under 37.5, over 37.5, ratio 0.5 → the Poisson(30) median, 30
    items = products({11: 0.5, 12: 0.5}, cost=62.5, case_pack=[6, np.nan])
    got = buy_suggestions(demand, stock(sku12=4), items, BuySettings(salvage_rate=0.25, case_pack=4))
    assert got["skc_target"].tolist() == [30, 30]
    assert got["target_units"].tolist() == [15, 15]  # 4 of size 12 on hand: it needs 11
    assert got["case_pack"].tolist() == [6, 4]  # the product's own pack, else the default
    assert got["order_units"].tolist() == [18, 12]  # 15 / 6 = 2.5 → 3 cartons; 11 / 4 = 2.75 → 3 cartons


def test_structure_check_flags_groups_outside_the_tolerance():
    suggestions = pd.DataFrame({"sku_id": [1, 2, 3], "order_units": [6, 2, 2]})
    items = pd.DataFrame({"sku_id": [1, 2, 3], "full_price": 100.0, "category": ["tops", "tops", "bottoms"],
                          "price_band": ["entry", "core", "entry"]})
    # buy: tops/entry 60 %, tops/core 20 %, bottoms/entry 20 %; reference 40 / 20 / 40
    reference = pd.DataFrame({"category": ["tops", "tops", "bottoms"], "price_band": ["entry", "core", "entry"],
                              "value": [4000.0, 2000.0, 4000.0]})
    got = structure_check(suggestions, items, reference, tolerance=0.05).set_index(["category", "price_band"])
    assert got["flag"].to_dict() == {("bottoms", "entry"): "under", ("tops", "core"): "ok", ("tops", "entry"): "over"}
    assert got.loc[("tops", "entry"), "gap"] == pytest.approx(0.2)
    assert got.loc[("tops", "entry"), "note"] == ("tops / entry: 60.0% of the buy vs 40.0% of the reference: "
                                                  "20.0 points over (tolerance 5.0)")
    # by category alone: tops 80 % vs 60 %, bottoms 20 % vs 40 %, inside a tolerance of 25 points
    by_category = structure_check(suggestions, items, reference, tolerance=0.25, by=("category",))
    assert by_category.set_index("category")["flag"].to_dict() == {"bottoms": "ok", "tops": "ok"}
    # a group the reference sells and the buy leaves out is under by its whole share
    extra = pd.DataFrame({"category": ["dresses"], "price_band": ["premium"], "value": [10000.0]})
    dresses = pd.concat([reference, extra])
    got = structure_check(suggestions, items, dresses, tolerance=0.05).set_index(["category", "price_band"])
    assert got.loc[("dresses", "premium"), ["buy_value", "reference_share", "flag"]].tolist() == [0.0, 0.5, "under"]


@pytest.mark.parametrize("call, message", [
    (lambda: buy_suggestions(POISSON_2.drop(columns="nb_size"), NONE_OWNED, products({11: 1.0})),
     r"demand lacks the columns \['nb_size'\]"),
    (lambda: buy_suggestions(POISSON_2, NONE_OWNED, products({11: 0.5, 12: 0.4})), "sums to 0.9000, not 1"),
    (lambda: buy_suggestions(POISSON_2, stock(sku11=-2), products({11: 1.0})), "negative on_hand"),
    (lambda: buy_suggestions(POISSON_2, NONE_OWNED, products({11: 1.0}, cost=30.0), BuySettings(salvage_rate=0.4)),
     "lower salvage_rate"),
    (lambda: buy_suggestions(POISSON_2, NONE_OWNED, products({11: 1.0}, skc=99)), "missing from products"),
])
def test_bad_input_says_what_to_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()
