"""Golden values: every metric on the hand-made chain of ``golden_data.py``.

Each expected value is worked out by hand from the story in that module's
docstring (the comment next to the assertion shows the sum); none was
produced by running the code. The ``source`` fixture runs each test on
memtables, a DuckDB warehouse file and a Spark warehouse.
"""

from __future__ import annotations

import datetime as dt

from pytest import approx

from workbench.metrics import compute

from .golden_data import keyed, rows

D = dt.date


def total(source, metric: str, **kw):
    """One metric over the whole chain (no dimension)."""
    [row] = rows(compute(source, [metric], **kw))
    return row[metric]


# --- sales -------------------------------------------------------------------------


def test_net_sales_total_nets_returns_and_exchanges(source):
    # T1 360 + T2 80 + T3 400 + T4 -80 + T5 (-200 + 200) + T6 190 + T7 160
    assert total(source, "net_sales") == approx(1110.0)


def test_gross_sales_keeps_sale_lines_only(source):
    # sale lines: T1 360 + T2 80 + T3 400 + T6 190 + T7 160
    assert total(source, "gross_sales") == approx(1190.0)


def test_return_value_and_return_rate(source):
    # T4 refunds 80; the exchange T5 is not a return
    assert total(source, "return_value") == approx(80.0)
    # 80 / 1190
    assert total(source, "return_rate") == approx(80 / 1190)


def test_units_net(source):
    # T1 3 + T2 1 + T3 2 + T4 -1 + T5 (-1 + 1) + T6 2 + T7 1
    assert total(source, "units") == 8


def test_tickets_count_sale_tickets_only(source):
    # T1 T2 T3 T6 T7; T4 (return only) and T5 (exchange only) are not baskets
    assert total(source, "tickets") == 5


def test_average_ticket(source):
    # 1110 / 5
    assert total(source, "average_ticket") == approx(222.0)


def test_units_per_ticket(source):
    # 8 / 5
    assert total(source, "units_per_ticket") == approx(1.6)


def test_average_selling_price(source):
    # 1110 / 8
    assert total(source, "average_selling_price") == approx(138.75)


def test_markdown_rate(source):
    # discount: T1 40 + T2 20 + T4 -20 + T6 10 + T7 40 = 90
    # tag value: T1 400 + T2 100 + T3 400 + T4 -100 + T5 (-200 + 200) + T6 200 + T7 200 = 1200
    assert total(source, "markdown_rate") == approx(0.075)


def test_gross_margin_and_margin_rate(source):
    # cost: T1 160 + T2 40 + T3 160 + T4 -40 + T5 0 + T6 80 + T7 80 = 480; 1110 - 480
    assert total(source, "gross_margin") == approx(630.0)
    # 630 / 1110
    assert total(source, "margin_rate") == approx(630 / 1110)


# --- traffic -----------------------------------------------------------------------


def test_traffic_and_conversion(source):
    # S1 40+30+10+10 = 90, S2 50+10+25+25 = 110
    assert total(source, "traffic") == 200
    # 5 tickets / 200 visitors
    assert total(source, "conversion") == approx(0.025)


# --- stock -------------------------------------------------------------------------


def test_stock_is_taken_at_the_last_snapshot_not_summed(source):
    # 2024-04-07: S1 1+(0+2 in transit)+1+1+1 = 6, S2 2 + 1 B-goods = 3, DC 3+4 = 7; not 19 + 16
    assert total(source, "stock_units") == 16


def test_stock_cost(source):
    # 04-07: tops 7 units x 40 = 280, bottoms 9 x 80 = 720
    assert total(source, "stock_cost") == approx(1000.0)


def test_average_stock_cost(source):
    # 03-31: tops 9 x 40 + bottoms 10 x 80 = 1160; 04-07: 1000; mean of the two snapshots
    assert total(source, "average_stock_cost") == approx(1080.0)


def test_net_receipts(source):
    # supplier -> DC +4; S1 -> S2 (-1 +1) and DC -> S1 (-2 +2) cancel at company level
    assert total(source, "net_receipts") == 4


def test_sell_through_life_to_date(source):
    # sold to 04-07: 8; stock at 04-07: 16; 8 / (8 + 16)
    assert total(source, "sell_through") == approx(8 / 24)


