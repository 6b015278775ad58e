"""The merchandise alerts page: it builds in the frame for a store manager, holds only their store, and its
table, cards and chart follow the period, grain and severity widgets; bad input is a message in the page."""

from __future__ import annotations

import datetime as dt

import panel as pn
import pytest

import workbench as wb
from workbench.apps import alerts as alerts_page
from workbench.apps import page
from workbench.apps.alerts import TABLE_COLUMNS, AlertsPage, month_options, week_options
from workbench.merchandise.alerts import AlertInputError, merchandise_alerts
from workbench.merchandise.rules import AlertRules

RULES = AlertRules()


@pytest.fixture(scope="module")
def hq(tiny_settings):
    with wb.session("u_hq", settings=tiny_settings, entry_point="app") as s:
        yield s


@pytest.fixture(scope="module")
def hq_page(hq):
    return AlertsPage(hq, RULES)


def _expected(session, first, last, grain, severities=("high", "medium", "low")):
    report = merchandise_alerts(session, first, last, grain=grain, rules=RULES)
    rows = report.alerts[report.alerts["severity"].isin(severities)]
    return rows[[*report.key_columns, *TABLE_COLUMNS]].reset_index(drop=True)


def _same(table, expected):
    assert table.columns.tolist() == expected.columns.tolist()
    keys = [c for c in expected.columns if c not in TABLE_COLUMNS]
    assert table[keys].astype("string").fillna("-").values.tolist() == \
        expected[keys].astype("string").fillna("-").values.tolist()
    assert table["alert"].tolist() == expected["alert"].tolist()
    assert table["value_at_stake"].tolist() == pytest.approx(expected["value_at_stake"].tolist())
    assert table["net_sales"].tolist() == pytest.approx(expected["net_sales"].tolist())


def test_period_options_cover_the_data_newest_first():
    months = month_options(dt.date(2025, 1, 15), dt.date(2025, 3, 2))
    assert list(months) == ["2025-03", "2025-02", "2025-01"]
    assert months["2025-02"] == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    weeks = week_options(dt.date(2025, 12, 20), dt.date(2025, 12, 31))
    assert list(weeks)[0] == "2026-W01 (12-29..01-04)"  # ISO week 1 of 2026 starts on 2025-12-29
    assert weeks["2025-W52 (12-22..12-28)"] == (dt.date(2025, 12, 22), dt.date(2025, 12, 28))
    assert len(weeks) == 3


@pytest.mark.slow
def test_the_page_opens_in_the_frame_for_a_store_manager_with_their_store_only(tiny_settings):
    layout, session = page.build("alerts", "u_store_001", settings=tiny_settings)
    try:
        assert session is not None, "the frame refused the page"
        assert not [a for a in layout.select(pn.pane.Alert) if a.alert_type == "danger"]
        (table,) = layout.select(pn.widgets.Tabulator)
        _same(table.value, _expected(session, dt.date(2025, 12, 1), dt.date(2025, 12, 31), "store × category"))
        assert set(table.value["store_code"]) <= {"S001"}
        # the chart shows the alerts, or without any the groups furthest off plan: S001's in either case
        (chart,) = layout.select(pn.pane.HoloViews)
        groups = chart.object.data["group"]
        assert len(groups) > 0 and all(g.startswith("S001 · ") for g in groups)
    finally:
        session.close()


