"""The decomposed planner against the exact MILP on small random days, checked by an independent checker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.decompose import solve_decomposed, solve_plan
from workbench.allocation.expected_sales import expected_sales
from workbench.allocation.optimizer import PlanSettings, solve
from workbench.allocation.scale import synthetic_instance

EXACT = PlanSettings(mip_gap=1e-6, time_limit_s=20)


def violations(positions, arcs, routes, stores, moves) -> list[str]:
    """Every rule of the day a plan breaks, computed from the tables alone (not from the solver)."""
    found = []
    if (moves["units"] <= 0).any() or (moves["units"] != moves["units"].round()).any():
        found.append("units are not whole and positive")
    known = moves.merge(arcs[["origin", "dest", "sku_id"]], how="left", indicator=True)
    if (known["_merge"] != "both").any():
        found.append("a move on no candidate arc")
    net = _net(positions, moves)
    floor = -np.maximum(positions["stock"] - positions["keep"], 0)
    if (net < floor).any():
        found.append("a position gives more than its stock above the display it keeps")
    store_in = moves.groupby("dest")["units"].sum().reindex(stores["store_id"], fill_value=0)
    store_out = moves.groupby("origin")["units"].sum().reindex(stores["store_id"], fill_value=0)
    if ((store_in - store_out).to_numpy() > np.maximum(stores["headroom"].to_numpy(), 0)).any():
        found.append("a store takes more than its headroom")
    ships = moves[["origin", "dest"]].drop_duplicates()
    count = ships.groupby("dest").size().reindex(stores["store_id"], fill_value=0)
    if (count.to_numpy() > stores["max_shipments"].to_numpy()).any():
        found.append("a store receives more shipments than allowed")
    return found


def _net(positions, moves) -> np.ndarray:
    key = pd.MultiIndex.from_frame(positions[["sku_id", "location_id"]])
    into = pd.MultiIndex.from_arrays([moves["sku_id"], moves["dest"]])
    out = pd.MultiIndex.from_arrays([moves["sku_id"], moves["origin"]])
    units = moves["units"].to_numpy()
    net = np.zeros(len(positions))
    np.add.at(net, key.get_indexer(into), units)
    np.add.at(net, key.get_indexer(out), -units)
    return net


def worth(positions, routes, moves, threshold=0.0) -> float:
    """Expected margin after the plan less before, less unit and fixed freight and the threshold."""
    after = positions["stock"].to_numpy() + _net(positions, moves).astype(int)
    sold = expected_sales(positions["mean"], positions["nb_size"], after) - expected_sales(
        positions["mean"], positions["nb_size"], positions["stock"])
    used = moves[["origin", "dest"]].drop_duplicates().merge(routes, on=["origin", "dest"])
    return float(sold @ positions["margin"].to_numpy() - (moves["units"] * moves["unit_cost"]).sum()
                 - (used["fixed_cost"] + threshold).sum())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_decomposed_plan_is_feasible_and_the_optimum_lies_within_its_gap(seed):
    positions, arcs, routes, stores = synthetic_instance(8, 150, 60, seed)
    exact = solve(positions, arcs, routes, stores, EXACT)
    plan = solve_decomposed(positions, arcs, routes, stores, EXACT)
    assert violations(positions, arcs, routes, stores, plan.moves) == []
    assert plan.objective == pytest.approx(worth(positions, routes, plan.moves), rel=1e-9, abs=1e-6)
    assert plan.objective <= exact.objective * (1 + 1e-6) + 1e-6  # the exact MILP is the best there is
    bound = plan.objective + plan.gap * abs(plan.objective)
    assert exact.objective <= bound * (1 + 1e-6) + 1e-6  # the reported gap is against a true bound
    assert list(plan.moves.columns) == list(exact.moves.columns)


def test_a_small_day_goes_to_the_exact_milp():
    positions, arcs, routes, stores = synthetic_instance(6, 100, 40, 5)
    exact = solve(positions, arcs, routes, stores, EXACT)
    plan = solve_plan(positions, arcs, routes, stores, EXACT)
    assert plan.objective == pytest.approx(exact.objective) and plan.status == exact.status


def test_the_threshold_is_charged_per_shipment():
    positions, arcs, routes, stores = synthetic_instance(6, 100, 40, 7)
    settings = PlanSettings(threshold=25.0, mip_gap=1e-6, time_limit_s=20)
    plan = solve_decomposed(positions, arcs, routes, stores, settings)
    assert plan.objective == pytest.approx(worth(positions, routes, plan.moves, 25.0), rel=1e-9, abs=1e-6)
    assert violations(positions, arcs, routes, stores, plan.moves) == []
