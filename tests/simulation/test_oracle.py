"""The forecast oracle re-runs the simulation and sees the demand the warehouse recorded."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.simulation.oracle import expected_min, expected_sales

from .conftest import SEED

FIRST, LAST = dt.date(2025, 12, 1), dt.date(2025, 12, 14)


@pytest.mark.parametrize("mean", [0.0, 0.03, 0.7, 4.0, 25.0])
def test_expected_min_is_the_sum_over_the_poisson_law(mean):
    stock = np.arange(0, 40)
    k = np.arange(0, 400)
    pmf = np.exp(-mean) * np.cumprod(np.r_[1.0, np.full(len(k) - 1, mean)] / np.maximum(k, 1))
    brute = [(np.minimum(k, s) * pmf).sum() for s in stock]
    np.testing.assert_allclose(expected_min(np.full(len(stock), mean), stock), brute, atol=1e-9)


@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    return expected_sales("tiny", SEED, FIRST, LAST)


def test_oracle_matches_the_recorded_demand_up_to_the_days_shock(oracle, con):
    """truth.demand's ``expected`` includes the day's SKC shock: divided by the oracle's, one value per SKC-day."""
    truth = con.execute(
        "select d.sku_id, d.store_id, d.sale_date as date, d.expected, p.skc_id from truth.demand d "
        "join core.products p using (sku_id) where d.sale_date between ? and ? and d.expected > 0.05",
        [FIRST, LAST]).df()
    truth["date"] = pd.to_datetime(truth["date"])
    both = truth.merge(oracle, on=["sku_id", "store_id", "date"], how="left")
    assert len(both) > 500 and both["demand_mean"].notna().all()
    shock = both["expected"] / both["demand_mean"]
    spread = shock.groupby([both["skc_id"], both["date"]]).agg(lambda s: s.max() / s.min())
    assert spread.max() < 1.01  # rounding of ``expected`` to 4 decimals only
    assert 0.85 < shock.median() < 1.15  # gamma(20) shocks have mean 1


def test_expected_sales_never_exceed_demand_and_track_what_sold(oracle, con):
    assert (oracle["sales_mean"] <= oracle["demand_mean"] + 1e-12).all()
    sold = con.execute("select sum(sold) from truth.demand where sale_date between ? and ?", [FIRST, LAST]).fetchone()[0]
    assert oracle["sales_mean"].sum() == pytest.approx(sold, rel=0.15)
