"""Hero-item tracking (主推款): how the pushed styles sell, and what sells with them.

The heroes are the styles the business pushes this season, from
``dashboard.hero_styles`` in the settings; when none are configured the
period's top sellers by net sales stand in, and the result says so. Their
sales over time come from ``compute``. *What sells with them* counts, for
each hero, the other styles found on the same tickets (sale lines only, the
baskets of the ``tickets`` metric): ``tickets_together`` and its share of the
hero's tickets, the basis for a cross-sell display or a bundle. Only store
filters apply to the baskets: a basket is one store's, and a product filter
would hide the very companions asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from workbench.dashboard import trace
from workbench.dashboard.settings import DashboardSettings, dashboard_settings
from workbench.dashboard.state import DashboardError, close_matches
from workbench.metrics.dimensions import DIMENSIONS
from workbench.metrics.flows import sales_lines
from workbench.metrics.grain import prepare
from workbench.metrics.query import Query

HERO_MEASURES = ["net_sales", "units"]
ATTACH_COLUMNS = ["hero_style", "style_code", "style_name", "tickets_together", "hero_tickets", "share_of_hero_tickets"]


@dataclass(frozen=True)
class HeroItems:
    styles: tuple[str, ...]
    chosen_by: str  # "request" | "configuration" | "top sellers"
    sales: pd.DataFrame  # style_code, week, net_sales, units
    attach: pd.DataFrame  # ATTACH_COLUMNS, the ``top`` companions of each hero


def hero_items(
    session: Any,
    styles: Sequence[str] | None,
    period: tuple[dt.date, dt.date],
    *,
    where: Mapping[str, Any] | None = None,
    grain: str = "week",
    top: int = 5,
    settings: DashboardSettings | None = None,
) -> HeroItems:
    """Sales over ``period`` of the hero styles and the ``top`` styles most often bought with each."""
    settings = settings or dashboard_settings()
    start, end = period
    store_where = {k: v for k, v in (where or {}).items() if DIMENSIONS[k].kind == "store"}
    styles, chosen_by = _heroes(session, styles, settings, start, end, store_where)
    if not styles:
        return HeroItems((), chosen_by, pd.DataFrame(columns=["style_code", grain, "net_sales", "units"]),
                         pd.DataFrame(columns=ATTACH_COLUMNS))
    sales = trace.metrics(session, "heroes", HERO_MEASURES, ["style_code", grain], start, end,
                          store_where | {"style_code": list(styles)})
    return HeroItems(styles, chosen_by, sales, _attach(session, styles, start, end, store_where, top))


def _heroes(session: Any, styles: Sequence[str] | None, settings: DashboardSettings, start: dt.date, end: dt.date,
            store_where: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    if styles:
        known = set(trace.run(session.table("products").select("style_code").distinct(), "heroes").style_code)
        for style in styles:
            if style not in known:
                raise DashboardError(f"Style {style!r} is not in the product list.{close_matches(style, known)}")
        return tuple(dict.fromkeys(styles)), "request"
    if settings.hero_styles:
        return settings.hero_styles, "configuration"
    best = trace.metrics(session, "heroes", ["net_sales"], ["style_code"], start, end, store_where)
    best = best.dropna(subset=["net_sales"]).sort_values("net_sales", ascending=False).head(settings.hero_count)
    return tuple(best.style_code), "top sellers"


def _attach(session: Any, styles: tuple[str, ...], start: dt.date, end: dt.date, store_where: Mapping[str, Any],
            top: int) -> pd.DataFrame:
    q = Query.make(by=["style_code"], start=start, end=end, where=store_where)
    lines = sales_lines(session)
    lines = lines.filter(q.in_range(lines._date) & (lines.line_type == "sale"))
    baskets = prepare(lines, session, q, product_key="sku_id").select("ticket_id", "style_code").distinct()
    heroes = baskets.filter(baskets.style_code.isin(list(styles))).rename(hero_style="style_code")
    hero_tickets = heroes.group_by("hero_style").aggregate(hero_tickets=heroes.count())
    pairs = heroes.join(baskets, "ticket_id").filter(lambda t: t.style_code != t.hero_style)
    together = pairs.group_by(["hero_style", "style_code"]).aggregate(tickets_together=pairs.count())
    together = together.join(hero_tickets, "hero_style")
    rank = ibis.row_number().over(group_by="hero_style", order_by=[ibis.desc("tickets_together"), "style_code"])
    ranked = together.mutate(rank=rank).filter(lambda t: t["rank"] < top)
    names = session.table("products").select("style_code", "style_name").distinct()
    named = ranked.left_join(names, "style_code").drop("style_code_right")
    named = named.mutate(share_of_hero_tickets=named.tickets_together.cast("float64") / named.hero_tickets)
    out = trace.run(named.select(*ATTACH_COLUMNS), "heroes")
    return out.sort_values(["hero_style", "tickets_together", "style_code"], ascending=[True, False, True]).reset_index(drop=True)
