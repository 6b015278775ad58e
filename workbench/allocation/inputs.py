"""The planner's inputs, read through a governed session: stock position, forecast, prices, stores.

- **Stock position** (:func:`stock_position`): ``core.inventory`` is a weekly
  snapshot, so the latest snapshot on or before the as-of date is rolled
  forward by the sales (returns and exchanges included) and transfers since.
  Stock on its way (shipped, not yet received) counts where it is going.
  Flows the data does not show (stock counts, B-goods) can leave a position
  a unit or two off; a negative result is floored at 0 and counted in the
  returned frame's ``attrs["floored"]``.
- **Forecast** (:func:`horizon_forecast`): ``marts.forecast`` of the as-of
  date, summed over the planning horizon (the champion model writes it).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from workbench.allocation.expected_sales import horizon_demand
from workbench.allocation.replay import LOCATION_TYPES

__all__ = ["query", "planning_stores", "stock_position", "recent_sales", "sales_rate_forecast", "horizon_forecast",
           "ticket_prices", "margins_at"]


def query(session, sql: str) -> pd.DataFrame:
    """``sql`` through the session's policies, as a pandas frame."""
    return session.sql(sql).to_pandas()


def planning_stores(session) -> pd.DataFrame:
    """Shops and the DC: ``store_id, store_code, store_type, grade, region, city, capacity_units``."""
    types = ", ".join(f"'{t}'" for t in LOCATION_TYPES)
    return query(session, f"select store_id, store_code, store_type, grade, region, city, capacity_units "
                           f"from core.stores where store_type in ({types}) order by store_id")


def stock_position(session, as_of: dt.date) -> pd.DataFrame:
    """``sku_id, location_id, on_hand, in_transit, stock`` after the close of ``as_of`` (A-quality stock)."""
    snap = query(session, f"select max(snapshot_date) as d from core.inventory where snapshot_date <= date '{as_of}'")["d"].iloc[0]
    if snap is None or pd.isna(snap):
        raise ValueError(f"no stock snapshot (core.inventory) on or before {as_of}: load stock before planning")
    s, a = f"date '{pd.Timestamp(snap).date()}'", f"date '{as_of}'"
    rows = query(session, f"""
        with moves as (
            select store_id as location_id, sku_id, on_hand as delta from core.inventory
             where snapshot_date = {s} and quality = 'A'
            union all
            select store_id, sku_id, -qty from core.sales where sale_date > {s} and sale_date <= {a}
            union all
            select from_store_id, sku_id, -qty from core.transfers
             where from_store_id is not null and ship_date > {s} and ship_date <= {a}
            union all
            select to_store_id, sku_id, qty from core.transfers
             where to_store_id is not null and receive_date > {s} and receive_date <= {a}
        ), transit as (
            select to_store_id as location_id, sku_id, sum(qty) as in_transit from core.transfers
             where to_store_id is not null and ship_date <= {a} and (receive_date > {a} or receive_date is null)
             group by all
        )
        select coalesce(m.location_id, t.location_id) as location_id, coalesce(m.sku_id, t.sku_id) as sku_id,
               cast(coalesce(m.on_hand, 0) as bigint) as on_hand, cast(coalesce(t.in_transit, 0) as bigint) as in_transit
        from (select location_id, sku_id, sum(delta) as on_hand from moves group by all) m
        full join transit t on m.location_id = t.location_id and m.sku_id = t.sku_id""")
    floored = int((rows["on_hand"] < 0).sum())
    rows["on_hand"] = rows["on_hand"].clip(lower=0)
    rows["stock"] = rows["on_hand"] + rows["in_transit"]
    rows = rows[rows["stock"] > 0].reset_index(drop=True)
    rows.attrs["floored"] = floored
    return rows[["sku_id", "location_id", "on_hand", "in_transit", "stock"]]


