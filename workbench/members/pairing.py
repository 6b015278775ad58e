"""Outfit pairing (搭配推荐): what to suggest with a style-colour (SKC), from co-purchase and product tags.

    import workbench as wb
    from workbench.members.pairing import pairing_suggestions
    with wb.session("u_analyst") as s:
        top = pairing_suggestions(s, "2025-12-31")                    # ibis: skc_code, rank, suggested_code ...
        top = pairing_suggestions(s, "2025-12-31", ["25AW-JK0003-BLK"])  # only these SKCs (unknown codes refused)

**Co-purchase** (连带购买) is counted in the engine over the sale lines of the ``window_days`` up to the
as-of date, at SKC level (a ticket holding two sizes of one SKC holds that SKC once). For SKCs a and b:
``support`` = tickets with both / all tickets, ``confidence`` = tickets with both / tickets with a,
``lift`` = confidence / (tickets with b / all tickets). A pair counts once it was bought together on
``min_together`` tickets and its lift is at least ``lift_floor`` (b sells *better* next to a than alone).

**Tags** come from ``core.products`` (the warehouse has no design-style tag such as "minimal" or "street";
see the README): a different category (a top with trousers, not two tops) is *complementary*; the same
``occasion`` (casual | office | sport | party) and a matching ``colour_family`` (the same family, or either
neutral) fit together. The score of a pair:

    confidence × (1 + complement_weight × complementary + occasion_weight × same occasion
                    + colour_weight × matching colours)

Suggestions per SKC are the ``top_k`` best pairs, never of the query's own style (another colour of the same
style is not an outfit). Where co-purchase gives fewer than ``top_k`` (a new or slow SKC), the list is filled
from the ``fill_pool`` best sellers of the window ranked by the same tag factor × their share of tickets
(``source`` says which). Everything is ibis; nothing is pulled into pandas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.members.conf import settings_from
from workbench.members.suggestions import check_skcs
from workbench.members.summary import MembersError, member_day

__all__ = ["PairingSettings", "load_pairing_settings", "basket_items", "co_purchase", "skc_tags", "pair_scores",
           "top_pairs", "best_sellers", "suggest_pairs", "ticket_span", "pairing_suggestions", "SUGGESTION_COLUMNS"]

SUGGESTION_COLUMNS = ("skc_id", "rank", "suggested_skc_id", "source", "score", "together", "support", "confidence",
                      "lift")
TAG_COLUMNS = ("skc_id", "style_id", "category", "occasion", "colour_family")


@dataclass(frozen=True)
class PairingSettings:
    window_days: int = 91
    top_k: int = 5
    min_together: int = 2
    lift_floor: float = 0.0
    complement_weight: float = 0.1
    occasion_weight: float = 0.05
    colour_weight: float = 0.05
    fill_pool: int = 50


def load_pairing_settings() -> PairingSettings:
    """``members.pairing`` of the settings file."""
    return settings_from(PairingSettings, "pairing")


def basket_items(sales: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """The SKCs on each ticket of ``start..end`` (sale lines): ``ticket_id``, ``skc_id``, one row per pair."""
    lines = sales.filter(sales.line_type == "sale", sales.qty > 0, sales.sale_date.between(start, end))
    return lines.select("ticket_id", "skc_id").distinct()


def co_purchase(items: ir.Table, min_together: int = 1) -> ir.Table:
    """Per ordered SKC pair (a, b) bought together: together, tickets_a, tickets_b, support, confidence, lift."""
    n_tickets = items.ticket_id.nunique().as_scalar()
    per_skc = items.group_by("skc_id").aggregate(tickets=items.ticket_id.count())
    a = items.rename(skc_a="skc_id")
    b = items.rename(skc_b="skc_id")
    pairs = a.join(b, "ticket_id").filter(lambda t: t.skc_a != t.skc_b)
    pairs = pairs.group_by("skc_a", "skc_b").aggregate(together=pairs.ticket_id.count())
    pairs = pairs.filter(pairs.together >= min_together)
    pairs = pairs.join(per_skc.rename(skc_a="skc_id", tickets_a="tickets"), "skc_a")
    pairs = pairs.join(per_skc.rename(skc_b="skc_id", tickets_b="tickets"), "skc_b")
    n = n_tickets.cast("float64")
    confidence = pairs.together.cast("float64") / pairs.tickets_a
    return pairs.select("skc_a", "skc_b", "together", "tickets_a", "tickets_b",
                        support=pairs.together.cast("float64") / n, confidence=confidence,
                        lift=confidence / (pairs.tickets_b.cast("float64") / n))


def skc_tags(products: ir.Table) -> ir.Table:
    """One row per SKC with the tags pairing reads (:data:`TAG_COLUMNS`)."""
    return products.select(*TAG_COLUMNS).distinct()


def _tag_factor(t: ir.Table, s: PairingSettings) -> ir.FloatingValue:
    """1 + the weighted tag matches of a pair whose tags are suffixed ``_a`` / ``_b``."""
    complementary = (t.category_a != t.category_b).cast("float64")
    occasion = (t.occasion_a == t.occasion_b).cast("float64")
    colours = ((t.colour_family_a == t.colour_family_b) | (t.colour_family_a == "neutral")
               | (t.colour_family_b == "neutral")).cast("float64")
    return 1 + s.complement_weight * complementary + s.occasion_weight * occasion + s.colour_weight * colours


def _with_tags(pairs: ir.Table, tags: ir.Table) -> ir.Table:
    """Join both ends' tags (suffixed ``_a`` / ``_b``); drop pairs of one style."""
    def end(side: str) -> ir.Table:
        return tags.rename(**{f"skc_{side}": "skc_id"}, **{f"{c}_{side}": c for c in TAG_COLUMNS[1:]})

    joined = pairs.join(end("a"), "skc_a").join(end("b"), "skc_b")
    return joined.filter(joined.style_id_a != joined.style_id_b)


