"""A short, plain-text description of the chain in a warehouse (``wb summary``)."""

from __future__ import annotations

from workbench.config import Settings
from workbench.warehouse.engines import connect
from workbench.warehouse.schema import TABLES

KPI_SQL = """
with s as (
  select sum(net_amount) as net, sum(qty) filter (where line_type = 'sale') as units,
         count(distinct ticket_id) filter (where line_type = 'sale') as tickets,
         min(sale_date) as first_day, max(sale_date) as last_day
  from core.sales
), t as (select sum(visitors) as visitors from core.traffic t join core.stores s using (store_id) where s.store_type <> 'online')
select * from s, t
"""


def chain_summary(settings: Settings) -> str:
    """Row counts per table, locations by type, and headline KPIs (admin view: reads truth counts too)."""
    con = connect(settings, read_only=True)
    try:
        raw = con.con
        out = [f"warehouse: {settings.warehouse}"]
        stores = raw.execute("select store_type, count(*) from core.stores group by 1 order by 2 desc").fetchall()
        out.append("locations: " + ", ".join(f"{n} {t}" for t, n in stores))
        net, units, tickets, first, last, visitors = raw.execute(KPI_SQL).fetchone()
        out.append(f"window: {first} .. {last}; net sales {net:,.0f} CNY; {units:,} units on {tickets:,} tickets "
                   f"(attach {units / max(tickets, 1):.2f})")
        out.append(f"store visitors {visitors:,}; conversion {tickets / max(visitors, 1):.1%} (online included in tickets)")
        out.append("")
        width = max(len(n) for n in TABLES)
        for name in TABLES:
            count = raw.execute(f"select count(*) from {name}").fetchone()[0]
            out.append(f"{name:<{width}}  {count:>13,}")
        return "\n".join(out)
    finally:
        con.disconnect()
