"""Flow facts: things that happen on a day and add up over time.

Each function takes a source and a :class:`Query` and returns one row per
grain value with its *measures* (additive sums and counts). Ratios are never
computed here: :mod:`workbench.metrics.rollup` divides the measures after
they are aggregated to the grain.

Sales semantics (``core.sales`` ticket lines, 小票明细):

- Every line counts in ``net_sales`` / ``units``: returns (negative qty) are
  netted in the period they happen; an exchange is an ``exchange_out`` line
  (the item coming back, negative) and an ``exchange_in`` line (the item
  going out, positive), so it nets to the price difference and 0 units.
- ``tickets`` counts distinct tickets having at least one ``sale`` line:
  pure return or exchange tickets are not baskets. At a product grain it
  counts tickets containing that product, so categories do not add up to
  the total (a ticket with a top and a pair of jeans counts in both).
- ``gross_sales`` and ``return_value`` keep only ``sale`` and ``return`` lines:
  exchanges are neither a sale lost nor a new sale.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from workbench.metrics.grain import column_or_null, group, only, prepare
from workbench.metrics.query import Query


def sales_lines(source: Any) -> ir.Table:
    """``core.sales`` as keyed rows (``_date``, ``store_id``, ``sku_id``) with the columns measures use."""
    s = source.table("sales")
    return s.select(
        _date=s.sale_date, store_id=s.store_id, sku_id=s.sku_id, ticket_id=s.ticket_id, line_type=s.line_type,
        qty=s.qty, net_amount=s.net_amount, full_price=s.full_price, discount_amount=s.discount_amount,
        cost_amount=column_or_null(s, "cost_amount", "float64"),
    )


def sales(source: Any, q: Query) -> ir.Table:
    """Sales measures per grain, for lines dated in the query's range."""
    rows = sales_rows(source, q)
    return group(rows, q, **sales_measures(rows))


def sales_rows(source: Any, q: Query) -> ir.Table:
    """Ticket lines dated in the query's range, with the dimensions it groups and filters by."""
    lines = sales_lines(source)
    return prepare(lines.filter(q.in_range(lines._date)), source, q, product_key="sku_id")


def sales_measures(rows: ir.Table) -> dict[str, ir.Scalar]:
    """The sales measures over ticket lines, to aggregate at any grain (the rollups use them too)."""
    is_sale = rows.line_type == "sale"
    return dict(
        net_sales=rows.net_amount.sum(),
        units=rows.qty.sum(),
        tickets=rows.ticket_id.nunique(where=is_sale),
        tag_value=(rows.full_price * rows.qty).sum(),
        discount=rows.discount_amount.sum(),
        cost=rows.cost_amount.sum(),
        gross_sales=only(rows.net_amount, is_sale).sum(),
        return_value=only(-rows.net_amount, rows.line_type == "return").sum(),
    )


def traffic(source: Any, q: Query) -> ir.Table:
    """Visitors (客流; sessions online) per grain. Traffic is per location and day: no product."""
    t = source.table("traffic")
    rows = t.select(_date=t.traffic_date, store_id=t.store_id, visitors=t.visitors)
    rows = prepare(rows.filter(q.in_range(rows._date)), source, q, product_key=None)
    return group(rows, q, traffic=rows.visitors.sum())


def receipts(source: Any, q: Query) -> ir.Table:
    """Net receipts per grain: units shipped to the grain's locations minus units shipped out of them.

    Both legs are dated by ship date, because from then on the units are the
    destination's stock in transit, which the stock measures count (stock =
    on hand + in transit). So transfers between two locations of the same
    group cancel out, and at company level only supplier receipts and
    supplier returns remain; and closing stock = opening stock + net
    receipts - net units sold, up to stocktake adjustments.
    """
    tr = source.table("transfers")
    legs = [
        tr.filter(tr[loc].notnull()).select(_date=tr.ship_date, store_id=tr[loc], sku_id=tr.sku_id, qty=sign * tr.qty.cast("int64"))
        for loc, sign in (("to_store_id", 1), ("from_store_id", -1))
    ]
    rows = legs[0].union(legs[1])
    # A transfer is visible when either end is in the user's scope; count only
    # the legs at locations the source shows, or a store manager's total
    # would include the DC's side of the store's replenishments.
    rows = rows.semi_join(source.table("stores"), "store_id")
    rows = prepare(rows.filter(q.in_range(rows._date)), source, q, product_key="sku_id")
    return group(rows, q, net_receipts=rows.qty.sum())
