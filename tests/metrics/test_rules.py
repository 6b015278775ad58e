"""The rules every metric obeys: valid dimensions, ratios after aggregation, semi-additive stock,
the sales tree, stock conservation, hidden columns. Engine-independent: run on memtables."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pytest import approx

from workbench.metrics import DIMENSIONS, METRICS, DimensionError, MetricError, compute

from .golden_data import MemorySource, golden_tables, keyed, rows

D = dt.date


# --- invalid requests give clear errors ---------------------------------------------


def test_conversion_cannot_be_split_by_category(memory_source):
    with pytest.raises(DimensionError) as err:
        compute(memory_source, ["net_sales", "conversion"], by=["category"])
    message = str(err.value)
    assert "conversion" in message and "'category'" in message and "core.traffic" in message
    assert "no product" in message  # says why, not only that


def test_conversion_cannot_be_filtered_by_brand(memory_source):
    with pytest.raises(DimensionError, match="filtered"):
        compute(memory_source, "conversion", where={"brand": "Aurora"})


def test_size_break_rate_cannot_be_split_by_size(memory_source):
    with pytest.raises(DimensionError, match="style-colour"):
        compute(memory_source, "size_break_rate", by=["size"])


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": ["net_sales", "sell_thru"]}, "unknown metric"),
    ({"metrics": "net_sales", "by": ["colour_of_the_day"]}, "unknown dimension"),
    ({"metrics": "net_sales", "where": {"month": "2024-03-01"}}, "start= and end="),
    ({"metrics": "net_sales", "start": "2024-04-01", "end": "2024-03-01"}, "after end"),
    ({"metrics": "net_sales", "start": "first of April"}, "date like"),
    ({"metrics": []}, "no metric"),
])
def test_bad_requests(memory_source, kwargs, match):
    with pytest.raises(MetricError, match=match):
        compute(memory_source, **kwargs)


def test_every_metric_documents_itself():
    for m in METRICS.values():
        assert m.label_en and m.label_zh and m.unit and len(m.definition) > 20, m.name
        assert set(m.dimensions) <= set(DIMENSIONS)
    assert "category" not in METRICS["conversion"].dimensions
    assert "region" in METRICS["conversion"].dimensions
    assert "size" not in METRICS["size_break_rate"].dimensions and "category" in METRICS["size_break_rate"].dimensions


# --- ratios are computed after aggregation -------------------------------------------


def test_ratios_are_totals_over_totals_not_averages_of_ratios(memory_source):
    by_store = keyed(compute(memory_source, ["average_ticket", "conversion"], by=["store_code"]), "store_code")
    [whole] = rows(compute(memory_source, ["average_ticket", "conversion"]))
    # stores: 520/3 = 173.33 and 590/2 = 295, whose mean is 234.17; the chain: 1110 / 5
    assert whole["average_ticket"] == approx(222.0)
    assert whole["average_ticket"] != approx((by_store["S001"]["average_ticket"] + by_store["S002"]["average_ticket"]) / 2)
    # stores: 3/90 and 2/110; the chain: 5 / 200
    assert whole["conversion"] == approx(0.025)


def test_tickets_are_distinct_at_each_grain(memory_source):
    # T1 has a top and jeans: 3 + 3 tickets by category, 5 in all
    by_cat = rows(compute(memory_source, "tickets", by=["category"]))
    assert sum(r["tickets"] for r in by_cat) == 6
    assert rows(compute(memory_source, "tickets"))[0]["tickets"] == 5


def test_stock_is_not_summed_over_time_but_flows_are(memory_source):
    by_month = rows(compute(memory_source, ["stock_units", "units"], by=["month"]))
    [whole] = rows(compute(memory_source, ["stock_units", "units"]))
    assert sum(r["units"] for r in by_month) == whole["units"] == 8
    assert [r["stock_units"] for r in by_month] == [19, 16]
    assert whole["stock_units"] == 16  # the closing snapshot, not 35


def test_average_stock_counts_a_snapshot_without_rows_as_zero(memory_source):
    # S2 tops: 03-31 101 1 + 102 1 = 2 x 40 = 80; 04-07 no row at all -> 0; mean 40 (not 80)
    got = keyed(compute(memory_source, ["average_stock_cost", "gmroi"], by=["store_code", "category"]),
                "store_code", "category")
    assert got[("S002", "tops")]["average_stock_cost"] == approx(40.0)
    assert got[("S002", "tops")]["gmroi"] == approx(110 / 40)  # T6 190 - 80


def test_stock_is_unknown_in_a_period_without_snapshot(memory_source):
    got = keyed(compute(memory_source, ["units", "stock_units", "sell_through_period"], by=["week"]), "week")
    # the week of 03-04 sold 3 (T1) but has no snapshot: stock unknown, not 0 (which would read as sold out)
    assert got[D(2024, 3, 4)]["units"] == 3
    assert got[D(2024, 3, 4)]["stock_units"] is None
    assert got[D(2024, 3, 4)]["sell_through_period"] is None
    assert got[D(2024, 4, 1)]["stock_units"] == 16


def test_stock_is_unknown_before_the_first_snapshot(memory_source):
    # flows run to 03-20 (T1 360 + T2 80 + T3 400); the first snapshot is 03-31
    [row] = rows(compute(memory_source, ["net_sales", "stock_units", "sell_through", "gmroi"], end="2024-03-20"))
    assert row["net_sales"] == approx(840.0)
    assert (row["stock_units"], row["sell_through"], row["gmroi"]) == (None, None, None)


def test_a_day_with_traffic_and_no_sale_converts_at_zero(memory_source):
    got = keyed(compute(memory_source, ["tickets", "conversion", "net_sales"], by=["store_code", "date"]),
                "store_code", "date")
    assert got[("S002", D(2024, 3, 21))] == {"store_code": "S002", "date": D(2024, 3, 21), "tickets": 0,
                                             "conversion": 0.0, "net_sales": 0.0}


# --- identities the business relies on --------------------------------------------------


def test_sales_tree_holds_at_every_store(memory_source):
    got = rows(compute(memory_source, ["net_sales", "traffic", "conversion", "average_ticket", "units_per_ticket",
                                       "average_selling_price"], by=["store_code", "month"]))
    for r in got:
        if r["conversion"] is None:
            continue
        assert r["traffic"] * r["conversion"] * r["average_ticket"] == approx(r["net_sales"])
        assert r["units_per_ticket"] * r["average_selling_price"] == approx(r["average_ticket"])


def test_stock_conservation_over_the_april_week(memory_source):
    # closing = opening + net receipts - net units, per location (no stocktake adjustment in the golden chain)
    opening = keyed(compute(memory_source, "stock_units", by=["store_code"], end="2024-03-31"), "store_code")
    week = keyed(compute(memory_source, ["stock_units", "net_receipts", "units"], by=["store_code"],
                         start="2024-04-01", end="2024-04-07"), "store_code")
    for code, r in week.items():
        assert r["stock_units"] == opening[code]["stock_units"] + r["net_receipts"] - r["units"], code


# --- governance: hidden columns and scoped rows ----------------------------------------------


def _without(tables: dict[str, pa.Table], table: str, column: str) -> dict[str, pa.Table]:
    return {**tables, table: tables[table].drop_columns([column])}


def test_a_metric_needing_a_hidden_column_is_refused_by_name():
    # store managers do not see costs (column policy product_cost)
    source = MemorySource(_without(_without(golden_tables(), "sales", "cost_amount"), "products", "unit_cost"))
    with pytest.raises(MetricError, match="sales.cost_amount"):
        compute(source, "gross_margin")
    with pytest.raises(MetricError, match="products.unit_cost"):
        compute(source, "stock_cost")
    # metrics that do not need the hidden columns still work on the same facts
    [row] = rows(compute(source, ["net_sales", "stock_units", "sell_through"]))
    assert (row["net_sales"], row["stock_units"]) == (approx(1110.0), 16)


def test_receipts_count_only_locations_the_source_shows():
    # a store manager of S001 sees the DC -> S1 transfer but not the DC: the DC's leg must not count
    tables = golden_tables()
    stores = tables["stores"].filter(pc.equal(tables["stores"]["store_id"], 1))
    [row] = rows(compute(MemorySource({**tables, "stores": stores}), "net_receipts"))
    assert row["net_receipts"] == 1  # S1: -1 (to S2) + 2 (from the DC)
