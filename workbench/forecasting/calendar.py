"""The Chinese retail calendar as forecasting features, one row per day.

Demand for clothes in China follows dates a Western calendar misses: the
weeks before the Spring Festival (春节, lunar, so it moves every year), the
quiet days after it, Labour Day and National Day golden weeks (黄金周), and
the platform festivals 618, Double 11 (双11) and Double 12 (双12) with their
presale runs. A tree model learns their effect from flags and "days to"
counts; it cannot learn a lunar date from the day of the year.

The table is small (one row per day), so it is built in numpy and handed to
the engine as a memtable to join with the series.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from workbench.simulation.calendar import SPRING_FESTIVAL  # public dates, shared with the simulator

# (name, month, first day, last day): fixed-date retail events, including presale runs.
FIXED_EVENTS: tuple[tuple[str, int, int, int], ...] = (
    ("new_year", 1, 1, 1),
    ("labour_day", 5, 1, 5),
    ("presale_618", 6, 1, 17),
    ("day_618", 6, 18, 18),
    ("golden_week", 10, 1, 7),
    ("presale_double11", 10, 24, 31),
    ("presale_double11_nov", 11, 1, 10),
    ("double11", 11, 11, 11),
    ("double12", 12, 10, 12),
    ("christmas", 12, 24, 25),
)

CALENDAR_COLUMNS = (
    "weekday", "month", "day_of_month", "day_of_year", "days_to_spring_festival",
    "pre_festival", "festival_slump", *(name for name, *_ in FIXED_EVENTS), "days_to_double11", "days_to_618",
)


def _spring_festival(years: np.ndarray) -> np.ndarray:
    missing = sorted(set(years.tolist()) - set(SPRING_FESTIVAL))
    if missing:
        raise ValueError(f"no Spring Festival date for {missing}: add it to simulation.calendar.SPRING_FESTIVAL")
    return np.array([np.datetime64(SPRING_FESTIVAL[int(y)], "D") for y in years])


def _days_to_next(dates: pd.DatetimeIndex, month: int, day: int) -> np.ndarray:
    """Days until the next (month, day), 0 on the day itself: 'how close is Double 11'."""
    this_year = pd.to_datetime({"year": dates.year, "month": month, "day": day})
    next_year = pd.to_datetime({"year": dates.year + 1, "month": month, "day": day})
    target = np.where(this_year.values >= dates.values, this_year.values, next_year.values)
    return ((target - dates.values) / np.timedelta64(1, "D")).astype(np.int16)


def calendar_frame(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Calendar features for every day from ``start`` to ``end`` inclusive."""
    dates = pd.date_range(start, end, freq="D")
    years = np.unique(np.concatenate([dates.year.values - 1, dates.year.values, dates.year.values + 1]))
    festivals = pd.Series(_spring_festival(years), index=years)
    # Signed distance to the nearest Spring Festival (this year's or next year's).
    this_sf = festivals.loc[dates.year].values
    next_sf = festivals.loc[dates.year + 1].values
    to_this = (this_sf - dates.values) / np.timedelta64(1, "D")
    to_next = (next_sf - dates.values) / np.timedelta64(1, "D")
    to_sf = np.where(np.abs(to_this) <= np.abs(to_next), to_this, to_next)
    frame = pd.DataFrame({
        "date": dates.date,
        "weekday": dates.weekday.astype(np.int8),
        "month": dates.month.astype(np.int8),
        "day_of_month": dates.day.astype(np.int8),
        "day_of_year": dates.dayofyear.astype(np.int16),
        "days_to_spring_festival": np.clip(to_sf, -60, 60).astype(np.int16),
        "pre_festival": ((to_sf >= 1) & (to_sf <= 21)).astype(np.int8),  # new clothes for the new year
        "festival_slump": ((to_sf <= 0) & (to_sf >= -14)).astype(np.int8),
    })
    for name, month, first, last in FIXED_EVENTS:
        frame[name] = ((dates.month == month) & (dates.day >= first) & (dates.day <= last)).astype(np.int8)
    frame["days_to_double11"] = _days_to_next(dates, 11, 11)
    frame["days_to_618"] = _days_to_next(dates, 6, 18)
    return frame


def calendar_table(start: dt.date, end: dt.date) -> ibis.Table:
    """:func:`calendar_frame` as an ibis memtable, to join with series in the engine."""
    return ibis.memtable(calendar_frame(start, end))
