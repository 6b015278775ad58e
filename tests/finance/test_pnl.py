"""P&L by unit (经营损益): a worked example solved by hand, totals that reconcile on the tiny chain, what a
store manager and a region manager see, and bad periods refused with what to do."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.finance.pnl import PnlRules, load_rules, pnl, pnl_report, rules_from

D = dt.date
STORES = ibis.memtable(pd.DataFrame({
    "store_id": [0, 1, 2, 3], "store_code": ["DC01", "S001", "S002", "S003"],
    "store_type": ["dc", "own", "consignment", "outlet"], "region": [None, "East", "East", "North"],
    "commission_rate": [None, None, 0.2, None]}))
PRODUCTS = ibis.memtable(pd.DataFrame({"sku_id": [10, 20], "brand": ["A", "B"], "unit_cost": [40.0, 60.0]}))
_SALES_COLS = ["sale_date", "store_id", "sku_id", "qty", "full_price", "unit_price", "discount_amount",
               "net_amount", "cost_amount", "promo_id"]
SALES_FRAME = pd.DataFrame([
    (D(2025, 1, 5), 1, 10, 2, 100.0, 80.0, 40.0, 160.0, 80.0, None),     # markdown 40
    (D(2025, 1, 6), 1, 20, 1, 200.0, 80.0, 120.0, 80.0, 60.0, 7),        # promotion 120
    (D(2025, 1, 7), 1, 10, -1, 100.0, 80.0, -20.0, -80.0, -40.0, None),  # a return gives 20 markdown back
    (D(2025, 1, 10), 2, 10, 3, 100.0, 100.0, 0.0, 300.0, 120.0, None),   # the counter: commission 20 % = 60
    (D(2025, 2, 3), 1, 20, 2, 200.0, 200.0, 0.0, 400.0, 120.0, None),
    (D(2025, 2, 10), 3, 20, 1, 200.0, 100.0, 100.0, 100.0, 60.0, None),  # the outlet
    (D(2025, 3, 1), 1, 10, 5, 100.0, 100.0, 0.0, 500.0, 200.0, None),    # after the period
], columns=_SALES_COLS).astype({"promo_id": "Int32"})
SALES = ibis.memtable(SALES_FRAME)
COSTS = ibis.memtable(pd.DataFrame({
    "store_id": [1, 1, 2, 3, 0], "month": [D(2025, 1, 1), D(2025, 2, 1), D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 1)],
    "rent": [100.0, 100.0, 0.0, 20.0, 1000.0], "staff_cost": [50.0, 50.0, 30.0, 10.0, 0.0],
    "other_cost": [10.0, 10.0, 0.0, 0.0, 0.0]}))
PLAN = ibis.memtable(pd.DataFrame({
    "month": [D(2025, 1, 1)] * 3, "store_id": [1, 1, 2], "brand": ["A", "B", "A"],
    "plan_net_sales": [200.0, 100.0, 250.0], "plan_units": [2, 1, 3]}))
JAN_FEB = (D(2025, 1, 1), D(2025, 2, 28))


def _run(by, start=JAN_FEB[0], end=JAN_FEB[1], sales=SALES, products=PRODUCTS, rules=PnlRules()):
    return pnl(sales, STORES, products, COSTS, PLAN, start, end, by, rules).to_pandas()


def test_the_worked_example_by_store_gives_the_hand_answer():
    got = _run(["store"]).set_index("store_code")
    assert got.index.tolist() == ["S001", "S002", "S003"]  # the DC sells nothing: left out, its rent too
    # S001: tag 200 + 200 - 100 + 400 = 700; markdown 40 - 20 = 20, promotion 120; net 160 + 80 - 80 + 400 = 560
    # = 700 - 140; cogs 80 + 60 - 40 + 120 = 220; margin 340; costs 2 x (100 + 50 + 10) = 320; contribution 20;
    # plan 200 + 100 = 300: variance 260, attainment 560 / 300.
    s1 = got.loc["S001"]
    assert (s1.units, s1.tag_value, s1.markdown, s1.promotion, s1.markdown_cost) == (4, 700, 20, 120, 140)
    assert (s1.net_sales, s1.cogs, s1.gross_margin, s1.store_costs, s1.contribution) == (560, 220, 340, 320, 20)
    assert (s1.plan_net_sales, s1.plan_variance) == (300, 260) and s1.plan_attainment == pytest.approx(560 / 300)
    # S002, the counter: net 300, cogs 120, margin 180, commission 60, staff 30: contribution 90; plan 250.
    s2 = got.loc["S002"]
    assert (s2.net_sales, s2.gross_margin, s2.commission, s2.store_costs, s2.contribution) == (300, 180, 60, 30, 90)
    assert s2.plan_attainment == pytest.approx(1.2)
    # S003, the outlet: net 100, margin 40; its January costs (30) with no January sales still count: 10; no plan.
    s3 = got.loc["S003"]
    assert (s3.net_sales, s3.gross_margin, s3.store_costs, s3.contribution) == (100, 40, 30, 10)
    assert s3.plan_net_sales == 0 and pd.isna(s3.plan_attainment)
    assert got["margin_rate"].loc["S001"] == pytest.approx(340 / 560)


def test_store_costs_are_spread_over_brands_by_net_sales():
    got = _run(["brand"]).set_index("brand", drop=False)
    # S001's January costs (160) split 80 / 80 (brand A and B each net 80); February's (160) all to B, the only
    # brand sold; S002 (brand A only) keeps its 30; S003's January costs, without January sales, stay brand-less.
    a, b = got.loc["A"], got.loc["B"]
    assert (a.net_sales, a.gross_margin, a.commission, a.store_costs, a.contribution) == (380, 220, 60, 110, 50)
    assert (b.net_sales, b.gross_margin, b.store_costs, b.contribution) == (580, 340, 240, 100)
    assert (a.plan_net_sales, b.plan_net_sales) == (450, 100)
    unallocated = got[got["brand"].isna()].iloc[0]
    assert (unallocated.net_sales, unallocated.store_costs, unallocated.contribution) == (0, 30, -30)
    by_store = _run(["store"])
    for col in ("net_sales", "contribution", "store_costs", "plan_net_sales", "markdown_cost"):
        assert got[col].sum() == pytest.approx(by_store[col].sum())


def test_channel_month_and_the_chain():
    assert _run(["channel"]).set_index("channel")["net_sales"].to_dict() == {"consignment": 300, "outlet": 100, "own": 560}
    assert _run(["month"]).set_index("month")["net_sales"].tolist() == [460, 500]
    chain = _run([])
    assert chain["net_sales"].iloc[0] == 960 and chain["contribution"].iloc[0] == 20 + 90 + 10


def test_a_part_month_prorates_costs_and_plan():
    # 1-14 February: S001 keeps 14 / 28 of February's 160 = 80: contribution 400 - 120 - 80 = 200.
    got = _run(["store"], D(2025, 2, 1), D(2025, 2, 14)).set_index("store_code")
    assert got.loc["S001", "store_costs"] == pytest.approx(80) and got.loc["S001", "contribution"] == pytest.approx(200)
    # 16-31 January: no sale anywhere, yet S002 keeps 16 / 31 of its plan of 250 and of its staff cost of 30.
    half = _run(["store"], D(2025, 1, 16), D(2025, 1, 31)).set_index("store_code")
    assert half.loc["S002", "plan_net_sales"] == pytest.approx(250 * 16 / 31)
    assert half.loc["S002", "store_costs"] == pytest.approx(30 * 16 / 31) and half.loc["S002", "net_sales"] == 0
    assert half.loc["S002", "plan_attainment"] == 0


def test_without_cost_columns_cost_and_margin_are_absent_not_an_error():
    got = _run(["store"], sales=ibis.memtable(SALES_FRAME.drop(columns="cost_amount")),
               products=PRODUCTS.drop("unit_cost"))
    assert not {"cogs", "gross_margin", "margin_rate", "contribution"} & set(got.columns)
    assert got["net_sales"].tolist() == [560, 300, 100] and got["commission"].tolist() == [0, 60, 0]


def test_equal_allocation_is_a_rule():
    got = _run(["brand"], rules=rules_from({"allocate_store_costs_by": "equal"})).set_index("brand")
    assert got.loc["A", "store_costs"] == 110  # January's 160 split evenly too: the same here, 80 / 80


@pytest.mark.parametrize("start, end, message", [
    ("2025-02-01", "2025-01-01", r"ends \(2025-01-01\) before it starts \(2025-02-01\)"),
    ("2025-13-01", "2025-12-31", "write it as YYYY-MM-DD"),
])
def test_bad_periods_are_refused(start, end, message):
    with pytest.raises(ValueError, match=message):
        pnl(SALES, STORES, PRODUCTS, COSTS, PLAN, start, end)


def test_bad_by_and_rules_are_refused():
    with pytest.raises(ValueError, match=r"cannot cut this report by \['city'\]"):
        pnl(SALES, STORES, PRODUCTS, COSTS, PLAN, *JAN_FEB, by=["city"])
    with pytest.raises(ValueError, match="allocate_store_costs_by is 'area'"):
        rules_from({"allocate_store_costs_by": "area"})
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['alocate'\] in finance.pnl"):
        rules_from({"alocate": "net_sales"})
    assert load_rules().allocate_store_costs_by == "net_sales"


# --- the tiny chain, through governed sessions ------------------------------------------------------------

YEAR = ("2025-01-01", "2025-12-31")


@pytest.fixture(scope="module")
def finance_by_store(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        by_store = pnl_report(s, *YEAR, by=["store"]).to_pandas()
        chain = pnl_report(s, *YEAR, by=[]).to_pandas()
        raw = s.sql("select sum(net_amount) as net, sum(cost_amount) as cogs from core.sales s join core.stores t "
                    "using (store_id) where t.store_type <> 'dc' and sale_date between '2025-01-01' and '2025-12-31'"
                    ).to_pandas().iloc[0]
    return by_store, chain, raw


def test_net_sales_by_store_sum_to_the_chain(finance_by_store, tiny_settings):
    by_store, chain, raw = finance_by_store
    assert by_store["net_sales"].sum() == pytest.approx(chain["net_sales"].iloc[0]) == pytest.approx(raw["net"])
    assert by_store["cogs"].sum() == pytest.approx(raw["cogs"])
    assert by_store["contribution"].sum() == pytest.approx(chain["contribution"].iloc[0])
    with wb.session("u_finance", settings=tiny_settings) as s:
        cut = pnl_report(s, *YEAR, by=["region", "brand", "channel", "month"]).to_pandas()
    for col in ("net_sales", "contribution", "plan_net_sales", "store_costs"):
        assert cut[col].sum() == pytest.approx(chain[col].iloc[0])
    assert set(cut["channel"]) <= {"own", "outlet", "consignment", "online"}
    assert (by_store["plan_net_sales"] > 0).all(), "tiny plans every store"


def test_a_store_manager_sees_their_store_without_costs(finance_by_store, tiny_settings):
    by_store = finance_by_store[0].set_index("store_code")
    with wb.session("u_store_001", settings=tiny_settings) as s:
        mine = pnl_report(s, *YEAR, by=["store", "month"]).to_pandas()
    assert set(mine["store_code"]) == {"S001"}
    assert not {"cogs", "gross_margin", "margin_rate", "contribution"} & set(mine.columns)
    assert mine["net_sales"].sum() == pytest.approx(by_store.loc["S001", "net_sales"])
    assert mine["store_costs"].sum() == pytest.approx(by_store.loc["S001", "store_costs"])


def test_a_region_manager_sees_their_region_only(finance_by_store, tiny_settings):
    by_store = finance_by_store[0]
    with wb.session("u_region_east", settings=tiny_settings) as s:
        east = pnl_report(s, *YEAR, by=["store"]).to_pandas()
        regions = pnl_report(s, *YEAR, by=["region"]).to_pandas()
    with wb.session("u_finance", settings=tiny_settings) as s:
        east_codes = set(s.table("core.stores").filter(lambda t: t.region == "East").store_code.to_pandas())
    assert set(east["store_code"]) == east_codes - {"DC01"} and len(east) < len(by_store)
    expected = by_store[by_store["store_code"].isin(east_codes)].reset_index(drop=True)
    pd.testing.assert_frame_equal(east.reset_index(drop=True), expected, check_dtype=False)
    assert regions["region"].tolist() == ["East"]


def test_an_empty_period_says_which_dates_hold_sales(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        with pytest.raises(ValueError, match=r"no sales between 2030-01-01 and 2030-03-31: .* from 2025-01-01"):
            pnl_report(s, "2030-01-01", "2030-03-31")
        with pytest.raises(ValueError, match="before it starts"):
            pnl_report(s, "2025-03-31", "2025-01-01")
