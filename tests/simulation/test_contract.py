"""The generated warehouse honours the table contract and the conventions other engineers rely on."""

from __future__ import annotations

import duckdb
import ibis
import pytest
from ibis.backends.sql.datatypes import DuckDBType

from workbench.simulation.calendar import REGIONS
from workbench.simulation.scales import get_scale
from workbench.warehouse.schema import TABLES

from .conftest import rows, scalar


COLUMNS = ("select column_name, data_type, is_nullable from information_schema.columns "
           "where table_schema = ? and table_name = ? order by ordinal_position")


def test_every_table_has_exactly_the_contract_columns_and_types(con):
    """Compare with an empty table made straight from the contract (same DDL the sink would use)."""
    reference = duckdb.connect()
    for name, spec in TABLES.items():
        layer, table = name.split(".")
        reference.execute(f"create schema if not exists {layer}")
        columns = ", ".join(f'"{c.name}" {DuckDBType.to_string(ibis.dtype(c.dtype))}' for c in spec.columns)
        reference.execute(f"create table {name} ({columns})")
        expected = [(n, t) for n, t, _ in rows(reference, COLUMNS, layer, table)]
        actual = [(n, t) for n, t, _ in rows(con, COLUMNS, layer, table)]
        assert actual == expected, name


def test_every_table_has_rows_and_required_columns_are_filled(con):
    for name, spec in TABLES.items():
        assert scalar(con, f"select count(*) from {name}") > 0, f"{name} is empty"
        for column in spec.columns:
            if not column.nullable:
                assert scalar(con, f'select count(*) from {name} where "{column.name}" is null') == 0, (name, column.name)


def test_keys_are_unique(con):
    for name, spec in TABLES.items():
        if spec.key:
            key = ", ".join(f'"{k}"' for k in spec.key)
            dupes = scalar(con, f"select count(*) from (select {key} from {name} group by all having count(*) > 1)")
            assert dupes == 0, f"duplicate keys in {name}"


def test_report_counts_match_the_tables(tiny_build, con):
    _, report = tiny_build
    for name, n in report.rows.items():
        assert scalar(con, f"select count(*) from {name}") == n, name


def test_every_region_has_an_own_store_and_s001_is_the_shanghai_flagship(con):
    own_regions = {r for (r,) in rows(con, "select distinct region from core.stores where store_type = 'own'")}
    assert own_regions == set(REGIONS)
    assert rows(con, "select store_type, grade, region, city, store_id from core.stores where store_code = 'S001'") == [
        ("own", "A", "East", "Shanghai", 1)]
    kinds = dict(rows(con, "select store_type, count(*) from core.stores group by 1"))
    assert kinds["outlet"] >= 1 and kinds["consignment"] >= 1 and kinds["online"] == 1 and kinds["dc"] == 1
    assert rows(con, "select store_id, region from core.stores where store_code in ('DC01', 'ONLINE01') order by 1") == [
        (0, None), (1000, None)]
    assert scalar(con, "select count(*) from core.stores where store_type = 'consignment' "
                       "and (host_department_store is null or commission_rate is null)") == 0


def test_store_codes_follow_the_convention(con):
    for code, store_id, kind in rows(con, "select store_code, store_id, store_type from core.stores"):
        if kind in ("own", "outlet", "consignment"):
            assert code == f"S{store_id:03d}"
    some_open_in_window = scalar(con, "select count(*) from core.stores where open_date >= date '2025-01-01'")
    assert some_open_in_window >= 1


def test_demo_scale_has_the_store_codes_configuration_names():
    demo = get_scale("demo")
    assert demo.physical_stores >= 60


def test_products_follow_the_hierarchy(con):
    # each SKU belongs to one SKC, each SKC to one style; seasons look like 2025SS / BASIC
    assert scalar(con, "select count(*) from (select skc_id from core.products group by 1 having count(distinct style_id) > 1)") == 0
    seasons = {s for (s,) in rows(con, "select distinct season from core.products")}
    assert "BASIC" in seasons and "2025SS" in seasons and "2025AW" in seasons
    assert scalar(con, "select count(distinct skc_id) from core.products where is_limited") >= 1
    assert scalar(con, "select count(*) from core.products where sku_code <> skc_code || '-' || size") == 0


def test_amounts_are_rounded_to_fen(con):
    for column in ("unit_price", "discount_amount", "net_amount", "cost_amount"):
        assert scalar(con, f"select count(*) from core.sales where round({column}, 2) <> {column}") == 0
    assert scalar(con, "select count(*) from core.payments where round(amount, 2) <> amount") == 0


def test_unknown_scale_lists_the_valid_ones():
    with pytest.raises(ValueError, match="tiny, demo, large"):
        get_scale("huge")
