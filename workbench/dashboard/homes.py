"""Role home pages: what each role sees first when it logs in.

- The boss (hq_manager; admin, finance, analyst and audit read the same
  chain): the chain's KPIs, net sales by region over the weeks, top and slow
  sellers by region.
- A region manager (大区经理): the same KPIs over their region, net sales by
  store, and which stores have size breaks.
- A store manager (店长): their store's KPIs, sales by category over the
  days, and their store's availability.
- The warehouse (DC): stock, receipts and availability, no sales-to-customer
  KPIs (the role reads no sales); stock by channel over the weeks and
  out-of-stock by store.

A spec names metrics and panels; the page drops those the user cannot see
(:func:`workbench.dashboard.options.measure_availability`) instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.dashboard.settings import KPI_MEASURES


@dataclass(frozen=True)
class HomeSpec:
    kind: str  # boss | region | store | warehouse
    title: str
    kpis: tuple[str, ...]
    trend_measure: str
    trend_dimension: str | None
    trend_grain: str
    panels: tuple[str, ...]  # "top_and_slow" and / or "availability"
    period: str = "last_4_weeks"


_BOSS = HomeSpec("boss", "Chain overview 全盘概览", KPI_MEASURES, "net_sales", "region", "week", ("top_and_slow",))
_HOMES = {
    "boss": _BOSS,
    "region": HomeSpec("region", "My region 大区概览", KPI_MEASURES, "net_sales", "store_code", "week", ("availability",)),
    "store": HomeSpec("store", "My store 门店概览", KPI_MEASURES, "net_sales", "category", "date",
                      ("availability", "top_and_slow")),
    "warehouse": HomeSpec("warehouse", "Stock and availability 库存与齐码",
                          ("stock_units", "weeks_of_cover", "net_receipts", "core_size_stockout_rate", "size_break_rate"),
                          "stock_units", "channel", "week", ("availability",)),
}
ROLE_HOMES = {
    "hq_manager": "boss", "admin": "boss", "finance": "boss", "analyst": "boss", "auditor": "boss",
    "region_manager": "region", "store_manager": "store", "warehouse": "warehouse",
}


def home_for(role: str) -> HomeSpec:
    """The home page spec for ``role`` (a role name); roles without their own home get the chain overview."""
    return _HOMES[ROLE_HOMES.get(role, "boss")]
