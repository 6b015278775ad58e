"""Store size curves (尺码曲线): split a style-colour forecast into its sizes.

Per-size daily series are too thin to forecast one by one, but the mix of
sizes is stable: the chain-wide curve of the style-colour, tilted by how the
store's customers differ (a store in the north sells larger sizes). The tilt
is learned per store × category × size position, where there is enough
data, and shrunk toward no tilt where there is not:

    share(store, sku) ∝ chain_share(sku) × tilt(store, category, size_rank)

Censoring: the chain curve counts units per in-stock store-day, so a size
that was often sold out (断码) is not mistaken for an unpopular one.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from workbench.forecasting import panel

TILT_PRIOR_UNITS = 200.0  # units of pseudo-evidence for "this store sells like the chain"


def chain_size_curve(session, start: dt.date, end: dt.date) -> ir.Table:
    """(sku_id, skc_id, chain_share): each size's share of its SKC's demand rate over in-stock days."""
    products = session.table("core.products").select("sku_id", "skc_id")
    sold = panel.sales_by_day(session, start, end, grain="sku_id").group_by("sku_id").aggregate(
        units=lambda t: t.units.sum()
    )
    ranged = panel.ranged_days(session, start, end).group_by("skc_id").aggregate(store_days=lambda t: t.count())
    spells = session.table("core.out_of_stock")
    first = ibis.greatest(spells.start_date, ibis.date(start))
    last = ibis.least(spells.end_date.fill_null(ibis.date(end)), ibis.date(end))
    out = spells.filter(last >= first).group_by("sku_id").aggregate(out_days=(last.delta(first, unit="day") + 1).sum())
    sizes = products.left_join(sold, "sku_id").left_join(out, "sku_id").left_join(ranged, "skc_id")
    in_stock = (sizes.store_days.fill_null(0) - sizes.out_days.fill_null(0)).clip(lower=1)
    # +1 unit: a size never sold still gets a small share instead of none.
    rate = (sizes.units.fill_null(0.0) + 1.0) / in_stock
    sizes = sizes.select(sizes.sku_id, sizes.skc_id, rate=rate)
    return sizes.select("sku_id", "skc_id", chain_share=sizes.rate / sizes.rate.sum().over(group_by="skc_id"))


def store_tilt(session, start: dt.date, end: dt.date) -> ir.Table:
    """(store_id, category, size_rank, tilt): how much more a store sells of a size position than the chain."""
    products = session.table("core.products").select("sku_id", "category", "size_rank")
    sold = panel.sales_by_day(session, start, end, grain="sku_id").join(products, "sku_id")
    local = sold.group_by(["store_id", "category", "size_rank"]).aggregate(units=sold.units.sum())
    store_total = local.units.sum().over(group_by=["store_id", "category"])
    chain = local.group_by(["category", "size_rank"]).aggregate(chain_units=local.units.sum())
    chain = chain.mutate(chain_mix=chain.chain_units / chain.chain_units.sum().over(group_by="category"))
    local = local.mutate(store_total=store_total).join(chain, ["category", "size_rank"])
    # Shrink toward the chain mix: a store with few sales keeps a tilt near 1.
    mix = (local.units + TILT_PRIOR_UNITS * local.chain_mix) / (local.store_total + TILT_PRIOR_UNITS)
    return local.select("store_id", "category", "size_rank", tilt=mix / local.chain_mix)


def store_size_curves(session, start: dt.date, end: dt.date, pairs: ir.Table | None = None) -> ir.Table:
    """(store_id, skc_id, sku_id, size_share); shares sum to 1 per store × SKC.

    For every store × SKC, or only the (store_id, skc_id) ``pairs`` given
    (the series being forecast: a large chain ranges a fraction of all pairs).
    """
    products = session.table("core.products").select("sku_id", "skc_id", "category", "size_rank")
    chain = chain_size_curve(session, start, end).join(products.drop("skc_id"), "sku_id")
    if pairs is None:
        grid = chain.cross_join(session.table("core.stores").select("store_id"))
    else:
        grid = chain.join(pairs.select("store_id", "skc_id").distinct(), "skc_id")
    tilt = store_tilt(session, start, end)
    grid = grid.left_join(tilt, ["store_id", "category", "size_rank"]).select(~ibis.selectors.endswith("_right"))
    weight = grid.chain_share * grid.tilt.fill_null(1.0)
    grid = grid.mutate(weight=weight)
    return grid.select(
        "store_id", "skc_id", "sku_id", size_share=grid.weight / grid.weight.sum().over(group_by=["store_id", "skc_id"])
    )