@pytest.mark.slow
def test_the_table_cards_and_chart_follow_the_widgets(hq, hq_page):
    p = hq_page
    p.period_kind.value = "month"
    p.month.value = p.month.options["2025-10"]
    _same(p.table.value, _expected(hq, dt.date(2025, 10, 1), dt.date(2025, 10, 31), "store × category"))
    cards = {c.label: c.value for c in p.cards}
    assert cards["Understock (缺货风险)"] == (p.table.value["alert"] == "understock").sum()
    assert cards["Overstock (积压)"] == (p.table.value["alert"] == "overstock").sum()
    assert "2025-10-01 .. 2025-10-31" in p.summary.object

    p.grain.value = "region × brand"
    _same(p.table.value, _expected(hq, dt.date(2025, 10, 1), dt.date(2025, 10, 31), "region × brand"))
    assert "region" in p.table.value.columns and "store_code" not in p.table.value.columns

    week = (dt.date(2025, 10, 6), dt.date(2025, 10, 12))
    p.period_kind.value = "week"
    p.week.value = week
    assert p.week.visible and not p.month.visible
    _same(p.table.value, _expected(hq, *week, "region × brand"))
    assert "2025-10-06 .. 2025-10-12" in p.summary.object

    p.period_kind.value = "custom"
    p.days.value = (dt.date(2025, 9, 1), dt.date(2025, 10, 31))
    p.grain.value = "store × category"
    _same(p.table.value, _expected(hq, dt.date(2025, 9, 1), dt.date(2025, 10, 31), "store × category"))

    # the chart: plan vs actual of the rows listed, then of the rows selected
    bars = p.chart.object.data
    listed = p.table.value.head(15)
    actual = bars[bars["measure"] == "Actual"]["net_sales"].tolist()
    assert actual == pytest.approx(listed["net_sales"].tolist())
    assert bars[bars["measure"] == "Plan"]["net_sales"].tolist() == pytest.approx(listed["plan_net_sales"].tolist())
    p.table.selection = [1]
    bars = p.chart.object.data
    assert bars["group"].unique().tolist() == [" · ".join(p.table.value.iloc[1][["store_code", "category"]])]


def test_the_severity_filter_lists_only_those_alerts(hq, hq_page):
    p = hq_page
    p.period_kind.value = "month"
    p.month.value = p.month.options["2025-10"]
    p.grain.value = "store × category"
    p.severity.value = ["high"]
    _same(p.table.value, _expected(hq, dt.date(2025, 10, 1), dt.date(2025, 10, 31), "store × category", ("high",)))
    assert set(p.table.value["severity"]) <= {"high"}
    p.severity.value = []  # an empty selection: a message, not an empty page without a word
    assert p.table.value.empty
    assert [a.object for a in p.message.objects] == ["No alerts of the chosen severities: tick more of them."]
    p.severity.value = ["high", "medium", "low"]
    assert p.message.objects == [] and len(p.table.value) > 0


def test_bad_input_is_a_message_in_the_page_never_a_stack_trace(hq, monkeypatch):
    p = AlertsPage(hq, RULES)
    p.period_kind.value = "custom"
    # the day picker offers the reader's days with sales only, so an empty or reversed period cannot be picked
    assert (p.days.start, p.days.end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with pytest.raises(ValueError):
        p.days.value = (dt.date(2025, 10, 31), dt.date(2025, 10, 1))
    # what the report refuses anyway (the library's own tests cover each case) is shown as the report says it
    def failing(*args, **kwargs):
        raise AlertInputError("no sales between 2025-10-01 and 2025-10-31: the sales you may read run from ...")

    monkeypatch.setattr(alerts_page, "merchandise_alerts", failing)
    p.days.value = (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert p.table.value.empty and p.cards.objects == [] and p.chart.object is None
    (alert,) = p.message.objects
    assert alert.alert_type == "warning" and alert.object.startswith("no sales between 2025-10-01")

    def broken(*args, **kwargs):
        raise RuntimeError("connection lost\nTraceback (most recent call last): ...")

    monkeypatch.setattr(alerts_page, "merchandise_alerts", broken)
    p.grain.value = "store × brand"
    (alert,) = p.message.objects
    assert alert.alert_type == "danger" and alert.object == "The alerts could not be computed: connection lost"
    assert "Traceback" not in alert.object


def test_the_summary_points_at_the_allocation_review_when_a_plan_is_there(hq, monkeypatch):
    import dataclasses

    real = alerts_page.merchandise_alerts

    def with_plan(*args, **kwargs):  # the tiny chain has no allocation plan written: pretend one
        return dataclasses.replace(real(*args, **kwargs), moves_as_of={"marts.transfer_plan": "2025-11-09",
                                                                      "marts.replenishment_plan": None})

    monkeypatch.setattr(alerts_page, "merchandise_alerts", with_plan)
    layout = alerts_page.view(hq, links=[("Home", "/home"), ("Allocation review · 调拨审批", "/allocation_review")])
    text = "\n".join(str(m.object) for m in layout.select(pn.pane.Markdown))
    assert "allocation plan: transfer plan of 2025-11-09 ([approve its moves](/allocation_review))" in text
    layout = alerts_page.view(hq, links=[("Home", "/home")])  # a role that may not open the review: no link
    assert "approve its moves" not in "\n".join(str(m.object) for m in layout.select(pn.pane.Markdown))