def pair_scores(pairs: ir.Table, tags: ir.Table, settings: PairingSettings) -> ir.Table:
    """Co-purchase pairs above the lift floor, scored by confidence × the tag factor (module docstring)."""
    kept = _with_tags(pairs.filter(pairs.lift >= settings.lift_floor), tags)
    return kept.select("skc_a", "skc_b", "together", "support", "confidence", "lift",
                       score=kept.confidence * _tag_factor(kept, settings), source=ibis.literal("co-purchase"))


def best_sellers(items: ir.Table, n: int) -> ir.Table:
    """The ``n`` SKCs on most tickets in ``items``: ``skc_id``, ``tickets``, ``share`` of all tickets."""
    n_tickets = items.ticket_id.nunique().as_scalar().cast("float64")
    per_skc = items.group_by("skc_id").aggregate(tickets=items.ticket_id.count())
    top = per_skc.order_by([ibis.desc("tickets"), "skc_id"]).limit(n)
    return top.mutate(share=top.tickets.cast("float64") / n_tickets)


def _fill(queries: ir.Table, pool: ir.Table, tags: ir.Table, settings: PairingSettings) -> ir.Table:
    """Tag-scored best sellers for every query SKC: the filler when co-purchase has too little to say."""
    pairs = queries.select(skc_a="skc_id").cross_join(pool.select(skc_b="skc_id", share="share"))
    pairs = _with_tags(pairs.filter(pairs.skc_a != pairs.skc_b), tags)
    null = ibis.null().cast("float64")
    return pairs.select("skc_a", "skc_b", together=ibis.literal(0, type="int64"), support=null, confidence=null,
                        lift=null, score=pairs.share * _tag_factor(pairs, settings),
                        source=ibis.literal("tags + best sellers"))


