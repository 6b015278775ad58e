"""Model rows for the direct 28-day forecast, built as one ibis expression.

The model is *direct*: a row is (store, SKC, forecast origin, target day),
with what was known at the origin (recent demand rates, price) and what is
known about the target day in advance (calendar, planned promotions, the
product's age). One model serves every horizon ``h = 1..28`` (``h`` is a
feature), so a forecast never feeds on its own errors as a recursive one
does. Rolling rates count in-stock days only (see :mod:`panel`): a
stock-out lowers what was sold, not what was wanted.

Training takes several origins a week apart; scoring takes one, the as-of
date. The same code builds both, so the model sees at training time exactly
the features it will get in production.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.forecasting import panel
from workbench.forecasting.calendar import CALENDAR_COLUMNS, calendar_table

WINDOWS = (7, 14, 28, 56)  # days of history behind the rolling rates
LOOKBACK = max(WINDOWS)
LAST_YEAR = 364  # 52 weeks: the same weekday a year earlier

PRODUCT_ATTRIBUTES = (
    "brand", "category", "subcategory", "gender", "season_kind", "colour_family", "fabric", "thickness",
    "occasion", "price_band", "versatility", "full_price", "is_limited",
)
STORE_ATTRIBUTES = ("store_type", "grade", "region", "city_tier", "area_m2")
CATEGORICAL = (
    "brand", "category", "subcategory", "gender", "season_kind", "colour_family", "fabric", "thickness",
    "occasion", "price_band", "store_type", "grade", "region",
)
KEYS = ("store_id", "skc_id", "origin", "date")


@dataclass(frozen=True)
class FrameSpec:
    """Which origins and horizon a frame covers; ``train`` adds the target and drops censored days."""

    origins: tuple[dt.date, ...]
    horizon: int = 28
    train: bool = False
    last_target: dt.date | None = None  # training rows never look past this day
    sample_every: int = 1  # training: keep one horizon in this many per series and origin

    @property
    def first_day(self) -> dt.date:
        return min(self.origins) - dt.timedelta(days=LOOKBACK - 1)

    @property
    def last_day(self) -> dt.date:
        last = max(self.origins) + dt.timedelta(days=self.horizon)
        return min(last, self.last_target) if self.last_target else last


def origin_table(origins: Sequence[dt.date]) -> ir.Table:
    return ibis.memtable(pd.DataFrame({"origin": list(origins)}))


def recent_demand(daily: ir.Table, origins: ir.Table) -> ir.Table:
    """Per store × SKC × origin: demand rates over in-stock days of the last 7/14/28/56 days."""
    past = daily.join(origins, [daily.date <= origins.origin, daily.date > origins.origin - ibis.interval(days=LOOKBACK)])
    age = past.origin.delta(past.date, unit="day")  # 0 on the origin itself
    instock = past.avail_share > 0
    measures = {}
    for w in WINDOWS:
        inside = (age < w) & instock
        measures[f"units_{w}"] = ibis.ifelse(inside, past.units, 0.0).sum()
        measures[f"instock_days_{w}"] = ibis.ifelse(inside, 1, 0).sum()
    measures["units_last_day"] = ibis.ifelse(age == 0, past.units, 0.0).sum()
    measures["avail_at_origin"] = ibis.ifelse(age == 0, past.avail_share, None).max()
    measures["days_since_sale"] = ibis.ifelse(past.units > 0, age, None).min()
    measures["revenue_28"] = ibis.ifelse(age < 28, past.revenue, 0.0).sum()
    stats = past.group_by(["store_id", "skc_id", "origin"]).aggregate(**measures)
    rates = {f"rate_{w}": stats[f"units_{w}"] / stats[f"instock_days_{w}"].nullif(0) for w in WINDOWS}
    return stats.mutate(**rates)


def chain_demand(stats: ir.Table, products: ir.Table) -> tuple[ir.Table, ir.Table, ir.Table]:
    """Pooled rates that inform thin series: the SKC chain-wide, the store overall, category × store."""
    by_skc = stats.group_by(["skc_id", "origin"]).aggregate(
        skc_rate_7=stats.units_7.sum() / stats.instock_days_7.sum().nullif(0),
        skc_rate_28=stats.units_28.sum() / stats.instock_days_28.sum().nullif(0),
        skc_stores=(stats.units_28 > 0).sum(),
    )
    by_store = stats.group_by(["store_id", "origin"]).aggregate(store_units_28=stats.units_28.sum())
    with_cat = stats.join(products.select("skc_id", "category_id"), "skc_id")
    by_cat_store = with_cat.group_by(["store_id", "category_id", "origin"]).aggregate(
        cat_store_rate_28=with_cat.units_28.sum() / with_cat.instock_days_28.sum().nullif(0)
    )
    return by_skc, by_store, by_cat_store


def last_year_index(session, origins: ir.Table, products: ir.Table, spec: FrameSpec) -> tuple[ir.Table, ir.Table]:
    """Category seasonality from a year ago: the target day's sales over the origin's 28-day mean, a year earlier.

    Aligns to 364 days so weekdays match. Null when the warehouse holds no
    sales a year back (a tree model copes).
    """
    start = spec.first_day - dt.timedelta(days=LAST_YEAR + 28)
    end = spec.last_day - dt.timedelta(days=LAST_YEAR)
    sold = panel.sales_by_day(session, start, end)
    sold = sold.join(products.select("skc_id", "category_id"), "skc_id")
    cat_daily = sold.group_by(["category_id", "date"]).aggregate(units=sold.units.sum())
    base = cat_daily.join(
        origins,
        [cat_daily.date <= origins.origin - ibis.interval(days=LAST_YEAR),
         cat_daily.date > origins.origin - ibis.interval(days=LAST_YEAR + 28)],
    )
    base = base.group_by(["category_id", "origin"]).aggregate(ly_base=base.units.sum() / 28.0)
    return base, cat_daily.rename(ly_units="units", ly_date="date")


def product_attributes(session) -> ir.Table:
    """One row per SKC with the attributes the model uses and the lifecycle dates."""
    p = session.table("core.products")
    season_kind = ibis.cases((p.season == "BASIC", "BASIC"), (p.season.endswith("SS"), "SS"), else_="AW")
    skcs = p.group_by("skc_id").aggregate(
        **{a: p[a].first() for a in PRODUCT_ATTRIBUTES if a != "season_kind"},
        season_kind=season_kind.first(),
        launch_date=p.launch_date.min(),
        season_end_date=p.season_end_date.max(),
    )
    # Integer ids: joins on numbers are much cheaper than on strings over millions of rows.
    return skcs.mutate(
        brand_id=ibis.dense_rank().over(order_by=skcs.brand),
        category_id=ibis.dense_rank().over(order_by=skcs.category),
    )


def lifecycle_keys(products: ir.Table) -> ir.Table:
    """The numeric part of :func:`product_attributes` that the feature joins need."""
    return products.select("skc_id", "brand_id", "category_id", "launch_date", "season_end_date", "full_price")


def store_attributes(session) -> ir.Table:
    s = session.table("core.stores")
    return s.select(
        "store_id", *STORE_ATTRIBUTES,
        is_online=(s.store_type == "online").cast("int8"),
        is_outlet=(s.store_type == "outlet").cast("int8"),
    )


def planned_prices(session) -> ir.Table:
    """Price spells per SKC and channel: (skc_id, channel, price, valid_from, valid_to).

    The ticket price of a target day is the *planned* price, as in the M5
    competition, where the weeks' prices were given: markdowns and
    clearance dates are set in the season plan, not discovered afterwards.
    """
    prices = session.table("core.price_changes")
    following = prices.effective_date.lead().over(group_by=["skc_id", "channel"], order_by="effective_date")
    return prices.select(
        "skc_id", "channel", "price", valid_from=prices.effective_date,
        valid_to=following.fill_null(panel.OPEN_END) - ibis.interval(days=1),
    )


def price_on_day(session, rows: ir.Table, channel: str) -> ir.Table:
    """(skc_id, date, ``{channel}_price``) for the distinct SKC × day pairs of ``rows``."""
    spells = planned_prices(session)
    spells = spells.filter(spells.channel == channel)
    days = rows.select("skc_id", "date").distinct()
    hit = days.join(spells, [days.skc_id == spells.skc_id, days.date >= spells.valid_from, days.date <= spells.valid_to])
    return hit.select(days.skc_id, days.date, **{f"{channel}_price": hit.price})


def promotion_by_day(session, days: ir.Table, products: ir.Table) -> ir.Table:
    """Deepest promotion discount per day × brand × category × online flag (planned, so known ahead)."""
    promos = session.table("core.promotions")
    scopes = products.select("brand", "category", "brand_id", "category_id").distinct()
    grid = days.cross_join(scopes).cross_join(ibis.memtable(pd.DataFrame({"is_online": [0, 1]}, dtype="int8")))
    in_scope = (
        (promos.scope == "all")
        | ((promos.scope == "brand") & (promos.scope_value == grid.brand))
        | ((promos.scope == "category") & (promos.scope_value == grid.category))
    )
    channel = (promos.channels == "all") | ((promos.channels == "online") == (grid.is_online == 1))
    hit = grid.join(promos, [grid.date >= promos.start_date, grid.date <= promos.end_date, in_scope, channel])
    return hit.group_by(["date", "brand_id", "category_id", "is_online"]).aggregate(promo_discount=hit.discount_pct.max())


def target_days(daily: ir.Table, origins: ir.Table, spec: FrameSpec) -> ir.Table:
    """The (store, SKC, origin, day) rows to predict: ranged days 1..horizon after each origin."""
    rows = daily.join(
        origins, [daily.date > origins.origin, daily.date <= origins.origin + ibis.interval(days=spec.horizon)]
    )
    if spec.last_target:
        rows = rows.filter(rows.date <= spec.last_target)
    if spec.train:
        rows = rows.filter(rows.avail_share > 0)  # masked: no stock at all says nothing about demand
    if spec.sample_every > 1:
        # Neighbouring horizons of one origin share every origin feature: a spread-out
        # subset carries nearly all of the information at a fraction of the rows.
        origin_day = rows.origin.delta(ibis.date(2000, 1, 1), unit="day")
        spread = rows.store_id * 31 + rows.skc_id * 17 + origin_day + rows.date.delta(rows.origin, unit="day")
        rows = rows.filter(spread % spec.sample_every == 0)
    columns = ["store_id", "skc_id", "origin", "date", "avail_share"] + (["units"] if spec.train else [])
    rows = rows.select(*columns, h=rows.date.delta(rows.origin, unit="day"))
    if not spec.train:
        rows = rows.mutate(avail_share=ibis.literal(1.0))  # forecast demand, as if every size were in stock
    return rows


def model_frame(session, spec: FrameSpec) -> ir.Table:
    """Every feature for every target row of ``spec``, as one expression."""
    origins = origin_table(spec.origins)
    # Cached (a temporary table in the engine): several parts below read them.
    daily = panel.skc_store_daily(session, spec.first_day, spec.last_day).cache()
    products = product_attributes(session)
    stores = store_attributes(session)
    stats = recent_demand(daily, origins).cache()
    by_skc, by_store, by_cat_store = chain_demand(stats, products)
    ly_base, ly_daily = last_year_index(session, origins, products, spec)
    promos = promotion_by_day(session, panel.day_grid(min(spec.origins), spec.last_day), products)
    calendar = calendar_table(min(spec.origins), spec.last_day)

    rows = target_days(daily, origins, spec)
    rows = rows.join(lifecycle_keys(products), "skc_id").join(stores.select("store_id", "is_online", "is_outlet"), "store_id")
    rows = rows.mutate(ly_date=rows.date - ibis.interval(days=LAST_YEAR))
    for table, keys in (
        (stats, ["store_id", "skc_id", "origin"]),
        (by_skc, ["skc_id", "origin"]),
        (by_store, ["store_id", "origin"]),
        (by_cat_store, ["store_id", "category_id", "origin"]),
        (ly_base, ["category_id", "origin"]),
        (ly_daily, ["category_id", "ly_date"]),
        (price_on_day(session, rows, "full_price"), ["skc_id", "date"]),
        (price_on_day(session, rows, "outlet"), ["skc_id", "date"]),
        (promos, ["date", "brand_id", "category_id", "is_online"]),
        (calendar, ["date"]),
    ):
        rows = rows.left_join(table, keys).select(~ibis.selectors.endswith("_right"))
    price = ibis.ifelse(rows.is_outlet == 1, rows.outlet_price.fill_null(rows.full_price_price), rows.full_price_price)
    price = price.fill_null(rows.full_price)
    promo = rows.promo_discount.fill_null(0.0)
    return rows.mutate(
        price=price,
        discount_depth=1.0 - price / rows.full_price,
        promo_discount=promo,
        effective_discount=1.0 - price * (1.0 - promo) / rows.full_price,
        age_days=rows.date.delta(rows.launch_date, unit="day"),
        weeks_to_season_end=rows.season_end_date.delta(rows.date, unit="day") / 7.0,
        ly_index=rows.ly_units / rows.ly_base.nullif(0),
        rate_trend=rows.rate_7 / rows.rate_28.nullif(0),
        skc_share_of_store=rows.units_28 / rows.store_units_28.nullif(0),
    ).drop(
        "full_price_price", "outlet_price", "launch_date", "season_end_date", "ly_units", "ly_date",
        "brand_id", "category_id", "is_outlet",
    )


def load_frame(session, spec: FrameSpec) -> pd.DataFrame:
    """Run :func:`model_frame` in the engine and attach the product and store attributes.

    The attributes are small dimension tables; joining their strings in the
    engine would copy them onto millions of rows only to encode them again
    here, so they are looked up by key as pandas categoricals instead.
    """
    rows = model_frame(session, spec).to_pyarrow().to_pandas()
    for column in ("origin", "date"):
        rows[column] = pd.to_datetime(rows[column])
    # Engines return rows in any order, and LightGBM's result depends on it: fix it.
    rows = rows.sort_values(list(KEYS), kind="stable", ignore_index=True)
    floats = rows.select_dtypes("float64").columns
    rows[floats] = rows[floats].astype("float32")
    products = product_attributes(session).drop("brand_id", "category_id", "launch_date", "season_end_date", "full_price")
    stores = store_attributes(session).drop("is_online", "is_outlet")
    for table, key in ((products.to_pandas(), "skc_id"), (stores.to_pandas(), "store_id")):
        table = table.set_index(key)
        at = table.index.get_indexer(rows[key])
        for column in table.columns:
            values = table[column].iloc[at].to_numpy()
            rows[column] = pd.Categorical(values) if column in CATEGORICAL else values
    return rows


FEATURES = (
    "h", "avail_share",
    *(f"rate_{w}" for w in WINDOWS), *(f"units_{w}" for w in WINDOWS), *(f"instock_days_{w}" for w in WINDOWS),
    "units_last_day", "avail_at_origin", "days_since_sale", "rate_trend", "skc_share_of_store",
    "skc_rate_7", "skc_rate_28", "skc_stores", "store_units_28", "cat_store_rate_28", "ly_base", "ly_index",
    *PRODUCT_ATTRIBUTES, *STORE_ATTRIBUTES, "is_online",
    "price", "discount_depth", "promo_discount", "effective_discount", "age_days", "weeks_to_season_end",
    *CALENDAR_COLUMNS,
)
