"""A tiny hand-made chain for golden metric tests, reusable on any engine.

``golden_tables()`` returns the core tables as pyarrow tables with the
warehouse schema (``workbench/warehouse/schema.py``); ``load_into(sink)``
writes them through a warehouse sink (``DuckDBSink``, ``ParquetSink``) so the
same numbers can be checked on a DuckDB file and a Spark warehouse.

The story (every expected value in ``test_golden.py`` is worked out from it):

Locations: 1 = S001 Shanghai (East, own, grade A), 2 = S002 Chengdu (West,
own, grade B), 9 = DC01 the central warehouse (store_type dc, no region).

Products, two style-colours ranged in both stores (assortment from 2024-02-28;
store 1 also has an old spell of SKC 20 that ended 2023-12-31):

    sku  skc  category  size core  tag   cost
    101  10   tops      S    no    100   40
    102  10   tops      M    yes   100   40
    103  10   tops      L    yes   100   40
    201  20   bottoms   28   yes   200   80
    202  20   bottoms   30   yes   200   80

Ticket lines (amounts = price x qty; cost = unit cost x qty):

    T1 2024-03-05 S1 sale 102 x2 @100 (net 200, cost 80, disc 0)
                     sale 201 x1 @160 (net 160, cost 80, disc 40)
    T2 2024-03-12 S1 sale 103 x1 @80  (net 80, cost 40, disc 20)
    T3 2024-03-20 S2 sale 202 x2 @200 (net 400, cost 160, disc 0)
    T4 2024-03-25 S1 return of T2: 103 x-1 @80 (net -80, cost -40, disc -20)
    T5 2024-04-02 S2 exchange of T3: exchange_out 202 x-1 @200 (net -200, cost -80)
                                     exchange_in  201 x1  @200 (net 200, cost 80)
    T6 2024-04-03 S2 sale 101 x1 @100 (net 100, cost 40, disc 0)
                     sale 102 x1 @90  (net 90, cost 40, disc 10)
    T7 2024-04-06 S1 sale 201 x1 @160 (net 160, cost 80, disc 40)

Traffic: S1 03-05 40, 03-12 30, 03-25 10, 04-06 10 (March 80, April 10);
S2 03-20 50, 03-21 10 (a day without a sale), 04-02 25, 04-03 25 (March 60,
April 50).

Transfers: supplier receipt -> DC 201 x4 shipped 03-15; store transfer
S1 -> S2 201 x1 shipped 03-10; replenishment DC -> S1 102 x2 shipped 04-06,
still in transit at the 04-07 snapshot.

Inventory snapshots (on hand, in transit; quality A unless said):

    2024-03-31  S1: 101 1, 102 0 (explicit zero row), 103 1, 201 2, 202 1
                S2: 101 1, 102 1, 201 1, 202 1, 202 B-goods 1   (no 103 row)
                DC: 102 5, 201 4                                  total 19
    2024-04-07  S1: 101 1, 102 0 + 2 in transit, 103 1, 201 1, 202 1
                S2: 202 2, 202 B-goods 1          (no row for 101, 102, 103, 201)
                DC: 102 3, 201 4                                  total 16

The week 04-01..04-07 is consistent: 19 + net receipts 0 (DC -2, S1 +2)
- units sold 3 (T5 0, T6 2, T7 1) = 16.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from workbench.warehouse.schema import spec

D = dt.date

_PRODUCT_ROWS = [
    # sku, skc, style, category, subcategory, brand, size, rank, core, tag, cost, price band, colour
    (101, 10, 100, "tops", "t-shirt", "Aurora", "S", 1, False, 100.0, 40.0, "core", "white"),
    (102, 10, 100, "tops", "t-shirt", "Aurora", "M", 2, True, 100.0, 40.0, "core", "white"),
    (103, 10, 100, "tops", "t-shirt", "Aurora", "L", 3, True, 100.0, 40.0, "core", "white"),
    (201, 20, 200, "bottoms", "jeans", "Borealis", "28", 1, True, 200.0, 80.0, "premium", "blue"),
    (202, 20, 200, "bottoms", "jeans", "Borealis", "30", 2, True, 200.0, 80.0, "premium", "blue"),
]
PRODUCTS = {r[0]: r for r in _PRODUCT_ROWS}


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as a pyarrow table with the warehouse schema; columns not given are null."""
    schema = spec(name).arrow_schema()
    return pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)


