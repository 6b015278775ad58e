"""Report periods and the dimensions the finance reports are cut by, shared by ``pnl``, ``stock_age`` and ``b_goods``.

The units of management (经营单位) are the store, its region, the brand, the channel and the month.
``channel`` here is the store type a unit trades through: own | outlet | consignment | online (the DC
is no channel). It is finer than the metrics layer's ``channel`` (store | online) because finance
reports the counters and the outlets apart: their economics differ (commission, cleared stock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir

from workbench.dates import parse_day

__all__ = ["DIMS", "parse_period", "checked_by", "by_columns", "month_overlap"]

# dimension -> the columns it shows (the store shows its key and its code)
DIMS: dict[str, tuple[str, ...]] = {
    "store": ("store_id", "store_code"), "region": ("region",), "brand": ("brand",),
    "channel": ("channel",), "month": ("month",), "season": ("season",),
}


def parse_period(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    """``(start, end)`` as dates, both days included; a ValueError says what to fix."""
    first, last = parse_day(start), parse_day(end)
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first}): give start <= end, "
                         f"e.g. start={last}, end={first}")
    return first, last


def checked_by(by: Iterable[str] | str, allowed: Iterable[str]) -> list[str]:
    """The ``by`` dimensions, checked against those the report supports."""
    names = [by] if isinstance(by, str) else list(by)
    allowed = list(allowed)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"cannot cut this report by {unknown}: choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def by_columns(by: Iterable[str]) -> list[str]:
    return [c for name in by for c in DIMS[name]]


def month_overlap(month: ir.DateValue, first: dt.date, last: dt.date) -> ir.FloatingValue:
    """Share of a month's days that fall in ``first..last``: monthly costs and plans are prorated by it."""
    month_end = (month + ibis.interval(months=1)) - ibis.interval(days=1)
    lo = ibis.greatest(month, ibis.literal(first))
    hi = ibis.least(month_end, ibis.literal(last))
    days = (hi.delta(lo, unit="day") + 1).cast("float64")
    month_days = (month_end.delta(month, unit="day") + 1).cast("float64")
    return ibis.greatest(days, 0.0) / month_days
