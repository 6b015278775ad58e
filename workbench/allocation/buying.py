"""Buy suggestions (AI订货): how many units of each SKC and size to order for the season.

Pure: tables in, tables out.

- :func:`buy_suggestions` is a newsvendor per SKC. A unit short loses its
  margin (``full_price − unit_cost``). A unit left over loses its cost less
  what markdowns and the outlets recover (``salvage_rate × full_price``). The
  best order covers the season's demand with probability equal to the
  critical ratio ``margin / (margin + cost − salvage)``. That is the NB
  quantile at that ratio, the smallest q with P(D <= q) >= ratio. The SKC's
  quantity is split to sizes by the chain's size curve (largest remainder,
  so the sizes add up). Stock the chain already owns (on hand + on order) is
  subtracted, never below 0, and the order is rounded to whole case packs.
  The quantile is taken per SKC rather than per size because the SKC's
  demand is better known, and summing per-size quantiles would overbuy when
  the ratio is above one half.
- :func:`structure_check` compares the buy's mix by category and price band
  with a reference (last season's sales, or the sales plan) and flags the
  groups outside a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["BuySettings", "buy_suggestions", "structure_check"]

DEMAND_COLUMNS = ("skc_id", "mean", "nb_size")
STOCK_COLUMNS = ("sku_id", "on_hand", "on_order")
PRODUCT_COLUMNS = ("sku_id", "skc_id", "full_price", "unit_cost", "size_share")
SUGGESTION_COLUMNS = ["skc_id", "sku_id", "critical_ratio", "skc_mean", "skc_nb_size", "skc_target", "size_share",
                      "target_units", "owned_units", "case_pack", "order_units", "order_value", "order_cost", "reason"]


@dataclass(frozen=True)
class BuySettings:
    # share of full price a unit left at season end recovers (clearance, outlets), net of handling; with unit
    # costs near 30 % of full price, 0.15 gives a critical ratio near 0.8, and 0.25 would give about 0.95
    salvage_rate: float = 0.15
    case_pack: int | None = None  # units per carton for every SKU; a products.case_pack column overrides it


def _columns(frame: pd.DataFrame, columns, name: str, hint: str) -> None:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"{name} lacks the columns {sorted(missing)}: {hint}")


def buy_suggestions(demand: pd.DataFrame, stock: pd.DataFrame, products: pd.DataFrame,
                    settings: BuySettings = BuySettings()) -> pd.DataFrame:
    """AI订货: the suggested order per SKC and size, one row per SKU of each SKC in ``demand``.

    - ``demand``: ``skc_id, mean, nb_size``, the season's demand. Several rows
      per SKC (e.g. one per store) are summed by moment matching, as in
      ``expected_sales.horizon_demand``.
    - ``stock``: ``sku_id, on_hand, on_order``, what the chain already owns
      (any number of rows per SKU: stores, DC, open purchase orders).
    - ``products``: ``sku_id, skc_id, full_price, unit_cost, size_share``
      (the chain's size curve, e.g. ``forecasting.sizes.chain_size_curve``'s
      ``chain_share``, summing to 1 per SKC), optionally ``case_pack``.

    Returns ``skc_id, sku_id, critical_ratio, skc_mean, skc_nb_size,
    skc_target`` (the SKC's newsvendor quantity), ``size_share,
    target_units`` (its size's part), ``owned_units, case_pack,
    order_units`` (the suggestion), ``order_value`` (at full price),
    ``order_cost``, and ``reason``.
    """
    _validate(demand, stock, products, settings)
    skcs = _skc_targets(_season_demand(demand), products, settings.salvage_rate)
    rows = products[products["skc_id"].isin(skcs["skc_id"])].merge(skcs, on="skc_id")
    rows = rows.sort_values(["skc_id", "sku_id"], kind="stable").reset_index(drop=True)
    rows["target_units"] = _split(rows)
    rows["owned_units"] = rows["sku_id"].map(_owned(stock)).fillna(0).astype(int)
    rows["case_pack"] = _case_packs(rows, settings.case_pack)
    rows["order_units"] = _round_to_packs(np.maximum(rows["target_units"] - rows["owned_units"], 0), rows["case_pack"])
    rows["order_value"] = rows["order_units"] * rows["full_price"]
    rows["order_cost"] = rows["order_units"] * rows["unit_cost"]
    rows["reason"] = [_reason(*r) for r in zip(rows["critical_ratio"], rows["skc_target"], rows["size_share"],
                                               rows["target_units"], rows["owned_units"], rows["case_pack"],
                                               rows["order_units"])]
    return rows[SUGGESTION_COLUMNS]


def _validate(demand, stock, products, settings: BuySettings) -> None:
    _columns(demand, DEMAND_COLUMNS, "demand", "the season's demand per SKC (mean, NB shape; inf for Poisson)")
    _columns(stock, STOCK_COLUMNS, "stock", "units owned per SKU: on hand and on order (0 where none)")
    _columns(products, PRODUCT_COLUMNS, "products", "core.products with the chain's size curve as size_share")
    if (demand["mean"] < 0).any() or (demand["nb_size"] <= 0).any():
        raise ValueError("demand needs mean >= 0 and nb_size > 0 (inf for Poisson)")
    if (stock[["on_hand", "on_order"]] < 0).any().any():
        raise ValueError("negative on_hand or on_order in stock: fix the stock position before buying")
    if not 0 <= settings.salvage_rate < 1:
        raise ValueError(f"salvage_rate {settings.salvage_rate} must be in [0, 1): the share of full price recovered")
    if settings.case_pack is not None and settings.case_pack < 1:
        raise ValueError("case_pack must be 1 or more units per carton (None for no rounding)")
    if "case_pack" in products and (products["case_pack"] < 1).any():
        raise ValueError("products.case_pack must be 1 or more units per carton (empty for the default)")
    if (products["size_share"] < 0).any():
        raise ValueError("negative size_share: the chain's size curve gives each size a share of 0 or more")
    sums = products.groupby("skc_id")["size_share"].sum()
    off = sums[(sums - 1).abs() > 1e-6]
    if len(off):
        raise ValueError(f"the size curve of SKC {off.index[0]} sums to {off.iloc[0]:.4f}, not 1: "
                         "normalise size_share per SKC")
    unknown = set(demand["skc_id"]) - set(products["skc_id"])
    if unknown:
        raise ValueError(f"demand names SKCs {sorted(unknown)[:3]} missing from products: add their SKUs and prices")


def _season_demand(demand: pd.DataFrame) -> pd.DataFrame:
    """One NB per SKC, moment-matched: mean Σμ, k = (Σμ)² / Σ μ²/k (Poisson rows add no extra)."""
    extra = np.where(np.isfinite(demand["nb_size"]), demand["mean"] ** 2 / demand["nb_size"], 0.0)
    sums = (demand.assign(_extra=extra).groupby("skc_id", as_index=False)
            .agg(mean=("mean", "sum"), _extra=("_extra", "sum")))
    with np.errstate(divide="ignore"):
        sums["nb_size"] = np.where(sums["_extra"] > 0, sums["mean"] ** 2 / sums["_extra"], np.inf)
    return sums.drop(columns="_extra")


def _skc_targets(season: pd.DataFrame, products: pd.DataFrame, salvage_rate: float) -> pd.DataFrame:
    """Per SKC: the critical ratio from its prices and the NB quantile at it."""
    prices = products.groupby("skc_id", as_index=False)[["full_price", "unit_cost"]].mean()
    skcs = season.merge(prices, on="skc_id")
    under = skcs["full_price"] - skcs["unit_cost"]  # a sale missed loses the margin
    over = skcs["unit_cost"] - salvage_rate * skcs["full_price"]  # a unit left over loses its cost less salvage
    if (under <= 0).any():
        raise ValueError(f"SKC {skcs.loc[under <= 0, 'skc_id'].iloc[0]} sells at or below its unit cost: "
                         "there is no margin to buy for; check full_price and unit_cost")
    if (over <= 0).any():
        raise ValueError(f"the salvage of SKC {skcs.loc[over <= 0, 'skc_id'].iloc[0]} recovers its whole cost, so "
                         "the newsvendor would buy without limit: lower salvage_rate below unit_cost / full_price")
    skcs["critical_ratio"] = under / (under + over)
    skcs["skc_target"] = _quantile(skcs["mean"].to_numpy(), skcs["nb_size"].to_numpy(),
                                   skcs["critical_ratio"].to_numpy())
    return skcs.rename(columns={"mean": "skc_mean", "nb_size": "skc_nb_size"}).drop(columns=["full_price", "unit_cost"])


def _quantile(mean: np.ndarray, k: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Smallest x with P(D <= x) >= q, D ~ NB(mean, k) (Poisson where k is infinite); 0 where the mean is 0."""
    positive = mean > 0
    safe_mean = np.where(positive, mean, 1.0)
    poisson = ~np.isfinite(k)
    safe_k = np.where(poisson, 1.0, k)
    nb = stats.nbinom.ppf(q, safe_k, safe_k / (safe_k + safe_mean))
    x = np.where(poisson, stats.poisson.ppf(q, safe_mean), nb)
    return np.where(positive, x, 0).astype(int)


def _split(rows: pd.DataFrame) -> np.ndarray:
    """Largest remainder: each size gets floor(share × target), the leftover units go to the largest remainders."""
    exact = rows["skc_target"] * rows["size_share"]
    base = np.floor(exact + 1e-9)
    left = (rows["skc_target"] - base.groupby(rows["skc_id"]).transform("sum")).astype(int)
    order = pd.DataFrame({"skc_id": rows["skc_id"], "rem": exact - base, "share": rows["size_share"],
                          "sku_id": rows["sku_id"]}).sort_values(["skc_id", "rem", "share", "sku_id"],
                                                                 ascending=[True, False, False, True], kind="stable")
    place = order.groupby("skc_id").cumcount()
    bonus = (place < left.loc[order.index]).astype(int).reindex(rows.index)
    return (base + bonus).astype(int).to_numpy()


def _owned(stock: pd.DataFrame) -> pd.Series:
    return stock.groupby("sku_id")[["on_hand", "on_order"]].sum().sum(axis=1)


def _case_packs(rows: pd.DataFrame, default: int | None) -> pd.Series:
    fallback = 1 if default is None else default
    packs = rows["case_pack"] if "case_pack" in rows else pd.Series(np.nan, index=rows.index)
    return packs.fillna(fallback).astype(int)


def _round_to_packs(units: pd.Series, packs: pd.Series) -> pd.Series:
    # to the nearest whole carton, half up: rounding always up would overbuy every size by up to a pack
    return (np.floor(units / packs + 0.5) * packs).astype(int)


def _reason(ratio, skc_target, share, target, owned, pack, order) -> str:
    text = (f"AI订货: newsvendor at critical ratio {ratio:.2f} → SKC quantity {skc_target}; "
            f"size share {share:.2f} → {target}; less {owned} owned")
    return text + (f"; rounded to cartons of {pack} → {order}" if pack > 1 else f" → {order}")


def structure_check(suggestions: pd.DataFrame, products: pd.DataFrame, reference: pd.DataFrame,
                    tolerance: float = 0.05, by: tuple[str, ...] = ("category", "price_band")) -> pd.DataFrame:
    """The buy's structure check (结构检查): each group's share of the buy vs its share of ``reference``.

    - ``suggestions``: ``sku_id, order_units`` (:func:`buy_suggestions`).
    - ``products``: ``sku_id, full_price`` and the ``by`` columns; the buy is
      valued at full price, like sales.
    - ``reference``: the ``by`` columns and ``value``, e.g. last season's
      sales or the sales plan by category and price band. Only shares are
      compared, so any unit of value works.
    - ``tolerance``: the gap allowed, in share points (0.05 = 5 points).

    Returns the ``by`` columns, ``buy_value, buy_share, reference_share,
    gap`` (buy − reference), ``flag`` (``over``, ``under`` or ``ok``) and a
    ``note`` in words.
    """
    by = list(by)
    _columns(suggestions, ("sku_id", "order_units"), "suggestions", "pass buy_suggestions' output")
    _columns(products, ("sku_id", "full_price", *by), "products", "core.products")
    _columns(reference, (*by, "value"), "reference", "last season's sales or the plan per group, as value")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance {tolerance} must be a share in (0, 1), e.g. 0.05 for 5 points")
    buy = suggestions[["sku_id", "order_units"]].merge(products[["sku_id", "full_price", *by]], on="sku_id")
    buy = buy.assign(buy_value=buy["order_units"] * buy["full_price"]).groupby(by, as_index=False)["buy_value"].sum()
    ref = reference.groupby(by, as_index=False)["value"].sum()
    if buy["buy_value"].sum() <= 0:
        raise ValueError("the suggestions order nothing: there is no structure to check")
    if ref["value"].sum() <= 0:
        raise ValueError("the reference has no value: pass last season's sales or the plan per group")
    table = buy.merge(ref, on=by, how="outer").fillna({"buy_value": 0.0, "value": 0.0})
    table["buy_share"] = table["buy_value"] / table["buy_value"].sum()
    table["reference_share"] = table["value"] / table["value"].sum()
    table["gap"] = table["buy_share"] - table["reference_share"]
    table["flag"] = np.select([table["gap"] > tolerance, table["gap"] < -tolerance], ["over", "under"], "ok")
    table["note"] = [_note(g, b, r, f, tolerance) for g, b, r, f in
                     zip(table[by].astype(str).agg(" / ".join, axis=1), table["buy_share"], table["reference_share"],
                         table["flag"])]
    return table.sort_values(by, kind="stable").reset_index(drop=True)[
        [*by, "buy_value", "buy_share", "reference_share", "gap", "flag", "note"]]


def _note(group: str, buy: float, ref: float, flag: str, tolerance: float) -> str:
    text = f"{group}: {buy:.1%} of the buy vs {ref:.1%} of the reference"
    if flag == "ok":
        return text + f", within {tolerance * 100:.1f} points"
    return text + f": {abs(buy - ref) * 100:.1f} points {flag} (tolerance {tolerance * 100:.1f})"
