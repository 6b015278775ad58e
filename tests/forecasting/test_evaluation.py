"""Forecast evaluation: hand-computed golden values, drops and renormalisation, coverage, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.forecasting import evaluation as ev

DAY0 = pd.Timestamp("2025-03-01")


def _long(series: dict[tuple[int, int], list[float]], start: int = 0, column: str = "y") -> pd.DataFrame:
    """Rows sku_id, store_id, date, <column> from {(sku, store): values}, day ``start`` being the first value."""
    keys, lengths = np.array(list(series), dtype=int).reshape(-1, 2), [len(v) for v in series.values()]
    day = np.concatenate([np.arange(n) for n in lengths]) + start
    return pd.DataFrame({"sku_id": np.repeat(keys[:, 0], lengths), "store_id": np.repeat(keys[:, 1], lengths),
                         "date": DAY0 + pd.to_timedelta(day, unit="D"),
                         column: np.concatenate([np.asarray(v, dtype=float) for v in series.values()])})


def _history(units: dict, price: dict | float = 1.0) -> pd.DataFrame:
    frame = _long(units)
    unit_price = frame["sku_id"].map(price) if isinstance(price, dict) else price
    return frame.assign(revenue=frame["y"] * unit_price)


def _value(scores: pd.DataFrame, level: str, metric: str) -> float:
    row = scores[(scores["level"] == level) & (scores["metric"] == metric)]
    assert len(row) == 1, f"no single row for {level} / {metric}"
    return float(row["value"].iloc[0])


HIERARCHY = pd.DataFrame({"sku_id": [1, 2, 3], "skc_id": [10, 20, 10],
                          "brand": ["A", "B", "A"], "category": ["tee", "tee", "dress"]})


@pytest.fixture
def toy():
    """Two series, 5 days of history, a 2-day horizon; every number below is worked by hand in the tests."""
    history = _history({(1, 1): [0, 2, 4, 2, 4],     # from day 1: steps +2 −2 +2 → scale (4+4+4)/3 = 4
                        (2, 1): [1, 2, 1, 2, 1]},    # steps ±1 (4 of them) → scale 4/4 = 1
                       price={1: 2.5, 2: 10 / 7})    # revenue: 12 × 2.5 = 30, 7 × 10/7 = 10 → weights 0.75, 0.25
    actuals = _long({(1, 1): [3, 5], (2, 1): [2, 2]}, start=5)
    forecast = _long({(1, 1): [1, 5], (2, 1): [3, 1]}, start=5, column="mean")
    return history, actuals, forecast


def test_toy_rmsse_weights_and_wrmsse_by_hand(toy):
    scores = ev.score(*toy, HIERARCHY)
    # series (1,1): errors 2, 0 → MSE 2 → RMSSE √(2/4) = 0.70711; series (2,1): errors −1, 1 → MSE 1 → √(1/1) = 1
    # WRMSSE = 0.75 × 0.70711 + 0.25 × 1 = 0.78033
    assert _value(scores, "sku_store", "wrmsse") == pytest.approx(0.75 * np.sqrt(0.5) + 0.25, abs=1e-12)
    table = ev.series_scores(*toy, HIERARCHY)
    assert table["scale"].tolist() == pytest.approx([4.0, 1.0])
    assert table["weight"].tolist() == pytest.approx([0.75, 0.25])
    assert table["rmsse"].tolist() == pytest.approx([np.sqrt(0.5), 1.0])
    # total: history 1 4 5 4 5 → steps 3 1 −1 1 → scale 12/4 = 3; actual 5 7, forecast 4 6 → MSE 1 → √(1/3)
    assert _value(scores, "total", "wrmsse") == pytest.approx(np.sqrt(1 / 3), abs=1e-12)
    # one series per brand here, so brand = bottom
    assert _value(scores, "brand", "wrmsse") == pytest.approx(_value(scores, "sku_store", "wrmsse"))


def test_toy_wape_and_bias_by_level(toy):
    scores = ev.score(*toy, HIERARCHY)
    # bottom: |e| = 2 + 0 + 1 + 1 = 4 over Σy = 12; total: errors 1, 1 cancel partly between series → 2 / 12
    assert _value(scores, "sku_store", "wape") == pytest.approx(4 / 12)
    assert _value(scores, "total", "wape") == pytest.approx(2 / 12)
    # bias does not depend on the level: (10 − 12) / 12, negative for an under-forecast
    for level in ev.LEVELS:
        assert _value(scores, level, "bias") == pytest.approx(-2 / 12)
    history, actuals, forecast = toy
    over = ev.score(history, actuals, forecast.assign(mean=forecast["mean"] + 1), HIERARCHY)
    assert _value(over, "total", "bias") == pytest.approx(2 / 12)  # (14 − 12) / 12


def test_toy_coverage_and_spl_by_hand(toy):
    history, actuals, forecast = toy
    quantiles = pd.DataFrame({"p10": [1, 6, 2, 2], "p50": [2, 6, 2, 2], "p90": [4, 6, 2, 2]}, dtype=float)
    scores = ev.score(history, actuals, pd.concat([forecast, quantiles], axis=1), HIERARCHY)
    # series (1,1), y 3 then 5: day 1 covered (1 ≤ 3 ≤ 4), day 2 not (6 > 5); series (2,1) exact → 3 of 4
    assert _value(scores, "sku_store", "coverage_p10_p90") == pytest.approx(0.75)
    # pinball of (1,1): day 1 y−q = 2, 1, −1 → 0.2, 0.5, 0.1; day 2 y−q = −1 → 0.9, 0.5, 0.1
    # per quantile over the horizon 0.55, 0.5, 0.1 → mean 1.15 / 3; scale_abs = (2+2+2)/3 = 2 → SPL 0.19167
    # series (2,1) exact → 0; WSPL = 0.75 × 0.19167
    assert _value(scores, "sku_store", "spl") == pytest.approx(0.75 * 1.15 / 3 / 2)
    assert "coverage_p10_p90" not in set(scores.loc[scores["level"] == "total", "metric"])


def test_perfect_forecast_scores_zero(toy):
    history, actuals, _ = toy
    perfect = actuals.rename(columns={"y": "mean"})
    perfect = perfect.assign(p10=perfect["mean"], p50=perfect["mean"], p90=perfect["mean"])
    scores = ev.score(history, actuals, perfect, HIERARCHY)
    for metric in ("wrmsse", "wape", "bias", "spl"):
        assert scores.loc[scores["metric"] == metric, "value"].abs().max() == 0.0, metric
    assert _value(scores, "sku_store", "coverage_p10_p90") == 1.0


def test_scale_counts_from_first_sale():
    scale = ev.series_scale(np.array([[0, 0, 0, 2, 4, 2],      # from day 3: steps +2 −2 → 8/2 = 4, |.| 2
                                      [1, 0, 0, 2, 4, 2]]))    # sold on day 0: steps −1 0 +2 +2 −2 → 13/5
    assert scale["n_history"].tolist() == [3, 6]
    assert scale["scale"].tolist() == pytest.approx([4.0, 13 / 5])
    assert scale["scale_abs"].tolist() == pytest.approx([2.0, 7 / 5])


def test_late_starting_history_equals_leading_zeros(toy):
    """A series whose history starts later scores as if the earlier days were zeros (both are ignored)."""
    history, actuals, forecast = toy
    late = history[~((history["sku_id"] == 1) & (history["date"] == DAY0))]
    pd.testing.assert_frame_equal(ev.score(late, actuals, forecast, HIERARCHY),
                                  ev.score(history, actuals, forecast, HIERARCHY))


def test_zero_scale_series_dropped_and_weights_renormalised(toy):
    history, actuals, forecast = toy
    extra = {(3, 1): [3, 3, 3, 3, 3],   # constant: scale 0
             (3, 2): [0, 0, 0, 0, 0],   # never sold: no scale
             (2, 2): [0, 0, 0, 0, 6]}   # one point after the first sale: no scale
    history = pd.concat([history, _history(extra, price=7.0)], ignore_index=True)
    actuals = pd.concat([actuals, _long({k: [9, 9] for k in extra}, start=5)], ignore_index=True)
    scores = ev.score(history, actuals, forecast, HIERARCHY)  # the new series have no forecast rows: forecast 0
    row = scores[(scores["level"] == "sku_store") & (scores["metric"] == "wrmsse")].iloc[0]
    assert (row["n_series"], row["n_dropped"]) == (5, 3)
    # the dropped series hold most of the revenue, yet the two kept ones weigh 30/40 and 10/40 as before
    assert row["value"] == pytest.approx(0.75 * np.sqrt(0.5) + 0.25, abs=1e-12)


def test_missing_forecast_rows_count_as_zero(toy):
    history, actuals, forecast = toy
    explicit = forecast.copy()
    explicit.loc[3, "mean"] = 0.0                      # (2,1) day 2: forecast 0 instead of 1
    missing = forecast.drop(index=3)
    pd.testing.assert_frame_equal(ev.score(history, actuals, missing, HIERARCHY),
                                  ev.score(history, actuals, explicit, HIERARCHY))
    # (2,1): errors −1, 2 → MSE 2.5 → RMSSE √2.5; WRMSSE 0.75 √0.5 + 0.25 √2.5
    assert _value(ev.score(history, actuals, missing, HIERARCHY), "sku_store", "wrmsse") == pytest.approx(
        0.75 * np.sqrt(0.5) + 0.25 * np.sqrt(2.5))


def test_aggregate_to_brand_and_total():
    frame = _long({(1, 1): [1, 2], (3, 1): [10, 20], (2, 1): [100, 200], (1, 2): [1000, 0]})
    brand = ev.aggregate(frame, HIERARCHY, ev.LEVELS["brand"])
    assert brand.to_dict("list") == {"brand": ["A", "A", "B", "B"],
                                     "date": [DAY0, DAY0 + pd.Timedelta(days=1)] * 2,
                                     "y": [1011.0, 22.0, 100.0, 200.0]}
    total = ev.aggregate(frame, HIERARCHY, ev.LEVELS["total"])
    assert total["y"].tolist() == [1111.0, 222.0]
    skc_store = ev.aggregate(frame, HIERARCHY, ev.LEVELS["skc_store"])
    assert skc_store.loc[(skc_store["skc_id"] == 10) & (skc_store["store_id"] == 1), "y"].tolist() == [11.0, 22.0]


def _reference_wrmsse(history, actuals, forecast, keys) -> float:
    """The M5 formula series by series in plain Python, to check the vectorised one on a random panel."""
    attrs = HIERARCHY.set_index("sku_id")
    def level(frame, column):
        frame = frame.join(attrs, on="sku_id")
        return frame.groupby([*keys, "date"] if keys else ["date"])[column].sum()
    past, recent = level(history, "y"), level(history[history["date"] > history["date"].max()
                                                      - pd.Timedelta(days=28)], "revenue")
    y = level(actuals, "y")
    f = level(forecast, "mean").reindex(y.index, fill_value=0.0)
    total, weighted = 0.0, 0.0
    for key in y.index.droplevel("date").unique():
        h = past.loc[key].reindex(pd.date_range(history["date"].min(), history["date"].max()), fill_value=0.0)
        h = h.to_numpy()[np.argmax(h.to_numpy() != 0):] if (h != 0).any() else h.to_numpy()[:0]
        if len(h) < 2 or np.sum(np.diff(h) ** 2) == 0:
            continue
        rmsse = np.sqrt(np.mean((y.loc[key].to_numpy() - f.loc[key].to_numpy()) ** 2) / np.mean(np.diff(h) ** 2))
        weight = recent.loc[key].sum() if key in recent.index.droplevel("date") else 0.0
        total, weighted = total + weight, weighted + weight * rmsse
    return weighted / total


@pytest.mark.parametrize("level", ["skc_store", "brand", "sku_store"])
def test_vectorised_wrmsse_matches_reference(level):
    rng = np.random.default_rng(3)
    keys = [(sku, store) for sku in (1, 2, 3) for store in (1, 2, 3)]
    units = {k: list(rng.poisson(rng.uniform(0.2, 3), 40).astype(float)) for k in keys}
    history = _history(units, price={1: 5.0, 2: 3.0, 3: 9.0})
    history = history[history["date"] >= DAY0 + pd.Timedelta(days=int(rng.integers(0, 10)))]  # late starts
    history = history[~((history["sku_id"] == 2) & (history["date"] < DAY0 + pd.Timedelta(days=25)))]
    actuals = _long({k: list(rng.poisson(2, 7).astype(float)) for k in keys}, start=40)
    forecast = actuals.rename(columns={"y": "mean"}).assign(mean=lambda f: rng.uniform(0, 4, len(f))).iloc[2:]
    expected = _reference_wrmsse(history, actuals, forecast, list(ev.LEVELS[level]))
    scores = ev.score(history, actuals, forecast, HIERARCHY, levels={level: ev.LEVELS[level]})
    assert _value(scores, level, "wrmsse") == pytest.approx(expected, rel=1e-12)


def test_pit_coverage_by_hand():
    # NB(size 1, mean 1): p = 0.5, F(0..4) = .5 .75 .875 .9375 .96875
    got = ev.pit_coverage([0, 1, 3, 5], mean=1.0, size=1.0)
    # y=0: [0, .5] ∩ [.1, .9] = .4 / .5; y=1: [.5, .75] inside; y=3: (.9 − .875) / .0625; y=5: above .9
    assert got.tolist() == pytest.approx([0.8, 1.0, 0.4, 0.0])
    assert np.isnan(ev.pit_coverage([1], mean=1.0, size=np.nan)).all()


def _nb_case(mean: float, size: float, n_series: int = 2000, n_days: int = 10, seed: int = 7):
    """Actuals drawn from NB(size, mean) and the true distribution as the forecast (with its quantiles)."""
    rng = np.random.default_rng(seed)
    p = size / (size + mean)
    draws = rng.negative_binomial(size, p, (n_series, n_days))
    actuals = _long({(k, 1): d for k, d in enumerate(draws)}, start=5)
    history = _history({(k, 1): [1, 0, 2, 1, 1] for k in range(n_series)})
    forecast = actuals.drop(columns="y").assign(mean=mean, nb_size=size)
    for name, tau in ev.QUANTILES.items():
        forecast[name] = stats.nbinom.ppf(tau, size, p)
    hierarchy = pd.DataFrame({"sku_id": range(n_series), "skc_id": 0, "brand": "A", "category": "tee"})
    return history, actuals, forecast, hierarchy


@pytest.mark.parametrize("mean, size", [(0.05, 1.0), (3.0, 2.0)])
def test_true_distribution_gives_pit_coverage_near_80(mean, size):
    scores = ev.score(*_nb_case(mean, size), levels={"sku_store": ev.LEVELS["sku_store"]})
    assert _value(scores, "sku_store", "coverage_pit") == pytest.approx(0.8, abs=0.02)
    if mean < 0.1:  # p10 = p90 = 0: plain inclusion is just the share of zero days, ≈ 0.95
        assert _value(scores, "sku_store", "coverage_p10_p90") > 0.93


def test_wrong_distribution_misses_pit_coverage():
    history, actuals, forecast, hierarchy = _nb_case(3.0, 2.0)
    scores = ev.score(history, actuals, forecast.assign(mean=30.0), hierarchy, levels={"b": ev.BOTTOM})
    assert _value(scores, "b", "coverage_pit") < 0.3


def test_spl_of_true_quantiles_beats_bad_ones():
    history, actuals, forecast, hierarchy = _nb_case(3.0, 2.0, n_series=300)
    bad = forecast.assign(p10=forecast["p10"] + 4, p50=forecast["p50"] + 4, p90=forecast["p90"] + 4)
    good_spl = _value(ev.score(history, actuals, forecast, hierarchy), "sku_store", "spl")
    bad_spl = _value(ev.score(history, actuals, bad, hierarchy), "sku_store", "spl")
    assert 0 < good_spl < bad_spl


def test_quantiles_by_level_give_coverage_at_that_level(toy):
    history, actuals, forecast = toy
    total = pd.DataFrame({"date": [DAY0 + pd.Timedelta(days=5), DAY0 + pd.Timedelta(days=6)],
                          "p10": [4.0, 8.0], "p50": [5.0, 8.0], "p90": [6.0, 9.0]})  # actual 5, 7
    scores = ev.score(history, actuals, forecast, HIERARCHY, quantiles_by_level={"total": total})
    assert _value(scores, "total", "coverage_p10_p90") == 0.5
    # pinball: day 1 y−q = 1, 0, −1 → .1, 0, .1; day 2 y−q = −1, −1, −2 → .9, .5, .2; mean 1.8 / 6 = 0.3
    # total scale_abs = (3 + 1 + 1 + 1) / 4 = 1.5 → SPL 0.2
    assert _value(scores, "total", "spl") == pytest.approx(0.2)
    with pytest.raises(ValueError, match="unknown levels"):
        ev.score(history, actuals, forecast, HIERARCHY, quantiles_by_level={"nope": total})


def test_segments_renormalise_inside_each_segment(toy):
    history, actuals, forecast = toy
    by_brand = ev.score_segments(history, actuals, forecast, HIERARCHY, by="brand")
    wrmsse = by_brand[by_brand["metric"] == "wrmsse"].set_index("segment")
    assert wrmsse["value"].to_dict() == pytest.approx({"A": np.sqrt(0.5), "B": 1.0})
    assert wrmsse["weight"].to_dict() == pytest.approx({"A": 0.75, "B": 0.25})
    wape = by_brand[by_brand["metric"] == "wape"].set_index("segment")["value"]
    assert wape.to_dict() == pytest.approx({"A": 2 / 8, "B": 2 / 4})
    stores = pd.DataFrame({"store_id": [1, 2], "region": ["east", "west"]})
    by_region = ev.score_segments(history, actuals, forecast, HIERARCHY, by="region", stores=stores)
    assert by_region.loc[by_region["metric"] == "wrmsse", "value"].tolist() == pytest.approx(
        [0.75 * np.sqrt(0.5) + 0.25])
    with pytest.raises(ValueError, match="not nested"):
        ev.score_segments(history, actuals, forecast, HIERARCHY, by="brand", level="category")


@pytest.mark.parametrize("frame, change, message", [
    ("history", lambda f: f.drop(columns="revenue"), r"history lacks column\(s\) \['revenue'\]"),
    ("forecast", lambda f: f.rename(columns={"mean": "yhat"}), r"forecast lacks column\(s\) \['mean'\]"),
    ("forecast", lambda f: pd.concat([f, f.iloc[[0]]]), "forecast has duplicate rows"),
    ("history", lambda f: pd.concat([f, f.iloc[[2]]]), "history has duplicate rows"),
    ("actuals", lambda f: f.iloc[1:], "actuals must be dense"),
    ("actuals", lambda f: f.assign(y=np.nan), "actuals has missing values"),
])
def test_clear_errors(toy, frame, change, message):
    frames = dict(zip(("history", "actuals", "forecast"), toy))
    frames[frame] = change(frames[frame])
    with pytest.raises(ValueError, match=message):
        ev.score(frames["history"], frames["actuals"], frames["forecast"], HIERARCHY)


def test_hierarchy_errors(toy):
    with pytest.raises(ValueError, match="hierarchy has duplicate sku_id"):
        ev.score(*toy, pd.concat([HIERARCHY, HIERARCHY.iloc[[0]]]))
    with pytest.raises(ValueError, match="not in hierarchy"):
        ev.score(*toy, HIERARCHY.iloc[1:])
    with pytest.raises(ValueError, match="level keys"):
        ev.score(*toy, HIERARCHY, levels={"region": ("region",)})
