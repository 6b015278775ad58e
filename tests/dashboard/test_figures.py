"""KPI cards, the result table and the trend equal the metrics layer's and the raw rows' own numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.dashboard.figures import breakdown, kpi_cards, top_values, trend
from workbench.dashboard.settings import KPI_MEASURES
from workbench.dashboard.state import NONE_LABEL, DashboardState
from workbench.metrics import compute

from .conftest import PERIOD, PREVIOUS


def _net_sales(session, start, end, store_ids=None) -> float:
    """Straight from the governed sales lines, not through the metrics layer."""
    s = session.table("sales")
    rows = s.filter((s.sale_date >= start) & (s.sale_date <= end))
    if store_ids is not None:
        rows = rows.filter(rows.store_id.isin(store_ids))
    return float(rows.net_amount.sum().execute())


def test_kpi_cards_are_the_metrics_of_the_period_and_the_one_before(sessions):
    s = sessions("u_hq")
    state = DashboardState.make(KPI_MEASURES, *PERIOD, dimension=None)
    cards = kpi_cards(s, state).set_index("measure")
    now = compute(s, list(KPI_MEASURES), start=PERIOD[0], end=PERIOD[1]).to_pandas().iloc[0]
    before = compute(s, list(KPI_MEASURES), start=PREVIOUS[0], end=PREVIOUS[1]).to_pandas().iloc[0]
    for m in KPI_MEASURES:
        assert cards.loc[m, "value"] == pytest.approx(now[m])
        assert cards.loc[m, "previous"] == pytest.approx(before[m])
        assert cards.loc[m, "change_pct"] == pytest.approx(100 * (now[m] - before[m]) / abs(before[m]))
    assert cards.loc["net_sales", "value"] == pytest.approx(_net_sales(s, *PERIOD))
    assert cards.loc["net_sales", "label_zh"] == "净销售额"


def test_the_table_is_the_metrics_by_the_dimension_largest_first(sessions):
    s = sessions("u_hq")
    state = DashboardState.make(["net_sales", "conversion"], *PERIOD, dimension="region")
    table = breakdown(s, state)
    assert list(table.columns) == ["region", "net_sales", "conversion"]
    assert table.net_sales.is_monotonic_decreasing
    direct = compute(s, ["net_sales", "conversion"], by=["region"], start=PERIOD[0], end=PERIOD[1]).to_pandas()
    direct["region"] = direct.region.fillna(NONE_LABEL)
    merged = table.merge(direct, on="region", suffixes=("", "_direct"))
    assert len(merged) == len(direct) == len(table)
    assert (merged.net_sales - merged.net_sales_direct).abs().max() < 1e-6
    assert table.net_sales.sum() == pytest.approx(_net_sales(s, *PERIOD))


def test_a_filter_restricts_the_rows(sessions):
    s = sessions("u_hq")
    east = s.table("stores").filter(lambda t: t.region == "East").store_id.to_pandas().tolist()
    state = DashboardState.make(["net_sales"], *PERIOD, dimension="store_code", filters={"region": ["East"]})
    table = breakdown(s, state)
    codes = s.table("stores").filter(lambda t: t.region == "East").store_code.to_pandas()
    assert set(table.store_code) <= set(codes)
    assert table.net_sales.sum() == pytest.approx(_net_sales(s, *PERIOD, east))


def test_the_trend_draws_the_chosen_values_by_the_grain(sessions):
    s = sessions("u_hq")
    state = DashboardState.make(["net_sales", "units"], *PERIOD, dimension="store_code", grain="week")
    table = breakdown(s, state)
    top = top_values(table, state, 3)
    assert top == list(table.store_code.head(3))
    lines = trend(s, state, top)
    assert set(lines.store_code) == set(top)
    assert lines.week.dt.dayofweek.eq(0).all()  # weeks are their Mondays
    # Weeks add up to the period for a flow.
    by_store = lines.groupby("store_code").net_sales.sum()
    expected = table.set_index("store_code").net_sales.loc[top]
    pd.testing.assert_series_equal(by_store.loc[top], expected, check_names=False)


def test_the_total_has_no_dimension(sessions):
    s = sessions("u_hq")
    state = DashboardState.make(["net_sales"], *PERIOD, dimension=None, grain="month")
    assert len(breakdown(s, state)) == 1
    months = trend(s, state)
    assert list(months.columns) == ["month", "net_sales"] and len(months) == 1  # December only
    assert months.net_sales.iloc[0] == pytest.approx(_net_sales(s, *PERIOD))


def test_a_store_manager_sees_only_their_store(sessions):
    s, hq = sessions("u_store_001"), sessions("u_hq")
    state = DashboardState.make(["net_sales", "traffic"], *PERIOD, dimension="store_code")
    table = breakdown(s, state)
    assert table.store_code.tolist() == ["S001"]
    s001 = hq.table("stores").filter(lambda t: t.store_code == "S001").store_id.to_pandas().tolist()
    assert table.net_sales.iloc[0] == pytest.approx(_net_sales(hq, *PERIOD, s001))
    cards = kpi_cards(s, state.with_(dimension=None)).set_index("measure")
    assert cards.loc["net_sales", "value"] == pytest.approx(_net_sales(hq, *PERIOD, s001))
