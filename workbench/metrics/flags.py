"""Row-level flags behind the availability metrics, for lists and alerts.

- :func:`size_break`: one row per location x ranged style-colour (款色) at the
  stock snapshot, with the 断码 flag: on display (sellable stock in some
  size) while a core size has none. Transfer rules (智能调拨) trigger on it.
- :func:`core_size_stockouts`: one row per location x core-size SKU of a
  ranged style-colour, with its sellable stock and whether it is out.

Both read the last inventory snapshot on or before ``as_of`` (snapshots are
weekly), use the same builders as the ``size_break_rate`` and
``core_size_stockout_rate`` metrics, and accept ``where`` filters on
dimensions like :func:`workbench.metrics.rollup.compute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis.expr.types as ir

from workbench.metrics.dimensions import DIMENSIONS
from workbench.metrics.facts import FACTS
from workbench.metrics.grain import period_ends, prepare
from workbench.metrics.query import DateLike, DimensionError, MetricError, Query, Source
from workbench.metrics.stock import ranged_sku_stock, skc_display


def _snapshot(source: Source, as_of: DateLike) -> ir.Table:
    """The last snapshot day on or before ``as_of``, as a one-row table of ``_date``."""
    if as_of is None:
        raise MetricError("as_of is required (a date like 2024-03-31)")
    ends = period_ends(source, Query.make(end=as_of))
    return ends.select(_date=ends.period_end)


def _filtered(rows: ir.Table, source: Source, where: Mapping[str, Any] | None, fact: str, key: str) -> ir.Table:
    if not where:
        return rows
    q = Query.make(where=where)
    bad = [d for d in q.where if not FACTS[fact].supports(DIMENSIONS[d])]
    if bad:
        raise DimensionError(f"cannot filter by {bad}: the rows are {FACTS[fact].grain}")
    return prepare(rows, source, q, product_key=key).select(*rows.columns)


def size_break(source: Source, as_of: DateLike, where: Mapping[str, Any] | None = None) -> ir.Table:
    """断码 per location and ranged style-colour at the last snapshot on or before ``as_of``.

    Columns: ``snapshot_date, store_id, skc_id, sellable_units, core_sizes,
    core_sizes_out, on_display, size_break``.
    """
    rows = skc_display(ranged_sku_stock(source, _snapshot(source, as_of)))
    rows = _filtered(rows, source, where, "display", "skc_id")
    return rows.rename(snapshot_date="_date").order_by("store_id", "skc_id")


def core_size_stockouts(source: Source, as_of: DateLike, where: Mapping[str, Any] | None = None) -> ir.Table:
    """Core-size SKUs of ranged style-colours per location, with sellable stock and an ``is_out`` flag.

    Columns: ``snapshot_date, store_id, skc_id, sku_id, sellable, is_out``.
    """
    ranged = ranged_sku_stock(source, _snapshot(source, as_of))
    rows = ranged.filter(ranged.is_core_size).select("_date", "store_id", "skc_id", "sku_id", "sellable")
    rows = rows.mutate(is_out=rows.sellable <= 0)
    rows = _filtered(rows, source, where, "core_sizes", "sku_id")
    return rows.rename(snapshot_date="_date").order_by("store_id", "sku_id")
