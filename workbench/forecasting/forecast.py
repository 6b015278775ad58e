"""Train at an as-of date and forecast SKU × store × day demand for the next 28 days.

The two entry points every consumer uses (the notebook, the benchmark, the
review gate, the pipelines): :func:`fit_at` trains on what was known at the
as-of date; :func:`forecast_at` turns a model into P10 / P50 / P90 per size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from workbench.forecasting import features, model, sizes

HORIZON = 28
SIZE_CURVE_DAYS = 182  # half a year of sales behind the store size curves


MIN_ORIGINS = 4  # fewer weekly origins than this is too little history to train on


@dataclass(frozen=True)
class TrainingPlan:
    """How much history a training run uses; Optuna may tune these too."""

    n_origins: int = 52  # weekly origins behind the model: a year, fewer where the history is shorter
    sample_every: int = 4  # keep one horizon in this many per series and origin (at least)
    refit: bool = True  # retrain on all rows after calibrating the dispersion
    max_rows: int = 2_000_000  # a bigger chain samples horizons more thinly to stay near this
    max_series_origins: int = 3_000_000  # a bigger chain spaces its origins wider (features cost per origin)

    def sampling(self, n_series: int, n_origins: int, horizon: int = HORIZON) -> int:
        """One horizon in how many: ``sample_every``, or thinner when the chain is large."""
        rows = n_series * n_origins * horizon
        return max(self.sample_every, -(-rows // self.max_rows))

    def origins(self, as_of: dt.date, n_origins: int, n_series: int, horizon: int = HORIZON) -> tuple[dt.date, ...]:
        """Training origins, oldest first.

        ``n_origins`` is the span, counted in weeks back from ``as_of - horizon``
        (the origin whose targets end on ``as_of``; the intervals are calibrated on it).
        When ``n_series`` times the origins would exceed ``max_series_origins``,
        fewer origins spread over the same span, every 2, 3 .. weeks, so a large
        chain still sees last year's season (on ``large``, weekly origins
        over a year took 12.6 GB and 18 minutes). The weeks between
        ``as_of - horizon`` and ``as_of`` stay weekly: their targets are the freshest.
        """
        recent = [as_of - dt.timedelta(days=7 * k) for k in range(1, -(-horizon // 7)) if 7 * k < horizon]
        budget = self.max_series_origins // max(n_series, 1) - len(recent)
        allowed = max(MIN_ORIGINS, budget)
        weeks = max(1, -(-(n_origins - 1) // max(allowed - 1, 1)))  # the step, so the span stays n_origins weeks
        full = [as_of - dt.timedelta(days=horizon + 7 * weeks * i) for i in range((n_origins - 1) // weeks + 1)]
        return tuple(sorted(full + recent))

    def origins_at(self, first_sale: dt.date, as_of: dt.date, horizon: int = HORIZON) -> int:
        """Weekly origins a fit at ``as_of`` uses: ``n_origins``, or as many as the history holds.

        A year of origins lets the model see this season's weeks last year
        (measured: 52 origins cut the SKC × store WRMSSE by 2-3 % against 12).
        """
        room = ((as_of - first_sale).days - features.LOOKBACK - horizon) // 7
        return max(0, min(self.n_origins, room))


def data_range(session) -> tuple[dt.date, dt.date]:
    """First and last sale day the user can see."""
    sales = session.table("core.sales")
    row = sales.aggregate(first=sales.sale_date.min(), last=sales.sale_date.max()).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        raise ValueError("no sales visible in this scope: nothing to forecast (check the user's stores or the warehouse)")
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()


def check_as_of(session, as_of: dt.date, plan: TrainingPlan, horizon: int = HORIZON) -> None:
    """Refuse an as-of date the data cannot support, saying which dates would work."""
    first, last = data_range(session)
    need = features.LOOKBACK + 7 * min(MIN_ORIGINS, plan.n_origins) + horizon
    earliest = first + dt.timedelta(days=need)
    if as_of > last or as_of < earliest:
        raise ValueError(
            f"as-of date {as_of} is outside what the data supports: sales run {first}..{last}, and "
            f"training needs at least {need} days of history, so choose an as-of date between {earliest} and {last}"
        )


def ranged_series(session, day: dt.date) -> int:
    """How many store × SKC pairs are ranged on ``day`` (sizes the training sample)."""
    a = session.table("core.assortment")
    live = a.filter(a.start_date <= day, a.end_date.isnull() | (a.end_date >= day))
    return int(live.count().to_pyarrow().as_py())


def training_spec(session, as_of: dt.date, plan: TrainingPlan, horizon: int = HORIZON) -> features.FrameSpec:
    """Origins up to a week before ``as_of`` (``TrainingPlan.origins``); targets never after it; sampled to size."""
    n_series = ranged_series(session, as_of)
    origins = plan.origins(as_of, plan.origins_at(data_range(session)[0], as_of, horizon), n_series, horizon)
    return features.FrameSpec(
        origins=origins, horizon=horizon, train=True, last_target=as_of,
        sample_every=plan.sampling(n_series, len(origins), horizon),
    )


def fit_at(session, as_of: dt.date, params: dict | None = None, plan: TrainingPlan = TrainingPlan(),
           horizon: int = HORIZON) -> model.DemandModel:
    """Train on data up to ``as_of``; calibrate the intervals on its last ``horizon`` days."""
    return fit_with_holdout(session, as_of, params, plan, horizon)[0]


def fit_with_holdout(session, as_of: dt.date, params: dict | None = None, plan: TrainingPlan = TrainingPlan(),
                     horizon: int = HORIZON) -> tuple[model.DemandModel, model.DemandModel]:
    """:func:`fit_at`, and its calibration model (trained up to ``as_of - horizon``), to backtest on the days after."""
    check_as_of(session, as_of, plan, horizon)
    frame = features.load_frame(session, training_spec(session, as_of, plan, horizon))
    calibration_from = as_of - dt.timedelta(days=horizon - 1)
    return model.train_with_holdout(frame, calibration_from, params, trained_until=as_of, refit=plan.refit)


def skc_forecast(session, fitted: model.DemandModel, as_of: dt.date, horizon: int = HORIZON) -> pd.DataFrame:
    """SKC × store × day: mean and NB shape, for every ranged day in the horizon."""
    frame = features.load_frame(session, features.FrameSpec(origins=(as_of,), horizon=horizon))
    if frame.empty:
        raise ValueError(f"nothing ranged in the {horizon} days after {as_of} in this scope: no series to forecast")
    mean = fitted.predict_mean(frame)
    return pd.DataFrame({
        "store_id": frame["store_id"].to_numpy(), "skc_id": frame["skc_id"].to_numpy(),
        "date": frame["date"].to_numpy(), "mean": mean, "nb_size": fitted.dispersion(mean),
    })


def split_to_sizes(skc: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """SKU rows from SKC rows: mean × size share; a thinned NB keeps its shape ``k``."""
    rows = skc.merge(curves, on=["store_id", "skc_id"], how="inner")
    mean = rows["mean"].to_numpy() * rows["size_share"].to_numpy()
    dist = model.distribution(mean, rows["nb_size"].to_numpy())
    out = rows[["sku_id", "store_id", "skc_id", "date"]].reset_index(drop=True)
    return pd.concat([out, dist[["mean", "p10", "p50", "p90", "nb_size"]]], axis=1)


def forecast_at(session, fitted: model.DemandModel, as_of: dt.date, horizon: int = HORIZON) -> pd.DataFrame:
    """SKU × store × day demand with P10 / P50 / P90 (and the NB shape for allocation)."""
    skc = skc_forecast(session, fitted, as_of, horizon)
    start = as_of - dt.timedelta(days=SIZE_CURVE_DAYS - 1)
    pairs = ibis.memtable(skc[["store_id", "skc_id"]].drop_duplicates())
    curves = sizes.store_size_curves(session, start, as_of, pairs).to_pandas()
    out = split_to_sizes(skc, curves)
    out["date"] = pd.to_datetime(out["date"])
    return out.sort_values(["store_id", "sku_id", "date"], kind="stable").reset_index(drop=True)


def rollup(forecast: pd.DataFrame, hierarchy: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sum the mean forecast to any grain (SKC, store, region, brand, total) per day."""
    frame = forecast.merge(hierarchy, on="sku_id", how="left") if set(by) - set(forecast.columns) else forecast
    return frame.groupby(by + ["date"], observed=True, as_index=False)["mean"].sum()

