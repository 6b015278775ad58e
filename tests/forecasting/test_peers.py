"""The standard forecasting peers on small synthetic panels built here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from workbench.forecasting.peers import OUTPUT_COLUMNS, PEERS

H = 28
ORIGIN = pd.Timestamp("2025-06-30")
WEEKLY = np.array([1.0, 1.0, 1.2, 1.5, 2.5, 4.0, 3.0])  # Monday .. Sunday


def make_panel(n_series=20, days=140, seed=7, ids=None):
    """Daily counts: a weekly pattern x a per-series level, Poisson noise.

    Half the series are intermittent (level well below one a day), and the
    series start on different days, the youngest 10 days before the origin.
    """
    rng = np.random.default_rng(seed)
    ids = [f"SKU{i:02d}@S{i % 3}" for i in range(n_series)] if ids is None else ids
    lengths = np.linspace(days, 10, n_series).astype(int)
    levels = np.where(np.arange(n_series) % 2 == 0, rng.uniform(1, 5, n_series), rng.uniform(0.03, 0.2, n_series))
    frames = []
    for uid, length, level in zip(ids, lengths, levels):
        ds = pd.date_range(end=ORIGIN, periods=length, freq="D")
        y = rng.poisson(level * WEEKLY[ds.dayofweek]).astype(float)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def panel():
    return make_panel()


@pytest.fixture(scope="module")
def forecasts(panel):
    """Each peer's forecast of the panel, computed once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: fn(panel, H) for name, fn in PEERS.items()}


def test_peers_are_the_four_standard_methods():
    assert list(PEERS) == ["seasonal_naive", "moving_average", "autoets", "mlforecast_lgbm"]


@pytest.mark.parametrize("name", list(PEERS))
def test_shape_keys_dates_and_non_negative(name, panel, forecasts):
    out = forecasts[name]
    ids = sorted(panel["unique_id"].unique())
    assert list(out.columns) == OUTPUT_COLUMNS
    assert len(out) == len(ids) * H
    assert list(out["unique_id"]) == list(np.repeat(ids, H))
    days = pd.date_range(ORIGIN + pd.Timedelta(days=1), periods=H, freq="D")
    np.testing.assert_array_equal(out["ds"].to_numpy(), np.tile(days.to_numpy(), len(ids)))
    assert pd.api.types.is_datetime64_any_dtype(out["ds"])
    assert out["mean"].notna().all()
    assert (out["mean"] >= 0).all()
    quantiles = out[["p10", "p50", "p90"]]
    assert (quantiles.isna() | (quantiles >= 0)).all().all()


@pytest.mark.parametrize("name", ["seasonal_naive", "autoets"])
def test_intervals_given_and_ordered(name, forecasts):
    out = forecasts[name]
    assert out[["p10", "p50", "p90"]].notna().all().all()
    assert (out["p10"] <= out["p50"]).all() and (out["p50"] <= out["p90"]).all()
    assert (out["p50"] == out["mean"]).all()
    assert (out["p90"] > out["p10"]).any()


@pytest.mark.parametrize("name", ["moving_average", "mlforecast_lgbm"])
def test_no_interval_is_nan(name, forecasts):
    assert forecasts[name][["p10", "p50", "p90"]].isna().all().all()


def test_seasonal_naive_repeats_the_last_week_of_a_pure_weekly_series():
    ds = pd.date_range(end=ORIGIN, periods=63, freq="D")
    pure = pd.DataFrame({"unique_id": "A", "ds": ds, "y": 3.0 * WEEKLY[ds.dayofweek]})
    out = PEERS["seasonal_naive"](pure, H)
    expected = 3.0 * WEEKLY[out["ds"].dt.dayofweek]
    np.testing.assert_array_equal(out["mean"].to_numpy(), expected)
    # a series that repeats exactly has no residual, so no spread
    np.testing.assert_array_equal(out["p10"].to_numpy(), expected)
    np.testing.assert_array_equal(out["p90"].to_numpy(), expected)


def test_seasonal_naive_matches_statsforecast(panel, forecasts):
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    ref = StatsForecast(models=[SeasonalNaive(season_length=7)], freq="D").forecast(h=H, df=panel, level=[80])
    ref = ref.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    out = forecasts["seasonal_naive"]
    np.testing.assert_allclose(out["mean"], ref["SeasonalNaive"])
    np.testing.assert_allclose(out["p90"], ref["SeasonalNaive-hi-80"])
    np.testing.assert_allclose(out["p10"], ref["SeasonalNaive-lo-80"].clip(lower=0))