def _stores() -> pa.Table:
    base = {"store_type": "own", "open_date": D(2020, 1, 1)}
    return _table("stores", [
        {**base, "store_id": 1, "store_code": "S001", "store_name": "Shanghai Nanjing Road", "grade": "A",
         "region": "East", "province": "Shanghai", "city": "Shanghai", "city_tier": 1},
        {**base, "store_id": 2, "store_code": "S002", "store_name": "Chengdu Chunxi Road", "grade": "B",
         "region": "West", "province": "Sichuan", "city": "Chengdu", "city_tier": 2},
        {**base, "store_id": 9, "store_code": "DC01", "store_name": "Central warehouse", "store_type": "dc",
         "province": "Shanghai", "city": "Shanghai", "city_tier": 1},
    ])


def _products() -> pa.Table:
    return _table("products", [
        {"sku_id": sku, "sku_code": f"24SS-{style}-{colour}-{size}", "skc_id": skc, "skc_code": f"24SS-{style}-{colour}",
         "style_id": style, "style_code": f"24SS-{style}", "style_name": subcat, "brand": brand, "category": cat,
         "subcategory": subcat, "gender": "women", "season": "2024SS", "season_year": 2024,
         "launch_date": D(2024, 2, 28), "colour": colour, "size": size, "size_rank": rank, "is_core_size": core,
         "price_band": band, "full_price": tag, "unit_cost": cost, "is_limited": False}
        for sku, skc, style, cat, subcat, brand, size, rank, core, tag, cost, band, colour in _PRODUCT_ROWS
    ])


def _line(ticket: int, line_no: int, day: dt.date, store: int, sku: int, line_type: str, qty: int,
          price: float, orig: int | None = None) -> dict[str, Any]:
    """A POS line with amounts derived as the schema documents them."""
    p = PRODUCTS[sku]
    tag, cost = p[9], p[10]
    return {"ticket_id": ticket, "line_no": line_no, "sale_date": day, "store_id": store, "sku_id": sku,
            "skc_id": p[1], "line_type": line_type, "qty": qty, "full_price": tag, "unit_price": price,
            "discount_amount": (tag - price) * qty, "net_amount": price * qty, "cost_amount": cost * qty,
            "orig_ticket_id": orig}


def _sales() -> pa.Table:
    return _table("sales", [
        _line(1, 1, D(2024, 3, 5), 1, 102, "sale", 2, 100.0),
        _line(1, 2, D(2024, 3, 5), 1, 201, "sale", 1, 160.0),
        _line(2, 1, D(2024, 3, 12), 1, 103, "sale", 1, 80.0),
        _line(3, 1, D(2024, 3, 20), 2, 202, "sale", 2, 200.0),
        _line(4, 1, D(2024, 3, 25), 1, 103, "return", -1, 80.0, orig=2),
        _line(5, 1, D(2024, 4, 2), 2, 202, "exchange_out", -1, 200.0, orig=3),
        _line(5, 2, D(2024, 4, 2), 2, 201, "exchange_in", 1, 200.0, orig=3),
        _line(6, 1, D(2024, 4, 3), 2, 101, "sale", 1, 100.0),
        _line(6, 2, D(2024, 4, 3), 2, 102, "sale", 1, 90.0),
        _line(7, 1, D(2024, 4, 6), 1, 201, "sale", 1, 160.0),
    ])


def _traffic() -> pa.Table:
    visits = [(1, D(2024, 3, 5), 40), (1, D(2024, 3, 12), 30), (1, D(2024, 3, 25), 10), (1, D(2024, 4, 6), 10),
              (2, D(2024, 3, 20), 50), (2, D(2024, 3, 21), 10), (2, D(2024, 4, 2), 25), (2, D(2024, 4, 3), 25)]
    return _table("traffic", [{"store_id": s, "traffic_date": d, "visitors": v} for s, d, v in visits])


