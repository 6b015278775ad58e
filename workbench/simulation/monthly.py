"""Monthly tables: store costs, sales plans (销售计划) and consignment settlements.

- Costs: rent rises 3% a year; staff cost carries the year-end bonus in the
  Spring Festival month; utilities peak with heating and air conditioning;
  the online shop pays platform commission on its sales.
- Plans are set by planners from what they can foresee (the known part of
  demand, at full price) plus growth ambition and optimism -- so plan vs
  actual deviates the way it does in real chains (hot items beat plan,
  stock-outs and warm autumns miss it).
- Settlements: each month the host department store reports the counter's
  sales and pays them over minus its commission (代销结算).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from workbench.simulation.calendar import SPRING_FESTIVAL, Calendar
from workbench.simulation.chain import Chain
from workbench.simulation.demand import Calibration
from workbench.simulation.seeding import rng
from workbench.simulation.tables import money

OUTLET_PRICE_LEVEL = 0.35 * 420.0  # typical outlet selling price (CNY)
BRAND_MIX = np.array([0.45, 0.35, 0.20])


def window_months(cal: Calendar) -> list[date]:
    months, d = [], cal.window_start.replace(day=1)
    while d <= cal.end:
        months.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return months


def month_offset(cal: Calendar, month: date) -> int:
    """Index of ``month`` in the calibration's month axis (months since the simulation start)."""
    return (month.year - cal.sim_start.year) * 12 + month.month - cal.sim_start.month


def _open_in(chain: Chain, month: date) -> np.ndarray:
    next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return np.array([d < next_month for d in chain.stores["open_date"]])


def store_costs(cal: Calendar, chain: Chain, net_sales: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """core.store_costs; ``net_sales`` is (window months, locations)."""
    g = rng(seed, "store-costs")
    area = np.nan_to_num(chain.stores["area_m2"].to_numpy(float))
    rent0 = chain.stores["monthly_rent"].to_numpy(float)
    staff0 = chain.stores["monthly_staff_cost"].to_numpy(float)
    kind = chain.type
    cols: dict[str, list] = {k: [] for k in ("store_id", "month", "rent", "staff_cost", "other_cost")}
    for m, month in enumerate(window_months(cal)):
        loc = np.flatnonzero(_open_in(chain, month))
        years = month.year - cal.window_start.year
        bonus = 1.5 if SPRING_FESTIVAL[month.year].month == month.month else 1.0
        climate = 1.3 if month.month in (1, 2, 7, 8, 12) else 1.0
        utilities = area[loc] * 28.0 * climate * g.lognormal(0, 0.08, len(loc))
        other = np.select([kind[loc] == "online", kind[loc] == "dc"],
                          [150_000 + 0.06 * net_sales[m, loc], 350_000 * g.lognormal(0, 0.05, len(loc))], utilities)
        cols["store_id"].append(chain.store_id[loc])
        cols["month"].append(np.full(len(loc), month, dtype="datetime64[D]"))
        cols["rent"].append(money(rent0[loc] * 1.03 ** years))
        cols["staff_cost"].append(money(staff0[loc] * bonus * g.lognormal(0, 0.03, len(loc))))
        cols["other_cost"].append(money(other))
    return {k: np.concatenate(v) for k, v in cols.items()}


def sales_plans(cal: Calendar, chain: Chain, calib: Calibration, brands: tuple[str, ...], seed: int) -> dict[str, np.ndarray]:
    """core.sales_plan per month, selling location and brand."""
    g = rng(seed, "sales-plan")
    optimism = g.lognormal(0.03, 0.06, chain.n)
    kind = chain.type
    cols: dict[str, list] = {k: [] for k in ("month", "store_id", "brand", "plan_net_sales", "plan_units")}
    for month in window_months(cal):
        m = month_offset(cal, month)
        units = calib.plan_units[m].copy()
        revenue = calib.plan_revenue[m].copy()
        outlet = kind == "outlet"
        days = (date(month.year + month.month // 12, month.month % 12 + 1, 1) - month).days
        units[outlet] = calib.units_per_day[outlet, None] * days * BRAND_MIX[None, :]
        revenue[outlet] = units[outlet] * OUTLET_PRICE_LEVEL
        ambition = 1.06 * optimism[:, None] * g.lognormal(0, 0.08, units.shape)
        loc, brand = np.nonzero((units > 0.5) & _open_in(chain, month)[:, None])
        cols["month"].append(np.full(len(loc), month, dtype="datetime64[D]"))
        cols["store_id"].append(chain.store_id[loc])
        cols["brand"].append(np.array(brands, dtype=object)[brand])
        cols["plan_net_sales"].append(money(np.round(revenue[loc, brand] * ambition[loc, brand], -2)))
        cols["plan_units"].append(np.round(units[loc, brand] * ambition[loc, brand]).astype(np.int32))
    return {k: np.concatenate(v) for k, v in cols.items()}


def consignment_settlements(cal: Calendar, chain: Chain, net_sales: np.ndarray) -> dict[str, np.ndarray]:
    """core.consignment_settlements from the counters' monthly net sales."""
    counters = np.flatnonzero(chain.type == "consignment")
    rate = chain.stores["commission_rate"].to_numpy(float)[counters]
    months = window_months(cal)
    reported = money(net_sales[:, counters])
    commission = money(reported * rate[None, :])
    live = np.array([_open_in(chain, m)[counters] for m in months])
    return {
        "store_id": np.tile(chain.store_id[counters], len(months))[live.ravel()],
        "month": np.repeat(np.array(months, dtype="datetime64[D]"), len(counters))[live.ravel()],
        "reported_sales": reported.ravel()[live.ravel()],
        "commission": commission.ravel()[live.ravel()],
        "settled_amount": money(reported - commission).ravel()[live.ravel()],
    }