def test_sell_through_in_the_period(source):
    # from 04-01: sold 3 (T5 0 + T6 2 + T7 1); closing stock 16; 3 / (3 + 16)
    assert total(source, "sell_through_period", start="2024-04-01") == approx(3 / 19)


def test_life_to_date_sell_through_ignores_start(source):
    # still everything sold since the first sale: 8 / (8 + 16)
    assert total(source, "sell_through", start="2024-04-01") == approx(8 / 24)


def test_weeks_of_cover(source):
    # trailing 4 weeks (03-10, 04-07]: T2 1 + T3 2 + T4 -1 + T5 0 + T6 2 + T7 1 = 5 -> 1.25 a week; 16 / 1.25
    assert total(source, "weeks_of_cover") == approx(12.8)


def test_core_size_stockout_rate(source):
    # core sizes 102 103 201 202, ranged in both stores, 2 snapshots: 16 checks
    # out: 03-31 S1 102 (0), S2 103 (no row); 04-07 S1 102 (0 on hand, 2 only in transit), S2 102 103 201
    assert total(source, "core_size_stockout_rate") == approx(6 / 16)


def test_size_break_rate(source):
    # on display: 03-31 all four store x SKC; 04-07 S1-10, S1-20, S2-20 (S2-10 has no stock at all) = 7
    # broken: 03-31 S1-10 (M), S2-10 (L); 04-07 S1-10 (M), S2-20 (28) = 4
    assert total(source, "size_break_rate") == approx(4 / 7)


def test_gmroi(source):
    # margin 630 / average stock at cost 1080
    assert total(source, "gmroi") == approx(630 / 1080)


# --- grains ------------------------------------------------------------------------


def test_by_store(source):
    got = keyed(compute(source, ["net_sales", "tickets", "average_ticket", "conversion", "return_rate", "markdown_rate",
                                 "stock_units", "sell_through", "weeks_of_cover", "gmroi", "net_receipts",
                                 "core_size_stockout_rate", "size_break_rate"], by=["store_code"]), "store_code")
    s1, s2, dc = got["S001"], got["S002"], got["DC01"]
    assert s1["net_sales"] == approx(520.0)  # T1 360 + T2 80 + T4 -80 + T7 160
    assert s2["net_sales"] == approx(590.0)  # T3 400 + T5 0 + T6 190
    assert (s1["tickets"], s2["tickets"]) == (3, 2)  # T1 T2 T7 | T3 T6
    assert s1["average_ticket"] == approx(520 / 3)
    assert s2["average_ticket"] == approx(295.0)  # 590 / 2
    assert s1["conversion"] == approx(3 / 90)
    assert s2["conversion"] == approx(2 / 110)
    assert s1["return_rate"] == approx(80 / 600)  # T4 80 / (T1 360 + T2 80 + T7 160)
    assert s2["return_rate"] == 0.0
    assert s1["markdown_rate"] == approx(80 / 600)  # (40 + 20 - 20 + 40) / (400 + 100 - 100 + 200)
    assert s2["markdown_rate"] == approx(10 / 600)  # T6 10 / (400 + 0 + 200)
    assert (s1["stock_units"], s2["stock_units"], dc["stock_units"]) == (6, 3, 7)
    assert s1["sell_through"] == approx(4 / 10)  # sold 4, holds 6
    assert s2["sell_through"] == approx(4 / 7)  # sold 4, holds 3
    assert dc["sell_through"] == 0.0  # sold 0, holds 7
    assert s1["weeks_of_cover"] == approx(24.0)  # 6 / ((T2 1 + T4 -1 + T7 1) / 4)
    assert s2["weeks_of_cover"] == approx(3.0)  # 3 / ((T3 2 + T5 0 + T6 2) / 4)
    assert dc["weeks_of_cover"] is None  # no sales: cover unbounded
    assert s1["gmroi"] == approx(280 / 320)  # (520 - 240) / mean(320, 320)
    assert s2["gmroi"] == approx(350 / 280)  # (590 - 240) / mean(320, 240)
    assert dc["gmroi"] == 0.0  # no margin / mean(520, 440)
    assert (s1["net_receipts"], s2["net_receipts"], dc["net_receipts"]) == (1, 1, 2)  # -1+2 | +1 | +4-2
    assert s1["core_size_stockout_rate"] == approx(2 / 8)  # 102 at both snapshots
    assert s2["core_size_stockout_rate"] == approx(4 / 8)  # 103 at 03-31; 102 103 201 at 04-07
    assert dc["core_size_stockout_rate"] is None  # the DC ranges nothing
    assert s1["size_break_rate"] == approx(2 / 4)  # SKC 10 broken at both snapshots, SKC 20 whole
    assert s2["size_break_rate"] == approx(2 / 3)  # 03-31 SKC 10; 04-07 SKC 20 (SKC 10 not on display)


