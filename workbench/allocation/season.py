"""A new season from the warehouse: 铺货 (initial allocation) and AI订货 (buy suggestions).

``initial.initial_allocation`` and ``buying.buy_suggestions`` are pure; this
module reads their inputs through a governed session and writes the 铺货 to
``marts.initial_allocation``.

New style-colours have no sales of their own, so both use an **analog
forecast**, not the demand model (``marts.forecast`` has no rows for a SKC
before its launch):

- **铺货** (:func:`season_allocation`): a store's demand for a new SKC over its
  first weeks is what the store sold, on average, of each SKC of the same
  category (and price band, where the store showed enough of them) in the
  first weeks after launch, among the SKCs launched in the past year. The
  negative binomial shape comes from how much those analogs scattered.
- **AI订货** (:func:`season_buy`): a planned SKC's season demand is what an
  analog SKC of the same category × price band sold over last year's same
  season.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.allocation import inputs, output
from workbench.allocation.buying import BuySettings, buy_suggestions, structure_check
from workbench.allocation.initial import InitialSettings, initial_allocation

__all__ = ["SeasonAllocation", "season_allocation", "season_buy", "DEFAULT_NB_SIZE"]

DEFAULT_NB_SIZE = 1.0  # NB shape when the analogs are too few to fit one: dispersed, like most new fashion
MIN_ANALOGS = 3  # analog SKCs a store must have shown in a category × price band before the band is used
MIN_DISPERSION_ROWS = 20  # analog rows needed to fit the NB shape of a category
NB_SIZE_RANGE = (0.2, 50.0)  # fitted shapes are kept in a sane range: a few analogs can mislead
SIZE_PRIOR_UNITS = 50.0  # units of pseudo-evidence for "this store buys sizes like the chain"
RANGING_DAYS = 90  # a store that sold the category in these days is ranged for its new SKCs
HISTORY_DAYS = 365  # analogs launched, and size mixes measured, over the past year
PO_GRACE_DAYS = 30  # a purchase order overdue by more than this with nothing received is taken as cancelled
RANGED_TYPES = ("own", "consignment")  # outlets get last season's goods; online is fed from the DC

SEASON_COLUMNS = ["store_id", "skc_id", "category", "price_band", "mean", "nb_size", "basis", "analogs"]
STRUCTURE_COLUMNS = ["category", "price_band", "buy_value", "buy_share", "reference_share", "gap", "flag", "note"]


def _d(day: dt.date) -> str:
    return f"date '{day}'"


def _products(session) -> pd.DataFrame:
    products = inputs.query(session, "select sku_id, skc_id, category, price_band, size_rank, is_core_size, launch_date, "
                               "season, season_year, full_price, unit_cost from core.products")
    products["launch_date"] = pd.to_datetime(products["launch_date"]).dt.date
    return products


# ---------------------------------------------------------------------------------------------------------- 铺货


@dataclass
class SeasonAllocation:
    """The 铺货 of the SKCs launching after ``as_of``: the moves and what they were made from."""

    as_of: dt.date
    moves: pd.DataFrame  # initial.initial_allocation's moves (DC → store, per SKU)
    buy: pd.DataFrame  # sku_id, skc_id, units (at the DC), margin, is_core_size, category, price_band, launch_date
    demand: pd.DataFrame  # SEASON_COLUMNS: each ranged store's analog demand per new SKC
    size_curves: pd.DataFrame  # store_id, skc_id, sku_id, size_share
    stores: pd.DataFrame  # store_id, grade, headroom
    settings: InitialSettings

    def describe(self) -> str:
        sent = int(self.moves["units"].sum()) if len(self.moves) else 0
        held = int(self.buy["units"].sum())
        shops = self.moves["dest"].nunique() if len(self.moves) else 0
        days = sorted(self.buy["launch_date"].unique())
        return (f"铺货 after the close of {self.as_of}: {self.buy['skc_id'].nunique()} new SKCs "
                f"({len(self.buy)} SKUs) launching {days[0]} to {days[-1]}, {held} units at the DC; "
                f"{sent} units to {shops} stores in {len(self.moves)} moves, the DC keeps {held - sent} "
                f"(reserve {self.settings.reserve_share:.0%} and units unlikely to sell)")

    def write(self, session) -> int:
        """Replace the 铺货 of ``as_of`` in ``marts.initial_allocation`` (rows start ``proposed``)."""
        return output.write_initial_allocation(session, self.moves, self.as_of)


def season_allocation(session, as_of, *, days_ahead: int = 14, weeks: int = 4,
                      settings: InitialSettings = InitialSettings(),
                      default_nb_size: float = DEFAULT_NB_SIZE) -> SeasonAllocation:
    """铺货 for the SKCs launching in (``as_of``, ``as_of + days_ahead``] that sit at the DC and in no shop yet.

    - **Buy**: the DC's units on hand of those SKUs (stock on its way to the
      DC cannot ship yet). A SKC that any shop already holds is not new.
    - **Ranging**: own stores and consignment counters that sold the
      category in the last 90 days.
    - **Demand** over the first ``weeks`` weeks: the analog forecast (module
      docstring); ``demand.basis`` says which average was used.
    - **Size curves**: the store's size mix (by ``size_rank``) of the
      category's sales over the past year, shrunk toward the chain's mix
      where the store sold little.
    - **Margin** full price − unit cost; **headroom** capacity − stock now.

    Plan as a user who may read ``core.products.unit_cost`` (e.g. ``u_pipeline``).
    """
    as_of = pd.Timestamp(as_of).date()
    if days_ahead < 1 or weeks < 1:
        raise ValueError("days_ahead and weeks must be 1 or more: the launch window and the weeks to cover")
    stores = inputs.planning_stores(session)
    dc_id = _dc(stores)
    products = _products(session)
    stock = inputs.stock_position(session, as_of)
    buy = _new_buy(products, stock, dc_id, as_of, days_ahead)
    ranged = _ranging(session, buy, stores, as_of)
    demand = _analog_demand(session, ranged, as_of, weeks, default_nb_size)
    curves = _size_curves(session, ranged, products[products["skc_id"].isin(buy["skc_id"])], as_of)
    shops = _headroom(stores, stock, dc_id, int(buy["units"].sum()))
    settings = dataclasses.replace(settings, dc_id=dc_id)  # the warehouse says which location is the DC
    moves = initial_allocation(buy, demand[["store_id", "skc_id", "mean", "nb_size"]], curves, shops, settings)
    return SeasonAllocation(as_of, moves, buy, demand, curves, shops, settings)


def _dc(stores: pd.DataFrame) -> int:
    dcs = stores.loc[stores["store_type"] == "dc", "store_id"]
    if len(dcs) != 1:
        raise ValueError(f"found {len(dcs)} DCs in core.stores: 铺货 spreads one DC's stock, give exactly one")
    return int(dcs.iloc[0])


def _new_buy(products: pd.DataFrame, stock: pd.DataFrame, dc_id: int, as_of: dt.date, days_ahead: int) -> pd.DataFrame:
    """The SKUs of the new SKCs with their units at the DC, margin and core-size flag."""
    end = as_of + dt.timedelta(days=days_ahead)
    launching = products[(products["launch_date"] > as_of) & (products["launch_date"] <= end)]
    if launching.empty:
        raise ValueError(f"no new SKUs launch between {as_of + dt.timedelta(days=1)} and {end}: widen days_ahead")
    # a SKC some shop already holds has had its 铺货 (or part of it): spreading more would be replenishment
    in_shops = stock.loc[(stock["location_id"] != dc_id) & (stock["stock"] > 0), "sku_id"]
    held = set(products.loc[products["sku_id"].isin(in_shops), "skc_id"])
    new = launching[~launching["skc_id"].isin(held)]
    at_dc = stock[stock["location_id"] == dc_id].set_index("sku_id")["on_hand"]
    buy = new.assign(units=new["sku_id"].map(at_dc).fillna(0).astype(int),
                     margin=new["full_price"] - new["unit_cost"],
                     is_core_size=new["is_core_size"].fillna(False).astype(bool))
    buy = buy[buy.groupby("skc_id")["units"].transform("sum") > 0]
    if buy.empty:
        raise ValueError(f"no DC stock for the {launching['skc_id'].nunique()} SKCs launching between "
                         f"{as_of + dt.timedelta(days=1)} and {end} that no shop holds: receive the buy at the DC "
                         "first (supplier receipts of core.purchase_orders), or pick an earlier as_of")
    return buy[["sku_id", "skc_id", "units", "margin", "is_core_size", "category", "price_band", "launch_date"]
               ].reset_index(drop=True)


def _ranging(session, buy: pd.DataFrame, stores: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """``store_id, skc_id, category, price_band``: own stores and counters that sold the category lately."""
    types = ", ".join(f"'{t}'" for t in RANGED_TYPES)
    sold = inputs.query(session, f"""
        select distinct s.store_id, p.category from core.sales s
          join core.products p using (sku_id) join core.stores st on st.store_id = s.store_id
         where st.store_type in ({types}) and s.line_type = 'sale'
           and s.sale_date > {_d(as_of)} - {RANGING_DAYS} and s.sale_date <= {_d(as_of)}""")
    sold = sold[sold["store_id"].isin(stores["store_id"])]
    skcs = buy[["skc_id", "category", "price_band"]].drop_duplicates()
    ranged = sold.merge(skcs, on="category")
    if ranged.empty:
        raise ValueError(f"no own store or counter sold {sorted(skcs['category'].unique())} in the {RANGING_DAYS} "
                         f"days to {as_of}: nobody is ranged for the new SKCs")
    return ranged[["store_id", "skc_id", "category", "price_band"]]


def _analogs(session, as_of: dt.date, weeks: int) -> pd.DataFrame:
    """``store_id, skc_id, category, price_band, units``: each analog's first-weeks sales at each store showing it.

    Analogs are the SKCs launched in the past year whose first ``weeks``
    weeks are over by ``as_of``. A store showed one if it received it or sold
    it in those weeks; a store that showed it and sold none counts as 0.
    """
    days = 7 * weeks
    types = ", ".join(f"'{t}'" for t in RANGED_TYPES)  # the stores 铺货 serves: outlets and online sell differently
    return inputs.query(session, f"""
        with analog as (
            select skc_id, any_value(category) as category, any_value(price_band) as price_band,
                   min(launch_date) as launch_date
              from core.products group by skc_id
            having min(launch_date) > {_d(as_of)} - {HISTORY_DAYS} and min(launch_date) + {days} <= {_d(as_of)} + 1
        ), skus as (
            select p.sku_id, a.* from core.products p join analog a using (skc_id)
        ), sold as (
            select s.store_id, k.skc_id, sum(s.qty) as units from core.sales s join skus k using (sku_id)
             where s.line_type = 'sale' and s.sale_date >= k.launch_date and s.sale_date < k.launch_date + {days}
             group by all
        ), shown as (
            select t.to_store_id as store_id, k.skc_id from core.transfers t join skus k using (sku_id)
             where t.to_store_id is not null and t.receive_date < k.launch_date + {days}
            union
            select store_id, skc_id from sold
        )
        select w.store_id, w.skc_id, a.category, a.price_band, cast(coalesce(s.units, 0) as double) as units
          from shown w join analog a using (skc_id) left join sold s using (store_id, skc_id)
          join core.stores st on st.store_id = w.store_id
         where st.store_type in ({types})""")


def _analog_demand(session, ranged: pd.DataFrame, as_of: dt.date, weeks: int, default_nb_size: float) -> pd.DataFrame:
    """Each ranged store × new SKC: the mean of its analogs' first-weeks sales, and the category's NB shape."""
    analogs = _analogs(session, as_of, weeks)
    band = _averages(analogs, ["store_id", "category", "price_band"])
    cat = _averages(analogs, ["store_id", "category"])
    chain = _averages(analogs, ["category"])
    rows = (ranged.merge(band, on=["store_id", "category", "price_band"], how="left")
            .merge(cat, on=["store_id", "category"], how="left", suffixes=("", "_cat"))
            .merge(chain, on="category", how="left", suffixes=("", "_chain")))
    # the finest average with enough evidence: the store's price band, the store's category, the chain's category
    use_band = rows["analogs"].fillna(0) >= MIN_ANALOGS
    use_cat = ~use_band & (rows["analogs_cat"].fillna(0) > 0)
    use_chain = ~use_band & ~use_cat & (rows["analogs_chain"].fillna(0) > 0)
    rows["mean"] = np.select([use_band, use_cat, use_chain], [rows["mean"], rows["mean_cat"], rows["mean_chain"]], 0.0)
    rows["analogs"] = np.select([use_band, use_cat, use_chain],
                                [rows["analogs"], rows["analogs_cat"], rows["analogs_chain"]], 0).astype(int)
    rows["basis"] = np.select([use_band, use_cat, use_chain],
                              ["store × category × price band", "store × category", "chain × category"],
                              "no analog: display run only")
    shapes = _nb_sizes(analogs, default_nb_size)
    rows["nb_size"] = rows["category"].map(shapes).fillna(default_nb_size)
    return rows[SEASON_COLUMNS].sort_values(["store_id", "skc_id"]).reset_index(drop=True)


def _averages(analogs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return analogs.groupby(by, as_index=False).agg(mean=("units", "mean"), analogs=("skc_id", "nunique"))


def _nb_sizes(analogs: pd.DataFrame, default: float) -> dict:
    """NB shape per category by moments: Var = μ + μ²/k around each store's category mean, pooled."""
    rows = analogs.assign(mu=analogs.groupby(["store_id", "category"])["units"].transform("mean"))
    shapes = {}
    for category, group in rows.groupby("category"):
        excess = ((group["units"] - group["mu"]) ** 2 - group["mu"]).sum()  # variance beyond Poisson
        if len(group) < MIN_DISPERSION_ROWS or excess <= 0:
            shapes[category] = default  # too few analogs, or no sign of overdispersion to measure
        else:
            shapes[category] = float(np.clip((group["mu"] ** 2).sum() / excess, *NB_SIZE_RANGE))
    return shapes


