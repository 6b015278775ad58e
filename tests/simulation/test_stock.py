"""Stock balances, sales are censored by stock, and the truth matches the business tables."""

from __future__ import annotations

from .conftest import rows, scalar

OPENING = "date '2024-12-31'"  # the snapshot the evening before the tiny window
CLOSING = "date '2025-12-31'"

STOCK_IDENTITY = f"""
with opening as (
    select store_id, sku_id, sum(on_hand) as qty from core.inventory where snapshot_date = {OPENING} group by all
), closing as (
    select store_id, sku_id, sum(on_hand) as qty from core.inventory where snapshot_date = {CLOSING} group by all
), received as (
    select to_store_id as store_id, sku_id, sum(qty) as qty from core.transfers
    where to_store_id is not null and receive_date > {OPENING} and receive_date <= {CLOSING} group by all
), shipped as (
    select from_store_id as store_id, sku_id, sum(qty) as qty from core.transfers
    where from_store_id is not null and ship_date > {OPENING} and ship_date <= {CLOSING} group by all
), sold as (
    select store_id, sku_id, sum(qty) as qty from core.sales group by all
), keys as (
    select store_id, sku_id from opening union select store_id, sku_id from closing
    union select store_id, sku_id from received union select store_id, sku_id from shipped
    union select store_id, sku_id from sold
)
select k.store_id, k.sku_id,
       coalesce(o.qty, 0) + coalesce(r.qty, 0) - coalesce(sh.qty, 0) - coalesce(so.qty, 0) as expected,
       coalesce(c.qty, 0) as actual
from keys k
left join opening o using (store_id, sku_id) left join closing c using (store_id, sku_id)
left join received r using (store_id, sku_id) left join shipped sh using (store_id, sku_id)
left join sold so using (store_id, sku_id)
"""


def test_stock_identity_holds_for_every_location_and_sku(con):
    """opening + received - shipped - net sales (returns add back) = closing, A and B goods together."""
    checked = rows(con, f"select count(*), count(*) filter (where expected <> actual) from ({STOCK_IDENTITY})")[0]
    assert checked[0] > 1000
    assert checked[1] == 0, rows(con, f"select * from ({STOCK_IDENTITY}) where expected <> actual limit 5")


def test_stock_is_never_negative(con):
    assert scalar(con, "select count(*) from core.inventory where on_hand < 0 or in_transit < 0") == 0


def test_goods_in_transit_at_the_end_are_the_unreceived_shipments(con):
    in_transit = scalar(con, f"select sum(in_transit) from core.inventory where snapshot_date = {CLOSING}")
    unreceived = scalar(con, f"select sum(qty) from core.transfers where to_store_id is not null "
                             f"and ship_date <= {CLOSING} and receive_date is null")
    assert in_transit == unreceived


def test_no_sale_while_out_of_stock(con):
    """A ranged SKU with nothing on the shelf at opening sells nothing that day (censoring)."""
    clash = scalar(con, """
        select count(*) from core.sales s join core.out_of_stock o
          on s.store_id = o.store_id and s.sku_id = o.sku_id
         and s.sale_date between o.start_date and coalesce(o.end_date, date '2099-12-31')
        where s.line_type in ('sale', 'exchange_in')""")
    assert clash == 0
    assert scalar(con, "select count(*) from core.out_of_stock") > 100


def test_truth_sold_equals_the_sales_lines(con):
    mismatch = scalar(con, """
        with s as (select sale_date, store_id, sku_id, sum(qty) as qty from core.sales where line_type = 'sale' group by all)
        select count(*) from s full join truth.demand d using (sale_date, store_id, sku_id)
        where coalesce(s.qty, 0) <> coalesce(d.sold, 0)""")
    assert mismatch == 0
    assert scalar(con, "select count(*) from truth.demand where sold > demand") == 0


def test_stock_outs_hide_real_demand(con):
    lost, demand = rows(con, "select sum(demand - sold), sum(demand) from truth.demand")[0]
    assert 0.03 < lost / demand < 0.6


def test_inventory_shows_broken_size_runs(con):
    """Zero rows for ranged SKUs are written, so broken size runs (断码) are visible."""
    zero_rows = scalar(con, "select count(*) from core.inventory i join core.stores s using (store_id) "
                            "where s.store_type = 'own' and i.quality = 'A' and i.on_hand = 0")
    assert zero_rows > 100
    assert scalar(con, "select count(*) from core.inventory where quality = 'B' and on_hand > 0") > 0


def test_lifecycle_movements_are_all_there(con):
    kinds = {k for (k,) in rows(con, "select distinct movement_type from core.transfers")}
    assert kinds == {"supplier_receipt", "initial_allocation", "replenishment", "store_transfer", "recall",
                     "supplier_return", "outlet_allocation"}
    # receipts point at their purchase order; store transfers move between two stores
    assert scalar(con, "select count(*) from core.transfers where movement_type = 'supplier_receipt' and po_id is null") == 0
    assert scalar(con, "select count(*) from core.transfers t join core.stores f on f.store_id = t.from_store_id "
                       "where movement_type = 'store_transfer' and f.store_type not in ('own', 'consignment')") == 0


def test_old_seasons_are_resold_in_outlets(con):
    outlet_units = scalar(con, """
        select sum(qty) from core.sales s join core.stores st using (store_id) join core.products p using (sku_id)
        where st.store_type = 'outlet' and p.season_year < 2025 and p.season <> 'BASIC' and s.line_type = 'sale'""")
    assert outlet_units > 100
    assert scalar(con, "select count(*) from core.price_changes where channel = 'outlet'") > 0


def test_b_goods_come_from_inspection_and_customer_returns(con):
    sources = {s for (s,) in rows(con, "select distinct source from core.b_goods")}
    assert sources == {"receipt_inspection", "customer_return"}


def test_consignment_counters_are_counted_monthly(con):
    months = scalar(con, "select count(distinct count_date) from core.stock_counts c join core.stores s using (store_id) "
                         "where s.store_type = 'consignment'")
    assert months == 12
