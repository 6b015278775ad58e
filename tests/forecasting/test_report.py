"""What the forecast notebook shows: the report tables (on the tiny chain) and the charts (on small frames)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import workbench as wb
from workbench.forecasting import plots, report

from .forecast_env import AS_OF, synthetic_forecast

LEVELS = pd.DataFrame({
    "level": ["sku_store", "total", "store", "total", "sku_store"],
    "metric": ["wrmsse", "wrmsse", "wrmsse", "wape", "wape"],
    "value": [0.7, 1.2, 0.9, 0.1, 1.1],
})
SEGMENTS = pd.DataFrame({
    "segment_kind": ["brand", "brand", "region", "brand", "brand", "region"],
    "segment": ["Lumen", "Stride", "East", "Lumen", "Stride", "East"],
    "metric": ["wrmsse", "wrmsse", "wrmsse", "wape", "wape", "wape"],
    "value": [0.6, 0.8, 0.7, 1.0, 1.2, 1.1],
    "weight": [0.6, 0.4, 1.0, 0.6, 0.4, 1.0],
})


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_accuracy_tables_put_levels_in_hierarchy_order():
    table = report.accuracy_table(LEVELS)
    assert list(table.index) == ["total", "store", "sku_store"] and list(table.columns) == ["wape", "wrmsse"]
    assert table.loc["sku_store", "wrmsse"] == 0.7
    segments = report.segment_table(SEGMENTS)
    assert segments.loc[("brand", "Lumen"), "revenue_share"] == 0.6 and segments.loc[("region", "East"), "wape"] == 1.1
    assert report.accuracy_table(None).empty and report.segment_table(None).empty


def test_charts_draw_what_they_are_given():
    fig = plots.accuracy_by_level(LEVELS)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["total", "store", "sku_store"]
    fig = plots.accuracy_by_segment(SEGMENTS)
    assert [ax.get_title() for ax in fig.axes] == ["wrmsse by brand (revenue share)", "wrmsse by region (revenue share)"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Lumen (60%)", "Stride (40%)"]
    days = pd.date_range("2025-11-01", periods=10)
    series = pd.DataFrame({"label": ["S001  A"] * 10 + ["S002  B"] * 10, "date": list(days) * 2,
                           "actual": np.arange(20.0), "mean": [np.nan] * 5 + [2.0] * 5 + [np.nan] * 5 + [3.0] * 5})
    series = series.assign(p10=series["mean"] - 1, p50=series["mean"], p90=series["mean"] + 1)
    fig = plots.series_bands(series)
    assert [ax.get_title() for ax in fig.axes if ax.axison] == ["S001  A", "S002  B"]
    rolled = pd.DataFrame({"region": ["East", "East", "North"], "date": days[:3], "mean": [1.0, 2.0, 3.0]})
    assert len(plots.rollup_chart(rolled, "region").axes[0].lines) == 2
    ranking = pd.DataFrame({"skc_code": ["X", "Y"], "stage": ["week1", "prelaunch"], "predicted_sell_through": [0.5, 0.2]})
    assert len(plots.hot_items_chart(ranking).axes[0].patches) == 2
    for fig in (plots.accuracy_by_level(None), plots.accuracy_by_segment(None), plots.series_bands(series.iloc[:0]),
                plots.rollup_chart(rolled.iloc[:0], "region"), plots.hot_items_chart(ranking.iloc[:0])):
        assert png(fig).startswith(b"\x89PNG") and not fig.axes[0].axison  # an empty chart says so, no error
    with pytest.raises(ValueError, match="needs columns"):
        plots.rollup_chart(rolled.drop(columns="mean"), "region")


@pytest.fixture(scope="module")
def forecast(tiny_settings):
    return synthetic_forecast(tiny_settings, skus=30, days=28)


@pytest.fixture
def session(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings, read_only=True) as s:
        yield s


def test_example_series_are_the_top_revenue_skc_store_pairs_with_history(session, forecast):
    top = report.top_series(session, forecast, AS_OF, n=3)
    assert len(top) == 3 and top["revenue"].is_monotonic_decreasing
    series = report.example_series(session, forecast, AS_OF, n=3, history_days=14)
    assert series["label"].nunique() == 3
    one = series[series["label"] == series["label"].iloc[0]]
    assert len(one) == 14 + 28 and one["date"].is_monotonic_increasing
    before = one["date"] <= pd.Timestamp(AS_OF)
    assert one.loc[before, "mean"].isna().all() and one.loc[~before, "mean"].notna().all()
    assert one["actual"].notna().all()  # the tiny chain's data run to 2025-12-31: every day is known
    assert (one.loc[~before, "p10"] <= one.loc[~before, "p90"]).all()
    # The SKC line is the sum of its sizes' means.
    store, skc = top.loc[0, ["store_id", "skc_id"]]
    sizes = forecast[(forecast.store_id == store) & (forecast.skc_id == skc)].groupby("date")["mean"].sum()
    first = series[series["label"] == series["label"].iloc[0]].set_index("date")["mean"].dropna()
    assert np.allclose(first.to_numpy(), sizes.to_numpy())


def test_rollups_and_summary_add_up_to_the_forecast(session, forecast):
    total = forecast["mean"].sum()
    for by in ("region", "brand", "store_code"):
        rolled = report.rollup_by(session, forecast, by)
        assert set(rolled.columns) == {by, "date", "mean"} and rolled["mean"].sum() == pytest.approx(total)
    summary = report.summary(session, forecast, by="region")
    assert summary["units_mean"].sum() == pytest.approx(total)
    assert summary["series"].sum() == forecast[["store_id", "sku_id"]].drop_duplicates().shape[0]
    assert set(summary["first_day"]) == {AS_OF + dt.timedelta(days=1)}
    with pytest.raises(ValueError, match="cannot roll up by"):
        report.rollup_by(session, forecast, "colour")


def test_hot_items_rank_or_say_why_not(session):
    hot = report.hot_item_ranking(session, "2025-10-20", min_training_skcs=20)
    assert len(hot.ranking) == 6 and list(hot.ranking["rank"]) == [1, 2, 3, 4, 5, 6] and "6 new SKCs" in hot.note
    none = report.hot_item_ranking(session, "2025-10-20")  # by default 40 finished launches are needed: 36 here
    assert none.ranking.empty and none.note.startswith("no hot-item ranking: too few new SKCs")
