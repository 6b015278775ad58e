"""What a user may pick comes from their governed session; anything else is refused as a value."""

from __future__ import annotations

import ibis
import pytest
import sqlglot

from workbench.dashboard.options import (
    check_filter_values, check_measures_visible, data_span, filter_options, measure_availability,
)
from workbench.dashboard.state import DashboardError, DashboardState
from workbench.metrics import compute

from .conftest import PERIOD

CRAFTED = ["East' OR 1=1 --", "East'; DROP TABLE core.sales; --", 'S001" OR "1"="1']


def test_the_boss_may_pick_every_region_store_and_channel(sessions):
    s = sessions("u_hq")
    options = filter_options(s)
    stores = s.table("stores").to_pandas()
    assert options["store_code"] == sorted(stores.store_code)
    assert options["region"] == sorted(stores.region.dropna().unique()) + ["(none)"]  # online and DC lack one
    assert options["channel"] == ["dc", "online", "store"]
    assert options["brand"] == sorted(s.table("products").brand.to_pandas().unique())


def test_a_store_manager_picks_only_their_store(sessions):
    options = filter_options(sessions("u_store_001"))
    assert options["store_code"] == ["S001"]
    assert options["region"] == ["East"] and options["channel"] == ["store"]


def test_a_region_manager_picks_the_stores_of_their_region(sessions):
    hq = sessions("u_hq").table("stores").to_pandas()
    options = filter_options(sessions("u_region_east"))
    assert options["store_code"] == sorted(hq[hq.region == "East"].store_code)


def test_a_value_not_in_the_data_names_the_closest(sessions):
    options = filter_options(sessions("u_hq"))
    state = DashboardState.make(["net_sales"], *PERIOD, filters={"region": ["Eats"]})
    with pytest.raises(DashboardError, match="Region 大区 'Eats' is not in the data you can see. Did you mean: East"):
        check_filter_values(state, options)


def test_a_store_manager_cannot_pick_another_store(sessions):
    options = filter_options(sessions("u_store_001"))
    state = DashboardState.make(["net_sales"], *PERIOD, filters={"store_code": ["S002"]})
    with pytest.raises(DashboardError, match="'S002' is not in the data you can see. Did you mean: S001"):
        check_filter_values(state, options)


@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_crafted_filter_value_is_refused_as_a_value(sessions, crafted):
    options = filter_options(sessions("u_hq"))
    state = DashboardState.make(["net_sales"], *PERIOD, filters={"region": [crafted]})
    with pytest.raises(DashboardError, match="is not in the data you can see"):
        check_filter_values(state, options)


def _shape(sql: str) -> str:
    """The SQL with every string literal replaced: what the engine is asked to do, whatever the values."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(lambda n: sqlglot.exp.Literal.string("?") if isinstance(n, sqlglot.exp.Literal)
                          and n.is_string else n)
    return tree.sql("duckdb")


@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_crafted_value_cannot_change_the_sql(sessions, crafted):
    """Past the option check too: the metrics layer takes it as one literal, the query keeps its shape."""
    s = sessions("u_hq")
    plain = compute(s, ["net_sales"], by=["region"], start=PERIOD[0], end=PERIOD[1], where={"region": ["East"]})
    hostile = compute(s, ["net_sales"], by=["region"], start=PERIOD[0], end=PERIOD[1], where={"region": [crafted]})
    assert _shape(ibis.to_sql(hostile)) == _shape(ibis.to_sql(plain))
    assert hostile.to_pandas().empty  # no region is called that
    assert len(plain.to_pandas()) == 1
    assert s.table("sales").count().execute() > 0  # and nothing was dropped


def test_measures_a_role_cannot_read_are_left_out_with_the_reason(sessions):
    assert not any(measure_availability(sessions("u_hq")).values())
    store = measure_availability(sessions("u_store_001"))
    assert "cost" in store["gross_margin"] and store["net_sales"] is None
    dc = measure_availability(sessions("u_warehouse"))
    assert dc["stock_units"] is None and dc["net_receipts"] is None and dc["size_break_rate"] is None
    assert "core.sales" in dc["net_sales"] and "core.traffic" in dc["traffic"]
    with pytest.raises(DashboardError, match="Net sales 净销售额 is not available to you: it needs core.sales"):
        check_measures_visible(["stock_units", "net_sales"], dc)


def test_the_data_span_is_the_tiny_year(sessions):
    first, last = data_span(sessions("u_hq"))
    assert (first.year, last) == (2025, PERIOD[1])
    assert data_span(sessions("u_warehouse"))[1] == PERIOD[1]  # from stock snapshots: no traffic for the DC
