"""The metrics layer on the simulated chain, through governed sessions, on every engine.

The golden values per metric are in tests/metrics (hand-computed, also run on
every engine); here the metrics must agree with plain SQL and with the row scope.
"""

from __future__ import annotations

import pytest

from workbench.metrics import compute

from .conftest import store_ids


def _rows(table) -> list[dict]:
    return table.to_pyarrow().to_pylist()


def test_net_sales_by_store_agrees_with_sql(open_session):
    s = open_session("u_hq")
    by_metric = {r["store_id"]: r["net_sales"] for r in _rows(compute(s, ["net_sales"], by=["store_id"]))}
    by_sql = {r["store_id"]: r["amount"] for r in _rows(s.sql("select store_id, sum(net_amount) as amount from sales group by store_id"))}
    assert by_metric.keys() == by_sql.keys()
    for store, amount in by_sql.items():
        assert by_metric[store] == pytest.approx(amount)


def test_a_store_manager_gets_their_share_of_the_chain(open_session):
    (s001,) = store_ids(open_session, store_code="S001")
    mine = _rows(compute(open_session("u_store_001"), ["net_sales", "tickets", "conversion"]))[0]
    chain = {r["store_id"]: r for r in _rows(compute(open_session("u_hq"), ["net_sales", "tickets", "conversion"], by=["store_id"]))}
    assert mine["net_sales"] == pytest.approx(chain[s001]["net_sales"])
    assert mine["tickets"] == chain[s001]["tickets"]
    assert mine["conversion"] == pytest.approx(chain[s001]["conversion"])


def test_sales_decompose_into_traffic_conversion_and_ticket(open_session):
    rows = _rows(compute(open_session("u_region_east"), ["net_sales", "traffic", "conversion", "average_ticket"], by=["store_code", "month"]))
    assert rows
    for r in rows:
        if r["traffic"] and r["average_ticket"] is not None:
            assert r["net_sales"] == pytest.approx(r["traffic"] * r["conversion"] * r["average_ticket"])
        elif r["traffic"]:  # no sale ticket that month: only returns, if anything
            assert r["conversion"] == 0 and r["net_sales"] <= 0


def test_region_totals_add_up_from_stores(open_session):
    s = open_session("u_hq")
    by_region = {r["region"]: r["units"] for r in _rows(compute(s, ["units"], by=["region"]))}
    by_store = _rows(compute(s, ["units"], by=["region", "store_id"]))
    for region, units in by_region.items():
        assert sum(r["units"] for r in by_store if r["region"] == region) == units


def test_stock_metrics_compute_at_a_product_grain(open_session):
    rows = _rows(compute(open_session("u_hq"), ["sell_through", "weeks_of_cover", "size_break_rate"], by=["category"], end="2025-06-30"))
    assert rows and all(0 <= r["sell_through"] <= 1 for r in rows if r["sell_through"] is not None)
