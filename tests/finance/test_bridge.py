"""The profit bridge: a worked example solved by hand, and the effects adding up exactly on any data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.finance.bridge import EFFECTS, profit_bridge


def sales(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["store", "skc", "units", "full_sales", "markdown", "cogs"])


# Store S1. A: 10 units at ticket 100, 10 off, cost 40 (margin 50 a unit) -> 20 units at ticket 110,
# 20 off, cost 40 (still 50). B: 10 at 200, cost 100 (margin 100) -> 5 at 200, cost 110 (90).
# D sold 5 for a margin of 250 and ended; C is new: 4 units, margin 200.
BASE = sales([("S1", "A", 10, 1000, 100, 400), ("S1", "B", 10, 2000, 0, 1000), ("S1", "D", 5, 500, 0, 250)])
CURRENT = sales([("S1", "A", 20, 2200, 400, 800), ("S1", "B", 5, 1000, 0, 550), ("S1", "C", 4, 400, 40, 160)])


def test_the_worked_example_gives_the_hand_answer():
    # Shared items A and B: 20 units at a base margin of 75 a unit, then 25 units.
    # volume (25 - 20) * 75 = 375; mix 20 * 50 + 5 * 100 - 25 * 75 = -375; price 20 * 10 = 200;
    # markdown -20 * 10 = -200; cost -5 * 10 = -50; new and ended 200 - 250 = -50. Margin 1750 -> 1650.
    row = profit_bridge(BASE, CURRENT, by=["store"], item="skc").iloc[0]
    assert row["base_margin"] == pytest.approx(1750) and row["current_margin"] == pytest.approx(1650)
    got = {e: row[e] for e in EFFECTS}
    assert got == pytest.approx({"volume": 375, "mix": -375, "price": 200, "markdown": -200, "cost": -50,
                                 "new_and_ended": -50, "expense": 0})


def test_expenses_turn_it_into_a_contribution_bridge():
    expenses = pd.DataFrame({"store": ["S1"], "base_expense": [600.0], "current_expense": [700.0]})
    row = profit_bridge(BASE, CURRENT, by=["store"], item="skc", expenses=expenses).iloc[0]
    assert row["expense"] == pytest.approx(-100)
    assert row["base_contribution"] == pytest.approx(1150) and row["current_contribution"] == pytest.approx(950)


@pytest.mark.parametrize("seed", range(5))
def test_the_effects_add_up_exactly_to_the_change_at_any_grain(seed):
    rng = np.random.default_rng(seed)

    def period(n: int) -> pd.DataFrame:
        units = rng.integers(-2, 30, n)  # some items net negative: returns only
        full = units * rng.uniform(50, 500, n)  # sales at ticket price
        frame = pd.DataFrame({"store": rng.choice(["S1", "S2", "S3"], n), "skc": np.arange(n) + rng.integers(0, 40),
                              "units": units, "full_sales": full, "markdown": full * rng.uniform(0, 0.5, n),
                              "cogs": full * rng.uniform(0.3, 0.6, n)})
        return frame.drop_duplicates(["store", "skc"])

    base, current = period(60), period(60)
    expenses = pd.DataFrame({"store": ["S1", "S2", "S4"], "base_expense": [100.0, 50.0, 30.0],
                             "current_expense": [120.0, 40.0, 0.0]})
    out = profit_bridge(base, current, by=["store"], item="skc", expenses=expenses)
    change = out["current_contribution"] - out["base_contribution"]
    assert np.allclose(out[list(EFFECTS)].sum(axis=1), change, rtol=0, atol=1e-6)
    assert set(out["store"]) == {"S1", "S2", "S3", "S4"}  # S4 has costs and no sales
    whole = profit_bridge(base.assign(store="all"), current.assign(store="all"), by=["store"], item="skc")
    assert whole[list(EFFECTS)].sum(axis=1).iloc[0] == pytest.approx(
        whole["current_margin"].iloc[0] - whole["base_margin"].iloc[0], abs=1e-6)


def test_bad_input_says_what_to_give():
    with pytest.raises(ValueError, match=r"the base period's sales lack the columns \['cogs'\]"):
        profit_bridge(BASE.drop(columns="cogs"), CURRENT, by=["store"], item="skc")
    with pytest.raises(ValueError, match="the current period's sales repeat a store × skc: aggregate them first"):
        profit_bridge(BASE, pd.concat([CURRENT, CURRENT]), by=["store"], item="skc")
    with pytest.raises(ValueError, match=r"expenses lack the columns \['current_expense'\]"):
        profit_bridge(BASE, CURRENT, by=["store"], item="skc",
                      expenses=pd.DataFrame({"store": ["S1"], "base_expense": [1.0]}))


def test_a_group_without_a_key_is_kept_not_dropped():
    """The online shop has no region: its margin still counts, in a group of its own."""
    online = lambda f: f.assign(store=None)  # noqa: E731
    both = profit_bridge(pd.concat([BASE, online(BASE)]), pd.concat([CURRENT, online(CURRENT)]), by=["store"],
                         item="skc")
    assert len(both) == 2 and both["store"].isna().sum() == 1
    assert both["current_margin"].sum() == pytest.approx(2 * profit_bridge(BASE, CURRENT, ["store"], "skc")
                                                         ["current_margin"].sum())
