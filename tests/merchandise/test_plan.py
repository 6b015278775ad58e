"""The brand plan at the alert grain: prorated by days like the P&L, split below brand by the reference mix,
the period's mix when the reference is empty, and kept whole when there is no mix at all."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from workbench.finance.pnl import pnl
from workbench.merchandise.plan import plan_by_store, plan_mix, prorated_plan

D = dt.date
PLAN = ibis.memtable(pd.DataFrame({
    "month": [D(2025, 1, 1), D(2025, 2, 1), D(2025, 1, 1), D(2025, 1, 1), D(2025, 3, 1)],
    "store_id": [1, 1, 2, 3, 1], "brand": ["A", "A", "A", "B", "A"],
    "plan_net_sales": [3100.0, 2800.0, 3100.0, 3100.0, 9999.0],
    "plan_units": [31, 28, 31, 31, 99]}).astype({"store_id": "int32", "plan_units": "int32"}))
FIRST, LAST = D(2025, 1, 20), D(2025, 2, 9)  # 12 of January's 31 days, 9 of February's 28; March left out


def _mix(rows):
    return ibis.memtable(pd.DataFrame(rows, columns=["store_id", "brand", "category", "net_sales"]))


REFERENCE = _mix([(1, "A", "tops", 300.0), (1, "A", "dresses", 100.0)])
PERIOD = _mix([(1, "A", "tops", 10.0), (2, "A", "tops", 50.0), (2, "A", "dresses", 150.0),
               (2, "A", "bottoms", -20.0)])


def test_prorated_by_the_days_of_each_month_in_the_period():
    got = prorated_plan(PLAN, FIRST, LAST).to_pandas().set_index(["store_id", "brand"])
    assert got.loc[(1, "A"), "plan_net_sales"] == pytest.approx(3100 * 12 / 31 + 2800 * 9 / 28)  # 1200 + 900
    assert got.loc[(1, "A"), "plan_units"] == pytest.approx(31 * 12 / 31 + 28 * 9 / 28)          # 12 + 9
    assert got.loc[(3, "B"), "plan_net_sales"] == pytest.approx(1200)


def test_the_same_plan_as_the_pnl_for_the_same_period():
    sales = ibis.memtable(pd.DataFrame({
        "sale_date": [FIRST], "store_id": [1], "sku_id": [10], "qty": [1], "full_price": [1.0], "unit_price": [1.0],
        "discount_amount": [0.0], "net_amount": [1.0], "promo_id": pd.array([None], dtype="Int32")}))
    stores = ibis.memtable(pd.DataFrame({"store_id": [1, 2, 3], "store_code": ["S001", "S002", "S003"],
                                         "store_type": ["own"] * 3, "region": ["East"] * 3,
                                         "commission_rate": [None] * 3}).astype({"commission_rate": "float64"}))
    products = ibis.memtable(pd.DataFrame({"sku_id": [10], "brand": ["A"]}))
    finance = pnl(sales, stores, products, None, PLAN, FIRST, LAST, ["store", "brand"]).to_pandas()
    ours = plan_by_store(PLAN, FIRST, LAST, ["brand"]).to_pandas()
    merged = finance.merge(ours, on=["store_id", "brand"], suffixes=("_finance", ""))
    assert len(merged) == 3
    assert merged["plan_net_sales"].tolist() == pytest.approx(merged["plan_net_sales_finance"].tolist())


def test_split_by_the_reference_mix_else_the_period_mix_else_not_at_all():
    mix = plan_mix(REFERENCE, PERIOD)
    got = plan_by_store(PLAN, FIRST, LAST, ["category"], mix).to_pandas()
    got = got.set_index(["store_id", got["category"].fillna("-")])
    # store 1 sold in the reference weeks: 3 : 1 (its period mix is ignored)
    assert got.loc[(1, "tops"), "plan_net_sales"] == pytest.approx(2100 * 0.75)
    assert got.loc[(1, "dresses"), "plan_net_sales"] == pytest.approx(2100 * 0.25)
    assert got.loc[(1, "tops"), "plan_basis"] == "reference mix"
    # store 2 did not: its period mix 1 : 3 (bottoms sold less than they took back: no share)
    assert got.loc[(2, "tops"), "plan_net_sales"] == pytest.approx(1200 * 0.25)
    assert got.loc[(2, "dresses"), "plan_units"] == pytest.approx(12 * 0.75)
    assert got.loc[(2, "dresses"), "plan_basis"] == "period mix"
    assert (2, "bottoms") not in got.index
    # store 3 sold brand B nowhere: its plan stays whole on a row that names no category
    assert got.loc[(3, "-"), "plan_net_sales"] == pytest.approx(1200)
    assert got.loc[(3, "-"), "plan_basis"] == "not split"
    # splitting moves the plan around, never creates or loses any
    assert got["plan_net_sales"].sum() == pytest.approx(2100 + 1200 + 1200)


def test_a_split_without_a_mix_is_refused():
    with pytest.raises(ValueError, match="set by brand: splitting it by \\['category'\\] needs a sales mix"):
        plan_by_store(PLAN, FIRST, LAST, ["category"])
