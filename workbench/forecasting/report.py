"""What the forecast notebook and ``wb forecast`` show: tables of accuracy, example series, rollups, hot items.

Each function returns a tidy frame (charts are in :mod:`workbench.forecasting.plots`);
data are read through the caller's governed session, so a store manager's
notebook shows their stores only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from workbench.forecasting import model, panel
from workbench.forecasting.backtest import series_id
from workbench.forecasting.forecast import rollup
from workbench.forecasting.plots import LEVEL_ORDER

NO_REGION = "(none)"  # online and the DC have no region (as in the backtest)


def _day(value) -> dt.date:
    return pd.Timestamp(value).date()


def accuracy_table(metrics: pd.DataFrame | None) -> pd.DataFrame:
    """Levels as rows (total ... SKU x store), metrics as columns, from ``WindowData.score`` rows."""
    if metrics is None or metrics.empty:
        return pd.DataFrame()
    wide = metrics.pivot_table(index="level", columns="metric", values="value", aggfunc="mean")
    order = [lvl for lvl in LEVEL_ORDER if lvl in wide.index] + [lvl for lvl in wide.index if lvl not in LEVEL_ORDER]
    return wide.reindex(order).rename_axis(columns=None)


def segment_table(segments: pd.DataFrame | None) -> pd.DataFrame:
    """One row per brand / region with its revenue share and metrics (``score_segments`` rows)."""
    if segments is None or segments.empty:
        return pd.DataFrame()
    wide = segments.pivot_table(index=["segment_kind", "segment"], columns="metric", values="value", aggfunc="mean")
    weight = segments.groupby(["segment_kind", "segment"])["weight"].mean().rename("revenue_share")
    return pd.concat([weight, wide], axis=1).rename_axis(columns=None)


def _dimensions(session) -> tuple[pd.DataFrame, pd.DataFrame]:
    stores = session.table("core.stores").select("store_id", "store_code", "region").to_pandas()
    stores["region"] = stores["region"].fillna(NO_REGION)
    products = session.table("core.products").select("sku_id", "skc_id", "skc_code", "brand", "category").to_pandas()
    return stores, products


def skc_forecast(forecast: pd.DataFrame) -> pd.DataFrame:
    """SKC x store x day from the SKU rows: means add up; an SKC's NB shape is its sizes' (thinning keeps ``k``)."""
    grouped = forecast.groupby(["store_id", "skc_id", "date"], as_index=False).agg(mean=("mean", "sum"), nb_size=("nb_size", "first"))
    dist = model.distribution(grouped["mean"].to_numpy(), grouped["nb_size"].to_numpy())
    return pd.concat([grouped[["store_id", "skc_id", "date"]], dist[["mean", "p10", "p50", "p90", "nb_size"]]], axis=1)


def top_series(session, forecast: pd.DataFrame, as_of, n: int = 4, days: int = 28) -> pd.DataFrame:
    """The ``n`` SKC x store series of the forecast with the most revenue in the ``days`` up to ``as_of``."""
    as_of = _day(as_of)
    sold = panel.sales_by_day(session, as_of - dt.timedelta(days=days - 1), as_of)
    revenue = sold.group_by(["store_id", "skc_id"]).aggregate(revenue=sold.revenue.sum()).to_pandas()
    pairs = forecast[["store_id", "skc_id"]].drop_duplicates()
    ranked = pairs.merge(revenue, on=["store_id", "skc_id"], how="left").fillna({"revenue": 0.0})
    return ranked.sort_values(["revenue", "store_id", "skc_id"], ascending=[False, True, True]).head(n).reset_index(drop=True)


def example_series(session, forecast: pd.DataFrame, as_of, n: int = 4, history_days: int = 56) -> pd.DataFrame:
    """Top-revenue SKC x store series: actual units (history, and after ``as_of`` where known) and the forecast.

    Columns ``label, store_code, skc_code, date, actual, mean, p10, p50, p90``
    (forecast columns null before ``as_of``); for :func:`plots.series_bands`.
    """
    as_of = _day(as_of)
    chosen = top_series(session, forecast, as_of, n)
    if chosen.empty:
        return pd.DataFrame(columns=["label", "store_code", "skc_code", "date", "actual", "mean", "p10", "p50", "p90"])
    ahead = skc_forecast(forecast.merge(chosen[["store_id", "skc_id"]], on=["store_id", "skc_id"]))
    ahead["date"] = pd.to_datetime(ahead["date"])
    start = as_of - dt.timedelta(days=history_days - 1)
    end = _day(ahead["date"].max())
    days = pd.date_range(start, end, freq="D")
    grid = chosen[["store_id", "skc_id"]].merge(pd.DataFrame({"date": days}), how="cross")
    sold = panel.sales_by_day(session, start, end)
    sold = sold.filter(sold.skc_id.isin(chosen["skc_id"].tolist()), sold.store_id.isin(chosen["store_id"].tolist()))
    sold = sold.select("store_id", "skc_id", "date", actual="units").to_pandas()
    sold["date"] = pd.to_datetime(sold["date"])
    rows = grid.merge(sold, on=["store_id", "skc_id", "date"], how="left")
    data_end = pd.Timestamp(_last_sale_day(session))
    rows.loc[rows["actual"].isna() & (rows["date"] <= data_end), "actual"] = 0.0  # no sale line: sold nothing
    rows = rows.merge(ahead.drop(columns="nb_size"), on=["store_id", "skc_id", "date"], how="left")
    stores, products = _dimensions(session)
    rows = rows.merge(stores[["store_id", "store_code"]], on="store_id").merge(
        products[["skc_id", "skc_code"]].drop_duplicates(), on="skc_id")
    rows["label"] = rows["store_code"] + "  " + rows["skc_code"]
    order = chosen.reset_index().rename(columns={"index": "_rank"})[["store_id", "skc_id", "_rank"]]
    rows = rows.merge(order, on=["store_id", "skc_id"]).sort_values(["_rank", "date"])
    return rows[["label", "store_code", "skc_code", "date", "actual", "mean", "p10", "p50", "p90"]].reset_index(drop=True)


def _last_sale_day(session) -> dt.date:
    sales = session.table("core.sales")
    return _day(sales.aggregate(last=sales.sale_date.max()).to_pandas()["last"].iloc[0])


def rollup_by(session, forecast: pd.DataFrame, by: str) -> pd.DataFrame:
    """Daily mean forecast summed to ``by``: a store column (``region``, ``store_code``) or a product one (``brand`` ...)."""
    stores, products = _dimensions(session)
    frame = forecast.merge(stores, on="store_id", how="left")
    if by not in frame.columns and by not in products.columns:
        raise ValueError(f"cannot roll up by {by!r}: use region, store_code, brand, category or skc_code")
    return rollup(frame, products.drop(columns="skc_id"), [by])


def summary(session, forecast: pd.DataFrame, by: str = "region") -> pd.DataFrame:
    """Per ``by``: SKU x store series, days, and expected units over the horizon (with P10 / P90 sums)."""
    stores, products = _dimensions(session)
    frame = forecast.merge(stores, on="store_id", how="left").merge(products.drop(columns="skc_id"), on="sku_id", how="left")
    frame = frame.assign(series=series_id(frame["store_id"], frame["sku_id"]))
    out = frame.groupby(by, as_index=False).agg(
        series=("series", "nunique"), first_day=("date", "min"), last_day=("date", "max"),
        units_mean=("mean", "sum"), units_p10_sum=("p10", "sum"), units_p90_sum=("p90", "sum"),
    )
    for column in ("first_day", "last_day"):
        out[column] = pd.to_datetime(out[column]).dt.date
    return out.sort_values("units_mean", ascending=False, ignore_index=True)


@dataclass
class HotItems:
    """The hot-item ranking at an as-of date, or why there is none."""

    ranking: pd.DataFrame
    note: str = ""


def hot_item_ranking(session, as_of, *, top: int = 20, **train_kwargs) -> HotItems:
    """爆款 ranking of the new SKCs around ``as_of`` (``hot_items.rank_new_items`` with models trained at ``as_of``).

    A warehouse with too few finished launches to train on gives an empty
    ranking and the reason, not an error: the forecast run goes on.
    """
    from workbench.forecasting.hot_items import (
        LOOKAHEAD_DAYS,
        LOOKBACK_DAYS,
        RANKING_COLUMNS,
        rank_new_items,
        train_hot_item_models,
    )

    as_of = _day(as_of)
    try:
        models = train_hot_item_models(session, as_of, **train_kwargs)
        ranking = rank_new_items(session, models, as_of)
    except ValueError as err:
        return HotItems(pd.DataFrame(columns=RANKING_COLUMNS), f"no hot-item ranking: {err}")
    if ranking.empty:
        return HotItems(ranking, (f"no new SKCs launched in the {LOOKBACK_DAYS} days before {as_of} or launching in the "
                                  f"{LOOKAHEAD_DAYS} days after it"))
    return HotItems(ranking.head(top).reset_index(drop=True),
                    f"{len(ranking)} new SKCs ranked at {as_of}" + (f"; the top {top} shown" if len(ranking) > top else ""))
