"""Daily demand per style-colour (SKC, 款色) × store, with stock-out censoring, in the engine.

A day with no stock on hand is not a day of zero demand. We **mask** days on
which every size of the SKC was out of stock at the store (they carry no
information about demand) and **model** partial stock-outs: ``avail_share``
is the share of the SKC's size curve that was in stock, a feature the model
learns from; forecasts are made with ``avail_share = 1``, i.e. they are
forecasts of demand, not of what the stock allowed to sell.

Everything returns ibis expressions over the governed session's tables, so
the work runs where the data is (DuckDB here, Spark on a cluster).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

OPEN_END = dt.date(2999, 12, 31)  # stands in for a null end date in range joins


def day_grid(start: dt.date, end: dt.date) -> ir.Table:
    """One row per day from ``start`` to ``end`` inclusive."""
    return ibis.memtable(pd.DataFrame({"date": pd.date_range(start, end, freq="D").date}))


def ranged_days(session, start: dt.date, end: dt.date) -> ir.Table:
    """(store_id, skc_id, date) for every day a store ranged a style-colour (the range plan)."""
    assortment = session.table("core.assortment")
    days = day_grid(start, end)
    joined = assortment.join(
        days,
        [days.date >= assortment.start_date, days.date <= assortment.end_date.fill_null(OPEN_END)],
    )
    return joined.select("store_id", "skc_id", "date").distinct()


def sales_by_day(session, start: dt.date, end: dt.date, grain: str = "skc_id") -> ir.Table:
    """Units and revenue sold per store × ``grain`` × day: sale lines only.

    Returns and exchanges are not demand on the day they happen, so only
    ``line_type = 'sale'`` counts (the simulator's ``truth.demand.sold`` is
    the same quantity).
    """
    sales = session.table("core.sales")
    sales = sales.filter(sales.line_type == "sale", sales.sale_date >= start, sales.sale_date <= end)
    return sales.group_by(["store_id", grain, sales.sale_date.name("date")]).aggregate(
        units=sales.qty.sum().cast("float64"), revenue=sales.net_amount.sum()
    )


def size_shares(session, start: dt.date, end: dt.date) -> ir.Table:
    """Each size's share of its SKC's units sold chain-wide (add-one smoothed): (sku_id, skc_id, size_share)."""
    products = session.table("core.products").select("sku_id", "skc_id")
    sold = sales_by_day(session, start, end, grain="sku_id").group_by("sku_id").aggregate(units=lambda t: t.units.sum())
    sized = products.left_join(sold, "sku_id").select("sku_id", "skc_id", units=ibis._.units.fill_null(0.0) + 1.0)
    total = sized.units.sum().over(group_by="skc_id")
    return sized.select("sku_id", "skc_id", size_share=sized.units / total)


def availability(session, start: dt.date, end: dt.date) -> ir.Table:
    """(store_id, skc_id, date, out_share): the share of the size curve out of stock, where any size was out."""
    spells = session.table("core.out_of_stock")
    days = day_grid(start, end)
    out = spells.join(
        days, [days.date >= spells.start_date, days.date <= spells.end_date.fill_null(OPEN_END)]
    ).select("store_id", "sku_id", "date")
    shares = size_shares(session, start, end)
    out = out.join(shares, "sku_id")
    return out.group_by(["store_id", "skc_id", "date"]).aggregate(out_share=out.size_share.sum())


def skc_store_daily(session, start: dt.date, end: dt.date) -> ir.Table:
    """The dense daily panel: every ranged SKC × store × day with units, revenue and ``avail_share``."""
    ranged = ranged_days(session, start, end)
    sold = sales_by_day(session, start, end)
    avail = availability(session, start, end)
    keys = ["store_id", "skc_id", "date"]
    panel = ranged.left_join(sold, keys).select(
        ranged.store_id, ranged.skc_id, ranged.date, units=sold.units.fill_null(0.0), revenue=sold.revenue.fill_null(0.0)
    )
    panel = panel.left_join(avail, keys).select(
        panel.store_id, panel.skc_id, panel.date, panel.units, panel.revenue,
        avail_share=(1.0 - avail.out_share.fill_null(0.0)).round(6).clip(lower=0.0),  # sums of shares: round off float noise
    )
    return panel
