"""Stock by receipt age (库龄, FIFO): a worked example solved by hand, buckets that add up to the snapshot's
on-hand at cost on the tiny chain, what a store manager and a region manager see, and bad input refused."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.finance.stock_age import (
    fifo_ages, load_rules, rules_from, stock_age_report, stock_by_age, stock_summary, stock_summary_report,
)

D = dt.date
SNAP = D(2025, 6, 30)
OPENING = D(2024, 12, 31)
ON_HAND = ibis.memtable(pd.DataFrame({
    "snapshot_date": [SNAP] * 4, "store_id": [1, 1, 1, 1], "sku_id": [10, 20, 10, 30],
    "quality": ["A", "A", "B", "A"], "on_hand": [7, 6, 1, 0]}))
RECEIPTS = ibis.memtable(pd.DataFrame({
    "store_id": [1, 1, 1, 1, 1], "sku_id": [10, 10, 10, 10, 20],
    "receive_date": [D(2025, 1, 10), D(2025, 3, 1), D(2025, 6, 1), D(2025, 7, 5), D(2025, 5, 1)],
    "qty": [5, 3, 2, 10, 4]}))
STORES = ibis.memtable(pd.DataFrame({"store_id": [1], "store_code": ["S001"], "store_type": ["own"], "region": ["East"]}))
PRODUCTS = ibis.memtable(pd.DataFrame({"sku_id": [10, 20, 30], "brand": ["A", "A", "B"], "season": ["2025SS"] * 3,
                                       "full_price": [100.0, 200.0, 50.0], "unit_cost": [40.0, 90.0, 20.0]}))


def _aged() -> pd.DataFrame:
    return fifo_ages(ON_HAND, RECEIPTS, OPENING).to_pandas().sort_values(["sku_id", "quality", "received"])


def test_fifo_takes_the_latest_receipts_first():
    got = _aged()
    a10 = got[(got.sku_id == 10) & (got.quality == "A")]
    # 7 on hand: the 2 of 1 June (29 days), the 3 of 1 March (121 days), 2 of the 5 of 10 January (171 days);
    # the 10 of 5 July came after the snapshot.
    assert list(zip(a10.received, a10.units, a10.age_days)) == [
        (pd.Timestamp("2025-01-10"), 2, 171), (pd.Timestamp("2025-03-01"), 3, 121), (pd.Timestamp("2025-06-01"), 2, 29)]
    # 6 on hand, 4 received on 1 May (60 days); 2 older than the log: dated on the opening, 181 days.
    a20 = got[got.sku_id == 20]
    assert list(zip(a20.units, a20.age_days)) == [(2, 181), (4, 60)]
    # B-goods are aged on their own: the 1 unit is the latest receipt.
    b10 = got[got.quality == "B"]
    assert list(zip(b10.units, b10.age_days)) == [(1, 29)]
    assert got.units.sum() == 7 + 6 + 1  # the slices add up to on-hand; the empty row gives none


def test_buckets_at_cost_and_retail_by_hand():
    got = stock_by_age(fifo_ages(ON_HAND, RECEIPTS, OPENING), STORES, PRODUCTS, ["store"]).to_pandas()
    rows = {(r.quality, r.age_bucket): (r.units, r.retail_value, r.cost_value, r.slow_cost_value) for r in got.itertuples()}
    # A 0-90: sku 10 x 2 + sku 20 x 4 = 6 units, retail 200 + 800, cost 80 + 360; A 91-180: sku 10 x (3 + 2);
    # A 181-365: sku 20 x 2, slow (>= 181 days); B 0-90: sku 10 x 1.
    assert rows == {("A", "0-90"): (6, 1000, 440, 0), ("A", "91-180"): (5, 500, 200, 0),
                    ("A", "181-365"): (2, 400, 180, 180), ("B", "0-90"): (1, 100, 40, 0)}
    assert got["age_bucket"].tolist() == ["0-90", "91-180", "181-365", "0-90"]  # in bucket order
    # on-hand at cost: 7 x 40 + 6 x 90 + 1 x 40 = 860
    assert got["cost_value"].sum() == 860


def test_the_summary_shows_slow_stock_b_goods_and_consignment_apart():
    aged = fifo_ages(ON_HAND, RECEIPTS, OPENING)
    counter = STORES.mutate(store_type=ibis.literal("consignment"))
    cover = ibis.memtable(pd.DataFrame({"store_id": [1], "store_code": ["S001"], "weeks_of_cover": [3.5]}))
    got = stock_summary(aged, counter, PRODUCTS, ["store"], cover=cover).to_pandas().iloc[0]
    assert (got.units, got.cost_value, got.slow_cost_value, got.b_goods_units, got.b_goods_cost_value) == (14, 860, 180, 1, 40)
    assert got.consignment_cost_value == 860 and got.slow_share == pytest.approx(180 / 860)
    assert got.weeks_of_cover == 3.5


def test_without_unit_cost_the_cost_columns_are_absent():
    got = stock_by_age(fifo_ages(ON_HAND, RECEIPTS, OPENING), STORES, PRODUCTS.drop("unit_cost"), ["brand"]).to_pandas()
    assert "cost_value" not in got and "slow_cost_value" not in got and got["retail_value"].sum() == 2000
    summary = stock_summary(fifo_ages(ON_HAND, RECEIPTS, OPENING), STORES, PRODUCTS.drop("unit_cost")).to_pandas()
    assert summary["slow_share"].iloc[0] == pytest.approx(400 / 2000)  # by retail value then


def test_rules_in_config():
    rules = rules_from({"buckets": [{"from_days": 0, "label": "new"}, {"from_days": 30, "label": "old"}],
                        "slow_from_days": 30})
    got = stock_by_age(fifo_ages(ON_HAND, RECEIPTS, OPENING), STORES, PRODUCTS, [], rules).to_pandas()
    assert got.groupby("age_bucket")["units"].sum().to_dict() == {"new": 3, "old": 11}
    assert got["slow_units"].sum() == 11
    assert load_rules().slow_from_days == 181 and load_rules().buckets[-1] == (366, ">365")


@pytest.mark.parametrize("raw, message", [
    ({"buckets": [{"from_days": 10, "label": "x"}]}, "must start at from_days 0 and rise"),
    ({"buckets": [{"days": 0}]}, r"give a list of \{from_days: D, label: L\}"),
    ({"buckets": [{"from_days": 0, "label": "x"}], "slow_from_days": -1}, "whole number of days"),
    ({"bucket": []}, r"unknown field\(s\) \['bucket'\]"),
])
def test_bad_rules_are_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        rules_from(raw)


# --- the tiny chain, through governed sessions ------------------------------------------------------------

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def finance_stock(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        report = stock_age_report(s, AS_OF, by=["store", "season"]).to_pandas()
        summary = stock_summary_report(s, AS_OF, by=["store"]).to_pandas()
        snapshot = s.sql("select i.store_id, sum(i.on_hand) as units, sum(i.on_hand * p.unit_cost) as cost "
                         "from core.inventory i join core.products p using (sku_id) "
                         f"where i.snapshot_date = '{AS_OF}' group by 1").to_pandas().set_index("store_id")
    return report, summary, snapshot


def test_buckets_add_up_to_the_snapshot_on_hand_at_cost(finance_stock):
    report, summary, snapshot = finance_stock
    assert report["cost_value"].sum() == pytest.approx(snapshot["cost"].sum())
    assert report["units"].sum() == snapshot["units"].sum()
    per_store = report.groupby("store_id")[["units", "cost_value"]].sum()
    pd.testing.assert_series_equal(per_store["cost_value"], snapshot["cost"].loc[per_store.index],
                                   check_names=False, check_exact=False)
    assert set(report["age_bucket"]) <= {"0-90", "91-180", "181-365", ">365"}
    assert summary["slow_cost_value"].sum() == pytest.approx(report["slow_cost_value"].sum())
    assert (summary["slow_cost_value"] <= summary["cost_value"]).all()
    assert summary.loc[summary.store_code == "S008", "consignment_units"].iloc[0] == \
        summary.loc[summary.store_code == "S008", "units"].iloc[0] > 0
    assert summary["weeks_of_cover"].notna().any()


def test_a_store_manager_sees_their_stock_without_cost(finance_stock, tiny_settings):
    report = finance_stock[0]
    with wb.session("u_store_001", settings=tiny_settings) as s:
        mine = stock_age_report(s, AS_OF, by=["store"]).to_pandas()
        summary = stock_summary_report(s, AS_OF, by=["store"]).to_pandas()
    assert set(mine["store_code"]) == {"S001"} and not any("cost" in c for c in mine.columns)
    assert mine["units"].sum() == report.loc[report.store_code == "S001", "units"].sum()
    assert not any("cost" in c for c in summary.columns) and len(summary) == 1


def test_a_region_manager_sees_their_region_only(finance_stock, tiny_settings):
    report = finance_stock[0]
    with wb.session("u_region_east", settings=tiny_settings) as s:
        east = stock_age_report(s, AS_OF, by=["store"]).to_pandas()
        codes = set(s.table("core.stores").store_code.to_pandas())
    assert set(east["store_code"]) == codes and "S002" not in codes and "S001" in codes
    assert east["cost_value"].sum() == pytest.approx(report.loc[report.store_code.isin(codes), "cost_value"].sum())


def test_an_as_of_before_the_first_snapshot_is_refused(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        with pytest.raises(ValueError, match=r"no stock snapshot on or before 2020-01-01: the first is 2024-12-31"):
            stock_age_report(s, "2020-01-01")
        with pytest.raises(ValueError, match="cannot cut this report by"):
            stock_age_report(s, AS_OF, by=["size"])