def recent_sales(session, as_of: dt.date, days: int) -> pd.DataFrame:
    """``sku_id, store_id, units`` sold in the ``days`` up to and including ``as_of``."""
    return query(session, f"select sku_id, store_id, cast(sum(qty) as bigint) as units from core.sales "
                          f"where line_type = 'sale' and sale_date > date '{as_of}' - {int(days)} "
                          f"and sale_date <= date '{as_of}' group by all")


def sales_rate_forecast(session, as_of: dt.date, days: int = 28, horizon: int = 28) -> pd.DataFrame:
    """A forecast without a model: each SKU × store's daily sales rate over the last ``days``, flat for
    ``horizon`` days (NB shape 1). For tests and quick looks; the planner's own is ``marts.forecast``."""
    rate = recent_sales(session, as_of, days)
    rate = rate.assign(mean=rate.pop("units") / days)
    dates = pd.DataFrame({"date": pd.date_range(as_of + dt.timedelta(days=1), periods=horizon)})
    return rate.merge(dates, how="cross").assign(nb_size=1.0)


def horizon_forecast(session, as_of: dt.date, days: int) -> pd.DataFrame:
    """``sku_id, store_id, mean, nb_size``: ``marts.forecast`` of ``as_of`` summed over the next ``days``."""
    from workbench.forecasting.output import TABLE, as_of_dates

    if not session.table_exists(TABLE) or as_of not in as_of_dates(session):
        raise ValueError(f"no forecast for {as_of} in {TABLE}: run notebooks/forecast.ipynb in score mode "
                         f"for that as-of date first (wb forecast score --as-of {as_of})")
    rows = query(session, f"select sku_id, store_id, date, mean, nb_size from {TABLE} "
                           f"where as_of = date '{as_of}' and date <= date '{as_of}' + {int(days)}")
    return horizon_demand(rows)


def ticket_prices(session, products: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """``sale_date, sku_id, channel, price``: the last price change on or before each day, by channel."""
    changes = query(session, f"select skc_id, channel, effective_date, price from core.price_changes "
                              f"where effective_date <= date '{end}' order by effective_date")
    changes["effective_date"] = pd.to_datetime(changes["effective_date"]).astype("datetime64[ns]")
    days = pd.DataFrame({"sale_date": pd.date_range(start, end).astype("datetime64[ns]")})
    out = []
    for channel, group in changes.groupby("channel"):
        grid = days.merge(group[["skc_id"]].drop_duplicates(), how="cross").sort_values("sale_date")
        priced = pd.merge_asof(grid, group.sort_values("effective_date"), left_on="sale_date",
                               right_on="effective_date", by="skc_id").dropna(subset=["price"])
        out.append(priced.assign(channel=channel)[["sale_date", "skc_id", "channel", "price"]])
    prices = pd.concat(out).merge(products[["sku_id", "skc_id"]], on="skc_id")
    prices["sale_date"] = prices["sale_date"].dt.date
    return prices[["sale_date", "sku_id", "channel", "price"]]


def margins_at(session, as_of: dt.date, pairs: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` (``sku_id, location_id``) with ``margin``: the ticket price there on ``as_of`` less unit cost.

    Outlets sell at the outlet price where there is one. Unit cost is governed:
    plan as a user who may read ``core.products.unit_cost`` (e.g. ``u_pipeline``).
    """
    products = query(session, "select sku_id, skc_id, unit_cost from core.products")
    prices = ticket_prices(session, products, as_of, as_of).pivot_table(
        index="sku_id", columns="channel", values="price", aggfunc="first")
    channel = pairs["location_id"].map(stores.set_index("store_id")["store_type"]).eq("outlet")
    full = pairs["sku_id"].map(prices["full_price"]) if "full_price" in prices else pd.Series(float("nan"), index=pairs.index)
    outlet = pairs["sku_id"].map(prices["outlet"]) if "outlet" in prices else full
    price = full.where(~channel, outlet.fillna(full))
    return pairs.assign(margin=price - pairs["sku_id"].map(products.set_index("sku_id")["unit_cost"]))
