"""A small hand-made warehouse whose every row is known, so tests can state exact answers.

Stores: S001 (East, id 1), S002 (East, id 2), S017 (North, id 17), S042
(North, id 42), DC01 (id 90, no region), ONLINE01 (id 91, no region).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from workbench.warehouse.schema import TABLES

D = dt.date(2024, 3, 1)

STORES = [
    dict(store_id=1, store_code="S001", store_name="Shanghai Nanjing Rd", store_type="own", grade="A", region="East", city="Shanghai"),
    dict(store_id=2, store_code="S002", store_name="Hangzhou West Lake", store_type="own", grade="B", region="East", city="Hangzhou"),
    dict(store_id=17, store_code="S017", store_name="Beijing Wangfujing", store_type="own", grade="A", region="North", city="Beijing"),
    dict(store_id=42, store_code="S042", store_name="Tianjin Outlet", store_type="outlet", grade=None, region="North", city="Tianjin"),
    dict(store_id=90, store_code="DC01", store_name="Central DC", store_type="dc", grade=None, region=None, city="Suzhou"),
    dict(store_id=91, store_code="ONLINE01", store_name="Online shop", store_type="online", grade=None, region=None, city=None),
]

PRODUCTS = [
    dict(sku_id=100, sku_code="24SS-TS0001-BLK-M", skc_id=10, style_id=1, category="tops", full_price=199.0, unit_cost=60.0),
    dict(sku_id=101, sku_code="24SS-TS0001-BLK-L", skc_id=10, style_id=1, category="tops", full_price=199.0, unit_cost=60.0),
    dict(sku_id=200, sku_code="24SS-DR0002-RED-S", skc_id=20, style_id=2, category="dresses", full_price=599.0, unit_cost=210.0),
]

# (ticket, line, store, sku, qty, unit_price, member)
_SALES = [
    (1, 1, 1, 100, 2, 150.0, 1000),
    (1, 2, 1, 200, 1, 599.0, 1000),
    (2, 1, 1, 101, 1, 199.0, None),
    (3, 1, 2, 100, 1, 180.0, 1001),
    (4, 1, 17, 200, 3, 500.0, 1002),
    (5, 1, 17, 100, -1, 150.0, 1002),
    (6, 1, 42, 101, 4, 99.0, None),
    (7, 1, 91, 200, 1, 550.0, 1003),
]
_COST = {p["sku_id"]: p["unit_cost"] for p in PRODUCTS}
_SKC = {p["sku_id"]: p["skc_id"] for p in PRODUCTS}
SALES = [
    dict(ticket_id=t, line_no=ln, sale_date=D, store_id=s, sku_id=k, skc_id=_SKC[k], member_id=m,
         line_type="sale" if q > 0 else "return", qty=q, unit_price=p, net_amount=p * q, cost_amount=_COST[k] * q)
    for t, ln, s, k, q, p, m in _SALES
]

MEMBERS = [
    dict(member_id=1000, member_name="张三", phone="13812345678", home_store_id=1, tier="gold"),
    dict(member_id=1001, member_name="欧阳娜娜", phone="13900001111", home_store_id=2, tier="silver"),
    dict(member_id=1002, member_name="李四", phone="13711112222", home_store_id=17, tier="platinum"),
    dict(member_id=1003, member_name="Wang", phone="12345", home_store_id=91, tier="silver"),
]

TRANSFERS = [
    dict(transfer_id=1, movement_type="replenishment", sku_id=100, from_store_id=90, to_store_id=1, qty=10, ship_date=D),
    dict(transfer_id=2, movement_type="store_transfer", sku_id=101, from_store_id=1, to_store_id=17, qty=2, ship_date=D),
    dict(transfer_id=3, movement_type="store_transfer", sku_id=200, from_store_id=2, to_store_id=42, qty=1, ship_date=D),
    dict(transfer_id=4, movement_type="supplier_receipt", sku_id=200, from_store_id=None, to_store_id=90, qty=50, ship_date=D),
]

DEMAND = [
    dict(sale_date=D, store_id=1, sku_id=100, expected=2.5, demand=3, sold=2),
    dict(sale_date=D, store_id=17, sku_id=200, expected=3.1, demand=4, sold=3),
]

PURCHASE_ORDERS = [dict(po_id=1, sku_id=200, supplier_id=1, order_date=D, qty_ordered=50, unit_cost=210.0)]

ROWS: dict[str, list[dict]] = {
    "core.stores": STORES,
    "core.products": PRODUCTS,
    "core.sales": SALES,
    "core.members": MEMBERS,
    "core.transfers": TRANSFERS,
    "core.purchase_orders": PURCHASE_ORDERS,
    "truth.demand": DEMAND,
}


def arrow_rows(qualified: str, rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table of the contract's schema; columns not given are null."""
    spec = TABLES[qualified]
    return pa.Table.from_pylist([{c: r.get(c) for c in spec.column_names} for r in rows], schema=spec.arrow_schema())


def build(sink) -> Path:
    """Write the hand-made tables through a warehouse sink (DuckDBSink or ParquetSink)."""
    for qualified, rows in ROWS.items():
        spec = TABLES[qualified]
        sink.create(spec)
        sink.append(spec, arrow_rows(qualified, rows))
    return sink.finish()
