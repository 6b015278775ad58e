"""Stock facts: the weekly inventory snapshots and what is measured against them.

*Stock* means units the company holds at a location: ``on_hand +
in_transit`` over both qualities (A and B-goods, 次品). In-transit units are
counted at their destination because they are owned and unsold: leaving them
out would make sell-through jump whenever goods are on a truck (the whole
initial allocation, at launch). Availability (core-size stock-outs, size
breaks) instead uses *sellable* stock: quality A on hand, what a customer can
actually buy today.

Every stock measure is tied to the stock calendar of :func:`period_ends`:

- ``stock_units`` / ``stock_cost``: at the period's last snapshot (closing).
- ``average_stock_cost``: the mean over the period's snapshots of the stock
  at cost, a SKU without a row in a snapshot counting as 0.
- ``units_to_date`` / ``units_trailing``: net units sold up to the period's
  last snapshot (since the beginning, resp. over the trailing
  :data:`TRAILING_WEEKS` weeks), so that sales and stock are taken at the
  same instant.
- availability counts are summed over the period's snapshots (a rate over
  location x SKU x week checks).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.metrics.flows import sales_lines
from workbench.metrics.grain import (
    attach_periods, column_or_null, group, only, period_ends, prepare, snapshot_dates,
)
from workbench.metrics.query import Query

TRAILING_WEEKS = 4
"""Weeks of sales averaged for weeks of cover: long enough to smooth a promotion week, short enough to follow the season."""


def stock(source: Any, q: Query) -> ir.Table:
    """Closing stock (units, at cost) and average stock at cost per grain."""
    inv = source.table("inventory")
    rows = inv.filter(q.in_range(inv.snapshot_date)).select(
        _date=inv.snapshot_date, store_id=inv.store_id, sku_id=inv.sku_id,
        units=inv.on_hand.coalesce(0) + inv.in_transit.coalesce(0),
    )
    costed = "unit_cost" in source.table("products").columns  # hidden from shop-floor roles
    rows = prepare(rows, source, q, product_key="sku_id", extra_product=("unit_cost",) if costed else ())
    return closing(rows, period_ends(source, q), q)


def closing(rows: ir.Table, ends: ir.Table, q: Query) -> ir.Table:
    """Stock measures per grain from snapshot rows (``_date``, ``units``, the grain, maybe ``unit_cost``).

    Shared by the raw fact and the rollups (:mod:`workbench.metrics.preagg`), which keep units per snapshot.
    """
    rows = attach_periods(rows, ends, q)
    at_end = rows._date == rows.period_end
    cost = rows.units * column_or_null(rows, "unit_cost", "float64")
    out = group(
        rows, q,
        stock_units=only(rows.units, at_end).sum(),
        stock_cost=only(cost, at_end).sum(),
        _cost_over_snapshots=cost.sum(),
        _n_snapshots=rows.n_snapshots.max(),
    )
    # Divide by the period's number of snapshots, not by the rows present:
    # a snapshot where this group held nothing has no rows and must count as 0.
    return out.mutate(average_stock_cost=out._cost_over_snapshots / out._n_snapshots).drop(
        "_cost_over_snapshots", "_n_snapshots"
    )


def sales_to_date(source: Any, q: Query) -> ir.Table:
    """Net units sold up to each period's closing snapshot: since the first sale, and over the trailing weeks."""
    lines = sales_lines(source)
    if q.end is not None:
        lines = lines.filter(lines._date <= q.end_value)
    rows = prepare(lines, source, q, product_key="sku_id", time=False)
    daily = rows.aggregate(by=[*q.other_by, "_date"], units=rows.qty.sum())
    return units_to_date(daily, period_ends(source, q), q)


def units_to_date(daily: ir.Table, ends: ir.Table, q: Query) -> ir.Table:
    """Net units up to each period end from daily units (``_date``, ``units``, the grain without time).

    Shared by the raw fact and the daily sales rollups (:mod:`workbench.metrics.preagg`).
    """
    # Range join: each period end collects the days up to it (the time
    # dimensions come from the period, not from the day of the sale).
    j = daily.join(ends, daily._date <= ends.period_end)
    trailing = j._date > j.period_end - ibis.interval(days=7 * TRAILING_WEEKS)
    return group(j, q, units_to_date=j.units.sum(), units_trailing=only(j.units, trailing).sum())


def ranged_sku_stock(source: Any, dates: ir.Table) -> ir.Table:
    """Every SKU of every style-colour ranged at a location on each day of ``dates``, with its sellable stock.

    Ranged means the assortment plan has the style-colour at the location
    that day (``start_date <= day <= end_date``, open end allowed). Columns:
    ``_date, store_id, skc_id, sku_id, is_core_size, sellable`` (quality-A
    units on hand, 0 when the inventory has no row).
    """
    a = source.table("assortment")
    ranged = a.join(
        dates, (a.start_date <= dates._date) & (a.end_date.isnull() | (a.end_date >= dates._date))
    ).select("_date", "store_id", "skc_id")
    products = source.table("products").select("sku_id", "skc_id", "is_core_size")
    slots = ranged.join(products, "skc_id")
    inv = source.table("inventory")
    inv = inv.filter(inv.quality == "A").semi_join(dates, inv.snapshot_date == dates._date)
    sellable = inv.aggregate(
        by=[inv.snapshot_date.name("_date"), inv.store_id, inv.sku_id], sellable=inv.on_hand.sum()
    )
    keys = ["_date", "store_id", "sku_id"]
    out = slots.left_join(sellable, keys).drop(*(f"{k}_right" for k in keys))
    return out.mutate(sellable=out.sellable.coalesce(0), is_core_size=out.is_core_size.coalesce(False))


def skc_display(ranged: ir.Table) -> ir.Table:
    """Per day, location and ranged style-colour: its sellable units, core sizes, core sizes out, and flags.

    ``on_display``: some size has sellable stock (a style-colour with no stock
    at all is a stock-out, not a broken size run). ``size_break`` (断码): on
    display while at least one core size has none.
    """
    core_out = ranged.is_core_size & (ranged.sellable <= 0)
    per_skc = ranged.aggregate(
        by=["_date", "store_id", "skc_id"],
        sellable_units=ranged.sellable.sum(),
        core_sizes=ranged.is_core_size.ifelse(1, 0).sum(),
        core_sizes_out=core_out.ifelse(1, 0).sum(),
    )
    on_display = per_skc.sellable_units > 0
    return per_skc.mutate(on_display=on_display, size_break=on_display & (per_skc.core_sizes_out > 0))


def core_sizes(source: Any, q: Query) -> ir.Table:
    """Ranged core-size SKU x location x snapshot checks, and how many had no sellable stock."""
    ranged = ranged_sku_stock(source, snapshot_dates(source, q))
    rows = ranged.filter(ranged.is_core_size).select("_date", "store_id", "sku_id", "sellable")
    rows = prepare(rows, source, q, product_key="sku_id")
    return group(rows, q, core_size_checks=rows.count(), core_size_stockouts=(rows.sellable <= 0).ifelse(1, 0).sum())


def display(source: Any, q: Query) -> ir.Table:
    """Style-colour x location x snapshot checks on display, and how many had a broken size run."""
    rows = skc_display(ranged_sku_stock(source, snapshot_dates(source, q)))
    rows = prepare(rows, source, q, product_key="skc_id")
    return group(
        rows, q,
        skcs_on_display=rows.on_display.ifelse(1, 0).sum(),
        skcs_size_broken=rows.size_break.ifelse(1, 0).sum(),
    )
