"""Initial allocation (铺货) on cases small enough to solve by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.initial import InitialSettings, initial_allocation

DC = 0
NO_RESERVE = InitialSettings(reserve_share=0.0)


def buy(units: dict, skc: int = 10, core=True, margin: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame({"sku_id": list(units), "skc_id": skc, "units": list(units.values()), "margin": margin,
                         "is_core_size": core})


def demand(means: dict, skc: int = 10) -> pd.DataFrame:
    """Poisson demand (nb_size inf) per store for the SKC."""
    return pd.DataFrame({"store_id": list(means), "skc_id": skc, "mean": list(means.values()), "nb_size": np.inf})


def curves(shares: dict, stores, skc: int = 10) -> pd.DataFrame:
    return pd.DataFrame([{"store_id": s, "skc_id": skc, "sku_id": k, "size_share": v}
                         for s in stores for k, v in shares.items()])


def stores(grades: dict, headroom: int = 1000) -> pd.DataFrame:
    return pd.DataFrame({"store_id": list(grades), "grade": list(grades.values()), "headroom": headroom})


def lines(moves: pd.DataFrame) -> dict:
    return {(d, k): u for d, k, u in zip(moves["dest"], moves["sku_id"], moves["units"])}


def test_two_stores_two_sizes_by_hand():
    # SKC 10, two core sizes 11, 12 split 50/50. Store 1 (A) demand Poisson(4), so each size is Poisson(2);
    # store 2 (B) Poisson(2), so each size is Poisson(1). Buy 10 per size, the DC keeps ceil(30 % of 10) = 3,
    # 7 go out. Display runs: A 2 per core size, B 1, so 4 units are left per size.
    # Next units, P(D >= j): store 1 j=3: 1 - 5e^-2 = 0.3233, j=4: 1 - 19/3 e^-2 = 0.1429, j=5: 0.0527;
    #                         store 2 j=2: 1 - 2e^-1 = 0.2642, j=3: 1 - 5/2 e^-1 = 0.0803, j=4: 0.0190.
    # The four best: 0.3233 (1), 0.2642 (2), 0.1429 (1), 0.0803 (2): store 1 gets 4, store 2 gets 3, per size.
    # Expected units: store 1 Σ_{j<=4} P(D >= j) = (1-e^-2) + (1-3e^-2) + (1-5e^-2) + (1-19/3 e^-2) = 4 - 46/3 e^-2;
    # store 2 Σ_{j<=3} = (1-e^-1) + (1-2e^-1) + (1-5/2 e^-1) = 3 - 11/2 e^-1.
    moves = initial_allocation(buy({11: 10, 12: 10}), demand({1: 4.0, 2: 2.0}), curves({11: 0.5, 12: 0.5}, [1, 2]),
                               stores({1: "A", 2: "B"}))
    assert lines(moves) == {(1, 11): 4, (1, 12): 4, (2, 11): 3, (2, 12): 3}
    assert (moves["origin"] == DC).all()
    assert moves["display_units"].tolist() == [2, 2, 1, 1]
    e1, e2 = math.exp(-1), math.exp(-2)
    np.testing.assert_allclose(moves["expected_units"], [4 - 46 / 3 * e2] * 2 + [3 - 11 / 2 * e1] * 2)
    assert moves["reason"].iloc[0] == ("铺货: display run of 2 per core size (grade A minimum) + "
                                       "2 by marginal expected sales (last unit sells with P=0.14)")


def test_the_dc_keeps_its_reserve_share():
    # demand far above the buy: everything allocatable goes out, and only that
    big = demand({1: 500.0, 2: 500.0})
    args = (curves({11: 1.0}, [1, 2]), stores({1: "A", 2: "B"}))
    assert initial_allocation(buy({11: 10}), big, *args)["units"].sum() == 7  # keeps ceil(0.3 × 10) = 3
    assert initial_allocation(buy({11: 5}), big, *args)["units"].sum() == 3  # keeps ceil(1.5) = 2
    assert initial_allocation(buy({11: 10}), big, *args, NO_RESERVE)["units"].sum() == 10


def test_a_store_that_cannot_get_a_full_core_run_gets_nothing_of_the_style():
    # core sizes 11, 12 and a non-core 13; only 1 unit of size 12 for two B stores that each need 1 per core size.
    # Store 2 sells more, so its run is worth more and opens; store 1 gets no size at all, not even 11 or 13.
    skus = pd.concat([buy({11: 10, 12: 1}), buy({13: 10}, core=False)])
    moves = initial_allocation(skus, demand({1: 3.0, 2: 6.0}), curves({11: 0.4, 12: 0.4, 13: 0.2}, [1, 2]),
                               stores({1: "B", 2: "B"}), NO_RESERVE)
    assert set(moves["dest"]) == {2}
    assert lines(moves)[(2, 12)] == 1 and (2, 13) in lines(moves)
    # no headroom for a whole run (2 core sizes × 1) is the same: nothing
    tight = stores({1: "B", 2: "B"}).assign(headroom=[1, 1000])
    moves = initial_allocation(buy({11: 10, 12: 10}), demand({1: 3.0, 2: 3.0}), curves({11: 0.5, 12: 0.5}, [1, 2]),
                               tight, NO_RESERVE)
    assert set(moves["dest"]) == {2}


def test_a_short_buy_goes_to_grade_a_first_even_where_a_c_store_sells_more():
    # 2 units of a two-size style: one A run (1 + 1 with A's minimum at 1) or the C store's; the A store wins
    settings = InitialSettings(reserve_share=0.0, min_display={"A": 1, "B": 1, "C": 1})
    moves = initial_allocation(buy({11: 1, 12: 1}), demand({1: 10.0, 2: 1.0}), curves({11: 0.5, 12: 0.5}, [1, 2]),
                               stores({1: "C", 2: "A"}), settings)
    assert lines(moves) == {(2, 11): 1, (2, 12): 1}


def test_equal_gains_go_to_the_better_grade_and_a_one_size_style_counts_as_core():
    # one size, nothing flagged core: both stores get their run of 1; the third unit ties and goes to grade A
    moves = initial_allocation(buy({11: 3}, core=False), demand({1: 2.0, 2: 2.0}), curves({11: 1.0}, [1, 2]),
                               stores({1: "C", 2: "A"}), NO_RESERVE)
    assert lines(moves) == {(1, 11): 1, (2, 11): 2}


def test_units_unlikely_to_sell_wait_at_the_dc():
    # Poisson(0.5): P(D >= 2) = 1 - 1.5 e^-0.5 = 0.090 passes 0.05, P(D >= 3) = 0.014 does not
    moves = initial_allocation(buy({11: 50}), demand({1: 0.5}), curves({11: 1.0}, [1]), stores({1: "B"}), NO_RESERVE)
    assert lines(moves) == {(1, 11): 2}
    assert moves["units"].sum() == 2  # the other 48 stay at the DC


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "buy": buy({11: -1})}, "negative buy"),
    (lambda a: {**a, "buy": a["buy"].drop(columns="margin")}, r"buy lacks the columns \['margin'\]"),
    (lambda a: {**a, "size_curves": curves({11: 0.7}, [1])}, "sums to 0.7000, not 1"),
    (lambda a: {**a, "size_curves": curves({11: 1.0}, [2])}, "no size curve for store"),
    (lambda a: {**a, "stores": stores({2: "A"})}, "missing from stores"),
])
def test_bad_input_says_what_to_fix(change, message):
    good = {"buy": buy({11: 10}), "demand": demand({1: 2.0}), "size_curves": curves({11: 1.0}, [1]),
            "stores": stores({1: "A"})}
    with pytest.raises(ValueError, match=message):
        initial_allocation(**change(good))
