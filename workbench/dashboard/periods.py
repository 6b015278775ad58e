"""Period presets for the date range (近4周, 本月, 上月 ...), relative to the last day with data.

Relative to the data, not to today: a warehouse is a snapshot (the demo ends
on 2025-12-31), and "last 4 weeks" of an empty future would show nothing.
"""

from __future__ import annotations

import datetime as dt

PRESETS: dict[str, str] = {
    "last_7_days": "Last 7 days 近7天",
    "last_4_weeks": "Last 4 weeks 近4周",
    "month_to_date": "Month to date 本月",
    "last_month": "Last month 上月",
    "quarter_to_date": "Quarter to date 本季",
    "year_to_date": "Year to date 本年",
    "last_12_months": "Last 12 months 近12月",
}


def preset_period(name: str, last_day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of preset ``name`` ending at (or before) ``last_day``."""
    if name == "last_7_days":
        return last_day - dt.timedelta(days=6), last_day
    if name == "last_4_weeks":
        return last_day - dt.timedelta(days=27), last_day
    if name == "month_to_date":
        return last_day.replace(day=1), last_day
    if name == "last_month":
        end = last_day.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if name == "quarter_to_date":
        return dt.date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1), last_day
    if name == "year_to_date":
        return dt.date(last_day.year, 1, 1), last_day
    if name == "last_12_months":
        return _minus_year(last_day) + dt.timedelta(days=1), last_day
    raise ValueError(f"unknown period preset {name!r}; the presets are {', '.join(PRESETS)}")


def _minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
