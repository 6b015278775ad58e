"""Risk checks on ticket lines (小票明细) and the money settled for them.

Each check is pure: it takes ibis tables (the governed session's, so a
scoped user sees only their stores) and its parameters, and returns cases
in the shape of :data:`~workbench.finance.risk.cases.CASE_SCHEMA`. Events
are taken from [start, end]; the lines they refer back to (the original
sale of a return) may lie before ``start``.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from workbench.finance.risk.cases import cases, in_period, text

__all__ = ["discount_beyond_policy", "cashier_discount_outliers", "exchange_other_style", "return_without_sale",
           "return_outside_window", "unpaid_sale"]


def _line_key(t: ir.Table) -> ir.StringValue:
    return text(t.ticket_id, "/", t.line_no)


def discount_beyond_policy(sales: ir.Table, promotions: ir.Table, *, start: date, end: date,
                           tolerance_cny: float = 0.005) -> ir.Table:
    """Promotion lines sold below the deepest price the promotion allows (超政策折扣): tag price ×
    (1 − ``max_discount_pct``), rounded to the cent. At risk: the price given away below that floor."""
    s = in_period(sales, "sale_date", start, end)
    s = s.filter(s.line_type == "sale", s.promo_id.notnull())
    j = s.join(promotions.select("promo_id", "promo_name", "max_discount_pct"), "promo_id")
    j = j.mutate(floor_price=(j.full_price * (1 - j.max_discount_pct)).round(2))
    j = j.filter(j.unit_price < j.floor_price - tolerance_cny)
    return cases(j, "discount_beyond_policy", case_key=_line_key(j), event_date=j.sale_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id, sku_id=j.sku_id,
                 amount_at_risk=(j.floor_price - j.unit_price) * j.qty,
                 evidence=text("line ", j.line_no, ": sold at ", j.unit_price.round(2), " against a floor of ",
                               j.floor_price, " (tag ", j.full_price.round(2), ", ", j.promo_name, " allows ",
                               (j.max_discount_pct * 100).round(1), "% off)"))


def cashier_discount_outliers(sales: ir.Table, *, start: date, end: date, min_lines: int = 200, min_peers: int = 3,
                              max_robust_z: float = 3.5, min_excess_depth: float = 0.02) -> ir.Table:
    """Cashiers whose discount depth (discount ÷ tag value of their sale lines) stands out from their store's
    peers: robust z = (depth − store median) ÷ (1.4826 × MAD) above ``max_robust_z`` and at least
    ``min_excess_depth`` deeper than the median. Only cashiers with ``min_lines`` lines count, in stores with
    ``min_peers`` of them. At risk: the discount beyond the store's median depth."""
    s = in_period(sales, "sale_date", start, end)
    s = s.filter(s.line_type == "sale", s.cashier_id.notnull())
    by = s.group_by("store_id", "cashier_id").aggregate(
        lines=s.count(), tag_value=(s.full_price * s.qty).sum(), discount=s.discount_amount.sum(),
        first_day=s.sale_date.min())
    by = by.filter(by.lines >= min_lines, by.tag_value > 0)
    by = by.mutate(depth=by.discount / by.tag_value)
    store = by.group_by("store_id").aggregate(median_depth=by.depth.median(), peers=by.count())
    j = by.join(store, "store_id")
    j = j.mutate(deviation=(j.depth - j.median_depth).abs())
    mad = j.group_by("store_id").aggregate(mad=j.deviation.median())
    j = j.join(mad, "store_id")
    j = j.mutate(z=(j.depth - j.median_depth) / (1.4826 * j.mad.nullif(0)))
    j = j.filter(j.peers >= min_peers, j.z > max_robust_z, j.depth - j.median_depth >= min_excess_depth)
    return cases(j, "cashier_discount_outliers", case_key=text(j.store_id, "/", j.cashier_id), event_date=j.first_day,
                 store_id=j.store_id, cashier_id=j.cashier_id,
                 amount_at_risk=(j.depth - j.median_depth) * j.tag_value,
                 evidence=text("cashier ", j.cashier_id, ": ", (j.depth * 100).round(1), "% off tag over ", j.lines,
                               " lines against a store median of ", (j.median_depth * 100).round(1), "% (",
                               j.peers, " cashiers; robust z ", j.z.round(1), ")"))


