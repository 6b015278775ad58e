"""The day region by region against the exact MILP: feasible, never better than the optimum, and the
optimum within its reported gap (the bound prices the DC's stock and relaxes integrality)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.optimizer import PlanSettings, _Model, checked, solve
from workbench.allocation.regional import _region_tables, dc_unit_prices, solve_by_region
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


def test_the_dc_price_of_a_short_sku_is_the_first_unit_left_out():
    """One unit of SKU 1 at the DC, two stores with room want it (Poisson demand 0.5, nothing on hand),
    a third is full; SKU 2's DC stock covers every want. By hand, store A's units net 100·P(D ≥ j) − 3
    and store B's 50·P(D ≥ j) − 3 (the fixed cost is 0 here): A's first unit fits, the price is the next
    best unit's net gain, B's first: 50·(1 − e^−0.5) − 3."""
    poisson = dict(mean=0.5, nb_size=np.inf, keep=0)
    positions = pd.DataFrame([
        dict(sku_id=1, location_id=0, stock=1, mean=0.0, nb_size=np.inf, margin=0.0, keep=0),
        dict(sku_id=2, location_id=0, stock=10, mean=0.0, nb_size=np.inf, margin=0.0, keep=0),
        dict(sku_id=1, location_id=1, stock=0, margin=100.0, **poisson),
        dict(sku_id=1, location_id=2, stock=0, margin=50.0, **poisson),
        dict(sku_id=1, location_id=3, stock=0, margin=200.0, **poisson),
        dict(sku_id=2, location_id=1, stock=0, margin=100.0, **poisson),
    ])
    arcs = pd.DataFrame({"origin": 0, "dest": [1, 2, 3, 1], "sku_id": [1, 1, 1, 2], "unit_cost": 3.0})
    routes = pd.DataFrame({"origin": 0, "dest": [1, 2, 3], "fixed_cost": 0.0})
    stores = pd.DataFrame({"store_id": [1, 2, 3], "headroom": [50, 50, 0], "max_shipments": 2})
    price = dc_unit_prices(positions, arcs, routes, stores, PlanSettings())
    assert list(price.index) == [1]
    assert price[1] == pytest.approx(50 * (1 - math.exp(-0.5)) - 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pricing_the_dc_tightens_the_bound_of_a_day_whose_dc_is_short(seed):
    """Against the regions' LPs with the DC's stock relaxed (the bound before the DC had prices)."""
    positions, arcs, routes, stores, region_of = two_regions(seed)
    p, a, r, s = checked(positions, arcs, routes, stores)
    region = a["dest"].map(region_of).to_numpy()
    relaxed = sum(_Model(*_region_tables(p, a, r, s, region == name, None), EXACT).relax().bound
                  for name in pd.unique(region))
    assert len(dc_unit_prices(p, a, r, s, EXACT)) > 0  # the day has short SKUs
    plan = solve_by_region(positions, arcs, routes, stores, region_of, EXACT)
    assert plan.objective * (1 + plan.gap) < relaxed
