"""Member tags (会员标签) from purchase history, computed in the engine: what the staff need to call someone back.

Per member, from their sale lines in a window before the as-of date (joined with ``core.products``):

- ``categories``: their most bought categories (by units, at most ``top_categories``), e.g. ``tops, dresses``;
- ``size_rank``: the body size they buy most (``size_rank`` orders a size within its run, the same body in
  every run: S in tops and 27 in jeans can share a rank), free-size accessories left out; ``sizes``: the size
  labels of that rank they bought, e.g. ``M / 27``;
- ``price_band``: the band (entry | core | premium) they buy most;
- ``wears``: ``women`` or ``men``, the product gender they buy most (unisex left out; null if only unisex);
- ``home_store_id``: the store with most of their purchase days (ties: the latest visited), which need not be
  the store they joined at (``core.members.home_store_id``);
- ``last_purchase``, ``purchase_days``, ``spend``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

__all__ = ["member_tags", "FREE_SIZE_RANK"]

FREE_SIZE_RANK = 0  # accessories: one size fits all


def _top(table: ir.Table, keys: list[str], weight: str, n: int = 1, tie: str | None = None) -> ir.Table:
    """The ``n`` rows with the largest ``weight`` within each ``member_id`` (ties by ``tie`` then ``keys``)."""
    order = [ibis.desc(weight), *([ibis.desc(tie)] if tie else []), *keys]
    ranked = table.mutate(_rank=ibis.row_number().over(group_by="member_id", order_by=order))
    return ranked.filter(ranked._rank < n).drop("_rank")


def member_tags(sales: ir.Table, products: ir.Table, as_of: dt.date, window_days: int = 730,
                top_categories: int = 2) -> ir.Table:
    """One row per member who bought in the ``window_days`` to ``as_of``: the tags of the module docstring."""
    start = as_of - dt.timedelta(days=window_days - 1)
    s = sales.filter(sales.member_id.notnull(), sales.line_type == "sale", sales.qty > 0,
                     sales.sale_date.between(start, as_of))
    p = products.select("sku_id", "category", "size", "size_rank", "price_band", "gender")
    lines = s.select("member_id", "store_id", "sale_date", "sku_id", "qty", "net_amount").join(p, "sku_id")

    base = lines.group_by("member_id").aggregate(last_purchase=lines.sale_date.max(),
                                                 purchase_days=lines.sale_date.nunique(),
                                                 spend=lines.net_amount.sum())
    cats = lines.group_by("member_id", "category").aggregate(units=lines.qty.sum())
    cats = _top(cats, ["category"], "units", top_categories)
    cats = cats.group_by("member_id").aggregate(
        categories=cats.category.group_concat(", ", order_by=[ibis.desc(cats.units), cats.category]))

    sized = lines.filter(lines.size_rank != FREE_SIZE_RANK)
    ranks = _top(sized.group_by("member_id", "size_rank").aggregate(units=sized.qty.sum()), ["size_rank"], "units")
    labels = sized.join(ranks.select("member_id", "size_rank"), ["member_id", "size_rank"])
    labels = labels.group_by("member_id", "size_rank").aggregate(
        sizes=labels["size"].collect(distinct=True, order_by=labels["size"]).join(" / "))

    bands = lines.group_by("member_id", "price_band").aggregate(units=lines.qty.sum())
    bands = _top(bands, ["price_band"], "units").select("member_id", "price_band")
    gendered = lines.filter(lines.gender != "unisex")
    wears = gendered.group_by("member_id", "gender").aggregate(units=gendered.qty.sum())
    wears = _top(wears, ["gender"], "units").select("member_id", wears="gender")
    stores = lines.group_by("member_id", "store_id").aggregate(days=lines.sale_date.nunique(),
                                                               last=lines.sale_date.max())
    home = _top(stores, ["store_id"], "days", tie="last").select("member_id", home_store_id="store_id")

    out = base.left_join(cats, "member_id").left_join(labels, "member_id").left_join(bands, "member_id")
    out = out.left_join(wears, "member_id").left_join(home, "member_id")
    return out.select(
        "member_id", "home_store_id", "categories", "size_rank", "sizes", "price_band", "wears", "last_purchase",
        "purchase_days", "spend")
