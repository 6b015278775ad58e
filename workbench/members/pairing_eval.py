"""How good are the pairing suggestions (搭配推荐评估)? Hit rate on held-out tickets against best sellers.

Suggestions are made from the tickets of the ``window_days`` up to the as-of date (training); the test is the
``holdout_days`` after it. For each held-out ticket with two or more SKCs, its first line's SKC is the
*query*; the ticket is a **hit** when any of its other SKCs is among the query's top-k suggestions. The
**hit rate** is hits / held-out multi-SKC tickets. The baseline (``popularity``) suggests the same k best
sellers of the training window to everyone (leaving out the query itself): what a shop without pairing data
would put next to any item. A second baseline, ``store_best_sellers``, offers the ticket's own store's k best
sellers of the training window: it knows where the ticket was sold, which a per-SKC list does not, and shows
how much of the basket the store alone explains. Everything is computed in the engine.

Where the warehouse is the simulated chain, :func:`look_recall` says how much of the planted outfit structure
(``truth.looks``, read only by the oracle) a list of suggestions recovers: of the designed look partners of the
queried SKCs, the share among their suggestions, and of the suggestions, the share that are look partners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.members.pairing import (PairingSettings, basket_items, best_sellers, load_pairing_settings,
                                       suggest_pairs, ticket_span)
from workbench.members.summary import MembersError, member_day

__all__ = ["PairingScore", "holdout_tickets", "popularity_pairs", "hit_rate", "store_hit_rate", "evaluate_pairing",
           "score_pairing", "look_recall"]


@dataclass(frozen=True)
class PairingScore:
    """Hit rates of the top-k suggestions on the held-out tickets (training ``start..as_of``, test to ``end``)."""

    start: dt.date
    as_of: dt.date
    end: dt.date
    k: int
    tickets: int            # held-out tickets with two or more SKCs (the queries)
    hit_rate: dict[str, float]  # method -> share of those tickets hit
    co_purchase_share: float    # share of queries with at least one co-purchase suggestion
    suggested: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)  # method -> skc_id,
    # suggested_skc_id of the queried SKCs (workbench, popularity)

    @property
    def lift_over_popularity(self) -> float:
        base = self.hit_rate["popularity"]
        return self.hit_rate["workbench"] / base if base else float("inf")


def holdout_tickets(sales: ir.Table, start: dt.date, end: dt.date) -> tuple[ir.Table, ir.Table]:
    """Queries (``ticket_id``, ``store_id``, ``query_skc``: the first line's SKC) and answers (``ticket_id``, ``skc_id``: the others)."""
    lines = sales.filter(sales.line_type == "sale", sales.qty > 0, sales.sale_date.between(start, end))
    first = ibis.row_number().over(group_by="ticket_id", order_by=["line_no"])
    queries = lines.mutate(_n=first).filter(lambda t: t._n == 0).select("ticket_id", "store_id", query_skc="skc_id")
    answers = lines.select("ticket_id", "skc_id").distinct().join(queries, "ticket_id")
    answers = answers.filter(answers.skc_id != answers.query_skc).select("ticket_id", "skc_id")
    multi = answers.select("ticket_id").distinct()
    return queries.join(multi, "ticket_id"), answers


def popularity_pairs(queries: ir.Table, items: ir.Table, k: int) -> ir.Table:
    """The ``k`` best sellers of ``items`` for every query SKC, the query itself left out (the baseline)."""
    pool = best_sellers(items, k + 1)
    pairs = queries.select(skc_id="query_skc").distinct().cross_join(pool.select(suggested_skc_id="skc_id",
                                                                                 tickets="tickets"))
    pairs = pairs.filter(pairs.skc_id != pairs.suggested_skc_id)
    rank = ibis.row_number().over(group_by="skc_id", order_by=[ibis.desc("tickets"), "suggested_skc_id"])
    return pairs.mutate(rank=rank + 1).filter(lambda t: t["rank"] <= k).select("skc_id", "suggested_skc_id")


def store_hit_rate(sales: ir.Table, queries: ir.Table, answers: ir.Table, start: dt.date, end: dt.date,
                   k: int) -> float:
    """Hit rate of the ticket's own store's ``k`` best sellers of start..end (not the query): the second baseline,
    which knows the store the ticket was sold in (a per-SKC list does not)."""
    lines = sales.filter(sales.line_type == "sale", sales.qty > 0, sales.sale_date.between(start, end))
    per_store = lines.select("ticket_id", "store_id", "skc_id").distinct()
    per_store = per_store.group_by("store_id", "skc_id").aggregate(tickets=per_store.count())
    rank = ibis.row_number().over(group_by="store_id", order_by=[ibis.desc("tickets"), "skc_id"])
    best = per_store.mutate(rank=rank).filter(lambda t: t["rank"] <= k).select("store_id", "skc_id", "rank")
    offered = queries.join(best, "store_id").filter(lambda t: t.skc_id != t.query_skc)
    rank = ibis.row_number().over(group_by="ticket_id", order_by=["rank"])
    offered = offered.mutate(_n=rank).filter(lambda t: t._n < k).select("ticket_id", "skc_id")
    hits = offered.join(answers, ["ticket_id", "skc_id"]).select("ticket_id").distinct()
    total = int(queries.count().to_pandas())
    return int(hits.count().to_pandas()) / total if total else float("nan")


def hit_rate(queries: ir.Table, answers: ir.Table, suggestions: ir.Table) -> float:
    """Share of the query tickets with another SKC among their query's suggestions."""
    s = suggestions.select(query_skc="skc_id", skc_id="suggested_skc_id")
    hits = answers.join(queries, "ticket_id").join(s, ["query_skc", "skc_id"]).select("ticket_id").distinct()
    total = int(queries.count().to_pandas())
    return int(hits.count().to_pandas()) / total if total else float("nan")


def evaluate_pairing(sales: ir.Table, products: ir.Table, as_of: dt.date, holdout_days: int,
                     settings: PairingSettings) -> PairingScore:
    """Train on the window up to ``as_of``, test on the ``holdout_days`` after it (module docstring)."""
    start = as_of - dt.timedelta(days=settings.window_days - 1)
    end = as_of + dt.timedelta(days=holdout_days)
    queries, answers = holdout_tickets(sales, as_of + dt.timedelta(days=1), end)
    asked = queries.select(skc_id="query_skc").distinct()
    ours = suggest_pairs(sales, products, start, as_of, settings, asked).cache()
    baseline = popularity_pairs(queries, basket_items(sales, start, as_of), settings.top_k)
    n = int(queries.count().to_pandas())
    with_pairs = ours.filter(ours.source == "co-purchase").select("skc_id").distinct()
    covered = int(queries.join(with_pairs.rename(query_skc="skc_id"), "query_skc").count().to_pandas())
    rates = {"workbench": hit_rate(queries, answers, ours), "popularity": hit_rate(queries, answers, baseline),
             "store_best_sellers": store_hit_rate(sales, queries, answers, start, as_of, settings.top_k)}
    suggested = {"workbench": ours.select("skc_id", "suggested_skc_id").to_pandas(),
                 "popularity": baseline.to_pandas()}
    return PairingScore(start, as_of, end, settings.top_k, n, rates, covered / n if n else float("nan"), suggested)


def look_recall(suggested: pd.DataFrame, looks: pd.DataFrame) -> tuple[float, float]:
    """(recall, precision) of suggestions (``skc_id``, ``suggested_skc_id``) against designed looks (``look_id``,
    ``skc_id``: the simulator's ``truth.looks``): the share of the suggested-for SKCs' look partners among
    their suggestions, and the share of the suggestions that are look partners."""
    pairs = looks.merge(looks, on="look_id", suffixes=("", "_partner"))
    pairs = pairs.loc[pairs["skc_id"] != pairs["skc_id_partner"], ["skc_id", "skc_id_partner"]].drop_duplicates()
    pairs = pairs[pairs["skc_id"].isin(suggested["skc_id"])].rename(columns={"skc_id_partner": "suggested_skc_id"})
    found = pairs.merge(suggested[["skc_id", "suggested_skc_id"]].drop_duplicates(), on=["skc_id", "suggested_skc_id"])
    recall = len(found) / len(pairs) if len(pairs) else float("nan")
    return recall, (len(found) / len(suggested) if len(suggested) else float("nan"))


def score_pairing(session: Any, as_of: Any, holdout_days: int = 28,
                  settings: PairingSettings | None = None) -> PairingScore:
    """The pairing hit rates through the session: suggestions up to ``as_of``, tested on the days after it."""
    settings = settings or load_pairing_settings()
    day = member_day(as_of)
    sales = session.table("core.sales")
    lo, hi = ticket_span(sales)
    end = day + dt.timedelta(days=holdout_days)
    if day < lo or end > hi:
        raise MembersError(f"the pairing test needs tickets from {day} to {end} (the as-of date plus "
                           f"{holdout_days} held-out days); the tickets run from {lo} to {hi}: choose an as-of date "
                           f"on or before {hi - dt.timedelta(days=holdout_days)}")
    return evaluate_pairing(sales, session.table("core.products"), day, holdout_days, settings)
