"""The business's allocation rules (补货规则), each a pure function from tables to moves.

Each rule is a baseline policy of its own (the benchmark replays it). It can
also be a rule inside the optimiser, as the stores it allows to receive and
the order it serves them in. A rule returns moves
``origin, dest, sku_id, units, reason``.

- :func:`sell_one_replenish_one` (卖一补一): the DC sends back what each
  store sold since the last cycle.
- :func:`proportional_to_sales`: the SKU's stock is spread over the stores
  in proportion to their recent sales, and the DC fills the gaps.
- :func:`size_break_replenishment` (断码补货): only the core sizes missing
  from a style on display, one display quantity each.
- :func:`slow_stock_swap` (单店滞销换店): a size that did not sell at a store
  goes, above its display quantity, to the store of the same region that
  sells the style best.

When the DC is short, :func:`ration` serves stores by grade (A before B
before C), then by the larger need. That is the "priority by store grade"
rule, and every rule above uses it. Given a :func:`cumulative_sales_ranking`
(累计销量排名), it serves the style's best sellers first within a grade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ration", "cumulative_sales_ranking", "sell_one_replenish_one", "proportional_to_sales", "size_break_replenishment", "slow_stock_swap"]

MOVE_COLUMNS = ["origin", "dest", "sku_id", "units", "reason"]
GRADE_ORDER = {"A": 0, "B": 1, "C": 2}


def ration(wants: pd.DataFrame, supply: pd.DataFrame, grades: pd.DataFrame | None = None,
           ranking: pd.DataFrame | None = None) -> pd.Series:
    """Units each want gets from ``supply`` (``sku_id, units``): by grade, then ranking, then the larger want.

    ``wants`` has ``sku_id, store_id, units``; the answer is aligned with it.
    ``ranking`` (``sku_id, store_id, rank``, 1 first) is e.g. :func:`cumulative_sales_ranking`.
    """
    frame = wants[["sku_id", "store_id", "units"]].copy()
    frame["_row"] = np.arange(len(frame))
    ranks = grades.set_index("store_id")["grade"].map(GRADE_ORDER) if grades is not None else pd.Series(dtype=float)
    frame["_grade"] = frame["store_id"].map(ranks).fillna(len(GRADE_ORDER))  # ungraded stores come last
    if ranking is not None:
        frame = frame.merge(ranking[["sku_id", "store_id", "rank"]], on=["sku_id", "store_id"], how="left")
    frame["_rank"] = frame["rank"].fillna(np.inf) if "rank" in frame else 0.0  # unranked stores come last
    frame = frame.sort_values(["sku_id", "_grade", "_rank", "units", "store_id"],
                              ascending=[True, True, True, False, True], kind="stable")
    have = frame["sku_id"].map(supply.set_index("sku_id")["units"]).fillna(0).to_numpy()
    before = frame.groupby("sku_id")["units"].cumsum().to_numpy() - frame["units"].to_numpy()
    given = np.clip(have - before, 0, frame["units"].to_numpy())
    return pd.Series(given, index=frame["_row"].to_numpy()).sort_index().set_axis(wants.index).astype(int)


def cumulative_sales_ranking(sales_to_date: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Each store's rank (1 = best) by cumulative sales of the style, for every size of it.

    ``sales_to_date``: ``sku_id, store_id, units`` since launch; ``products``: ``sku_id, skc_id``.
    """
    skus = products[["sku_id", "skc_id"]]
    style = sales_to_date.merge(skus, on="sku_id").groupby(["skc_id", "store_id"], as_index=False)["units"].sum()
    style["rank"] = style.groupby("skc_id")["units"].rank(method="first", ascending=False).astype(int)
    return style[["skc_id", "store_id", "rank"]].merge(skus, on="skc_id")[["sku_id", "store_id", "rank"]]


def _dc_moves(wants: pd.DataFrame, dc_stock: pd.DataFrame, dc_id: int, grades, reason: str) -> pd.DataFrame:
    wants = wants[wants["units"] > 0].reset_index(drop=True)
    units = ration(wants, dc_stock, grades)
    moves = pd.DataFrame({"origin": dc_id, "dest": wants["store_id"], "sku_id": wants["sku_id"], "units": units,
                          "reason": reason})
    return moves[moves["units"] > 0].reset_index(drop=True)[MOVE_COLUMNS]


