"""The business's rules inside the optimiser (``allocation.rules`` in workbench.yaml, or a notebook parameter).

Alone, each rule is a baseline policy (``strategies``). Inside the optimiser,
a rule narrows who may receive or give, or weighs what a unit is worth; the
optimiser still decides quantities, freight and the threshold:

- ``grade_priority``: a unit sold at an A store is worth more to the plan
  (``grade_weights``), so A stores are served first when the DC is short;
- ``sell_one_replenish_one`` (卖一补一): only positions that sold in the
  look-back may receive;
- ``size_break_only`` (断码补货): only a core size missing from a style on
  display may receive;
- ``slow_stock_only`` (单店滞销换店): only positions with no sale in the
  look-back may give to other stores;
- ``sales_ranking`` (累计销量排名): only the style's ``ranking_top`` best
  selling stores of the look-back may receive.

Under ``grade_priority`` the plan's objective and each move's expected margin
are in weighted CNY (a unit at an A store counts ``grade_weights["A"]`` times).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["RULES", "RuleContext", "check_rules", "weigh", "allowed_receivers", "allowed_donors"]

RULES = ("grade_priority", "sell_one_replenish_one", "size_break_only", "slow_stock_only", "sales_ranking")
NEEDS_SALES = {"sell_one_replenish_one", "slow_stock_only", "sales_ranking"}
NEEDS_PRODUCTS = {"size_break_only", "sales_ranking"}


@dataclass(frozen=True)
class RuleContext:
    """What the rules look at: recent ``sales`` (``sku_id, store_id, units``) and ``products``
    (``sku_id, skc_id, is_core_size``)."""

    sales: pd.DataFrame | None = None
    products: pd.DataFrame | None = None


def check_rules(rules: tuple[str, ...], context: RuleContext | None) -> None:
    """Known rule names, and the inputs they need."""
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ValueError(f"unknown allocation rule(s) {unknown}; use {', '.join(RULES)}")
    context = context or RuleContext()
    if set(rules) & NEEDS_SALES and context.sales is None:
        raise ValueError(f"rules {sorted(set(rules) & NEEDS_SALES)} need recent sales: pass RuleContext(sales=...)")
    if set(rules) & NEEDS_PRODUCTS and context.products is None:
        raise ValueError(f"rules {sorted(set(rules) & NEEDS_PRODUCTS)} need products: pass RuleContext(products=...)")


def weigh(shops: pd.DataFrame, rules, grades: pd.Series, weights: dict) -> pd.DataFrame:
    """Margins weighted by store grade under ``grade_priority`` (``grades``: grade by store id)."""
    if "grade_priority" not in rules:
        return shops
    default = weights.get("default", 1.0)
    factor = shops["location_id"].map(grades).map(lambda g: weights.get(g, default)).astype(float)
    return shops.assign(margin=shops["margin"] * factor)


def _sold(context: RuleContext) -> pd.DataFrame:
    sold = context.sales.groupby(["sku_id", "store_id"], as_index=False)["units"].sum()
    return sold[sold["units"] > 0].rename(columns={"store_id": "location_id"})


def allowed_receivers(receivers: pd.DataFrame, shops: pd.DataFrame, rules, context: RuleContext | None,
                      ranking_top: int) -> pd.DataFrame:
    """``receivers`` (``sku_id, location_id, ...``) that the rules let receive."""
    keys = ["sku_id", "location_id"]
    if "sell_one_replenish_one" in rules:
        receivers = receivers.merge(_sold(context)[keys], on=keys)
    if "size_break_only" in rules:
        rows = shops.merge(context.products[["sku_id", "skc_id", "is_core_size"]], on="sku_id")
        shown = rows.groupby(["location_id", "skc_id"])["stock"].transform("sum") > 0
        broken = rows[shown & rows["is_core_size"].fillna(False).astype(bool) & (rows["stock"] <= 0)]
        receivers = receivers.merge(broken[keys], on=keys)
    if "sales_ranking" in rules:
        style = _sold(context).merge(context.products[["sku_id", "skc_id"]], on="sku_id")
        style = style.groupby(["skc_id", "location_id"], as_index=False)["units"].sum()
        style["rank"] = style.groupby("skc_id")["units"].rank(method="first", ascending=False)
        top = style[style["rank"] <= ranking_top][["skc_id", "location_id"]]
        receivers = (receivers.merge(context.products[["sku_id", "skc_id"]], on="sku_id")
                     .merge(top, on=["skc_id", "location_id"]).drop(columns="skc_id"))
    return receivers


def allowed_donors(donors: pd.DataFrame, rules, context: RuleContext | None) -> pd.DataFrame:
    """``donors`` that the rules let give to other stores (``slow_stock_only``: no sale in the look-back)."""
    if "slow_stock_only" not in rules:
        return donors
    keys = ["sku_id", "location_id"]
    selling = donors.merge(_sold(context)[keys], on=keys, how="left", indicator=True)
    return donors[(selling["_merge"] == "left_only").to_numpy()]