def _size_curves(session, ranged: pd.DataFrame, skus: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """``store_id, skc_id, sku_id, size_share``: the store's category size mix on the new SKC's sizes."""
    mix = _size_mix(session, as_of)
    chain = mix.groupby(["category", "size_rank"], as_index=False)["units"].sum().rename(columns={"units": "chain"})
    rows = ranged[["store_id", "skc_id"]].merge(skus[["skc_id", "sku_id", "category", "size_rank"]], on="skc_id")
    rows = rows.merge(chain, on=["category", "size_rank"], how="left").merge(
        mix, on=["store_id", "category", "size_rank"], how="left")
    # +1 unit: a size the chain never sold in this category still gets a sliver instead of nothing
    chain_units = rows["chain"].fillna(0) + 1.0
    chain_share = chain_units / chain_units.groupby([rows["store_id"], rows["skc_id"]]).transform("sum")
    local = rows["units"].fillna(0)
    local_total = local.groupby([rows["store_id"], rows["skc_id"]]).transform("sum")
    # shrink toward the chain: a store with few sales of the category buys sizes like the chain
    rows["size_share"] = (local + SIZE_PRIOR_UNITS * chain_share) / (local_total + SIZE_PRIOR_UNITS)
    return rows[["store_id", "skc_id", "sku_id", "size_share"]]


def _size_mix(session, as_of: dt.date) -> pd.DataFrame:
    """``store_id, category, size_rank, units``: sales by size position over the past year."""
    return inputs.query(session, f"""
        select s.store_id, p.category, p.size_rank, cast(sum(s.qty) as double) as units
          from core.sales s join core.products p using (sku_id)
         where s.line_type = 'sale' and s.sale_date > {_d(as_of)} - {HISTORY_DAYS} and s.sale_date <= {_d(as_of)}
         group by all""")


def _headroom(stores: pd.DataFrame, stock: pd.DataFrame, dc_id: int, buy_units: int) -> pd.DataFrame:
    """``store_id, grade, headroom``: capacity less the stock there now (in transit included), 0 or more."""
    shops = stores[stores["store_id"] != dc_id]
    held = stock.groupby("location_id")["stock"].sum()
    # no capacity on record: the store can take the whole buy rather than nothing
    capacity = shops["capacity_units"].astype(float).fillna(float(buy_units))
    headroom = (capacity - shops["store_id"].map(held).fillna(0)).clip(lower=0).astype(int)
    grade = shops["grade"].where(shops["grade"].notna(), None)
    return pd.DataFrame({"store_id": shops["store_id"].to_numpy(), "grade": grade.to_numpy(),
                         "headroom": headroom.to_numpy()})


# ---------------------------------------------------------------------------------------------------------- AI订货


def season_buy(session, season: str, season_year: int, as_of, *, settings: BuySettings = BuySettings(),
               reference: str = "last_year", tolerance: float = 0.05,
               default_nb_size: float = DEFAULT_NB_SIZE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AI订货 for a planned season: ``(suggestions, structure)`` from ``buying``.

    An **analog forecast, not the demand model**: each SKC planned for the
    season (``core.products`` with that ``season``, e.g. ``2026SS`` or ``SS``
    with ``season_year`` 2026) is expected to sell what an SKC of the same
    category × price band sold, on average, over the ``reference`` season (a
    group with fewer than 3 such SKCs uses its category, then the whole
    season). The group's buy is that average times the SKCs planned in it.
    The NB shape is fitted from how much the reference SKCs scattered around
    their group's mean, per category (``default_nb_size`` where there are too
    few). Sales count up to ``as_of`` only.

    - ``reference``: ``"last_year"`` (the same season a year earlier, e.g.
      2025SS for 2026SS) or a season code in ``core.products``.
    - Owned stock: DC and shop stock after ``as_of`` (in transit included)
      plus open purchase orders: ordered by ``as_of``, less what the supplier
      has shipped; a line more than 30 days overdue with nothing shipped is
      taken as cancelled.
    - ``structure``: ``buying.structure_check`` against the reference
      season's sales by category × price band, valued at full price like the
      buy. Empty when the suggestions order nothing.
    """
    as_of = pd.Timestamp(as_of).date()
    products = _products(session)
    code = _season_code(products, season, season_year)
    ref_code = _reference_code(products, code, season_year, reference)
    planned = products[products["season"] == code]
    ref = _reference_sales(session, products[products["season"] == ref_code], ref_code, as_of)
    demand = _season_demand(planned, ref, default_nb_size)
    stock = _owned(session, as_of, planned["sku_id"])
    frame = planned.assign(size_share=_chain_size_share(session, planned, as_of))
    suggestions = buy_suggestions(demand, stock, frame, settings)
    if suggestions["order_units"].sum() <= 0:
        return suggestions, pd.DataFrame(columns=STRUCTURE_COLUMNS)  # nothing to buy, no structure to check
    value = ref.assign(value=ref["units"] * ref["full_price"])[["category", "price_band", "value"]]
    return suggestions, structure_check(suggestions, frame, value, tolerance)


def _season_code(products: pd.DataFrame, season: str, season_year: int) -> str:
    code = season if str(season).startswith(str(season_year)) else f"{season_year}{season}"
    if not ((products["season"] == code) & (products["season_year"] == season_year)).any():
        known = sorted(products["season"].dropna().unique())
        raise ValueError(f"no SKCs planned for season {code} ({season_year}) in core.products: load the range "
                         f"plan first; seasons known: {', '.join(known)}")
    return code


def _reference_code(products: pd.DataFrame, code: str, season_year: int, reference: str) -> str:
    ref = f"{season_year - 1}{code[len(str(season_year)):]}" if reference == "last_year" else reference
    if not (products["season"] == ref).any():
        raise ValueError(f"no SKCs of the reference season {ref} in core.products: pass reference='last_year' "
                         "or a season code with sales, e.g. '2025SS'")
    return ref


def _reference_sales(session, ref_products: pd.DataFrame, ref_code: str, as_of: dt.date) -> pd.DataFrame:
    """``skc_id, category, price_band, full_price, units``: each reference SKC's sales up to ``as_of`` (0 if none)."""
    units = inputs.query(session, f"""
        select s.skc_id, cast(sum(s.qty) as double) as units from core.sales s join core.products p using (sku_id)
         where p.season = '{ref_code}' and s.line_type = 'sale' and s.sale_date <= {_d(as_of)} group by all""")
    skcs = ref_products.groupby("skc_id", as_index=False).agg(
        category=("category", "first"), price_band=("price_band", "first"), full_price=("full_price", "mean"))
    skcs["units"] = skcs["skc_id"].map(units.set_index("skc_id")["units"]).fillna(0.0)
    if skcs["units"].sum() <= 0:
        raise ValueError(f"no sales of season {ref_code} on or before {as_of}: pick a later as_of or another "
                         "reference season")
    return skcs


def _season_demand(planned: pd.DataFrame, ref: pd.DataFrame, default_nb_size: float) -> pd.DataFrame:
    """``skc_id, mean, nb_size``: each planned SKC sells what an analog of its group sold."""
    skcs = planned.groupby("skc_id", as_index=False).agg(category=("category", "first"),
                                                         price_band=("price_band", "first"))
    band = ref.groupby(["category", "price_band"])["units"].agg(["mean", "size"])
    cat = ref.groupby("category")["units"].agg(["mean", "size"])
    keys = list(zip(skcs["category"], skcs["price_band"]))
    n_band = pd.Series([band["size"].get(k, 0) for k in keys], index=skcs.index)
    mean_band = pd.Series([band["mean"].get(k, np.nan) for k in keys], index=skcs.index)
    mean_cat = skcs["category"].map(cat["mean"])
    # a thin price band borrows its category's average, an unseen category the whole season's
    mean = mean_band.where(n_band >= MIN_ANALOGS, mean_cat).fillna(ref["units"].mean())
    shapes = _season_nb_sizes(ref, default_nb_size)
    return pd.DataFrame({"skc_id": skcs["skc_id"], "mean": mean.to_numpy(float),
                         "nb_size": skcs["category"].map(shapes).fillna(default_nb_size).to_numpy(float)})


def _season_nb_sizes(ref: pd.DataFrame, default: float) -> dict:
    rows = ref.assign(mu=ref.groupby(["category", "price_band"])["units"].transform("mean"))
    shapes = {}
    for category, group in rows.groupby("category"):
        excess = ((group["units"] - group["mu"]) ** 2 - group["mu"]).sum()
        # season totals per SKC are few (a handful per category): fit only with some, else the default
        if len(group) < MIN_ANALOGS or excess <= 0:
            shapes[category] = default
        else:
            shapes[category] = float(np.clip((group["mu"] ** 2).sum() / excess, *NB_SIZE_RANGE))
    return shapes


def _owned(session, as_of: dt.date, skus: pd.Series) -> pd.DataFrame:
    """``sku_id, on_hand, on_order``: stock everywhere plus open purchase orders, for the planned SKUs."""
    stock = inputs.stock_position(session, as_of)
    on_hand = stock[stock["sku_id"].isin(skus)].groupby("sku_id", as_index=False)["stock"].sum()
    # shipped receipts are already in the stock position (on hand or in transit to the DC)
    orders = inputs.query(session, f"""
        with shipped as (
            select po_id, sum(qty) as units from core.transfers
             where movement_type = 'supplier_receipt' and ship_date <= {_d(as_of)} group by all)
        select o.sku_id, cast(sum(greatest(o.qty_ordered - coalesce(r.units, 0), 0)) as bigint) as on_order
          from core.purchase_orders o left join shipped r using (po_id)
         where o.order_date <= {_d(as_of)}
           and (o.due_date >= {_d(as_of)} - {PO_GRACE_DAYS} or r.units is not null)
         group by all""")
    orders = orders[orders["sku_id"].isin(skus)]
    owned = pd.DataFrame({"sku_id": pd.Series(skus).unique()})
    owned["on_hand"] = owned["sku_id"].map(on_hand.set_index("sku_id")["stock"]).fillna(0).astype(int)
    owned["on_order"] = owned["sku_id"].map(orders.set_index("sku_id")["on_order"]).fillna(0).astype(int)
    return owned


def _chain_size_share(session, planned: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Each planned SKU's share of its SKC: the chain's category size mix by ``size_rank`` over the past year."""
    mix = _size_mix(session, as_of).groupby(["category", "size_rank"])["units"].sum()
    keys = list(zip(planned["category"], planned["size_rank"]))
    # +1 unit: a size position the chain never sold still gets a sliver
    units = pd.Series([mix.get(k, 0.0) + 1.0 for k in keys], index=planned.index)
    return units / units.groupby(planned["skc_id"]).transform("sum")
