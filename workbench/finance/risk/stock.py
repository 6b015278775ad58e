"""Risk checks on stock: consignment counters' stocktakes short of the system (代销短缺)."""

from __future__ import annotations

from datetime import date

import ibis.expr.types as ir

from workbench.finance.risk.cases import cases, in_period, text

__all__ = ["consignment_shortfall"]


def consignment_shortfall(stock_counts: ir.Table, stores: ir.Table, products: ir.Table, *, start: date, end: date,
                          min_units: int = 1, store_types: list[str] | tuple[str, ...] = ("consignment",)) -> ir.Table:
    """Stocktake lines at locations of ``store_types`` (the department stores' counters hold our goods, their
    staff sell them) that found at least ``min_units`` fewer units than the system. At risk: the missing
    units at tag price."""
    c = in_period(stock_counts, "count_date", start, end)
    c = c.filter(c.system_qty - c.counted_qty >= min_units)
    where = stores.filter(stores.store_type.isin(list(store_types))).select("store_id", "store_code")
    j = c.join(where, "store_id").join(products.select("sku_id", "sku_code", "full_price"), "sku_id")
    missing = j.system_qty - j.counted_qty
    return cases(j, "consignment_shortfall", case_key=text(j.count_date, "/", j.store_id, "/", j.sku_id),
                 event_date=j.count_date, store_id=j.store_id, sku_id=j.sku_id,
                 amount_at_risk=missing * j.full_price,
                 evidence=text(j.store_code, " counted ", j.counted_qty, " of ", j.system_qty, " x ", j.sku_code,
                               " (", j.method, "): ", missing, " missing at tag ", j.full_price.round(2)))
