"""The dimensions a metric can be cut by, and how fact rows get them.

Every fact is first reduced to *keyed rows*: a ``_date`` column plus the keys
it has among ``store_id`` and ``sku_id`` / ``skc_id``. :func:`add_dimensions`
then derives the time dimensions from ``_date`` and looks the others up in
``stores`` and ``products`` (left joins, so a fact row whose key is missing
from a dimension table is kept with nulls instead of silently dropped).

Kinds and levels decide validity: a metric whose fact has no product key
(traffic) cannot be cut by any product dimension; a fact kept per style-colour
(the size-break flag, 断码) cannot be cut by size or SKU.

Time dimensions are dates, so that they join with other monthly tables
(``store_costs.month``, ``sales_plan.month`` are first-of-month dates):
``week`` is the Monday that starts the ISO week (a Sunday stock snapshot
belongs to the week it closes), ``month`` / ``quarter`` their first day;
``year`` is an integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # "time" | "store" | "product"
    doc: str
    level: str | None = None  # product dimensions: "sku" if it varies within a style-colour, else "skc"
    dtype: str = "string"  # of its values (the CLI parses --where values with it)


_DTYPES = {
    "date": "date", "week": "date", "month": "date", "quarter": "date", "year": "int32",
    "store_id": "int32", "city_tier": "int8", "skc_id": "int32", "style_id": "int32", "season_year": "int16",
    "is_limited": "boolean", "sku_id": "int32", "size_rank": "int8", "is_core_size": "boolean",
}


def _dims(kind: str, level: str | None, rows: list[tuple[str, str]]) -> list[Dimension]:
    return [Dimension(name, kind, doc, level, _DTYPES.get(name, "string")) for name, doc in rows]


_ALL = (
    _dims("time", None, [
        ("date", "business day (for stock: the snapshot day)"),
        ("week", "ISO week, as the date of its Monday"),
        ("month", "month, as the date of its first day"),
        ("quarter", "quarter, as the date of its first day"),
        ("year", "calendar year (integer)"),
    ])
    + _dims("store", None, [
        ("store_id", "location key"),
        ("store_code", "location code, e.g. S017 (DC01 for the warehouse)"),
        ("store_name", "location name"),
        ("store_type", "own | outlet | consignment | online | dc"),
        ("channel", "store | online, and dc for the central warehouse's stock"),
        ("grade", "store grade A | B | C (own stores)"),
        ("region", "sales region (大区)"),
        ("province", "province"),
        ("city", "city"),
        ("city_tier", "city tier 1-4"),
    ])
    + _dims("product", "skc", [
        ("skc_id", "style-colour key (款色)"),
        ("skc_code", "style-colour code"),
        ("style_id", "style key (款)"),
        ("style_code", "style code"),
        ("style_name", "style name"),
        ("brand", "brand"),
        ("category", "category, e.g. tops"),
        ("subcategory", "subcategory, e.g. t-shirt"),
        ("gender", "women | men | unisex"),
        ("season", "season, e.g. 2024SS"),
        ("season_year", "year of the season"),
        ("colour", "colour"),
        ("colour_family", "dark | light | bright | neutral"),
        ("fabric", "main fabric"),
        ("thickness", "thin | medium | thick"),
        ("occasion", "casual | office | sport | party"),
        ("price_band", "entry | core | premium"),
        ("is_limited", "limited release"),
    ])
    + _dims("product", "sku", [
        ("sku_id", "size-level key (SKU)"),
        ("sku_code", "SKU code"),
        ("size", "size"),
        ("size_rank", "order of the size within its run"),
        ("is_core_size", "core size (missing it breaks the size run, 断码)"),
    ])
)

DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _ALL}
TIME_DIMS = frozenset(d.name for d in _ALL if d.kind == "time")

# Columns derived rather than read from a dimension table.
_DERIVED_STORE = {"channel": "store_type"}


def time_value(name: str, date: ir.DateValue) -> ir.Value:
    """A time dimension computed from a date column."""
    if name == "date":
        return date
    if name == "year":
        return date.year().cast("int32")
    return date.truncate({"week": "W", "month": "M", "quarter": "Q"}[name])


def _channel(store_type: ir.StringValue) -> ir.StringValue:
    # The DC is a location too (its stock counts); it is neither store nor online.
    return store_type.cases(("online", "online"), ("dc", "dc"), else_="store")


def _lookup(rows: ir.Table, dim: ir.Table, key: str) -> ir.Table:
    """Left-join dimension columns onto rows by ``key`` (kept once)."""
    return rows.left_join(dim, key).drop(f"{key}_right")


def add_dimensions(
    rows: ir.Table,
    source: Any,
    names: Iterable[str],
    *,
    product_key: str | None,
    time: bool = True,
    extra_product: tuple[str, ...] = (),
) -> ir.Table:
    """Add the named dimensions (and ``extra_product`` columns) to keyed fact rows.

    ``product_key`` is the fact's product key (``sku_id``, ``skc_id`` or
    ``None``); ``time=False`` leaves time dimensions out for facts that take
    them from elsewhere (stock anchored on period ends).
    """
    names = [n for n in dict.fromkeys(names) if n not in rows.columns]
    if time:
        rows = rows.mutate(**{n: time_value(n, rows._date) for n in names if n in TIME_DIMS})

    store_names = [n for n in names if DIMENSIONS[n].kind == "store"]
    if store_names:
        cols = list(dict.fromkeys(_DERIVED_STORE.get(n, n) for n in store_names))
        rows = _lookup(rows, source.table("stores").select("store_id", *cols), "store_id")
        if "channel" in store_names:
            rows = rows.mutate(channel=_channel(rows.store_type))
            if "store_type" not in store_names:
                rows = rows.drop("store_type")

    product_cols = [n for n in names if DIMENSIONS[n].kind == "product"]
    product_cols += [c for c in extra_product if c not in rows.columns and c not in product_cols]
    if product_cols:
        products = source.table("products").select(product_key, *product_cols)
        # Per style-colour facts look up style-colour attributes (one row per SKC).
        rows = _lookup(rows, products.distinct() if product_key == "skc_id" else products, product_key)
    return rows


def apply_where(rows: ir.Table, where: Mapping[str, tuple[Any, ...]]) -> ir.Table:
    """Keep rows whose dimension values are among the given ones (``None`` matches null)."""
    for name, values in where.items():
        present = [v for v in values if v is not None]
        cond = _among(rows[name], present) if present else None
        if len(present) != len(values):
            cond = rows[name].isnull() if cond is None else (cond | rows[name].isnull())
        rows = rows.filter(cond)
    return rows


def _among(column: ir.Value, present: list[Any]) -> ir.BooleanValue:
    """``column IN values``; a bound list parameter (:mod:`workbench.metrics.prepared`) stands for the values."""
    if len(present) == 1 and isinstance(present[0], ir.ArrayValue):
        return present[0].contains(column)
    return column.isin(present)
