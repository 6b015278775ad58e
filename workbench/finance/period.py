"""Report periods and the dimensions the finance reports are cut by, shared by the finance modules.

Periods as finance writes them (:func:`read_period`): a month ``2025-11``, a quarter ``2025-Q3``, a year
``2025`` or any days ``2025-11-01..2025-11-30``; and the period a report compares with (同比 / 环比,
:func:`comparison_period`). One parser, so the notebook, the pipeline and the CLI refuse a bad period with
the same words.

The units of management (经营单位) are the store, its region, the brand, the channel and the month.
``channel`` here is the store type a unit trades through: own | outlet | consignment | online (the DC
is no channel). It is finer than the metrics layer's ``channel`` (store | online) because finance
reports the counters and the outlets apart: their economics differ (commission, cleared stock).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir

from workbench.dates import parse_day

__all__ = ["DIMS", "Period", "read_period", "comparison_period", "check_periods", "parse_period", "first_of_month",
           "checked_by", "by_columns", "month_overlap"]

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


def first_of_month(value: Any) -> dt.date:
    """The first day of a month given as a date or as text ``YYYY-MM`` / ``YYYY-MM-DD`` (nothing looser)."""
    text = str(value).strip() if isinstance(value, str) else None
    if text and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
        try:
            value = dt.date.fromisoformat(text if len(text) == 10 else f"{text}-01")
        except ValueError:
            pass
    if not isinstance(value, dt.date):  # pd.Timestamp and datetime are dates too
        raise ValueError(f"{value!r} is not a month: give a month such as '2025-11' or a date in it")
    return dt.date(value.year, value.month, 1)


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


# --- periods as finance writes them -------------------------------------------------------------------------

HOW = "write it as 2025-11 (a month), 2025-Q3 (a quarter), 2025 (a year) or 2025-11-01..2025-11-30 (days)"


@dataclass(frozen=True)
class Period:
    """First and last day, both included, and the label a reader sees."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return self.label


def read_period(value: str | Period) -> Period:
    """A :class:`Period` from its text; ValueError saying how to write it otherwise."""
    if isinstance(value, Period):
        return value
    text = str(value).strip()
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m[1])
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), text)
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        year, q = int(m[1]), int(m[2])
        return Period(dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"{year}-Q{q}")
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return Period(dt.date(year, month, 1), _month_end(year, month), f"{year}-{month:02d}")
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})", text):
        try:
            start, end = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
        except ValueError:
            raise ValueError(f"period {text!r} names a day that does not exist; {HOW}") from None
        if end < start:
            raise ValueError(f"period {text!r} ends before it starts; write the first day first")
        return Period(start, end, text)
    raise ValueError(f"period {text!r} is not a period: {HOW}")


def comparison_period(period: Period, compare: str | Period | None = "previous_year") -> Period:
    """The period to compare with: ``previous_year`` (同比, the same days a year earlier), ``previous``
    (环比, the period of the same length just before), or any period text."""
    if isinstance(compare, Period):
        return compare
    if compare in (None, "previous_year"):
        start, end = _year_earlier(period.start), _year_earlier(period.end)
        return Period(start, end, _shifted_label(period, start, end))
    if compare == "previous":
        if period.start.day == 1 and period.end == _month_end(period.end.year, period.end.month):
            months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
            start = _add_months(period.start, -months)
            before = _add_months(period.start, -1)
            end = _month_end(before.year, before.month)
        else:
            start, end = period.start - dt.timedelta(days=period.days), period.start - dt.timedelta(days=1)
        return Period(start, end, _shifted_label(period, start, end))
    return read_period(compare)


def check_periods(period: Period, comparison: Period) -> None:
    """ValueError when the comparison does not lie wholly before the period (the bridge runs base → current)."""
    if comparison.end >= period.start:
        raise ValueError(f"the comparison period {comparison} ({comparison.start} .. {comparison.end}) must end "
                         f"before the period {period} starts ({period.start}); compare with an earlier period, "
                         "e.g. compare='previous_year'")


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _year_earlier(day: dt.date) -> dt.date:
    return day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else dt.date(day.year - 1, 2, 28)


def _shifted_label(period: Period, start: dt.date, end: dt.date) -> str:
    """The comparison's label in the period's own form (a month stays a month), else its days."""
    for text in (f"{start.year}-{start.month:02d}", f"{start.year}-Q{(start.month + 2) // 3}", str(start.year)):
        if _same_form(period.label, text):
            candidate = read_period(text)
            if (candidate.start, candidate.end) == (start, end):
                return candidate.label
    return f"{start}..{end}"


def _same_form(a: str, b: str) -> bool:
    return re.sub(r"\d", "9", a.upper()) == re.sub(r"\d", "9", b.upper())
