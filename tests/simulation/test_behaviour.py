"""The chain behaves like a fashion retailer: plausible KPIs, the calendar, size curves, members."""

from __future__ import annotations

import statistics

from .conftest import rows, scalar

STORE_KPIS = """
with t as (select store_id, sum(visitors) as visitors from core.traffic group by 1),
s as (
    select store_id,
           sum(qty) filter (where line_type = 'sale') as units,
           count(distinct ticket_id) filter (where line_type = 'sale') as tickets,
           -sum(qty) filter (where line_type = 'return') as returned,
           count(distinct ticket_id) filter (where line_type = 'sale' and member_id is not null) as member_tickets
    from core.sales group by 1)
select st.store_code, st.store_type, units / tickets as attach, tickets / visitors as conversion,
       returned / units as return_rate, member_tickets / tickets as member_share
from s join t using (store_id) join core.stores st using (store_id)
"""


def _kpis(con) -> dict[str, dict]:
    return {r[0]: dict(type=r[1], attach=r[2], conversion=r[3], returns=r[4], members=r[5]) for r in rows(con, STORE_KPIS)}


def test_conversion_attach_and_returns_are_plausible(con):
    kpis = _kpis(con)
    for code, k in kpis.items():
        if k["type"] in ("own", "consignment"):
            assert 0.07 <= k["conversion"] <= 0.20, (code, k)
            assert 0.02 <= k["returns"] <= 0.08, (code, k)
        if k["type"] == "online":
            assert 0.02 <= k["conversion"] <= 0.045, (code, k)
            assert 0.15 <= k["returns"] <= 0.25, (code, k)
        assert 1.1 <= k["attach"] <= 2.3, (code, k)
    own_attach = [k["attach"] for k in kpis.values() if k["type"] == "own"]
    assert 1.3 <= statistics.mean(own_attach) <= 2.2


def test_look_partners_share_tickets_far_more_than_other_pieces_sold_that_day(con):
    """The planted co-purchase: of the SKC pairs on one ticket, far more are look partners than of the pairs sold
    on different tickets of the same store and day; the attach rate (连带率) still follows the store's."""
    partner_share = rows(con, """
        with items as (select distinct ticket_id, store_id, sale_date, skc_id from core.sales where line_type = 'sale'),
        partners as (select distinct a.skc_id as x, b.skc_id as y from truth.looks a join truth.looks b using (look_id)
                     where a.skc_id <> b.skc_id),
        pairs as (select a.skc_id as x, b.skc_id as y, a.ticket_id = b.ticket_id as same_ticket
                  from items a join items b using (store_id, sale_date) where a.skc_id <> b.skc_id)
        select same_ticket, avg((partners.x is not null)::int)
        from pairs left join partners using (x, y) group by 1""")
    share = dict(partner_share)
    assert share[True] > 2 * share[False]
    ratios = [r for (r,) in rows(con, """
        with s as (select store_id, sum(qty) / count(distinct ticket_id) as attach from core.sales
                   where line_type = 'sale' group by 1)
        select s.attach / t.attach from s join truth.stores t using (store_id)""")]
    assert all(0.8 <= r <= 1.1 for r in ratios), ratios


def test_about_two_in_five_tickets_carry_a_member_card(con):
    share = scalar(con, "select count(distinct ticket_id) filter (where member_id is not null) / count(distinct ticket_id) "
                        "from core.sales where line_type = 'sale'")
    assert 0.33 <= share <= 0.52


def test_returns_link_to_their_ticket_within_thirty_days(con):
    late = scalar(con, """
        select count(*) from core.sales r join core.sales o on o.ticket_id = r.orig_ticket_id and o.sku_id = r.sku_id
        where r.line_type = 'return' and (r.sale_date - o.sale_date > 30 or r.sale_date < o.sale_date)""")
    assert late == 0
    exchanges_same_style = scalar(con, """
        select count(*) from core.sales o join core.sales i using (ticket_id)
        join core.products po on po.sku_id = o.sku_id join core.products pi on pi.sku_id = i.sku_id
        where o.line_type = 'exchange_out' and i.line_type = 'exchange_in' and po.skc_id = pi.skc_id and po.sku_id <> pi.sku_id""")
    assert exchanges_same_style > 20


def test_double_11_makes_online_spike(con):
    daily = dict(rows(con, """
        select sale_date, sum(qty) from core.sales s join core.stores st using (store_id)
        where st.store_type = 'online' and line_type = 'sale' group by 1"""))
    october = statistics.median(v for d, v in daily.items() if d.month == 10 and d.day <= 20)
    peak = max((v, d) for d, v in daily.items() if d.month == 11 and 9 <= d.day <= 13)
    assert peak[1].day == 11
    assert peak[0] > 3 * october


