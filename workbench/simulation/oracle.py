"""The forecast oracle (预测上限): what a forecaster who knew the simulator could predict.

It re-runs the simulation (writing nothing) up to the end of a window. For
every ranged SKU × store × day in the window it records two numbers:

- ``demand_mean``: the expected demand without the day's random SKC shock.
  The shock is a gamma(20) draw with mean 1, which nobody can know the day
  before. What is left is all a forecaster could learn: the hidden base
  rates, the lifecycle, the weather, the prices paid, the store effects and
  size curves, and the expected footfall.
- ``sales_mean``: E[min(D, stock on the shelf)] for D ~ Poisson(demand_mean).
  This is the best forecast of *sales*, and it also knows each day's stock
  before it happens.

Scored like any forecast (``wb bench forecast --method oracle_demand
--method oracle_sales``), they bound what any method can reach on the
simulated data. A target below the oracle's score cannot be met.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["expected_sales", "expected_min"]


class _NullWriter:
    """Takes the simulation's rows and keeps none: the oracle needs only what it observes."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = defaultdict(int)

    def add(self, name: str, columns: dict) -> None:
        pass

    def flush(self, name: str | None = None) -> None:
        pass


def expected_min(mean: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """E[min(D, s)] for D ~ Poisson(mean): E[D; D < s] + s P(D >= s), and E[D; D <= s-2] = mean F(s-2)."""
    mean = np.asarray(mean, dtype=float)
    stock = np.asarray(stock, dtype=float)
    return mean * stats.poisson.cdf(stock - 2, mean) + stock * stats.poisson.sf(stock - 1, mean)


def expected_sales(scale: str, seed: int, first: dt.date, last: dt.date, progress: bool = False) -> pd.DataFrame:
    """``sku_id, store_id, date, demand_mean, sales_mean`` for every ranged store slot, ``first`` .. ``last``."""
    from tqdm.auto import tqdm

    from workbench.simulation.build import Simulation
    from workbench.simulation.scales import get_scale

    sim = Simulation(get_scale(scale), seed, _NullWriter(), progress=False)
    start, stop = sim.cal.index(first), sim.cal.index(last)
    keys, shop = sim.keys, sim.chain.type != "dc"
    parts: list[pd.DataFrame] = []

    def observe(day, slots, expected, shock, on_shelf) -> None:
        if day < start:
            return
        keep = shop[keys.slot_loc[slots]]
        slots, mean = slots[keep], expected[keep] / shock[keep]
        parts.append(pd.DataFrame({
            "sku_id": (keys.slot_sku[slots] + 1).astype(np.int32),  # as facts.demand writes them
            "store_id": keys.store_id[keys.slot_loc[slots]],
            "date": pd.Timestamp(sim.cal.date(day)),
            "demand_mean": mean,
            "sales_mean": expected_min(mean, on_shelf[keep]),
        }))

    sim.observer = observe
    for day in tqdm(range(stop + 1), desc=f"oracle: simulating {scale} to {last}", unit="day", disable=not progress):
        sim.step(day)
    return pd.concat(parts, ignore_index=True)
