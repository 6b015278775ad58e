"""The day region by region against the exact MILP: feasible, never better than the optimum, and the
optimum within its reported gap (the bound relaxes the DC's stock and integrality)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.allocation.optimizer import PlanSettings, solve
from workbench.allocation.regional import solve_by_region
from workbench.allocation.scale import synthetic_instance

from .test_decompose import violations, worth

EXACT = PlanSettings(mip_gap=1e-6, time_limit_s=20)


def two_regions(seed: int):
    """A random day with its stores split into odd and even regions (store-to-store arcs kept inside one)."""
    positions, arcs, routes, stores = synthetic_instance(8, 150, 60, seed)
    region_of = pd.Series((stores["store_id"] % 2).map({0: "East", 1: "West"}).to_numpy(), index=stores["store_id"])
    dc = ~arcs["origin"].isin(stores["store_id"])
    inside = dc | (arcs["origin"].map(region_of) == arcs["dest"].map(region_of))
    arcs = arcs[inside].reset_index(drop=True)
    routes = routes.merge(arcs[["origin", "dest"]].drop_duplicates(), on=["origin", "dest"])
    return positions, arcs, routes, stores, region_of


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_regional_plan_is_feasible_and_the_optimum_lies_within_its_gap(seed):
    positions, arcs, routes, stores, region_of = two_regions(seed)
    exact = solve(positions, arcs, routes, stores, EXACT)
    plan = solve_by_region(positions, arcs, routes, stores, region_of, EXACT)
    assert violations(positions, arcs, routes, stores, plan.moves) == []
    assert plan.objective == pytest.approx(worth(positions, routes, plan.moves), rel=1e-6, abs=1e-4)
    assert plan.objective <= exact.objective * (1 + 1e-6) + 1e-6
    bound = plan.objective + plan.gap * abs(plan.objective)
    assert exact.objective <= bound * (1 + 1e-6) + 1e-6
    assert plan.objective >= 0.9 * exact.objective  # the shares of DC stock cost little on a random day


def test_a_transfer_across_regions_is_refused():
    positions, arcs, routes, stores = synthetic_instance(8, 150, 60, 0)
    region_of = pd.Series((stores["store_id"] % 2).to_numpy(), index=stores["store_id"])
    with pytest.raises(ValueError, match="crosses regions"):
        solve_by_region(positions, arcs, routes, stores, region_of, EXACT)
