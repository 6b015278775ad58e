"""Golden cases of the allocation MILP, each small enough to solve by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.optimizer import PlanSettings, _Model, arc_ends, checked, solve, unit_steps
from workbench.allocation.scale import synthetic_instance

DC, A, B = 0, 1, 2
MARGIN = 100.0


def poisson_tail(mean: float, j: int) -> float:
    """P(D >= j) for D ~ Poisson(mean), summed by hand."""
    return 1.0 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(j))


def positions(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sku_id", "location_id", "stock", "mean", "nb_size", "margin", "keep"])


def stores(headroom=100, max_shipments=2) -> pd.DataFrame:
    return pd.DataFrame({"store_id": [A, B], "headroom": headroom, "max_shipments": max_shipments})


def a_to_b(unit_cost=2.0, fixed_cost=10.0):
    arcs = pd.DataFrame({"origin": [A], "dest": [B], "sku_id": [1], "unit_cost": [unit_cost]})
    routes = pd.DataFrame({"origin": [A], "dest": [B], "fixed_cost": [fixed_cost]})
    return arcs, routes


def test_slow_store_sends_to_fast_store_down_to_its_minimum_display():
    # A holds 5 with demand 0.5 and must keep 1; B holds 0 with demand 3. The k-th unit moved gains
    # 100 P(D_B >= k) - 100 P(D_A >= 6 - k) - 2: about 93.0, 77.9, 54.2, 24.3 for k = 1..4, all worth it,
    # and the shipment (10) is paid once: move 4.
    arcs, routes = a_to_b()
    plan = solve(positions((1, A, 5, 0.5, np.inf, MARGIN, 1), (1, B, 0, 3.0, np.inf, MARGIN, 0)), arcs, routes, stores())
    assert plan.moves[["origin", "dest", "sku_id", "units"]].to_dict("records") == [
        {"origin": A, "dest": B, "sku_id": 1, "units": 4}]
    by_hand = sum(MARGIN * (poisson_tail(3.0, k) - poisson_tail(0.5, 6 - k)) - 2.0 for k in range(1, 5)) - 10.0
    assert plan.objective == pytest.approx(by_hand, rel=1e-9)
    move = plan.moves.iloc[0]
    assert move["expected_units_gained"] == pytest.approx(sum(poisson_tail(3.0, k) for k in range(1, 5)))
    assert move["expected_units_lost"] == pytest.approx(sum(poisson_tail(0.5, j) for j in range(2, 6)))
    assert plan.gap <= 1e-4 and plan.status == "Optimal"


def test_a_unit_is_moved_only_while_it_pays_for_itself():
    # Unit freight 30: units worth 93.0 and 77.9 and 54.2 before freight pay, the fourth (35.3 - 9.0 = 26.3) does not.
    arcs, routes = a_to_b(unit_cost=30.0)
    plan = solve(positions((1, A, 5, 0.5, np.inf, MARGIN, 1), (1, B, 0, 3.0, np.inf, MARGIN, 0)), arcs, routes, stores())
    assert plan.moves["units"].tolist() == [3]


def test_the_threshold_keeps_a_shipment_that_does_not_clear_it_at_home():
    # Moving 1 unit to a store with demand 0.2 earns 100 (1 - e^-0.2) - 2 = 16.1; with the fixed 10 that nets 6.1.
    arcs, routes = a_to_b()
    pos = positions((1, A, 3, 0.01, np.inf, MARGIN, 1), (1, B, 0, 0.2, np.inf, MARGIN, 0))
    net = MARGIN * (1 - math.exp(-0.2)) - 2.0 - 10.0 - MARGIN * poisson_tail(0.01, 3)
    assert solve(pos, arcs, routes, stores()).moves["units"].tolist() == [1]
    assert solve(pos, arcs, routes, stores(), PlanSettings(threshold=net + 0.01)).moves.empty
    assert solve(pos, arcs, routes, stores(), PlanSettings(threshold=net - 0.01)).moves["units"].tolist() == [1]


def test_the_dc_serves_the_store_with_the_larger_need_when_stock_is_short():
    # Two units at the DC (which sells nothing), demand 4 at A and 1 at B, one SKU, same costs:
    # unit gains A: 98.2, 90.8; B: 63.2, so both go to A.
    arcs = pd.DataFrame({"origin": [DC, DC], "dest": [A, B], "sku_id": [1, 1], "unit_cost": [1.0, 1.0]})
    routes = pd.DataFrame({"origin": [DC, DC], "dest": [A, B], "fixed_cost": [5.0, 5.0]})
    pos = positions((1, DC, 2, 0.0, np.inf, 0.0, 0), (1, A, 0, 4.0, np.inf, MARGIN, 0), (1, B, 0, 1.0, np.inf, MARGIN, 0))
    plan = solve(pos, arcs, routes, stores())
    assert plan.moves[["dest", "units"]].to_dict("records") == [{"dest": A, "units": 2}]


def test_headroom_and_shipment_limits_bind():
    arcs = pd.DataFrame({"origin": [DC, DC], "dest": [A, A], "sku_id": [1, 2], "unit_cost": [1.0, 1.0]})
    routes = pd.DataFrame({"origin": [DC], "dest": [A], "fixed_cost": [5.0]})
    pos = positions((1, DC, 9, 0.0, np.inf, 0.0, 0), (2, DC, 9, 0.0, np.inf, 0.0, 0),
                    (1, A, 0, 5.0, np.inf, MARGIN, 0), (2, A, 0, 2.0, np.inf, MARGIN, 0))
    plan = solve(pos, arcs, routes, stores(headroom=3))
    assert plan.moves["units"].sum() == 3  # capacity left at A
    # the three best unit gains go: SKU 1's first three (99.3, 96.0, 87.5) edge out SKU 2's first (86.5)
    gains = sorted([(poisson_tail(5.0, k), 1) for k in range(1, 4)] + [(poisson_tail(2.0, k), 2) for k in range(1, 4)],
                   reverse=True)[:3]
    expected = pd.Series([sku for _, sku in gains]).value_counts().to_dict()
    assert plan.moves.set_index("sku_id")["units"].to_dict() == expected
    closed = pd.DataFrame({"store_id": [A], "headroom": [100], "max_shipments": [0]})
    assert solve(pos, arcs, routes, closed).moves.empty


def test_bad_input_says_what_to_fix():
    arcs, routes = a_to_b()
    with pytest.raises(ValueError, match="negative stock"):
        solve(positions((1, A, -1, 0.5, np.inf, MARGIN, 0), (1, B, 0, 3.0, np.inf, MARGIN, 0)), arcs, routes, stores())
    with pytest.raises(ValueError, match="no route from 1 to 2"):
        solve(positions((1, A, 5, 0.5, np.inf, MARGIN, 1), (1, B, 0, 3.0, np.inf, MARGIN, 0)), arcs, routes.iloc[:0], stores())
    with pytest.raises(ValueError, match="no position"):
        solve(positions((1, A, 5, 0.5, np.inf, MARGIN, 1)), arcs, routes, stores())


def test_a_store_over_capacity_receives_nothing_and_is_not_forced_to_give():
    arcs, routes = a_to_b()
    pos = positions((1, A, 5, 0.5, np.inf, MARGIN, 1), (1, B, 0, 3.0, np.inf, MARGIN, 0))
    full = pd.DataFrame({"store_id": [A, B], "headroom": [-10, -2], "max_shipments": [2, 2]})
    plan = solve(pos, arcs, routes, full)
    assert plan.moves.empty and plan.status == "Optimal"
    with pytest.raises(ValueError, match="negative max_shipments for stores \\[2\\]"):
        solve(pos, arcs, routes, full.assign(headroom=5, max_shipments=[1, -1]))


def test_an_arc_carries_at_most_the_units_that_pay_on_it_alone():
    # A → B: the j-th unit gains 100 P(D_B >= j) at B (Poisson(2), none held) and loses 100 P(D_A >= 9 - j)
    # at A (Poisson(3), 8 held, 1 kept), less 1 freight. The units that pay are a prefix; the arc's bound
    # is their count, while its destination alone would take more.
    tables = checked(*_donor_to_shop(headroom_a=1000))
    model = _Model(*tables, PlanSettings())
    pays = [100 * poisson_tail(2.0, j) - 100 * poisson_tail(3.0, 9 - j) - 1 > 0 for j in range(1, 8)]
    count = pays.index(False) if False in pays else len(pays)
    assert model.arc_upper[0] == count < model.n_up[model.dst[0]]


def test_an_arc_out_of_a_store_that_could_fill_up_keeps_its_loose_bound():
    # Were A's headroom to bind (it may receive from the DC), sending one unit less would leave A a unit
    # over its capacity: the tightening would not be safe, so the arc keeps min(units to give, to take).
    tables = checked(*_donor_to_shop(headroom_a=0, dc_to_a=True))
    model = _Model(*tables, PlanSettings())
    a_to_b = int(np.flatnonzero((tables[1]["origin"] == 1).to_numpy())[0])
    src, dst = model.src[a_to_b], model.dst[a_to_b]
    assert model.arc_upper[a_to_b] == min(model.n_down[src], model.n_up[dst])


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_the_tightened_arc_bounds_keep_the_optimum(seed):
    exact = PlanSettings(mip_gap=1e-6, time_limit_s=20)
    tables = checked(*synthetic_instance(8, 150, 60, seed))
    tight = _Model(*tables, exact)
    loose = _Model(*tables, exact)
    loose.arc_upper = unit_steps(tables[0], tables[1], *arc_ends(tables[0], tables[1]), exact).arc_upper
    assert (tight.arc_upper <= loose.arc_upper).all() and (tight.arc_upper < loose.arc_upper).any()
    assert tight.run().objective == pytest.approx(loose.run().objective, rel=1e-6)


def _donor_to_shop(headroom_a: int, dc_to_a: bool = False):
    positions = pd.DataFrame({"sku_id": [7, 7, 7], "location_id": [DC, A, B], "stock": [50, 8, 0],
                              "mean": [0.0, 3.0, 2.0], "nb_size": [np.inf] * 3, "margin": [0.0, 100.0, 100.0],
                              "keep": [0, 1, 0]})
    arcs = pd.DataFrame({"origin": [A] + [DC] * dc_to_a, "dest": [B] + [A] * dc_to_a, "sku_id": 7,
                         "unit_cost": [1.0] + [3.0] * dc_to_a})
    routes = arcs[["origin", "dest"]].assign(fixed_cost=10.0)
    stores = pd.DataFrame({"store_id": [A, B], "headroom": [headroom_a, 100], "max_shipments": [2, 2]})
    return positions, arcs, routes, stores
