"""The Chinese retail calendar: weekdays, holidays, shopping festivals and weather.

Fashion sales in China follow a calendar Western calendars miss: the Spring
Festival (春节) moves with the lunar calendar, shoppers buy new clothes in
the weeks before it, then malls are quiet and some stores close on New
Year's Eve (除夕) and day 1 (初一); online shops stop shipping around it.
The platform festivals 618 and Double 11 (双11) make online spike; National
Day's golden week (国庆黄金周) fills the malls. Everything here is a fixed
date except the weather, which wanders around each region's climate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from workbench.simulation.seeding import rng

# Lunar New Year's day (正月初一); hard-coded because the lunar calendar is not arithmetic.
SPRING_FESTIVAL: dict[int, date] = {
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}

REGIONS: tuple[str, ...] = ("East", "North", "South", "Central", "West")
NATIONAL = len(REGIONS)  # index of the national-average climate (the online shop sells everywhere)

# Mean temperature and seasonal amplitude (°C) per region: North is cold in winter, South mild.
CLIMATE: dict[str, tuple[float, float]] = {
    "East": (17.0, 11.0),
    "North": (11.0, 15.0),
    "South": (23.0, 6.5),
    "Central": (17.5, 11.5),
    "West": (15.0, 9.0),
}

STORE_WEEKDAY = np.array([0.82, 0.78, 0.80, 0.86, 1.02, 1.45, 1.35])  # Mon..Sun: weekends fill malls
ONLINE_WEEKDAY = np.array([1.00, 0.98, 0.97, 0.98, 1.00, 1.08, 1.10])


@dataclass(frozen=True)
class Calendar:
    """Per-day arrays over the simulated days (warm-up + window), indexed by day number."""

    sim_start: date
    window_start: date
    end: date
    dates: np.ndarray  # datetime64[D]
    weekday: np.ndarray  # 0 = Monday
    store_traffic: np.ndarray  # multiplier on a store's ordinary footfall
    online_traffic: np.ndarray  # multiplier on the online shop's ordinary sessions
    closed_share: np.ndarray  # share of stores closed that day (Spring Festival)
    temperature: np.ndarray  # (regions + national, days) °C

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def first_window_day(self) -> int:
        return self.index(self.window_start)

    @property
    def epoch_day(self) -> int:
        """Day 0 as days since 1970-01-01 (what Arrow's date32 stores)."""
        return int(self.dates[0].astype("datetime64[D]").astype(np.int64))

    def index(self, day: date) -> int:
        """Day number of a date (may be negative or beyond the end for planning dates)."""
        return (day - self.sim_start).days

    def date(self, day: int) -> date:
        return self.sim_start + timedelta(days=int(day))

    def is_snapshot(self, day: int) -> bool:
        """Stock is photographed each Sunday, on the last day and the evening before the window."""
        return bool(self.weekday[day] == 6) or day == self.n_days - 1 or day == self.first_window_day - 1

    def is_month_end(self, day: int) -> bool:
        return day == self.n_days - 1 or self.date(day + 1).day == 1

    def month_start(self, day: int) -> date:
        return self.date(day).replace(day=1)


def build_calendar(sim_start: date, window_start: date, end: date, seed: int) -> Calendar:
    """Lay out the days with their traffic profiles, closures and weather."""
    n = (end - sim_start).days + 1
    dates = np.datetime64(sim_start, "D") + np.arange(n)
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    store, online, closed = _event_profiles(sim_start, n)
    season = 1.0 + 0.06 * np.cos(2 * np.pi * (_day_of_year(dates) - 355) / 365.25)  # winter coats, summer heat
    return Calendar(
        sim_start=sim_start,
        window_start=window_start,
        end=end,
        dates=dates,
        weekday=weekday,
        store_traffic=STORE_WEEKDAY[weekday] * season * store,
        online_traffic=ONLINE_WEEKDAY[weekday] * online,
        closed_share=closed,
        temperature=_temperatures(dates, seed),
    )


def _day_of_year(dates: np.ndarray) -> np.ndarray:
    years = dates.astype("datetime64[Y]")
    return (dates - years.astype("datetime64[D]")).astype(np.int64) + 1


def _temperatures(dates: np.ndarray, seed: int) -> np.ndarray:
    """Seasonal temperature per region plus a slowly wandering anomaly (a warm autumn hurts coats)."""
    doy = _day_of_year(dates)
    base = np.array([CLIMATE[r][0] for r in REGIONS])[:, None]
    amp = np.array([CLIMATE[r][1] for r in REGIONS])[:, None]
    temps = base - amp * np.cos(2 * np.pi * (doy - 20) / 365.25)[None, :]
    shocks = rng(seed, "weather").normal(0.0, 1.0, size=temps.shape)
    anomaly = np.zeros_like(temps)
    for t in range(1, temps.shape[1]):  # AR(1): a few thousand steps, once per build
        anomaly[:, t] = 0.9 * anomaly[:, t - 1] + shocks[:, t]
    temps = temps + 0.8 * anomaly
    national = temps.mean(axis=0, keepdims=True)
    return np.vstack([temps, national])


def _event_profiles(sim_start: date, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multipliers for store footfall and online sessions, and the share of stores closed."""
    store, online, closed = np.ones(n), np.ones(n), np.zeros(n)
    end = sim_start + timedelta(days=n - 1)

    def window(first: date, values, target: np.ndarray) -> None:
        values = np.atleast_1d(np.asarray(values, dtype=float))
        for k, v in enumerate(values):
            i = (first - sim_start).days + k
            if 0 <= i < n:
                target[i] *= v

    for year in range(sim_start.year, end.year + 1):
        if year not in SPRING_FESTIVAL:
            raise ValueError(f"no Spring Festival date for {year}: add it to calendar.SPRING_FESTIVAL")
        sf = SPRING_FESTIVAL[year]
        # New clothes for the new year: footfall climbs over the three weeks before the festival.
        window(sf - timedelta(days=21), np.linspace(1.1, 1.5, 19), store)
        window(sf - timedelta(days=2), [1.2], store)
        # The slump: Eve and day 1 very quiet, visiting relatives until day 6, then recovery.
        window(sf - timedelta(days=1), [0.35, 0.45] + [0.65] * 6 + [0.85] * 7, store)
        for offset, share in ((-1, 0.5), (0, 0.6), (1, 0.2)):
            i = (sf + timedelta(days=offset) - sim_start).days
            if 0 <= i < n:
                closed[i] = share
        # Couriers stop: online shoppers stay away from a week before to a week after.
        window(sf - timedelta(days=25), [1.2] * 15, online)
        window(sf - timedelta(days=10), [0.45] * 17, online)
        window(date(year, 1, 1), [1.3], store)
        window(date(year, 5, 1), [1.5, 1.45, 1.35, 1.25, 1.15], store)  # Labour Day holiday
        # 618 (mid-year festival): online presale from 1 June, peak on the 18th.
        window(date(year, 6, 1), [1.35] * 15 + [2.0, 2.0, 4.0], online)
        window(date(year, 6, 14), [1.1] * 5, store)
        window(date(year, 10, 1), [1.9, 1.8, 1.7, 1.5, 1.4, 1.3, 1.2], store)  # golden week
        window(date(year, 10, 1), [0.85] * 7, online)
        # Double 11 (双11): presale from late October, the spike on 11 November.
        window(date(year, 10, 24), [1.4] * 18 + [6.5, 1.6], online)
        window(date(year, 11, 8), [1.08] * 4, store)
        window(date(year, 12, 10), [1.3, 1.3, 2.5], online)  # Double 12 (双12)
        window(date(year, 12, 10), [1.05] * 3, store)
        window(date(year, 12, 24), [1.2, 1.25], store)
        window(date(year, 12, 31), [1.15], store)
    return store, online, closed
