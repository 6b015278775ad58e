"""The selection is checked before anything runs: each mistake says what to change."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.dashboard.homes import home_for
from workbench.dashboard.periods import PRESETS, preset_period
from workbench.dashboard.settings import dashboard_settings
from workbench.dashboard.state import (
    NONE_LABEL, DashboardDimensionError, DashboardError, DashboardState, comparison_period,
)
from workbench.metrics.query import DimensionError

D = dt.date
DEC = (D(2025, 12, 1), D(2025, 12, 31))


def test_a_valid_state_keeps_its_choices_and_drops_empty_filters():
    state = DashboardState.make(["net_sales", "net_sales", "units"], *DEC, dimension="store_code", grain="month",
                                filters={"region": ["East"], "brand": []})
    assert state.measures == ("net_sales", "units")
    assert state.filters == {"region": ("East",)}
    assert state.by == ["store_code"]


def test_an_empty_selection_asks_for_a_measure():
    with pytest.raises(DashboardError, match="No measure is selected"):
        DashboardState.make([], *DEC)


def test_an_unknown_measure_names_the_closest():
    with pytest.raises(DashboardError, match="Did you mean: net_sales"):
        DashboardState.make(["net_sale"], *DEC)


@pytest.mark.parametrize("field, value, words", [
    ("dimension", "size", "Unknown dimension 'size'"),
    ("grain", "hour", "Unknown time grain"),
    ("comparison", "yesterday", "Unknown comparison"),
])
def test_unknown_choices_list_the_valid_ones(field, value, words):
    with pytest.raises(DashboardError, match=words):
        DashboardState.make(["net_sales"], *DEC, **{field: value})


def test_a_filter_on_a_dimension_the_dashboard_does_not_offer_is_refused():
    with pytest.raises(DashboardError, match="Unknown filter 'colour'"):
        DashboardState.make(["net_sales"], *DEC, filters={"colour": ["red"]})


def test_a_period_ending_before_it_starts_is_refused():
    with pytest.raises(DashboardError, match="swap the two days"):
        DashboardState.make(["net_sales"], D(2025, 12, 31), D(2025, 12, 1))
    with pytest.raises(DashboardError, match="Pick a period"):
        DashboardState.make(["net_sales"], None, D(2025, 12, 1))


def test_conversion_cannot_be_cut_by_category_and_says_why():
    with pytest.raises(DashboardDimensionError, match="Conversion 转化率 cannot be split by Category") as err:
        DashboardState.make(["net_sales", "conversion"], *DEC, dimension="category")
    assert isinstance(err.value, DimensionError)  # the metrics layer's error type, for callers that catch it
    with pytest.raises(DashboardDimensionError, match="cannot be filtered by Brand"):
        DashboardState.make(["traffic"], *DEC, dimension="region", filters={"brand": ["Lumen"]})


def test_none_label_picks_rows_without_a_value():
    state = DashboardState.make(["net_sales"], *DEC, filters={"region": ["East", NONE_LABEL]})
    assert state.where == {"region": ["East", None]}


def test_comparison_periods():
    assert comparison_period(*DEC) == (D(2025, 10, 31), D(2025, 11, 30))  # 31 days before
    assert comparison_period(*DEC, "last_year") == (D(2024, 12, 2), D(2025, 1, 1))  # 52 weeks: same weekdays
    assert D(2024, 12, 2).weekday() == D(2025, 12, 1).weekday()


def test_presets_end_on_the_last_day_with_data():
    last = D(2025, 12, 31)
    assert preset_period("last_4_weeks", last) == (D(2025, 12, 4), last)
    assert preset_period("last_month", last) == (D(2025, 11, 1), D(2025, 11, 30))
    assert preset_period("quarter_to_date", D(2025, 8, 15)) == (D(2025, 7, 1), D(2025, 8, 15))
    assert preset_period("last_12_months", D(2024, 2, 29)) == (D(2023, 3, 1), D(2024, 2, 29))
    for name in PRESETS:
        start, end = preset_period(name, last)
        assert start <= end == last or name == "last_month"
    with pytest.raises(ValueError, match="unknown period preset"):
        preset_period("forever", last)


def test_settings_refuse_unknown_fields_and_choices():
    assert dashboard_settings(raw={}).export_max_rows == 100_000
    assert dashboard_settings().default_dimension == "region"  # the checked-in file reads
    with pytest.raises(ValueError, match="unknown field"):
        dashboard_settings(raw={"export_rows": 5})
    with pytest.raises(ValueError, match="dashboard.default_grain"):
        dashboard_settings(raw={"default_grain": "hour"})
    with pytest.raises(ValueError, match="at least 1"):
        dashboard_settings(raw={"export_max_rows": 0})


@pytest.mark.parametrize("role, kind", [
    ("hq_manager", "boss"), ("admin", "boss"), ("finance", "boss"), ("analyst", "boss"),
    ("region_manager", "region"), ("store_manager", "store"), ("warehouse", "warehouse"), ("device", "boss"),
])
def test_each_role_has_a_home(role, kind):
    assert home_for(role).kind == kind


def test_the_warehouse_home_shows_stock_not_sales():
    spec = home_for("warehouse")
    assert {"stock_units", "weeks_of_cover", "net_receipts", "core_size_stockout_rate"} <= set(spec.kpis)
    assert not {"net_sales", "traffic", "conversion", "average_ticket"} & set(spec.kpis)
    assert "availability" in spec.panels
