"""Hero items for marketing (主推款追踪): the pushed styles' sales and what sells with them, period by period.

    import workbench as wb
    from workbench.members.heroes import hero_tracking
    with wb.session("u_region_east") as s:
        h = hero_tracking(s, ["25AW-JK0003"], "2025-10-01", "2025-12-31", every="month")
        h.sales      # style_code, week, net_sales, units (the dashboard's measures)
        h.attach     # period, hero_style, style_code, style_name, tickets_together, hero_tickets, share ...

Built on the dashboard's hero view (:func:`workbench.dashboard.heroes.hero_items`, one definition of the
hero's sales and of its attach: other styles on the same sale tickets): this module only cuts the period
into weeks or months, so marketing sees whether a pushed style keeps pulling the same companions over time.
Unknown style codes are refused by name (:class:`~workbench.members.summary.MembersError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from workbench.dashboard.heroes import ATTACH_COLUMNS, hero_items
from workbench.dashboard.state import DashboardError
from workbench.members.summary import MembersError, member_day

__all__ = ["HeroTracking", "hero_tracking", "periods"]


@dataclass(frozen=True)
class HeroTracking:
    styles: tuple[str, ...]
    chosen_by: str        # request | configuration | top sellers (the dashboard's words)
    sales: pd.DataFrame   # style_code, week, net_sales, units over the whole span
    attach: pd.DataFrame  # period (its first day), then ATTACH_COLUMNS: the top companions per hero per period


def periods(start: dt.date, end: dt.date, every: str) -> list[tuple[dt.date, dt.date]]:
    """``start..end`` cut at month starts (``month``) or Mondays (``week``); the ends are kept as given."""
    if every not in ("week", "month"):
        raise MembersError(f"periods are 'week' or 'month', not {every!r}")
    if end < start:
        raise MembersError(f"the period ends ({end}) before it starts ({start})")
    freq = "MS" if every == "month" else "W-MON"
    cuts = [d.date() for d in pd.date_range(start, end, freq=freq) if d.date() > start]
    firsts = [start, *cuts]
    lasts = [d - dt.timedelta(days=1) for d in cuts] + [end]
    return list(zip(firsts, lasts))


def hero_tracking(session: Any, styles: Sequence[str] | None, start: Any, end: Any, every: str = "month",
                  top: int = 5) -> HeroTracking:
    """Weekly sales of ``styles`` over start..end and their ``top`` companion styles in each period.

    No styles: the dashboard's choice (``dashboard.hero_styles``, else the span's top sellers), kept for every
    period so the periods compare the same styles."""
    first, last = member_day(start), member_day(end)
    cut = periods(first, last, every)
    try:
        whole = hero_items(session, list(styles) if styles else None, (first, last), top=top)
        chosen = list(whole.styles)
        parts = [hero_items(session, chosen, p, top=top).attach.assign(period=p[0]) for p in cut] if chosen else []
    except DashboardError as err:
        raise MembersError(str(err)) from None
    attach = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["period", *ATTACH_COLUMNS])
    return HeroTracking(whole.styles, whole.chosen_by, whole.sales, attach[["period", *ATTACH_COLUMNS]])
