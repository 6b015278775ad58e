"""Store opening / closing (开店 / 关店评估): closing suggestions on hand-made panels, a planted effect of
area recovered, the ramp-up of tiny's S006, and bad input refused by name."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.finance.store_closing import closing_suggestions, damped_trend
from workbench.finance.store_model import (StoreModelSettings, actual_vs_predicted, fit_store_model, load_settings,
                                           settings_from, store_attributes, store_month_panel)

MONTHS = pd.date_range("2024-07-01", periods=18, freq="MS")


def _panel(contributions: dict[int, list[float]], store_type: str = "own") -> pd.DataFrame:
    rows = [{"store_id": store, "store_type": store_type, "month": m, "net_sales": 100_000.0, "contribution": c}
            for store, values in contributions.items() for m, c in zip(MONTHS[-len(values):], values)]
    return pd.DataFrame(rows)


def test_the_damped_trend_by_hand():
    # y = 10 + 2t through t = 0..4: level 18 at the last month, slope 2; φ = 0.5 adds 2 × (0.5, 0.75, 0.875)
    assert damped_trend(10 + 2 * np.arange(5.0), 3, 0.5) == pytest.approx([19.0, 19.5, 19.75])


def test_a_falling_loss_is_suggested_and_a_recovering_one_is_not():
    t = np.arange(18.0)
    panel = _panel({
        1: list(10_000 - 1_500 * t),      # negative from t = 7 and falling: close
        2: list(-45_000 + 2_500 * t),     # negative all along but climbing: -2,500 at the end, +1,100 in month 2
        3: list(20_000 + 0 * t),          # never negative
        4: list(-5_000 + 0 * t[:-1]) + [500.0],  # negative, but not in the last month
        5: list(-5_000 + 0 * t[:4]),      # too new to have six months
    })
    out = closing_suggestions(panel, StoreModelSettings(negative_months=6, trend_months=12, forecast_months=6,
                                                        damping=0.8)).set_index("store_id")
    assert sorted(out.index) == [1, 2]
    falling, climbing = out.loc[1], out.loc[2]
    assert falling["suggest_close"] and not climbing["suggest_close"]
    assert falling["months_negative"] == 11 and falling["total_loss"] == pytest.approx(88_000)  # t = 7..17
    assert falling["trend_per_month"] == pytest.approx(-1_500)
    assert climbing["months_negative"] == 18 and climbing["forecast"][1] == pytest.approx(1_100)
    assert "suggest closing" in falling["reason"] and "back to zero or above in month 2" in climbing["reason"]


def test_more_negative_months_asked_than_the_run_keeps_a_store_off_the_list():
    t = np.arange(18.0)
    panel = _panel({1: list(10_000 - 1_500 * t)})  # 11 negative months
    assert closing_suggestions(panel, StoreModelSettings(negative_months=11))["store_id"].tolist() == [1]
    assert closing_suggestions(panel, StoreModelSettings(negative_months=12)).empty
    assert closing_suggestions(panel.assign(store_type="dc")).empty  # the DC is not a store to close


def _synthetic_chain(seed: int = 5, n: int = 40, area_effect: float = 0.003):
    """Mature stores whose log sales rise by ``area_effect`` per m², with seasonality and noise."""
    rng = np.random.default_rng(seed)
    stores = pd.DataFrame({
        "store_id": np.arange(1, n + 1), "store_code": [f"S{i:03d}" for i in range(1, n + 1)],
        "store_type": rng.choice(["own", "outlet", "consignment"], n), "grade": rng.choice(["A", "B", "C"], n),
        "city_tier": rng.integers(1, 5, n), "region": rng.choice(["East", "North", "South"], n),
        "area_m2": rng.uniform(50, 500, n), "staff_count": rng.integers(2, 15, n),
        "monthly_rent": rng.uniform(20_000, 200_000, n),
        "open_date": dt.date(2015, 1, 1), "close_date": None,
    })
    type_effect = stores["store_type"].map({"own": 0.3, "outlet": 0.0, "consignment": -0.4})
    level = np.exp(11 + area_effect * stores["area_m2"] + type_effect + rng.normal(0, 0.03, n))
    season = 1 + 0.2 * np.sin(np.arange(12) / 12 * 2 * np.pi)
    rows = [{"store_id": s, "month": m, "net_sales": lv * season[i] * np.exp(rng.normal(0, 0.02)),
             "contribution": 0.5 * lv * season[i] - rent}
            for s, lv, rent in zip(stores["store_id"], level, stores["monthly_rent"])
            for i, m in enumerate(pd.date_range("2024-01-01", periods=12, freq="MS"))]
    return pd.DataFrame(rows), stores, season


def test_the_model_recovers_a_planted_effect_of_area_and_beats_the_chain_average():
    panel, stores, season = _synthetic_chain()
    model = fit_store_model(panel, stores, StoreModelSettings(mature_after_months=12))
    coef = model.coefficients
    effect = lambda f: coef.loc[(coef["target"] == "log_sales") & (coef["feature"] == f), "effect"].item()  # noqa: E731
    assert effect("area_m2") == pytest.approx(0.003, rel=0.1)
    assert abs(effect("staff_count")) < 0.01  # planted: no effect
    summary = model.validation.attrs["summary"]
    assert summary["stores"] == 40 and summary["sales_mape"] < 0.1 < summary["sales_mape_chain_average"]
    assert model.seasonal_index.to_numpy() == pytest.approx(season / season.mean(), rel=0.02)


def test_a_store_opened_in_the_data_is_compared_with_its_prediction_month_by_month():
    panel, stores, _ = _synthetic_chain()
    stores.loc[0, "open_date"] = dt.date(2024, 3, 21)  # opens inside the panel: left out of its own model
    model = fit_store_model(panel, stores, StoreModelSettings(mature_after_months=12))
    assert 1 not in set(model.levels["store_id"])
    ramp = actual_vs_predicted(model, panel, stores)
    assert set(ramp["store_id"]) == {1} and ramp["months_since_opening"].tolist() == list(range(10))
    share = ramp["share_of_month_open"]
    assert share.iloc[0] == pytest.approx(11 / 31) and (share.iloc[1:] == 1).all()
    assert ramp["ramp_up"].iloc[1:].to_numpy() == pytest.approx(1.0, abs=0.15)  # the planted store is at level


def test_tiny_s006_opens_in_the_data_and_the_counter_pays_its_host(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        panel = store_month_panel(s, "2025-01", "2025-12")
        stores = store_attributes(s)
        settled = s.sql("select sum(net_amount) as sales, sum(cost_amount) as cogs from core.sales "
                        "where store_id = 8 and sale_date between date '2025-11-01' and date '2025-11-30'").to_pandas()
        costs = s.sql("select rent + staff_cost + other_cost as costs from core.store_costs "
                      "where store_id = 8 and month = date '2025-11-01'").to_pandas()
    counter = panel[(panel["store_id"] == 8) & (panel["month"] == "2025-11-01")].iloc[0]
    sales, cogs = settled["sales"].iloc[0], settled["cogs"].iloc[0]
    assert counter["commission"] == pytest.approx(0.274 * sales)
    assert counter["contribution"] == pytest.approx(sales - cogs - 0.274 * sales - costs["costs"].iloc[0])
    model = fit_store_model(panel, stores, load_settings())
    assert 6 not in set(model.levels["store_id"]) and {"online", "dc"}.isdisjoint(model.levels["store_type"])
    ramp = actual_vs_predicted(model, panel, stores)
    assert set(ramp["store_code"]) == {"S006"}
    assert ramp["month"].iloc[0] == pd.Timestamp("2025-03-01") and ramp["months_since_opening"].iloc[-1] == 9
    assert ramp["share_of_month_open"].iloc[0] == pytest.approx(4 / 31)
    suggestions = closing_suggestions(panel, load_settings(), stores)
    assert {"DC01", "ONLINE01"}.isdisjoint(suggestions["store_code"])


@pytest.mark.parametrize("raw, message", [
    ({"negative_months": 0}, "negative_months must be a whole number of months, at least 1"),
    ({"negative_months": 2.5}, "negative_months must be a whole number of months"),
    ({"damping": 1.5}, "damping is the trend's monthly fade"),
    ({"trend_months": 1}, "trend_months must be at least 2"),
    ({"negative_month": 6}, r"unknown field\(s\) \['negative_month'\] in finance.store_model"),
])
def test_settings_that_do_not_make_sense_are_refused_by_name(raw, message):
    with pytest.raises(ValueError, match=message):
        settings_from(raw)


def test_no_data_for_the_period_is_refused(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        with pytest.raises(ValueError, match="no sales or store costs you may see for 2030-01"):
            store_month_panel(s, "2030-01", "2030-12")
        with pytest.raises(ValueError, match="'Nov' is not a month"):
            store_month_panel(s, "Nov")
    with wb.session("u_store_001", settings=tiny_settings) as s, pytest.raises(PermissionError, match="cost_amount"):
        store_month_panel(s)
    with pytest.raises(ValueError, match="the store panel is empty"):
        closing_suggestions(_panel({}).reindex(columns=["store_id", "month", "net_sales", "contribution"]))
    with pytest.raises(ValueError, match="negative_months = 6 needs at least that many"):
        closing_suggestions(_panel({1: [-1.0] * 3}))
