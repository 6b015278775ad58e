"""Expected sales E[min(D, s)]: hand-computed values and the moment-matched horizon demand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.allocation.expected_sales import expected_sales, horizon_demand, unit_gains


def test_poisson_expected_sales_by_hand():
    # D ~ Poisson(1): P(D=0)=e^-1, P(D=1)=e^-1, so E[min(D,1)] = 1 - e^-1, E[min(D,2)] = 1 - e^-1 + 1 - 2e^-1
    e = math.exp(-1)
    got = expected_sales([1.0, 1.0, 1.0], [np.inf] * 3, [0, 1, 2])
    np.testing.assert_allclose(got, [0.0, 1 - e, (1 - e) + (1 - 2 * e)])


def test_geometric_case_of_the_negative_binomial_by_hand():
    # NB(mean 2, k 1) is geometric with P(D >= j) = (2/3)^j: the j-th unit sells with that probability
    np.testing.assert_allclose(unit_gains([2.0], [1.0], 3)[0], [2 / 3, 4 / 9, 8 / 27])


def test_gains_fall_unit_by_unit_and_sum_to_the_mean():
    gains = unit_gains([0.4, 3.0, 12.0], [0.8, 5.0, np.inf], 200)
    assert (np.diff(gains, axis=1) <= 1e-15).all()  # concave expected sales
    np.testing.assert_allclose(gains.sum(axis=1), [0.4, 3.0, 12.0], rtol=1e-6)


def test_negative_stock_is_refused():
    with pytest.raises(ValueError, match="negative stock"):
        expected_sales([1.0], [np.inf], [-1])


def test_horizon_demand_matches_the_moments_of_the_daily_sum():
    days = pd.date_range("2025-12-01", periods=3)
    forecast = pd.DataFrame({
        "sku_id": 1, "store_id": 7, "date": days, "mean": [1.0, 2.0, 3.0], "nb_size": [2.0, 2.0, np.inf],
    })
    out = horizon_demand(forecast)
    # variance = sum(mu) + sum(mu^2 / k) = 6 + (0.5 + 2.0) -> k = 36 / 2.5
    assert out.loc[0, "mean"] == 6.0 and out.loc[0, "nb_size"] == pytest.approx(36 / 2.5)
    first_two = horizon_demand(forecast, days=2)
    assert first_two.loc[0, "mean"] == 3.0 and first_two.loc[0, "nb_size"] == pytest.approx(9 / 2.5)
    poisson = horizon_demand(forecast.assign(nb_size=np.inf))
    assert poisson.loc[0, "nb_size"] == np.inf


def test_horizon_demand_says_which_columns_are_missing():
    with pytest.raises(ValueError, match="nb_size"):
        horizon_demand(pd.DataFrame({"sku_id": [1], "store_id": [1], "date": ["2025-12-01"], "mean": [1.0]}))