def test_by_region_and_month(source):
    got = keyed(compute(source, ["net_sales", "tickets", "traffic", "conversion", "average_ticket"],
                        by=["region", "month"]), "region", "month")
    mar, apr = D(2024, 3, 1), D(2024, 4, 1)
    # East March: T1 360 + T2 80 + T4 -80; tickets T1 T2; traffic 40 + 30 + 10
    assert got[("East", mar)]["net_sales"] == approx(360.0)
    assert got[("East", mar)]["conversion"] == approx(2 / 80)
    assert got[("East", mar)]["average_ticket"] == approx(180.0)
    # East April: T7 160; 1 ticket / 10 visitors
    assert got[("East", apr)]["conversion"] == approx(0.1)
    # West March: T3 400; 1 ticket / (50 + 10)
    assert got[("West", mar)]["conversion"] == approx(1 / 60)
    # West April: T5 0 + T6 190; 1 ticket (T6) / (25 + 25)
    assert got[("West", apr)]["net_sales"] == approx(190.0)
    assert got[("West", apr)]["tickets"] == 1
    assert got[("West", apr)]["conversion"] == approx(0.02)
    assert set(got) == {("East", mar), ("East", apr), ("West", mar), ("West", apr)}


def test_stock_metrics_by_month(source):
    got = keyed(compute(source, ["stock_units", "sell_through", "sell_through_period", "weeks_of_cover", "gmroi",
                                 "core_size_stockout_rate", "size_break_rate"], by=["month"]), "month")
    mar, apr = got[D(2024, 3, 1)], got[D(2024, 4, 1)]
    assert (mar["stock_units"], apr["stock_units"]) == (19, 16)  # the month's last snapshot
    assert mar["sell_through"] == approx(5 / 24)  # sold to 03-31: 3 + 1 + 2 - 1 = 5; 5 / (5 + 19)
    assert apr["sell_through"] == approx(8 / 24)
    assert mar["sell_through_period"] == approx(5 / 24)  # March 5 / (5 + 19)
    assert apr["sell_through_period"] == approx(3 / 19)  # April 3 / (3 + 16)
    assert mar["weeks_of_cover"] == approx(15.2)  # (03-03, 03-31]: T1 3 + T2 1 + T3 2 + T4 -1 = 5; 19 / 1.25
    assert apr["weeks_of_cover"] == approx(12.8)
    assert mar["gmroi"] == approx(440 / 1160)  # (760 - 320) / 03-31 only
    assert apr["gmroi"] == approx(190 / 1000)  # (350 - 160) / 04-07 only
    assert mar["core_size_stockout_rate"] == approx(2 / 8)
    assert apr["core_size_stockout_rate"] == approx(4 / 8)
    assert mar["size_break_rate"] == approx(2 / 4)
    assert apr["size_break_rate"] == approx(2 / 3)


def test_by_category(source):
    got = keyed(compute(source, ["net_sales", "units", "tickets", "average_selling_price", "gross_margin", "markdown_rate",
                                 "sell_through", "gmroi", "core_size_stockout_rate", "size_break_rate"],
                        by=["category"]), "category")
    tops, bottoms = got["tops"], got["bottoms"]
    assert tops["net_sales"] == approx(390.0)  # T1 200 + T2 80 + T4 -80 + T6 190
    assert bottoms["net_sales"] == approx(720.0)  # T1 160 + T3 400 + T5 0 + T7 160
    assert (tops["units"], bottoms["units"]) == (4, 4)  # 2+1-1+2 | 1+2+0+1
    # tickets with the category: T1 T2 T6 | T1 T3 T7; 3 + 3 != 5 (T1 holds both)
    assert (tops["tickets"], bottoms["tickets"]) == (3, 3)
    assert tops["average_selling_price"] == approx(97.5)  # 390 / 4
    assert tops["gross_margin"] == approx(230.0)  # 390 - (80 + 40 - 40 + 80)
    assert tops["markdown_rate"] == approx(10 / 400)  # (0 + 20 - 20 + 10) / (200 + 100 - 100 + 200)
    assert tops["sell_through"] == approx(4 / 11)  # stock S1 1+2+1, DC 3
    assert bottoms["sell_through"] == approx(4 / 13)  # stock S1 1+1, S2 2+1, DC 4
    assert tops["gmroi"] == approx(230 / 320)  # mean(9 x 40, 7 x 40)
    assert bottoms["gmroi"] == approx(400 / 760)  # (720 - 320) / mean(10 x 80, 9 x 80)
    assert tops["core_size_stockout_rate"] == approx(5 / 8)  # S1 102 x2, S2 103 x2, S2 102 at 04-07
    assert bottoms["core_size_stockout_rate"] == approx(1 / 8)  # S2 201 at 04-07
    assert tops["size_break_rate"] == approx(3 / 3)  # on display 3 times, broken each time
    assert bottoms["size_break_rate"] == approx(1 / 4)


