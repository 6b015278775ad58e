"""Products to offer a sleeping member (推荐商品): in stock at their store, in their size, what they like.

Candidates come from the latest stock snapshot on or before the as-of date (``core.inventory``, A-quality units
on hand at the member's home store), in the member's body size (``size_rank``; free-size accessories fit
everyone), for the gender they buy for (``wears``; unisex fits everyone), of a style-colour (SKC) they have
not bought already. Each candidate is scored:

    2 × (its category is one of the member's favourites) + 1 × (its price band is the member's)

and ties are broken by the SKC's units sold in the ``popularity_days`` before the as-of date (what sells now),
then by code, so the same day gives the same list. A product list (e.g. the pushed styles, 主推款) restricts
the candidates to those SKCs; an unknown code is refused by name (:func:`check_skcs`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.members.summary import MembersError
from workbench.members.tags import FREE_SIZE_RANK

__all__ = ["check_skcs", "latest_snapshot", "stock_candidates", "suggest", "PRODUCT_COLUMNS"]

PRODUCT_COLUMNS = ("skc_id", "skc_code", "name", "category", "size", "price_band", "full_price")


def check_skcs(products: ir.Table, skc_codes: Iterable[str] | None) -> list[int] | None:
    """The SKC ids of a product list of SKC codes (None: no list); MembersError naming unknown or empty input."""
    if skc_codes is None:
        return None
    codes = sorted({str(c).strip() for c in skc_codes if str(c).strip()})
    if not codes:
        raise MembersError("the product list is empty: give SKC codes such as 24SS-TS0012-BLK, or no list at all")
    known = products.filter(products.skc_code.isin(codes)).select("skc_id", "skc_code").distinct().to_pandas()
    unknown = sorted(set(codes) - set(known["skc_code"]))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise MembersError(f"unknown SKC code(s) in the product list: {shown}. Use style-colour codes as in "
                           "core.products.skc_code (e.g. 24SS-TS0012-BLK), not SKU codes with a size")
    return sorted(int(i) for i in known["skc_id"])


def latest_snapshot(inventory: ir.Table, as_of: dt.date) -> dt.date | None:
    day = inventory.filter(inventory.snapshot_date <= as_of).snapshot_date.max().to_pandas()
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def stock_candidates(inventory: ir.Table, products: ir.Table, sales: ir.Table, snapshot: dt.date,
                     store_ids: list[int], skc_ids: list[int] | None, popularity_days: int) -> ir.Table:
    """In-stock SKUs at ``store_ids`` on ``snapshot`` with product attributes and the SKC's recent units sold."""
    inv = inventory.filter(inventory.snapshot_date == snapshot, inventory.quality == "A", inventory.on_hand > 0,
                           inventory.store_id.isin(store_ids))
    p = products.select("sku_id", "skc_id", "skc_code", "style_name", "colour", "category", "size", "size_rank",
                        "price_band", "full_price", "gender")
    if skc_ids is not None:
        p = p.filter(p.skc_id.isin(skc_ids))
    stock = inv.select("store_id", "sku_id", "on_hand").join(p, "sku_id")
    recent = sales.filter(sales.sale_date.between(snapshot - dt.timedelta(days=popularity_days - 1), snapshot),
                          sales.line_type == "sale")
    popular = recent.group_by("skc_id").aggregate(sold=recent.qty.sum())
    stock = stock.left_join(popular, "skc_id")
    return stock.select("store_id", "skc_id", "skc_code", "category", "size", "size_rank", "price_band",
                        "full_price", "gender", "on_hand", sold=ibis.coalesce(stock.sold, 0),
                        name=stock.style_name + " " + stock.colour)


def suggest(members: pd.DataFrame, candidates: pd.DataFrame, bought: pd.DataFrame, n: int) -> pd.DataFrame:
    """The best ``n`` SKCs per member: ``member_id``, ``rank`` (1..n) and the product columns.

    ``members`` holds member_id, home_store_id, size_rank, categories, price_band, wears; ``bought``
    member_id and skc_id of what they already own.
    """
    keep = ["member_id", "home_store_id", "size_rank", "categories", "price_band", "wears"]
    m = members[keep].rename(columns={"home_store_id": "store_id", "price_band": "member_band"})
    c = candidates.rename(columns={"price_band": "band"})
    sized = m.dropna(subset=["size_rank"]).merge(c, on=["store_id", "size_rank"])
    free = m.merge(c[c["size_rank"] == FREE_SIZE_RANK].drop(columns="size_rank"), on="store_id")
    pairs = pd.concat([sized, free], ignore_index=True)
    pairs = pairs.merge(bought.assign(_owned=True), on=["member_id", "skc_id"], how="left")
    fits = (pairs["gender"] == "unisex") | pairs["wears"].isna() | (pairs["gender"] == pairs["wears"])
    pairs = pairs[pairs["_owned"].isna() & fits]
    favourite = [cat in (cats or "").split(", ") for cat, cats in zip(pairs["category"], pairs["categories"])]
    pairs = pairs.assign(score=2 * pd.Series(favourite, index=pairs.index, dtype=int)
                         + (pairs["band"] == pairs["member_band"]).astype(int))
    pairs = pairs.sort_values(["member_id", "score", "sold", "skc_code", "size"],
                              ascending=[True, False, False, True, True])
    pairs = pairs.drop_duplicates(["member_id", "skc_id"])
    pairs["rank"] = pairs.groupby("member_id").cumcount() + 1
    top = pairs[pairs["rank"] <= n].rename(columns={"band": "price_band"})
    return top[["member_id", "rank", *PRODUCT_COLUMNS, "score"]].reset_index(drop=True)