def exchange_other_style(sales: ir.Table, products: ir.Table, *, start: date, end: date) -> ir.Table:
    """Exchanges (换货) that hand out an item of another style than the one brought back: the policy allows
    another size (or colour) of the same style only. At risk: the tag value handed out less the price paid for
    the item brought back."""
    style = products.select("sku_id", "style_id", "style_code")
    s = in_period(sales, "sale_date", start, end)
    s = s.filter(s.line_type.isin(["exchange_out", "exchange_in"])).join(style, "sku_id")
    back = s.filter(s.line_type == "exchange_out")
    back = back.select(back_ticket=back.ticket_id, back_style=back.style_id, back_sku=back.sku_id,
                       back_style_code=back.style_code, back_value=-back.net_amount)
    given = s.filter(s.line_type == "exchange_in")
    same = back.select("back_ticket", "back_style").distinct()
    odd = given.anti_join(same, [given.ticket_id == same.back_ticket, given.style_id == same.back_style])
    per_ticket = back.group_by("back_ticket").aggregate(back_sku=back.back_sku.min(),
                                                        back_style_code=back.back_style_code.min(),
                                                        back_value=back.back_value.sum())
    j = odd.join(per_ticket, odd.ticket_id == per_ticket.back_ticket)
    return cases(j, "exchange_other_style", case_key=_line_key(j), event_date=j.sale_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id, sku_id=j.sku_id,
                 amount_at_risk=j.full_price * j.qty - j.back_value,
                 evidence=text("brought back SKU ", j.back_sku, " of style ", j.back_style_code, ", given SKU ",
                               j.sku_id, " of style ", j.style_code, " (tag ", j.full_price.round(2), ")"))


def _returns(sales: ir.Table, start: date, end: date) -> ir.Table:
    r = in_period(sales, "sale_date", start, end)
    return r.filter(r.line_type == "return")


def return_without_sale(sales: ir.Table, *, start: date, end: date) -> ir.Table:
    """Refunds (退货) citing no original ticket, or one that never sold the item. At risk: the refund."""
    r = _returns(sales, start, end)
    sold = sales.select(sold_ticket=sales.ticket_id, sold_sku=sales.sku_id).distinct()
    j = r.anti_join(sold, [r.orig_ticket_id == sold.sold_ticket, r.sku_id == sold.sold_sku])
    return cases(j, "return_without_sale", case_key=_line_key(j), event_date=j.sale_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id, sku_id=j.sku_id,
                 amount_at_risk=-j.net_amount,
                 evidence=text("refund of ", (-j.net_amount).round(2), " for SKU ", j.sku_id, " citing ticket ",
                               j.orig_ticket_id.cast("string").fill_null("(none)"), ", which has no such sale"))


def return_outside_window(sales: ir.Table, *, start: date, end: date, window_days: int = 30) -> ir.Table:
    """Refunds more than ``window_days`` after the original sale (the returns policy's window).
    At risk: the refund."""
    r = _returns(sales, start, end)
    s = sales.filter(sales.line_type == "sale")
    sold = s.group_by(sold_ticket=s.ticket_id, sold_sku=s.sku_id).aggregate(sold_date=s.sale_date.min())
    j = r.join(sold, [r.orig_ticket_id == sold.sold_ticket, r.sku_id == sold.sold_sku])
    j = j.mutate(days=j.sale_date.delta(j.sold_date, unit="day"))
    j = j.filter(j.days > window_days)
    return cases(j, "return_outside_window", case_key=_line_key(j), event_date=j.sale_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id, sku_id=j.sku_id,
                 amount_at_risk=-j.net_amount,
                 evidence=text("refund of ", (-j.net_amount).round(2), " for SKU ", j.sku_id, " sold on ticket ",
                               j.orig_ticket_id, " ", j.days, " days earlier (window ", ibis.literal(window_days),
                               " days)"))


def unpaid_sale(sales: ir.Table, payments: ir.Table, *, start: date, end: date, tolerance_cny: float = 0.01) -> ir.Table:
    """Tickets whose money did not reach the company's accounts in full: net of the lines less the payments
    settled for the ticket above ``tolerance_cny`` (goods and money records disagree; 货款不符). A refund
    paid out beyond its lines counts too. At risk: the shortfall."""
    s = in_period(sales, "sale_date", start, end)
    t = s.group_by("ticket_id").aggregate(
        event_date=s.sale_date.min(), store_id=s.store_id.min(), member_id=s.member_id.max(),
        cashier_id=s.cashier_id.min(), lines=s.count(), net=s.net_amount.sum())
    p = payments.group_by(paid_ticket=payments.ticket_id).aggregate(paid=payments.amount.sum(),
                                                                    methods=payments.count())
    j = t.left_join(p, t.ticket_id == p.paid_ticket)
    j = j.mutate(paid=j.paid.fill_null(0.0), methods=j.methods.fill_null(0))
    j = j.mutate(short=(j.net - j.paid).round(2))
    j = j.filter(j.short > tolerance_cny)
    return cases(j, "unpaid_sale", case_key=text(j.ticket_id), event_date=j.event_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id, amount_at_risk=j.short,
                 evidence=text("ticket of ", j.lines, " line(s) nets ", j.net.round(2), "; ", j.methods,
                               " payment(s) settled ", j.paid.round(2)))