def test_moving_average_is_the_mean_of_the_last_28_days(panel, forecasts):
    expected = panel.sort_values("ds").groupby("unique_id")["y"].apply(lambda y: y.tail(28).mean())
    out = forecasts["moving_average"].groupby("unique_id")["mean"]
    assert (out.nunique() == 1).all()  # flat
    pd.testing.assert_series_equal(out.first(), expected, check_names=False)


def test_autoets_beats_moving_average_on_a_strongly_weekly_series():
    ds = pd.date_range(end=ORIGIN, periods=26 * 7, freq="D")
    rng = np.random.default_rng(3)
    strong = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": ds, "y": rng.poisson(scale * WEEKLY[ds.dayofweek]).astype(float)})
        for uid, scale in (("big", 6.0), ("mid", 3.0), ("small", 1.5))
    )
    cut = ORIGIN - pd.Timedelta(days=H)
    train, test = strong[strong["ds"] <= cut], strong[strong["ds"] > cut]

    def mae(name):
        out = PEERS[name](train, H).merge(test, on=["unique_id", "ds"], validate="1:1")
        assert len(out) == 3 * H
        return (out["mean"] - out["y"]).abs().mean()

    assert mae("autoets") < 0.8 * mae("moving_average")


def test_mlforecast_is_deterministic():
    small = make_panel(n_series=8, days=70, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first, second = (PEERS["mlforecast_lgbm"](small, H) for _ in range(2))
    pd.testing.assert_frame_equal(first, second)
    assert first["mean"].nunique() > H  # a real forecast, not a constant


def test_autoets_falls_back_on_a_tiny_series(panel):
    tiny = pd.DataFrame({"unique_id": "new", "ds": pd.date_range(end=ORIGIN, periods=4), "y": [0.0, 2.0, 0.0, 2.0]})
    out = PEERS["autoets"](pd.concat([panel[panel["unique_id"] == panel["unique_id"].iloc[0]], tiny]), H)
    new = out[out["unique_id"] == "new"]
    assert len(new) == H
    np.testing.assert_allclose(new["mean"], 1.0)  # HistoricAverage: the mean of its 4 days
    assert (new["p10"] <= new["p50"]).all() and (new["p50"] <= new["p90"]).all()


def test_row_order_and_int_ids_do_not_matter():
    panel = make_panel(n_series=6, days=40, ids=[30, 4, 12, 7, 100, 2])
    out = PEERS["seasonal_naive"](panel, 7)
    shuffled = PEERS["seasonal_naive"](panel.sample(frac=1, random_state=0), 7)
    pd.testing.assert_frame_equal(out, shuffled)
    assert list(out["unique_id"].unique()) == [2, 4, 7, 12, 30, 100]
    assert pd.api.types.is_integer_dtype(out["unique_id"])


@pytest.mark.parametrize("name", list(PEERS))
def test_series_ending_on_different_dates_are_refused(name, panel):
    ragged = panel.drop(panel.index[(panel["unique_id"] == panel["unique_id"].iloc[0]) & (panel["ds"] == ORIGIN)])
    with pytest.raises(ValueError, match="must end on the same date"):
        PEERS[name](ragged, H)


@pytest.mark.parametrize("column", ["unique_id", "ds", "y"])
def test_missing_columns_are_refused(column, panel):
    with pytest.raises(ValueError, match=f"lacks the column.*'{column}'"):
        PEERS["moving_average"](panel.drop(columns=column), H)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p.drop(p.index[5]), "daily and dense"),
        (lambda p: pd.concat([p, p.iloc[[5]]]), "daily and dense"),
        (lambda p: p.assign(ds=p["ds"].astype(str)), "ds must be datetime64"),
        (lambda p: p.assign(ds=p["ds"].dt.tz_localize("Asia/Shanghai")), "without a time zone"),
        (lambda p: p.assign(y=np.where(p.index == 3, np.nan, p["y"])), "NaN"),
        (lambda p: p.iloc[0:0], "empty"),
    ],
    ids=["gap", "duplicate", "text-dates", "tz-aware", "nan", "empty"],
)
def test_malformed_history_is_refused(change, message, panel):
    with pytest.raises(ValueError, match=message):
        PEERS["seasonal_naive"](change(panel), H)


@pytest.mark.parametrize("h", [0, -1, 2.5, True])
def test_bad_horizon_is_refused(h, panel):
    with pytest.raises(ValueError, match="h must be a positive int"):
        PEERS["moving_average"](panel, h)
