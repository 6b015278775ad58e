"""The finance report on the tiny chain: figures that reconcile, a bridge that adds up, each reader's scope,
and refusals of bad periods."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench as wb
from workbench.finance import stock_age
from workbench.finance.report import build_report, report_period

PERIOD, COMPARE = "2025-11", "previous"  # tiny holds 2025 only


@pytest.fixture(scope="module")
def reports(tiny_settings):
    built = {}
    for user, by in (("u_finance", "region"), ("u_region_east", "store"), ("u_store_001", "store")):
        with wb.session(user, settings=tiny_settings, read_only=True) as s:
            built[user] = build_report(s, PERIOD, COMPARE, by)
    return built


def _sql(settings, text: str):
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        return s.sql(text).to_pandas()


def test_the_headline_reconciles_with_the_ticket_lines(reports, tiny_settings):
    truth = _sql(tiny_settings, """select sum(net_amount) as net, sum(net_amount - cost_amount) as margin
        from core.sales s join core.stores using (store_id)
        where sale_date between '2025-11-01' and '2025-11-30' and store_type <> 'dc'""").iloc[0]
    row = reports["u_finance"].headline.set_index("measure")["current"]
    assert row["net_sales"] == pytest.approx(truth["net"]) and row["gross_margin"] == pytest.approx(truth["margin"])


def test_the_bridge_adds_up_to_the_headline_change_in_contribution(reports):
    report = reports["u_finance"]
    bridge = report.bridge
    effects = ["volume", "mix", "price", "markdown", "cost", "new_and_ended", "expense"]
    per_row = bridge["base_contribution"] + bridge[effects].sum(axis=1)
    assert per_row.to_numpy() == pytest.approx(bridge["current_contribution"].to_numpy(), abs=1e-6)
    headline = report.headline.set_index("measure")
    assert bridge["current_contribution"].sum() == pytest.approx(headline.loc["contribution", "current"])
    assert bridge["base_contribution"].sum() == pytest.approx(headline.loc["contribution", "comparison"])


def test_a_region_manager_sees_only_their_region(reports, tiny_settings):
    east = set(_sql(tiny_settings, "select store_id from core.stores where region = 'East'")["store_id"])
    report = reports["u_region_east"]
    seen = [set(report.pnl["store_id"]), set(report.stock["store_id"]), set(report.b_goods["store_id"]),
            set(report.closing["store_id"]), *(set(f["store_id"].dropna()) for f in report.risk.values())]
    assert set(report.pnl["store_id"]) and all(ids <= east for ids in seen)
    assert set(report.bridge["store_id"]) <= east and set(report.write_down.lines["store_id"]) <= east


def test_a_store_manager_gets_no_unit_cost_anywhere(reports):
    report = reports["u_store_001"]
    cost_words = ("cogs", "cost_value", "gross_margin", "contribution", "unit_cost", "cost_amount")
    frames = [report.headline.set_index("measure").T, report.pnl, report.pnl_by_month, report.stock,
              report.stock_by_age, report.b_goods, *report.risk.values()]
    assert not [c for f in frames for c in f.columns if any(w in c for w in cost_words)]
    assert report.bridge is None and report.write_down is None and report.closing is None
    assert set(report.pnl["store_code"]) == {"S001"} and "unit costs are hidden" in report.notes[0]


@pytest.mark.parametrize("period, compare, words", [
    ("2024-06", "previous", "no sales between 2024-06-01 and 2024-06-30"),
    ("2025-06", "2025-07", "must end before the period 2025-06 starts"),
    ("2025-06", "2025-06-15..2025-07-15", "must end before the period 2025-06 starts"),
    ("June", "previous", "is not a period"),
])
def test_bad_periods_are_refused_with_what_to_do(tiny_settings, period, compare, words):
    with wb.session("u_finance", settings=tiny_settings, read_only=True) as s:
        with pytest.raises(ValueError, match=words):
            build_report(s, period, compare)


def test_an_unknown_unit_of_management_is_refused(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings, read_only=True) as s:
        with pytest.raises(ValueError, match="cannot cut this report by"):
            build_report(s, PERIOD, COMPARE, by="cashier")


@pytest.mark.parametrize("as_of, period, start, end", [
    ("2025-11-30", "month", dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
    ("2025-11-12", "month", dt.date(2025, 11, 1), dt.date(2025, 11, 12)),
    ("2025-11-30", "week", dt.date(2025, 11, 24), dt.date(2025, 11, 30)),
    ("2025-11-30", "2025-Q3", dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
])
def test_the_report_period_of_a_run(as_of, period, start, end):
    p = report_period(as_of, period)
    assert (p.start, p.end) == (start, end)


def test_stock_by_season_and_age_adds_up_to_the_stock_at_cost(reports):
    report = reports["u_finance"]
    seasons = stock_age.by_age_bucket(report.stock_by_age, "season")
    labels = [label for _, label in stock_age.load_rules().buckets]
    assert list(seasons.columns) == ["season", *labels]
    assert set(seasons["season"]) == set(report.stock_by_age["season"])
    assert seasons[labels].to_numpy().sum() == pytest.approx(report.stock["cost_value"].sum())
