"""A re-run of the same day plans the same moves: the solver's budgets are steps and nodes, and when the
time limit stops branch and bound its machine-dependent incumbent is not used."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.allocation import optimizer
from workbench.allocation.optimizer import PlanSettings, solve
from workbench.allocation.regional import solve_by_region

from .test_decompose import violations
from .test_lagrangian import day
from .test_regional import two_regions

TIGHT = PlanSettings(mip_gap=1e-9, time_limit_s=20, branch_nodes=50)


def same_moves(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    keys = ["origin", "dest", "sku_id"]
    return a.sort_values(keys)[keys + ["units"]].reset_index(drop=True).equals(
        b.sort_values(keys)[keys + ["units"]].reset_index(drop=True))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_day_twice_gives_the_same_plan(seed):
    first, second = (solve(*day(seed), TIGHT) for _ in range(2))
    assert first.repeatable and second.repeatable
    assert same_moves(first.moves, second.moves) and first.objective == second.objective


def test_when_the_time_limit_stops_branch_and_bound_the_plan_before_it_is_kept(monkeypatch):
    unlimited = solve(*day(0), TIGHT)

    def out_of_time(cost, upper, integrality, *rest, **kwargs):
        highs = real(cost, upper, integrality, *rest, **kwargs)
        if integrality[:1].any():  # the branch and bound (its arcs are whole units), not an LP
            highs.setOptionValue("time_limit", 1e-6)
        return highs

    real = optimizer._highs
    monkeypatch.setattr(optimizer, "_highs", out_of_time)
    cut = [solve(*day(0), TIGHT) for _ in range(2)]
    assert all(p.status.startswith("Time limit reached: the plan before branch and bound") for p in cut)
    assert all(p.repeatable for p in cut) and same_moves(cut[0].moves, cut[1].moves)
    assert violations(*day(0), cut[0].moves) == []
    assert cut[0].objective <= unlimited.objective + 1e-6


def test_a_day_planned_region_by_region_twice_gives_the_same_plan():
    positions, arcs, routes, stores, region_of = two_regions(1)
    first, second = (solve_by_region(positions, arcs, routes, stores, region_of, TIGHT) for _ in range(2))
    assert first.repeatable and second.repeatable
    assert same_moves(first.moves, second.moves) and first.objective == second.objective