def sell_one_replenish_one(sold: pd.DataFrame, dc_stock: pd.DataFrame, dc_id: int,
                           grades: pd.DataFrame | None = None) -> pd.DataFrame:
    """卖一补一: replace each store's sales since the last cycle (``sold``: ``sku_id, store_id, units``)."""
    wants = sold.groupby(["sku_id", "store_id"], as_index=False)["units"].sum()
    return _dc_moves(wants, dc_stock, dc_id, grades, "sell one, replenish one")


def proportional_to_sales(stock: pd.DataFrame, sales: pd.DataFrame, dc_stock: pd.DataFrame, dc_id: int,
                          grades: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spread each SKU's stock (stores' ``stock`` + the DC's) in proportion to recent ``sales``; the DC fills gaps.

    ``stock``: ``sku_id, store_id, on_hand``; ``sales``: ``sku_id, store_id, units``.
    """
    sales = sales.groupby(["sku_id", "store_id"], as_index=False)["units"].sum()
    sales = sales[sales["units"] > 0]
    rows = sales.merge(stock, on=["sku_id", "store_id"], how="left").fillna({"on_hand": 0})
    network = stock.groupby("sku_id")["on_hand"].sum().add(dc_stock.set_index("sku_id")["units"], fill_value=0)
    share = rows["units"] / rows.groupby("sku_id")["units"].transform("sum")
    target = np.floor(share * rows["sku_id"].map(network).fillna(0))
    wants = rows.assign(units=np.maximum(target - rows["on_hand"], 0).astype(int))
    return _dc_moves(wants, dc_stock, dc_id, grades, "share of stock in proportion to sales")


def size_break_replenishment(stock: pd.DataFrame, products: pd.DataFrame, dc_stock: pd.DataFrame, dc_id: int,
                             display_units: int = 1, grades: pd.DataFrame | None = None) -> pd.DataFrame:
    """断码补货: for each style on display at a store, send each missing core size its display quantity.

    ``stock``: ``sku_id, store_id, on_hand`` (every ranged size, zeros included);
    ``products``: ``sku_id, skc_id, is_core_size``. A style is on display when
    the store holds any of its sizes.
    """
    rows = stock.merge(products[["sku_id", "skc_id", "is_core_size"]], on="sku_id")
    shown = rows.groupby(["store_id", "skc_id"])["on_hand"].transform("sum") > 0
    broken = rows[shown & rows["is_core_size"] & (rows["on_hand"] <= 0)]
    wants = broken[["sku_id", "store_id"]].assign(units=display_units)
    return _dc_moves(wants, dc_stock, dc_id, grades, "core size missing on display (断码)")


def slow_stock_swap(stock: pd.DataFrame, sales: pd.DataFrame, products: pd.DataFrame, stores: pd.DataFrame,
                    keep: int = 1) -> pd.DataFrame:
    """单店滞销换店: units of a SKU that sold nothing at a store move to the region's best seller of its style.

    ``stock``: ``sku_id, store_id, on_hand``; ``sales``: ``sku_id, store_id, units``
    over the look-back (a week or two); ``products``: ``sku_id, skc_id``;
    ``stores``: ``store_id, region``. The donor keeps ``keep`` units on display.
    Ties between receivers go to the lower store id, so the plan is reproducible.
    """
    sold = sales.groupby(["sku_id", "store_id"], as_index=False)["units"].sum()
    rows = stock.merge(sold, on=["sku_id", "store_id"], how="left").fillna({"units": 0})
    rows = rows.merge(products[["sku_id", "skc_id"]], on="sku_id").merge(stores[["store_id", "region"]], on="store_id")
    donors = rows[(rows["units"] <= 0) & (rows["on_hand"] > keep)]
    style_sales = (sold.merge(products[["sku_id", "skc_id"]], on="sku_id")
                   .groupby(["skc_id", "store_id"], as_index=False)["units"].sum()
                   .merge(stores[["store_id", "region"]], on="store_id"))
    style_sales = style_sales[style_sales["units"] > 0]
    candidates = donors.merge(style_sales, on=["skc_id", "region"], suffixes=("", "_dest"))
    candidates = candidates[candidates["store_id_dest"] != candidates["store_id"]]
    best = (candidates.sort_values(["sku_id", "store_id", "units_dest", "store_id_dest"],
                                   ascending=[True, True, False, True], kind="stable")
            .drop_duplicates(["sku_id", "store_id"]))
    moves = pd.DataFrame({"origin": best["store_id"], "dest": best["store_id_dest"], "sku_id": best["sku_id"],
                          "units": (best["on_hand"] - keep).astype(int),
                          "reason": "no sale here; the style sells at the destination (单店滞销换店)"})
    return moves.reset_index(drop=True)[MOVE_COLUMNS]