def test_spring_festival_slumps_and_closes_stores(con):
    visitors = dict(rows(con, """
        select traffic_date, sum(visitors) from core.traffic t join core.stores s using (store_id)
        where s.store_type = 'own' group by 1"""))
    import datetime as dt

    january = statistics.median(v for d, v in visitors.items() if d.month == 1 and d.day <= 20)
    assert visitors[dt.date(2025, 1, 29)] < 0.6 * january  # 初一
    closed = scalar(con, "select count(*) from core.traffic where visitors = 0 and traffic_date in "
                         "(date '2025-01-28', date '2025-01-29') and store_id <> 1000")
    assert closed >= 1


def test_size_curves_differ_by_store(con):
    """North buys larger sizes than South: the mean size sold in women's letter sizes differs."""
    mean_size = dict(rows(con, """
        select st.region, sum(p.size_rank * s.qty) / sum(s.qty) from core.sales s
        join core.products p using (sku_id) join core.stores st using (store_id)
        where p.gender = 'women' and p.size_rank > 0 and s.line_type = 'sale' and st.store_type = 'own' group by 1"""))
    assert mean_size["North"] - mean_size["South"] > 0.25
    shifts = dict(rows(con, "select s.region, avg(t.size_shift) from truth.stores t join core.stores s using (store_id) "
                            "where s.store_type = 'own' group by 1"))
    assert shifts["North"] > shifts["South"]


def test_tickets_mostly_share_one_size(con):
    same = scalar(con, """
        with lines as (select ticket_id, p.size_rank from core.sales s join core.products p using (sku_id)
                       where line_type = 'sale' and p.size_rank > 0),
        t as (select ticket_id, count(*) as n, max(size_rank) - min(size_rank) as spread from lines group by 1 having n > 1)
        select avg((spread = 0)::int) from t""")
    assert same > 0.5


def test_hot_items_sell_far_more_than_cold_ones(con):
    by_hotness = dict(rows(con, """
        select h.hotness, sum(d.demand) / count(distinct d.sku_id) from truth.demand d
        join core.products p using (sku_id) join truth.products h using (skc_id) group by 1"""))
    assert by_hotness["hot"] > 3 * by_hotness["cold"]


def test_members_keep_their_size_and_rates_drive_visits(con):
    agreement = scalar(con, """
        select avg((p.size_rank = m.preferred_size_rank)::int) from core.sales s
        join core.products p using (sku_id) join truth.members m using (member_id)
        where s.line_type = 'sale' and p.size_rank > 0""")
    assert agreement > 0.5
    heavy, light = rows(con, """
        with v as (select member_id, count(distinct ticket_id) as visits from core.sales where member_id is not null group by 1)
        select avg(coalesce(v.visits, 0)) filter (where m.purchase_rate > 0.12),
               avg(coalesce(v.visits, 0)) filter (where m.purchase_rate < 0.02)
        from truth.members m left join v using (member_id)""")[0]
    assert heavy > 3 * light


def test_payments_settle_the_tickets(con):
    """Apart from the planted unpaid sales, money received equals the tickets' net amount."""
    off = scalar(con, """
        with s as (select ticket_id, sum(net_amount) as net from core.sales group by 1),
        p as (select ticket_id, sum(amount) as paid from core.payments group by 1)
        select count(*) from s left join p using (ticket_id)
        where abs(s.net - coalesce(p.paid, 0)) > 0.011
          and ticket_id not in (select ticket_id from truth.irregularities where kind = 'unpaid_sale')""")
    assert off == 0
    counters = {m for (m,) in rows(con, "select distinct method from core.payments p join core.stores s using (store_id) "
                                        "where s.store_type = 'consignment'")}
    assert counters <= {"dept_store", "points", "cash"}


def test_plans_deviate_from_actuals_but_not_wildly(con):
    ratio = scalar(con, """
        with a as (select date_trunc('month', sale_date) as month, sum(net_amount) as actual from core.sales group by 1),
        p as (select month, sum(plan_net_sales) as plan from core.sales_plan group by 1)
        select avg(actual / plan) from a join p using (month)""")
    assert 0.5 < ratio < 1.6


def test_the_north_buys_thick_items_in_winter(con):
    thick = dict(rows(con, """
        select st.region, sum(qty) filter (where p.thickness = 'thick') / sum(qty) from core.sales s
        join core.products p using (sku_id) join core.stores st using (store_id)
        where s.line_type = 'sale' and st.store_type = 'own' and month(s.sale_date) in (1, 11, 12) group by 1"""))
    assert thick["North"] > 1.2 * thick["South"]
    thin_by_month = dict(rows(con, """
        select month(sale_date), sum(qty) filter (where p.thickness = 'thin') / sum(qty) from core.sales s
        join core.products p using (sku_id) where s.line_type = 'sale' group by 1"""))
    assert thin_by_month[7] > 2 * thin_by_month[1]
