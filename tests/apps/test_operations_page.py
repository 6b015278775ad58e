"""The operations dashboard and home pages, built for each demo role and driven through their widgets."""

from __future__ import annotations

import pandas as pd
import panel as pn
import pytest

from workbench.apps import home, operations
from workbench.dashboard.settings import dashboard_settings
from workbench.metrics import compute

from ..dashboard.conftest import sessions  # noqa: F401  (the fixture: one read-only session per user)

pytestmark = pytest.mark.slow  # each page runs a dozen queries on build


def _period(dash) -> tuple:
    return dash.period.value


@pytest.mark.parametrize("user", ["u_hq", "u_region_east", "u_store_001", "u_warehouse"])
def test_the_page_builds_for_each_role_without_an_error(sessions, user):
    layout = operations.view(sessions(user))
    dash = layout.dashboard
    assert isinstance(layout, pn.Row) and dash.error is None, dash.error
    assert not dash.alert.visible and len(dash.kpis.objects) == len(dash.measures.value)
    assert not dash.table.frame.empty
    if user == "u_warehouse":  # no sales: stock and availability KPIs instead
        assert "net_sales" not in dash.measures.options.values() and "stock_units" in dash.measures.value


def test_changing_the_dimension_and_a_filter_updates_the_table_with_correct_values(sessions):
    s = sessions("u_region_east")
    dash = operations.view(s).dashboard
    dash.measures.value = ["net_sales", "units"]
    dash.dimension.value = "store_code"
    before = dash.refreshes
    dash.filters["channel"].value = ["store"]
    assert dash.refreshes == before + 1 and dash.error is None
    start, end = _period(dash)
    expected = compute(s, ["net_sales", "units"], by=["store_code"], start=start, end=end,
                       where={"channel": ["store"]}).to_pandas()
    got = dash.table.frame
    assert set(got.store_code) == set(expected.store_code)
    merged = got.merge(expected, on="store_code", suffixes=("", "_direct"))
    assert (merged.net_sales - merged.net_sales_direct).abs().max() < 1e-6
    assert (merged.units == merged.units_direct).all()
    assert dash.chart.object is not None  # the trend redrew


def test_the_period_preset_and_grain_recompute(sessions):
    dash = operations.view(sessions("u_hq")).dashboard
    dash.preset.value = "last_month"
    assert [str(d) for d in _period(dash)] == ["2025-11-01", "2025-11-30"]
    dash.grain.value = "date"
    assert dash.error is None and dash._trend["date"].nunique() == 30


def test_bad_selections_show_a_message_not_a_trace(sessions):
    dash = operations.view(sessions("u_hq")).dashboard
    dash.measures.value = []
    assert dash.alert.visible and "No measure is selected" in dash.alert.object
    assert dash.table.frame.empty and not dash.kpis.objects
    dash.measures.value = ["net_sales", "conversion"]
    dash.dimension.value = "category"
    assert "Conversion 转化率 cannot be split by Category" in dash.alert.object
    dash.dimension.value = "region"
    assert not dash.alert.visible and not dash.table.frame.empty
    # A value the widget does not offer (a crafted request to the server) is a value that is not there.
    dash.filters["region"].value = ["East' OR 1=1 --"]
    assert dash.alert.visible and "is not in the data you can see. Did you mean: East" in dash.alert.object
    dash.filters["region"].value = []
    assert not dash.alert.visible


def test_a_store_manager_cannot_pick_another_store_or_costs(sessions):
    dash = operations.view(sessions("u_store_001")).dashboard
    assert dash.filters["store_code"].options == ["S001"]
    assert "gross_margin" not in dash.measures.options.values()
    dash.filters["store_code"].value = ["S002"]
    assert "'S002' is not in the data you can see" in dash.alert.object
    dash.filters["store_code"].value = []
    dash.measures.value = ["gross_margin"]
    assert "is not available to you" in dash.alert.object


def test_tabs_compute_when_opened(sessions):
    dash = operations.view(sessions("u_hq")).dashboard
    assert dash.sellers.frame.empty  # not computed until opened
    for tab, table in ((1, dash.sellers), (2, dash.coverage), (3, dash.hero_table)):
        dash.tabs.active = tab
        assert dash.error is None and not table.frame.empty
    assert "top sellers" in dash.hero_note.object


def test_the_warehouse_gets_a_message_for_sales_tabs(sessions):
    dash = operations.view(sessions("u_warehouse")).dashboard
    dash.tabs.active = 1
    assert "is not available to you: it needs core.sales" in dash.alert.object


def test_downloads_round_trip_and_a_large_export_is_refused(sessions):
    s = sessions("u_hq")
    dash = operations.OperationsDashboard(s, dashboard_settings(raw={"export_max_rows": 3}))
    dash.dimension.value = "store_code"
    assert len(dash.table.frame) > 3
    assert dash.table.csv.disabled and dash.table.note.visible and "too many to export" in dash.table.note.object
    assert b"Narrow the selection" in dash.table.file("csv").read()
    dash.dimension.value = "channel"
    assert len(dash.table.frame) <= 3 and not dash.table.csv.disabled
    back = pd.read_csv(dash.table.file("csv"), encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, dash.table.frame.reset_index(drop=True), check_dtype=False)
    excel = pd.read_excel(dash.table.file("xlsx"))
    assert excel.channel.tolist() == dash.table.frame.channel.tolist()


@pytest.mark.parametrize("user, title", [("u_hq", "Chain overview"), ("u_region_east", "My region"),
                                         ("u_store_001", "My store"), ("u_warehouse", "Stock and availability")])
def test_the_home_page_of_each_role(sessions, user, title):
    page = home.view(sessions(user), links=[("Operations dashboard", "/operations")])
    texts = "\n".join(str(p.object) for p in page.select(pn.pane.Markdown) + page.select(pn.pane.Alert))
    assert title in texts and "[Operations dashboard](/operations)" in texts
    assert not page.select(pn.pane.Alert), texts
    cards = [c.name for c in page.select(pn.pane.HTML)]
    if user == "u_warehouse":
        assert "stock_units" in cards and "net_sales" not in cards and "Weeks of cover" in texts  # named as not shown
    else:
        assert "net_sales" in cards


def test_days_picked_by_hand_make_the_preset_custom(sessions):
    dash = operations.view(sessions("u_hq")).dashboard
    start, end = _period(dash)
    dash.period.value = (start.replace(day=10), end)
    assert dash.preset.value == "custom" and dash.error is None
    assert dash.table.frame.net_sales.sum() == pytest.approx(
        compute(sessions("u_hq"), ["net_sales"], start=start.replace(day=10), end=end).to_pandas().net_sales.iloc[0])


def test_the_page_frame_serves_both_pages(tiny_settings):
    """Through the lead's frame (login user -> governed session -> view), as `wb serve` runs them."""
    from workbench.apps import page

    layout, session = page.build("operations", "u_store_001", settings=tiny_settings)
    try:
        dash = next(obj for obj in layout.objects if hasattr(obj, "dashboard")).dashboard
        assert dash.session is session and dash.error is None
        assert dash.table.frame.region.tolist() == ["East"]  # S001's region, and nothing else
    finally:
        session.close()
    layout, session = page.build("home", "u_region_east", settings=tiny_settings)
    try:
        texts = "\n".join(str(p.object) for p in layout.select(pn.pane.Markdown))
        assert "My region" in texts and "(/operations)" in texts  # the frame passes the role's links
        assert not layout.select(pn.pane.Alert)
    finally:
        session.close()
