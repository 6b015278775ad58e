"""The forecast core on the tiny chain: calendar, censoring, features, the model, size curves, windows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.forecasting import backtest, calendar, features, forecast, model, panel, sizes

AS_OF = dt.date(2025, 12, 3)
SMALL = forecast.TrainingPlan(n_origins=6, sample_every=2)


@pytest.fixture(scope="module")
def session(tiny_settings):
    # closed at the end: an open read-only session would stop a later test's writer on the shared tiny chain
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def first_row(tiny_settings):
    """The first row of hand-written SQL, run through the governed door as admin."""
    with wb.session("u_admin", settings=tiny_settings, read_only=True) as admin:
        yield lambda query: tuple(admin.sql(query).to_pandas().iloc[0])


@pytest.fixture(scope="module")
def fitted(session):
    return forecast.fit_at(session, AS_OF, plan=SMALL)


@pytest.fixture(scope="module")
def rows(session, fitted):
    return forecast.forecast_at(session, fitted, AS_OF)


# ---------------------------------------------------------------- calendar


def test_calendar_knows_the_lunar_new_year_and_the_platform_festivals():
    frame = calendar.calendar_frame(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).set_index("date")
    assert frame.loc[dt.date(2025, 1, 29), "days_to_spring_festival"] == 0  # 春节 2025
    assert frame.loc[dt.date(2025, 1, 20), "pre_festival"] == 1
    assert frame.loc[dt.date(2025, 2, 3), "festival_slump"] == 1
    assert frame.loc[dt.date(2025, 11, 11), "double11"] == 1
    assert frame.loc[dt.date(2025, 11, 1), "days_to_double11"] == 10
    assert frame.loc[dt.date(2025, 6, 18), "day_618"] == 1
    assert frame.loc[dt.date(2025, 10, 3), "golden_week"] == 1
    assert frame["double12"].sum() == 3


def test_calendar_refuses_a_year_without_a_spring_festival_date():
    with pytest.raises(ValueError, match="Spring Festival"):
        calendar.calendar_frame(dt.date(2031, 1, 1), dt.date(2031, 2, 1))


# ---------------------------------------------------------------- censoring


def test_a_day_with_every_size_out_of_stock_has_no_availability(session, first_row):
    # Find a store × SKC × day on which every size of the SKC was in an out-of-stock spell.
    store, skc, day = first_row("""
        with out as (
            select o.store_id, p.skc_id, d::date as day, count(distinct o.sku_id) as n_out
            from core.out_of_stock o join core.products p using (sku_id),
                 generate_series(o.start_date, coalesce(o.end_date, date '2025-12-31'), interval 1 day) g(d)
            where d between date '2025-06-01' and date '2025-06-30'
            group by all)
        select out.store_id, out.skc_id, out.day from out
        join (select skc_id, count(*) n from core.products group by 1) s using (skc_id)
        join core.assortment a on a.store_id = out.store_id and a.skc_id = out.skc_id
             and out.day between a.start_date and coalesce(a.end_date, date '2999-01-01')
        where n_out = s.n order by all limit 1""")
    daily = panel.skc_store_daily(session, dt.date(2025, 6, 1), dt.date(2025, 6, 30)).to_pandas()
    row = daily[(daily.store_id == store) & (daily.skc_id == skc) & (pd.to_datetime(daily.date) == pd.Timestamp(day))]
    assert len(row) == 1 and row.avail_share.iloc[0] == 0.0
    assert daily.avail_share.between(0, 1).all()
    assert (daily.avail_share == 1).mean() > 0.3  # most days are fully in stock


def test_the_panel_keeps_every_unit_sold(session, first_row):
    daily = panel.skc_store_daily(session, dt.date(2025, 3, 1), dt.date(2025, 5, 31)).to_pandas()
    (sold,) = first_row(
        "select sum(qty) from core.sales where line_type = 'sale' and sale_date between '2025-03-01' and '2025-05-31'"
    )
    assert daily.units.sum() == pytest.approx(sold)


# ---------------------------------------------------------------- features


def test_rolling_rates_count_in_stock_days_only(session):
    origin = dt.date(2025, 9, 30)
    spec = features.FrameSpec(origins=(origin,), horizon=7)
    frame = features.load_frame(session, spec)
    one = frame.sort_values("units_28", ascending=False).iloc[0]
    daily = panel.skc_store_daily(session, origin - dt.timedelta(days=27), origin).to_pandas()
    series = daily[(daily.store_id == one.store_id) & (daily.skc_id == one.skc_id)]
    in_stock = series[series.avail_share > 0]
    assert one.units_28 == pytest.approx(in_stock.units.sum())
    assert one.instock_days_28 == len(in_stock)
    assert one.rate_28 == pytest.approx(in_stock.units.sum() / len(in_stock))


def test_scoring_rows_forecast_demand_with_every_size_in_stock(session):
    frame = features.load_frame(session, features.FrameSpec(origins=(AS_OF,), horizon=28))
    assert (frame.avail_share == 1.0).all()
    assert set(frame.h) == set(range(1, 29))
    assert (pd.to_datetime(frame.date) > pd.Timestamp(AS_OF)).all()
    assert not frame[["store_id", "skc_id", "date"]].duplicated().any()


def test_training_rows_mask_stock_outs_and_never_look_past_the_cut_off(session):
    spec = features.FrameSpec(
        origins=forecast.TrainingPlan().origins(AS_OF, 1, n_series=1), train=True, last_target=AS_OF  # 4 weeks
    )
    frame = features.load_frame(session, spec)
    assert (frame.avail_share > 0).all()
    assert pd.to_datetime(frame.date).max() <= pd.Timestamp(AS_OF)
    assert set(features.FEATURES) <= set(frame.columns)
    sampled = features.load_frame(session, features.FrameSpec(**{**spec.__dict__, "sample_every": 4}))
    assert 0.15 < len(sampled) / len(frame) < 0.35


# ---------------------------------------------------------------- the model


def test_dispersion_is_recovered_from_negative_binomial_draws():
    rng = np.random.default_rng(0)
    mean = rng.uniform(0.05, 3.0, 60_000)
    k = 1.5
    y = rng.negative_binomial(k, k / (k + mean))
    edges, ks = model.fit_dispersion(y, mean, bands=3)
    assert np.allclose(ks, k, rtol=0.15)


def test_quantiles_of_the_fitted_distribution_are_ordered_and_poisson_when_k_is_infinite():
    dist = model.distribution(np.array([0.02, 0.5, 4.0, 4.0]), np.array([1.0, 1.0, 1.0, np.inf]))
    assert (dist.p10 <= dist.p50).all() and (dist.p50 <= dist.p90).all()
    assert dist.p90.iloc[0] == 0  # rare sellers: P90 of zero units
    assert dist.p90.iloc[2] > dist.p90.iloc[3]  # over-dispersed is wider than Poisson


def test_the_fitted_model_forecasts_every_size_with_intervals(fitted, rows, session):
    assert fitted.trained_until == AS_OF
    assert len(rows) > 0 and rows[["sku_id", "store_id", "date"]].notna().all().all()
    assert not rows[["sku_id", "store_id", "date"]].duplicated().any()
    assert (rows["mean"] >= 0).all()
    assert (rows.p10 <= rows.p50).all() and (rows.p50 <= rows.p90).all()
    assert rows.date.min() == pd.Timestamp(AS_OF + dt.timedelta(days=1))
    assert rows.date.max() == pd.Timestamp(AS_OF + dt.timedelta(days=28))
    # sizes split the SKC forecast: each store × SKC × day sums back to the SKC mean
    skc = forecast.skc_forecast(session, fitted, AS_OF)
    sums = rows.groupby(["store_id", "skc_id", "date"])["mean"].sum()
    merged = skc.set_index(["store_id", "skc_id", "date"])["mean"].reindex(sums.index)
    assert np.allclose(sums.to_numpy(), merged.to_numpy(), rtol=1e-6)


def test_the_model_beats_a_28_day_moving_average_on_the_last_window(session, rows):
    window = backtest.load_window(session, AS_OF)
    history = backtest.peer_history(session, window)
    last28 = history[history.ds > history.ds.max() - pd.Timedelta(days=28)]
    rate = last28.groupby("unique_id", as_index=False)["y"].mean()
    flat = backtest.from_series_id(rate.assign(ds=pd.Timestamp(AS_OF))).rename(columns={"y": "mean"})
    days = pd.date_range(AS_OF + dt.timedelta(days=1), periods=28)
    flat = flat.drop(columns="date").merge(pd.DataFrame({"date": days}), how="cross")
    ours = window.score(rows).query("metric == 'wrmsse'").set_index("level")["value"]
    theirs = window.score(flat).query("metric == 'wrmsse'").set_index("level")["value"]
    assert ours["sku_store"] < theirs["sku_store"]
    assert ours["total"] < theirs["total"]


def test_size_curves_sum_to_one_per_store_and_style_colour(session):
    curves = sizes.store_size_curves(session, dt.date(2025, 6, 1), dt.date(2025, 11, 30)).to_pandas()
    totals = curves.groupby(["store_id", "skc_id"])["size_share"].sum()
    assert np.allclose(totals, 1.0)
    assert (curves.size_share > 0).all()
    # Asking for a few pairs gives the same shares as the whole grid.
    import ibis

    some = curves[["store_id", "skc_id"]].drop_duplicates().head(5)
    few = sizes.store_size_curves(session, dt.date(2025, 6, 1), dt.date(2025, 11, 30), ibis.memtable(some)).to_pandas()
    keys = ["store_id", "skc_id", "sku_id"]
    both = few.merge(curves, on=keys, suffixes=("_few", "_all"))
    assert len(both) == len(few) > 0 and np.allclose(both.size_share_few, both.size_share_all)


def test_an_as_of_date_outside_the_data_is_refused_with_the_dates_that_work(session):
    with pytest.raises(ValueError, match=r"choose an as-of date between 20\d\d-\d\d-\d\d and 2025-12-31"):
        forecast.fit_at(session, dt.date(2026, 3, 1), plan=SMALL)
    with pytest.raises(ValueError, match="outside what the data supports"):
        forecast.fit_at(session, dt.date(2025, 2, 1), plan=SMALL)


def test_windows_are_back_to_back_and_end_on_the_last_day():
    origins = backtest.window_origins(dt.date(2025, 12, 31), 3)
    assert origins == [dt.date(2025, 10, 8), dt.date(2025, 11, 5), dt.date(2025, 12, 3)]
    assert origins[-1] + dt.timedelta(days=28) == dt.date(2025, 12, 31)


class _Unbound:
    """The session's tables as unbound ibis tables: expressions compile for any engine."""

    def __init__(self, session):
        self.session = session

    def table(self, name: str):
        import ibis

        return ibis.table(self.session.table(name).schema(), name=name.replace(".", "_"))


def test_the_feature_expressions_compile_for_spark(session):
    import ibis

    ibis.pyspark  # noqa: B018 - registers the pyspark options the compiler reads
    unbound = _Unbound(session)
    spec = features.FrameSpec(origins=(AS_OF,), horizon=28, train=True, last_target=AS_OF + dt.timedelta(days=28))
    origins = features.origin_table(spec.origins)
    daily = panel.skc_store_daily(unbound, spec.first_day, spec.last_day)
    products = features.product_attributes(unbound)
    rows = features.target_days(daily, origins, spec)
    for expr in (
        daily,
        features.recent_demand(daily, origins),
        rows,
        features.promotion_by_day(unbound, panel.day_grid(AS_OF, spec.last_day), products),
        features.price_on_day(unbound, rows, "outlet"),
        features.last_year_index(unbound, origins, products, spec)[0],
        sizes.store_size_curves(unbound, dt.date(2025, 6, 1), AS_OF),
    ):
        assert "SELECT" in ibis.to_sql(expr, dialect="pyspark")