def top_pairs(scored: ir.Table, filler: ir.Table, k: int) -> ir.Table:
    """The ``k`` best suggestions per query SKC, co-purchase first, then the filler (:data:`SUGGESTION_COLUMNS`)."""
    both = scored.mutate(_tier=0).union(filler.mutate(_tier=1))
    first = ibis.row_number().over(group_by=["skc_a", "skc_b"], order_by=["_tier"])
    both = both.mutate(_dup=first).filter(lambda t: t._dup == 0).drop("_dup")
    order = ["_tier", ibis.desc("score"), "skc_b"]
    ranked = both.mutate(rank=ibis.row_number().over(group_by="skc_a", order_by=order) + 1)
    ranked = ranked.filter(ranked["rank"] <= k)
    return ranked.select(skc_id="skc_a", rank=ranked["rank"].cast("int32"), suggested_skc_id="skc_b",
                         source="source", score="score", together=ranked.together.cast("int64"), support="support",
                         confidence="confidence", lift="lift")


def suggest_pairs(sales: ir.Table, products: ir.Table, start: dt.date, end: dt.date, settings: PairingSettings,
                  queries: ir.Table | None = None) -> ir.Table:
    """Top-k suggestions per SKC of ``queries`` (``skc_id``; default every SKC) from the tickets of start..end."""
    items = basket_items(sales, start, end)
    tags = skc_tags(products)
    queries = tags.select("skc_id") if queries is None else queries.select("skc_id").distinct()
    pairs = co_purchase(items, settings.min_together)
    pairs = pairs.join(queries.rename(skc_a="skc_id"), "skc_a")
    filler = _fill(queries, best_sellers(items, settings.fill_pool), tags, settings)
    return top_pairs(pair_scores(pairs, tags, settings), filler, settings.top_k)


def pairing_suggestions(session: Any, as_of: Any, skc_codes: Iterable[str] | None = None,
                        settings: PairingSettings | None = None) -> ir.Table:
    """Pairing suggestions at ``as_of`` through the session, with codes and names (ibis; one row per suggestion)."""
    settings = settings or load_pairing_settings()
    day = member_day(as_of)
    sales, products = session.table("core.sales"), session.table("core.products")
    _check_history(sales, day, settings.window_days)
    ids = check_skcs(products, skc_codes)
    queries = None if ids is None else ibis.memtable({"skc_id": ids}, schema={"skc_id": "int32"})
    start = day - dt.timedelta(days=settings.window_days - 1)
    top = suggest_pairs(sales, products, start, day, settings, queries)
    return named(top, products)


def named(top: ir.Table, products: ir.Table) -> ir.Table:
    """Suggestions with both SKCs' codes, names and categories."""
    p = products.select("skc_id", "skc_code", "category", name=products.style_name + " " + products.colour).distinct()
    q = p.rename(suggested_skc_id="skc_id", suggested_code="skc_code", suggested_name="name",
                 suggested_category="category")
    out = top.join(p, "skc_id").join(q, "suggested_skc_id")
    return out.select("skc_id", "skc_code", "name", "category", "rank", "suggested_skc_id", "suggested_code",
                      "suggested_name", "suggested_category", "source", "score", "together", "support",
                      "confidence", "lift").order_by(["skc_code", "rank"])


def ticket_span(sales: ir.Table) -> tuple[dt.date, dt.date]:
    """First and last day of the tickets the reader may see; MembersError when there are none."""
    span = sales.aggregate(lo=sales.sale_date.min(), hi=sales.sale_date.max()).to_pandas().iloc[0]
    if pd.isna(span["lo"]):
        raise MembersError("there are no tickets you may read: check the user's stores or region (`wb users`)")
    return pd.Timestamp(span["lo"]).date(), pd.Timestamp(span["hi"]).date()


def _check_history(sales: ir.Table, day: dt.date, window_days: int) -> None:
    """MembersError when no ticket the reader may see falls in the window before ``day``."""
    lo, hi = ticket_span(sales)
    start = day - dt.timedelta(days=window_days - 1)
    if day < lo or start > hi:
        raise MembersError(f"no tickets between {start} and {day} (the tickets run from {lo} to {hi}): "
                           f"choose an as-of date from {lo} to {hi}")
