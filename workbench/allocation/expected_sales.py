"""Expected sales from the forecast distribution: the concave curve the allocation optimises.

A store holding ``s`` units of a SKU for the planning horizon sells
``E[min(D, s)]`` in expectation, where ``D`` is the horizon's demand. The
``j``-th unit on the shelf sells with probability ``P(D >= j)``. That
probability falls as ``j`` grows, so expected sales are concave in stock,
piecewise linear between whole units. A linear program can then maximise
them exactly: one variable per unit step, with gain ``P(D >= j)``
(:func:`unit_gains`).

The horizon's demand is the sum of the forecast's daily negative binomials
NB(μ_t, k) (``marts.forecast``: ``mean``, ``nb_size``). A sum of NBs with
different means is not NB, so the sum is moment-matched: mean ``Σμ_t``,
variance ``Σ(μ_t + μ_t²/k)``, hence ``k_h = (Σμ_t)² / Σ(μ_t²/k)``. A
Poisson day (``k = inf``) adds no extra variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["horizon_demand", "tail", "unit_gains", "unit_ranks", "expected_sales"]

KEYS = ["sku_id", "store_id"]


def horizon_demand(forecast: pd.DataFrame, days: int | None = None) -> pd.DataFrame:
    """Per SKU × store: the horizon's demand ``mean`` and NB shape ``nb_size`` (moment-matched daily NBs).

    ``forecast`` has ``sku_id, store_id, date, mean, nb_size`` (``marts.forecast``);
    ``days`` keeps the first days of it (the planning horizon), all of it by default.
    """
    missing = {"sku_id", "store_id", "date", "mean", "nb_size"} - set(forecast.columns)
    if missing:
        raise ValueError(f"the forecast lacks {sorted(missing)}: pass marts.forecast rows (see workbench.forecasting)")
    rows = forecast
    if days is not None:
        first = pd.to_datetime(rows["date"]).min()
        rows = rows[pd.to_datetime(rows["date"]) < first + pd.Timedelta(days=days)]
    extra = np.where(np.isfinite(rows["nb_size"]), rows["mean"] ** 2 / rows["nb_size"], 0.0)
    sums = rows.assign(_extra=extra).groupby(KEYS, as_index=False, sort=True).agg(mean=("mean", "sum"), _extra=("_extra", "sum"))
    with np.errstate(divide="ignore"):
        sums["nb_size"] = np.where(sums["_extra"] > 0, sums["mean"] ** 2 / sums["_extra"], np.inf)
    return sums.drop(columns="_extra")


def _sf(j: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """P(D > j) for D ~ NB(mean, k), Poisson where k is infinite."""
    mean = np.maximum(mean, 1e-12)
    poisson = ~np.isfinite(k)
    safe_k = np.where(poisson, 1.0, k)
    nb = stats.nbinom.sf(j, safe_k, safe_k / (safe_k + mean))
    return np.where(poisson, stats.poisson.sf(j, mean), nb)


def tail(mean, nb_size, j) -> np.ndarray:
    """P(D >= j) elementwise: the chance that the j-th unit held sells."""
    return _sf(np.asarray(j) - 1, np.asarray(mean, dtype=float), np.asarray(nb_size, dtype=float))


def unit_gains(mean, nb_size, units: int) -> np.ndarray:
    """(series, units) array: P(D >= j) for j = 1 .. ``units``, the expected sale of the j-th unit held."""
    mean = np.asarray(mean, dtype=float)[:, None]
    k = np.asarray(nb_size, dtype=float)[:, None]
    return tail(mean, k, np.arange(1, units + 1)[None, :])


def unit_ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, .., n-1 for each count n, concatenated (the units of each row, one entry per unit)."""
    counts = np.asarray(counts, dtype=int)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def expected_sales(mean, nb_size, stock) -> np.ndarray:
    """E[min(D, stock)] per series: the sum of the unit gains up to the stock held."""
    stock = np.asarray(stock, dtype=int)
    if (stock < 0).any():
        raise ValueError("negative stock: expected sales need on-hand quantities of 0 or more")
    mean, k = np.asarray(mean, dtype=float), np.asarray(nb_size, dtype=float)
    row = np.repeat(np.arange(len(stock)), stock)  # one entry per unit held, not a series x max-stock grid
    return np.bincount(row, tail(mean[row], k[row], unit_ranks(stock) + 1), minlength=len(stock))