def test_by_size(source):
    got = keyed(compute(source, ["core_size_stockout_rate", "units"], by=["size"]), "size")
    assert got["M"]["core_size_stockout_rate"] == approx(3 / 4)  # S1 both snapshots, S2 04-07
    assert got["L"]["core_size_stockout_rate"] == approx(2 / 4)  # S2 both snapshots
    assert got["28"]["core_size_stockout_rate"] == approx(1 / 4)
    assert got["30"]["core_size_stockout_rate"] == 0.0
    assert got["S"]["core_size_stockout_rate"] is None  # not a core size
    assert got["M"]["units"] == 3  # T1 2 + T6 1


def test_null_dimension_values_group_together(source):
    # the DC has no region: its stock forms one group of its own, not one per fact
    got = keyed(compute(source, ["stock_units", "net_receipts", "net_sales"], by=["region"]), "region")
    assert set(got) == {"East", "West", None}
    assert got[None]["stock_units"] == 7
    assert got[None]["net_receipts"] == 2  # +4 - 2
    assert got[None]["net_sales"] == 0.0


# --- filters -----------------------------------------------------------------------


def test_filter_by_region(source):
    # East = S1: T1 360 + T2 80 + T4 -80 + T7 160; 3 tickets / 90 visitors
    [row] = rows(compute(source, ["net_sales", "conversion"], where={"region": "East"}))
    assert row["net_sales"] == approx(520.0)
    assert row["conversion"] == approx(3 / 90)


def test_filter_by_category_at_store_grain(source):
    got = keyed(compute(source, ["net_sales", "units", "tickets"], by=["store_id"], where={"category": "tops"}), "store_id")
    assert got[1]["net_sales"] == approx(200.0)  # T1 102 200 + T2 80 + T4 -80
    assert (got[1]["units"], got[1]["tickets"]) == (2, 2)  # 2 + 1 - 1 | T1 T2
    assert got[2]["net_sales"] == approx(190.0)  # T6 100 + 90
    assert set(got) == {1, 2}


def test_filter_by_list_of_values_and_null(source):
    # channel store = S1 + S2 stock 6 + 3; region null = the DC 7
    assert total(source, "stock_units", where={"channel": ["store", "online"]}) == 9
    assert total(source, "stock_units", where={"region": None}) == 7


def test_date_range(source):
    # to 03-31: T1 360 + T2 80 + T3 400 + T4 -80
    assert total(source, "net_sales", end="2024-03-31") == approx(760.0)
    # from 04-01: T5 0 + T6 190 + T7 160
    assert total(source, "net_sales", start="2024-04-01") == approx(350.0)
    assert total(source, "tickets", start="2024-04-01") == 2  # T6 T7
    assert total(source, "gmroi", start="2024-04-01") == approx(190 / 1000)


def test_stock_between_snapshots_uses_the_last_one_before_end(source):
    # end 04-05: the last snapshot is 03-31 (19 units); sold up to 03-31: 5 (T5, T6 come after it)
    [row] = rows(compute(source, ["stock_units", "sell_through", "net_sales"], end="2024-04-05"))
    assert row["stock_units"] == 19
    assert row["sell_through"] == approx(5 / 24)
    assert row["net_sales"] == approx(950.0)  # flows still run to 04-05: 760 + 0 + 190
