"""Ticket prices per style-colour over time (core.price_changes): launch, markdown, clearance, outlet.

Markdowns are decided from the business's own numbers: at the mid-season
review, a style-colour selling behind its sell-through target (售罄率目标)
is marked down 20-30%; at clearance everything left goes to half price;
in the outlet the following year it sells at about a third of the tag price,
and deeper after six months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FULL, OUTLET_CHANNEL = 0, 1
CHANNELS = ("full_price", "outlet")
REASONS = ("launch", "markdown", "clearance", "outlet")


def retail_round(price: np.ndarray) -> np.ndarray:
    """Shelf prices end in 9 (209, not 209.30)."""
    return np.maximum(9.0, np.round(price / 10.0) * 10.0 - 1.0)


class PriceBook:
    """Current selling price per SKC and channel, and the log that becomes core.price_changes."""

    def __init__(self, full_price: np.ndarray):
        self.full = full_price.astype(float)
        self.price = self.full.copy()  # full-price channels (stores, counters, online)
        self.outlet = np.full_like(self.full, np.nan)
        self._log: list[tuple[np.ndarray, int, int, np.ndarray, int]] = []

    def record_launch(self, skcs: np.ndarray, days: np.ndarray) -> None:
        """Launch prices are logged with each SKC's own launch day (basics: before the simulation)."""
        for day in np.unique(days):
            rows = skcs[days == day]
            self._log.append((rows, int(day), FULL, self.full[rows].copy(), 0))

    def markdown_review(self, day: int, skcs: np.ndarray, sell_through: np.ndarray, expected: np.ndarray) -> None:
        """Behind plan → 30% off; a little behind → 20% off; on plan → unchanged."""
        depth = np.where(sell_through < 0.7 * expected, 0.7, np.where(sell_through < expected, 0.8, 1.0))
        self._set(day, skcs[depth < 1.0], retail_round(self.full[skcs] * depth)[depth < 1.0], FULL, 1)

    def clearance(self, day: int, skcs: np.ndarray) -> None:
        new = retail_round(self.full[skcs] * 0.5)
        lower = new < self.price[skcs]
        self._set(day, skcs[lower], new[lower], FULL, 2)

    def open_outlet(self, day: int, skcs: np.ndarray, share: float) -> None:
        self._set(day, skcs, retail_round(self.full[skcs] * share), OUTLET_CHANNEL, 3)

    def _set(self, day: int, skcs: np.ndarray, prices: np.ndarray, channel: int, reason: int) -> None:
        if len(skcs) == 0:
            return
        target = self.price if channel == FULL else self.outlet
        target[skcs] = prices
        self._log.append((skcs.copy(), day, channel, prices.copy(), reason))

    def changes(self) -> pd.DataFrame:
        """The log as rows: skc index, day, channel, price, reason."""
        if not self._log:
            return pd.DataFrame(columns=["skc", "day", "channel", "price", "reason"])
        return pd.DataFrame({
            "skc": np.concatenate([r[0] for r in self._log]),
            "day": np.concatenate([np.full(len(r[0]), r[1]) for r in self._log]),
            "channel": np.concatenate([np.full(len(r[0]), r[2]) for r in self._log]),
            "price": np.concatenate([r[3] for r in self._log]),
            "reason": np.concatenate([np.full(len(r[0]), r[4]) for r in self._log]),
        })


def group_prices(book: PriceBook, skc: np.ndarray, outlet: np.ndarray, pct: np.ndarray, cap: np.ndarray,
                 promo_id: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Price paid per demand group today: current price less any promotion, never below the policy cap.

    Returns (unit price, promo_id or 0 where no promotion lowers the price, price / tag price).
    """
    full = book.full[skc]
    current = np.where(outlet, book.outlet[skc], book.price[skc])
    current = np.where(np.isnan(current), full, current)
    promoted = np.maximum(np.round(current * (1.0 - pct), 2), np.round(full * (1.0 - cap), 2))
    applied = (pct > 0) & (promoted < current - 0.005)
    price = np.where(applied, promoted, current)
    return price, np.where(applied, promo_id, 0), price / full
