"""Rolling-origin backtests: the same 28-day windows for tuning, the review gate and the benchmark.

A window is an origin date: methods see data up to it and forecast the
next 28 days, which are then scored. Windows end at the last day of data
and step back 28 days, so they never overlap and the last one is the most
recent month.

:class:`WindowData` holds what scoring needs, at SKU × store: sales history
(sparse; the scorer fills zeros), dense actuals, optionally the simulator's
true demand, and the hierarchy. It is read through the governed session of
whoever runs the backtest; true demand only through an oracle session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.forecasting import evaluation, panel
from workbench.forecasting.forecast import HORIZON, data_range

HISTORY_DAYS = 364  # history behind the WRMSSE scales and the peers' training


def window_origins(last_day: dt.date, n_windows: int = 3, horizon: int = HORIZON) -> list[dt.date]:
    """Origins of ``n_windows`` back-to-back windows ending on ``last_day`` (oldest first)."""
    return [last_day - dt.timedelta(days=horizon * k) for k in range(n_windows, 0, -1)]


def default_origins(session, n_windows: int = 3, horizon: int = HORIZON) -> list[dt.date]:
    return window_origins(data_range(session)[1], n_windows, horizon)


@dataclass
class WindowData:
    origin: dt.date
    horizon: int
    history: pd.DataFrame  # sku_id, store_id, date, y, revenue (sales days only)
    actuals: pd.DataFrame  # sku_id, store_id, date, y: every scored series × every day
    hierarchy: pd.DataFrame  # sku_id, skc_id, brand, category
    stores: pd.DataFrame  # store_id, region
    true_demand: pd.DataFrame | None = None  # like actuals, uncensored (simulator only)

    def score(self, forecast: pd.DataFrame, truth: bool = False) -> pd.DataFrame:
        """Metrics per level for a SKU × store forecast (``evaluation.score``)."""
        actuals = self.true_demand if truth else self.actuals
        if actuals is None:
            raise ValueError("no true demand loaded: pass an oracle session to load_window")
        return evaluation.score(self.history, actuals, forecast, self.hierarchy, stores=self.stores)

    def score_segments(self, forecast: pd.DataFrame, by: str) -> pd.DataFrame:
        return evaluation.score_segments(self.history, self.actuals, forecast, self.hierarchy, by=by, stores=self.stores)


def _sku_sales(session, start: dt.date, end: dt.date) -> pd.DataFrame:
    sold = panel.sales_by_day(session, start, end, grain="sku_id").to_pandas()
    sold["date"] = pd.to_datetime(sold["date"])
    return sold.rename(columns={"units": "y"})[["sku_id", "store_id", "date", "y", "revenue"]]


def scored_series(session, origin: dt.date, horizon: int) -> pd.DataFrame:
    """(sku_id, store_id): every size of every SKC ranged at the store some day in the window."""
    ranged = panel.ranged_days(session, origin + dt.timedelta(days=1), origin + dt.timedelta(days=horizon))
    pairs = ranged.select("store_id", "skc_id").distinct()
    products = session.table("core.products").select("sku_id", "skc_id")
    return pairs.join(products, "skc_id").select("sku_id", "store_id").to_pandas()


def dense(series: pd.DataFrame, start: dt.date, days: int, values: pd.DataFrame | None, column: str) -> pd.DataFrame:
    """Every series × every day from ``start``, with ``column`` from ``values`` (0 where absent)."""
    n = len(series)
    dates = pd.date_range(start, periods=days, freq="D")
    grid = pd.DataFrame({
        "sku_id": np.repeat(series["sku_id"].to_numpy(), days),
        "store_id": np.repeat(series["store_id"].to_numpy(), days),
        "date": np.tile(dates.values, n),
    })
    if values is None or values.empty:
        grid["y"] = 0.0
        return grid
    merged = grid.merge(values[["sku_id", "store_id", "date", column]], on=["sku_id", "store_id", "date"], how="left")
    return merged.assign(y=merged[column].fillna(0.0).astype(float))[["sku_id", "store_id", "date", "y"]]


def _true_demand(oracle, start: dt.date, end: dt.date) -> pd.DataFrame:
    demand = oracle.table("truth.demand")
    demand = demand.filter(demand.sale_date >= start, demand.sale_date <= end)
    frame = demand.select("sku_id", "store_id", date=demand.sale_date, demand=demand.demand.cast("float64")).to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def load_window(session, origin: dt.date, horizon: int = HORIZON, oracle=None,
                history_days: int = HISTORY_DAYS) -> WindowData:
    """Everything needed to score forecasts made at ``origin``."""
    first = origin + dt.timedelta(days=1)
    last = origin + dt.timedelta(days=horizon)
    series = scored_series(session, origin, horizon)
    if series.empty:
        raise ValueError(f"no series ranged in {first}..{last} in this scope: nothing to score")
    history = _sku_sales(session, origin - dt.timedelta(days=history_days - 1), origin)
    future = _sku_sales(session, first, last)
    actuals = dense(series, first, horizon, future, "y")
    truth = dense(series, first, horizon, _true_demand(oracle, first, last), "demand") if oracle else None
    products = session.table("core.products").select("sku_id", "skc_id", "brand", "category").to_pandas()
    stores = session.table("core.stores").select("store_id", "region").to_pandas()
    stores["region"] = stores["region"].fillna("(none)")  # online and the DC have no region
    return WindowData(origin, horizon, history, actuals, products, stores, truth)


def peer_history(session, window: WindowData) -> pd.DataFrame:
    """Nixtla long format (unique_id, ds, y): dense daily history of every scored series up to the origin.

    A series starts on the first day its SKC was ranged at the store within
    the history window (before that it had no demand to learn from).
    """
    start = window.origin - dt.timedelta(days=HISTORY_DAYS - 1)
    ranged = panel.ranged_days(session, start, window.origin)
    first = ranged.group_by(["store_id", "skc_id"]).aggregate(first=ranged.date.min())
    products = session.table("core.products").select("sku_id", "skc_id")
    first = first.join(products, "skc_id").select("sku_id", "store_id", "first").to_pandas()
    series = window.actuals[["sku_id", "store_id"]].drop_duplicates().merge(first, on=["sku_id", "store_id"], how="inner")
    n_days = ((pd.Timestamp(window.origin) - pd.to_datetime(series["first"])).dt.days + 1).to_numpy()
    ends = np.cumsum(n_days)
    offsets = np.arange(ends[-1]) - np.repeat(ends - n_days, n_days)
    starts = np.repeat(pd.to_datetime(series["first"]).to_numpy(), n_days)
    frame = pd.DataFrame({
        "sku_id": np.repeat(series["sku_id"].to_numpy(), n_days),
        "store_id": np.repeat(series["store_id"].to_numpy(), n_days),
        "ds": starts + offsets.astype("timedelta64[D]"),
    })
    sold = window.history.rename(columns={"date": "ds"})[["sku_id", "store_id", "ds", "y"]]
    frame = frame.merge(sold, on=["sku_id", "store_id", "ds"], how="left").fillna({"y": 0.0})
    frame["unique_id"] = series_id(frame["store_id"], frame["sku_id"])
    return frame[["unique_id", "ds", "y"]]


SERIES_ID_BASE = 10_000_000  # item ids stay below it; the store id sits in the digits above


def series_id(store_id, item_id) -> np.ndarray:
    """One integer per store × item (SKU or SKC), for Nixtla's ``unique_id``."""
    return np.asarray(store_id, dtype=np.int64) * SERIES_ID_BASE + np.asarray(item_id, dtype=np.int64)


def split_series_id(ids) -> tuple[np.ndarray, np.ndarray]:
    """(store_id, item_id) back from :func:`series_id`."""
    ids = np.asarray(ids, dtype=np.int64)
    return ids // SERIES_ID_BASE, ids % SERIES_ID_BASE


def from_series_id(frame: pd.DataFrame) -> pd.DataFrame:
    """Back from Nixtla's ``unique_id`` / ``ds`` to ``sku_id`` / ``store_id`` / ``date``."""
    stores, items = split_series_id(frame["unique_id"])
    out = frame.drop(columns=["unique_id"]).rename(columns={"ds": "date"})
    out.insert(0, "store_id", stores.astype(np.int32))
    out.insert(0, "sku_id", items.astype(np.int32))
    return out
