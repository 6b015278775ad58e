"""Planted irregularities exist at tiny scale and are exactly what their definition finds."""

from __future__ import annotations

from workbench.simulation.irregularities import KINDS

from .conftest import rows, scalar


def _labelled(con, kind: str, column: str = "ticket_id") -> set:
    return {r[0] for r in rows(con, f"select {column} from truth.irregularities where kind = ?", kind)}


def test_every_kind_is_planted_a_few_times(con):
    counts = dict(rows(con, "select kind, count(*) from truth.irregularities group by 1"))
    for kind in KINDS:
        assert counts.get(kind, 0) >= 3, kind


def test_discounts_beyond_policy_are_exactly_the_lines_below_the_cap(con):
    found = {r[0] for r in rows(con, """
        select s.ticket_id from core.sales s join core.promotions p using (promo_id)
        where s.line_type = 'sale' and s.unit_price < round(s.full_price * (1 - p.max_discount_pct), 2) - 0.005""")}
    assert found == _labelled(con, "discount_beyond_policy")


def test_points_abuse_is_double_credit_or_a_card_on_walk_in_tickets(con):
    found = {r[0] for r in rows(con, """
        select ticket_id from core.points_ledger where reason = 'earn' group by ticket_id, member_id having count(*) > 1
        union
        select l.ticket_id from core.points_ledger l join core.sales s using (ticket_id)
        where l.reason = 'earn' and s.member_id is null""")}
    assert found == _labelled(con, "points_abuse")


def test_exchanges_to_another_style_are_labelled(con):
    found = {r[0] for r in rows(con, """
        select o.ticket_id from core.sales o join core.sales i using (ticket_id)
        join core.products po on po.sku_id = o.sku_id join core.products pi on pi.sku_id = i.sku_id
        where o.line_type = 'exchange_out' and i.line_type = 'exchange_in' and po.style_id <> pi.style_id""")}
    assert found == _labelled(con, "exchange_other_style")


def test_returns_without_a_sale_are_labelled(con):
    found = {r[0] for r in rows(con, """
        select r.ticket_id from core.sales r
        where r.line_type = 'return'
          and not exists (select 1 from core.sales o where o.ticket_id = r.orig_ticket_id and o.sku_id = r.sku_id)""")}
    assert found == _labelled(con, "return_without_sale")


def test_unpaid_sales_are_the_tickets_short_in_payments(con):
    found = {r[0] for r in rows(con, """
        with s as (select ticket_id, sum(net_amount) as net from core.sales group by 1),
        p as (select ticket_id, sum(amount) as paid from core.payments group by 1)
        select ticket_id from s left join p using (ticket_id) where s.net - coalesce(p.paid, 0) > 0.011""")}
    assert found == _labelled(con, "unpaid_sale")


def test_consignment_shortfalls_are_the_short_counts(con):
    found = {(r[0], r[1], r[2]) for r in rows(con, """
        select count_date, store_id, sku_id from core.stock_counts where counted_qty < system_qty""")}
    labelled = {(r[0], r[1], r[2]) for r in rows(con, """
        select event_date, store_id, sku_id from truth.irregularities where kind = 'consignment_shortfall'""")}
    assert found == labelled


def test_scalpers_are_members_buying_a_limited_item_in_several_stores_of_a_city(con):
    found = {(r[0], r[1]) for r in rows(con, """
        select s.member_id, s.sale_date from core.sales s join core.products p using (sku_id) join core.stores st using (store_id)
        where p.is_limited and s.line_type = 'sale' and s.member_id is not null
        group by s.member_id, s.sale_date, st.city, p.skc_id having count(distinct s.store_id) >= 2""")}
    labelled = {(r[0], r[1]) for r in rows(con, "select member_id, event_date from truth.irregularities where kind = 'scalping'")}
    assert found == labelled


def test_planted_rows_are_real_business_rows(con):
    missing = scalar(con, """
        select count(*) from truth.irregularities i
        where i.ticket_id is not null and not exists (select 1 from core.sales s where s.ticket_id = i.ticket_id)""")
    assert missing == 0
