"""Shared steps that bring fact rows to the requested grain.

- :func:`prepare`: keyed rows → rows with the grain's dimensions, filtered.
- :func:`period_ends`: the stock calendar. Stock is semi-additive: it adds up
  across stores and products but not across time, so for each period of the
  grain (each month when ``by`` has ``month``; the whole range when it has no
  time dimension) we take the **last snapshot in the period** as its closing
  stock, and the number of snapshots in the period for averages. Snapshot
  dates come from the inventory table itself (weekly, Sunday, plus the last
  day), for the whole range rather than per store or SKU: a SKU with no row
  in a snapshot had no stock then, it must count as 0 and not fall back to
  an older snapshot.
- :func:`only`: a value where a condition holds, else 0, keeping nulls (a
  masked column stays null instead of turning into a plausible 0).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.metrics.dimensions import add_dimensions, apply_where, time_value
from workbench.metrics.query import Query


def prepare(
    rows: ir.Table,
    source: Any,
    q: Query,
    *,
    product_key: str | None,
    time: bool = True,
    extra_product: tuple[str, ...] = (),
) -> ir.Table:
    """Add the dimensions the query groups or filters by, then apply its filters."""
    names = (q.by if time else q.other_by) + tuple(q.where)
    rows = add_dimensions(rows, source, names, product_key=product_key, time=time, extra_product=extra_product)
    return apply_where(rows, q.where_values)


def snapshot_dates(source: Any, q: Query) -> ir.Table:
    """Distinct stock snapshot days within the query's range, as ``_date``."""
    inv = source.table("inventory")
    return inv.filter(q.in_range(inv.snapshot_date)).select(_date=inv.snapshot_date).distinct()


def period_ends(source: Any, q: Query) -> ir.Table:
    """Per period of the grain: its time dimensions, ``period_end`` (last snapshot) and ``n_snapshots``."""
    return periods(snapshot_dates(source, q), q)


def periods(dates: ir.Table, q: Query) -> ir.Table:
    """:func:`period_ends` over given snapshot days (``_date``), e.g. read from a rollup instead of the inventory."""
    dates = dates.mutate(**{n: time_value(n, dates._date) for n in q.time_by})
    return dates.aggregate(by=list(q.time_by), period_end=dates._date.max(), n_snapshots=dates._date.count())


def attach_periods(rows: ir.Table, ends: ir.Table, q: Query) -> ir.Table:
    """Give each row its period's ``period_end`` and ``n_snapshots`` (joined on the time dimensions)."""
    if not q.time_by:
        return rows.cross_join(ends)
    return rows.join(ends, list(q.time_by))


def column_or_null(table: ir.Table, name: str, dtype: str) -> ir.Value:
    """``table[name]``, or a typed null where the session hides the column (column policies).

    Only the measures built on it become null; :func:`workbench.metrics.rollup.compute`
    refuses a metric that needs a hidden column before it gets here.
    """
    return table[name] if name in table.columns else ibis.null(dtype)


def only(value: ir.NumericValue, cond: ir.BooleanValue) -> ir.NumericValue:
    """``value`` where ``cond`` holds, else 0; a null value stays null."""
    return value * cond.ifelse(1, 0)


def group(rows: ir.Table, q: Query, **measures: ir.Scalar) -> ir.Table:
    """Aggregate rows to the query's grain."""
    return rows.aggregate(by=list(q.by), **measures)