def _inventory() -> pa.Table:
    snaps = [
        (D(2024, 3, 31), 1, 101, "A", 1, 0), (D(2024, 3, 31), 1, 102, "A", 0, 0), (D(2024, 3, 31), 1, 103, "A", 1, 0),
        (D(2024, 3, 31), 1, 201, "A", 2, 0), (D(2024, 3, 31), 1, 202, "A", 1, 0),
        (D(2024, 3, 31), 2, 101, "A", 1, 0), (D(2024, 3, 31), 2, 102, "A", 1, 0), (D(2024, 3, 31), 2, 201, "A", 1, 0),
        (D(2024, 3, 31), 2, 202, "A", 1, 0), (D(2024, 3, 31), 2, 202, "B", 1, 0),
        (D(2024, 3, 31), 9, 102, "A", 5, 0), (D(2024, 3, 31), 9, 201, "A", 4, 0),
        (D(2024, 4, 7), 1, 101, "A", 1, 0), (D(2024, 4, 7), 1, 102, "A", 0, 2), (D(2024, 4, 7), 1, 103, "A", 1, 0),
        (D(2024, 4, 7), 1, 201, "A", 1, 0), (D(2024, 4, 7), 1, 202, "A", 1, 0),
        (D(2024, 4, 7), 2, 202, "A", 2, 0), (D(2024, 4, 7), 2, 202, "B", 1, 0),
        (D(2024, 4, 7), 9, 102, "A", 3, 0), (D(2024, 4, 7), 9, 201, "A", 4, 0),
    ]
    return _table("inventory", [
        {"snapshot_date": d, "store_id": s, "sku_id": k, "quality": q, "on_hand": oh, "in_transit": it}
        for d, s, k, q, oh, it in snaps
    ])


def _transfers() -> pa.Table:
    moves = [
        (1, "supplier_receipt", 201, None, 9, 4, D(2024, 3, 15), D(2024, 3, 18)),
        (2, "store_transfer", 201, 1, 2, 1, D(2024, 3, 10), D(2024, 3, 12)),
        (3, "replenishment", 102, 9, 1, 2, D(2024, 4, 6), None),
    ]
    return _table("transfers", [
        {"transfer_id": i, "movement_type": t, "sku_id": k, "from_store_id": f, "to_store_id": to, "qty": q,
         "ship_date": sd, "receive_date": rd, "supplier_id": 1 if f is None else None}
        for i, t, k, f, to, q, sd, rd in moves
    ])


def _assortment() -> pa.Table:
    spells = [(1, 10, D(2024, 2, 28), None), (1, 20, D(2024, 2, 28), None), (1, 20, D(2023, 9, 1), D(2023, 12, 31)),
              (2, 10, D(2024, 2, 28), None), (2, 20, D(2024, 2, 28), None)]
    return _table("assortment", [
        {"store_id": s, "skc_id": k, "start_date": a, "end_date": b} for s, k, a, b in spells
    ])


def golden_tables() -> dict[str, pa.Table]:
    """The golden chain's core tables by bare name."""
    return {"stores": _stores(), "products": _products(), "sales": _sales(), "traffic": _traffic(),
            "inventory": _inventory(), "transfers": _transfers(), "assortment": _assortment()}


def load_into(sink) -> None:
    """Write the golden tables through a warehouse sink (``DuckDBSink`` / ``ParquetSink``) and publish."""
    for name, table in golden_tables().items():
        s = spec(name)
        sink.create(s)
        sink.append(s, table)
    sink.finish()


# --- sources and result helpers, for any test suite -------------------------------


class MemorySource:
    """A source over in-memory tables (ibis memtables)."""

    def __init__(self, tables: dict[str, pa.Table]):
        self._tables = {name: ibis.memtable(t) for name, t in tables.items()}

    def table(self, name: str) -> ir.Table:
        return self._tables[name]


class BackendSource:
    """A source over a connected ibis backend, reading the ``core`` layer."""

    def __init__(self, con: Any, layer: str = "core"):
        self.con, self.layer = con, layer
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        # Cached like the governed session's tables: on Spark each lookup is a catalog round trip.
        if name not in self._tables:
            self._tables[name] = self.con.table(name, database=self.layer)
        return self._tables[name]


def rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute and return plain Python rows (dates as ``datetime.date``, nulls as ``None``)."""
    return expr.to_pyarrow().to_pylist()


def keyed(expr: ir.Table, *key: str) -> dict[Any, dict[str, Any]]:
    """Rows by the value of their key column(s) (a tuple when several)."""
    out = {}
    for r in rows(expr):
        k = tuple(r[c] for c in key)
        out[k[0] if len(k) == 1 else k] = r
    return out

