"""Promotions (促销) tied to the retail calendar, and which one applies to what on a given day.

Each event has a discount off the current price and a policy cap
(``max_discount_pct``): the total discount from tag price that the company
allows. A markdown plus a promotion never goes deeper than the cap, so a
line discounted beyond it can only be a cashier's doing -- which is exactly
what the discount risk check looks for. Promotions apply to full-price
channels only (not outlets) and never to limited releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from workbench.simulation.calendar import SPRING_FESTIVAL, Calendar
from workbench.simulation.chain import BRANDS

STORE, ONLINE, OUTLET = 0, 1, 2  # channel of a demand group
CHANNEL_OF = {"store": (STORE,), "online": (ONLINE,), "all": (STORE, ONLINE)}


def build_promotions(cal: Calendar) -> pd.DataFrame:
    """core.promotions for every year simulated, plus day numbers for the simulation."""
    rows = []
    for year in range(cal.sim_start.year, cal.end.year + 1):
        sf = SPRING_FESTIVAL[year]
        brand = BRANDS[year % len(BRANDS)]
        rows += [
            (f"{year} Spring Festival sale", sf - timedelta(days=20), sf - timedelta(days=2), 0.10, "all", None, "all", 0.60),
            (f"{year} Labour Day dresses", date(year, 4, 28), date(year, 5, 5), 0.15, "category", "dresses", "store", 0.50),
            (f"{year} 618 online", date(year, 6, 1), date(year, 6, 18), 0.20, "all", None, "online", 0.60),
            (f"{year} 618 in store", date(year, 6, 14), date(year, 6, 18), 0.10, "all", None, "store", 0.50),
            (f"{year} {BRANDS[0]} brand week", date(year, 3, 20), date(year, 3, 26), 0.12, "brand", BRANDS[0], "all", 0.50),
            (f"{year} Golden Week {brand}", date(year, 10, 1), date(year, 10, 7), 0.15, "brand", brand, "store", 0.50),
            (f"{year} {BRANDS[1]} brand week", date(year, 9, 18), date(year, 9, 24), 0.12, "brand", BRANDS[1], "all", 0.50),
            (f"{year} Double 11 online", date(year, 10, 24), date(year, 11, 11), 0.25, "all", None, "online", 0.60),
            (f"{year} Double 11 in store", date(year, 11, 8), date(year, 11, 11), 0.10, "category", "outerwear", "store", 0.50),
            (f"{year} Double 12", date(year, 12, 10), date(year, 12, 12), 0.15, "all", None, "online", 0.60),
        ]
    frame = pd.DataFrame(rows, columns=["promo_name", "start_date", "end_date", "discount_pct", "scope", "scope_value", "channels", "max_discount_pct"])
    frame.insert(0, "promo_id", np.arange(1, len(frame) + 1, dtype=np.int32))
    frame["start_day"] = [cal.index(d) for d in frame["start_date"]]
    frame["end_day"] = [cal.index(d) for d in frame["end_date"]]
    return frame


@dataclass(frozen=True)
class PromoOffer:
    """Per demand group on one day: the discount, its cap and the promotion id (0 = none)."""

    pct: np.ndarray
    cap: np.ndarray
    promo_id: np.ndarray


class PromoCalendar:
    """Which demand groups each promotion covers (computed once), and the offers of a day."""

    def __init__(self, promos: pd.DataFrame, g_channel: np.ndarray, g_brand: np.ndarray, g_category: np.ndarray,
                 g_limited: np.ndarray):
        self.promos = promos
        self.n = len(g_channel)
        self.start = promos["start_day"].to_numpy()
        self.end = promos["end_day"].to_numpy()
        self.masks = []
        for p in promos.itertuples():
            hit = np.isin(g_channel, CHANNEL_OF[p.channels]) & ~g_limited
            if p.scope == "brand":
                hit &= g_brand == p.scope_value
            elif p.scope == "category":
                hit &= g_category == p.scope_value
            self.masks.append(hit)
        self._none = PromoOffer(np.zeros(self.n), np.zeros(self.n), np.zeros(self.n, dtype=np.int32))

    def offers_on(self, day: int) -> PromoOffer:
        """The deepest promotion open to each demand group today."""
        live = np.flatnonzero((self.start <= day) & (self.end >= day))
        if len(live) == 0:
            return self._none
        pct, cap, pid = np.zeros(self.n), np.zeros(self.n), np.zeros(self.n, dtype=np.int32)
        for i in live:
            p = self.promos.iloc[i]
            better = self.masks[i] & (p.discount_pct > pct)
            pct[better], cap[better], pid[better] = p.discount_pct, p.max_discount_pct, p.promo_id
        return PromoOffer(pct=pct, cap=cap, promo_id=pid)
