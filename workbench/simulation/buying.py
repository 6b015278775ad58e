"""Buying (订货): season orders months ahead, rolling orders for basics, and reorders (追单).

The buy is the planners' forecast -- built from what a buyer can see in the
sample, not from how hot the item will turn out -- times a buying error, so
hot items are under-bought and cold ones over-bought. Basics are reviewed
monthly against the run rate and the supplier's lead time. A few weeks after
launch a style-colour selling well ahead of its stock position is reordered
once on a quick-response lead time.

These are methods of ``operations.Merchandising`` (a mixin), which holds the state.
"""

from __future__ import annotations

import numpy as np

from workbench.simulation.demand import Calibration, size_shares, size_weight
from workbench.simulation.ranging import BASIC, SEASON
from workbench.simulation.seeding import rng

BUY_COVER = 1.3  # buy 30% above the full-price forecast: markdowns and outlets take the rest
BASIC_SAFETY_DAYS, BASIC_COVER_DAYS = 30, 60  # beyond the supplier's lead time
REORDER_WINDOW = (14, 49)  # days after launch when a reorder may be placed


class Buying:
    """Purchase orders and their receipts at the DC (mixed into ``Merchandising``)."""

    def _basic_forecast(self, calib: Calibration) -> np.ndarray:
        """Planned chain-wide units per day per SKU for basics (drives the rolling orders)."""
        plan = self.plan
        generic = size_shares(plan, self.catalog, np.zeros(self.chain.n))
        rec = np.maximum(plan.slot_rec, 0)
        is_basic = (~self.is_dc_slot) & (plan.rec_kind[rec] == BASIC)
        daily = calib.rec_weekly[rec] * generic / 7.0
        return np.bincount(plan.slot_sku[is_basic], weights=daily[is_basic], minlength=self.catalog.n_sku)

    def place_season_orders(self, calib: Calibration) -> None:
        """The buy: planned season units × buying error, at least the model stock, per size on the generic curve."""
        plan, catalog, skc = self.plan, self.catalog, self.catalog.skc
        g = rng(self.seed, "season-buy")
        season = plan.rec_kind == SEASON
        planned = np.bincount(plan.rec_skc[season], weights=calib.rec_season_units[season], minlength=catalog.n_skc)
        season_slots = (~self.is_dc_slot) & (plan.rec_kind[np.maximum(plan.slot_rec, 0)] == SEASON)
        model = np.bincount(plan.slot_sku[season_slots], weights=self.target[season_slots], minlength=catalog.n_sku)
        error = g.lognormal(0.0, 0.25, catalog.n_skc) * np.where(skc["is_limited"], 0.6, 1.0)
        share = self._generic_sku_share()
        buy = np.ceil(np.maximum(planned[self.sku_skc] * share * error[self.sku_skc] * BUY_COVER, model * 1.15))
        buy = np.where(skc["is_basic"].to_numpy()[self.sku_skc], 0, buy).astype(np.int64)
        launch = skc["launch_day"].to_numpy()[self.sku_skc]
        due = launch - g.integers(10, 26, catalog.n_sku)
        late = g.random(catalog.n_sku) < 0.15
        arrival = due + np.where(late, g.integers(10, 26, catalog.n_sku), g.integers(0, 6, catalog.n_sku))
        sku = np.flatnonzero(buy > 0)
        self._order(sku, buy[sku], due[sku], arrival[sku])

    def _generic_sku_share(self) -> np.ndarray:
        """The planners' size split of an SKC's buy (no store shift)."""
        w = size_weight(self.catalog, np.arange(self.catalog.n_sku))
        return w / np.bincount(self.sku_skc, weights=w)[self.sku_skc]

    def _lead_time(self, sku: np.ndarray) -> np.ndarray:
        """Supplier lead time (order to DC) of each SKU, in days."""
        lead = self.catalog.suppliers.set_index("supplier_id")["lead_time_days"]
        return lead.reindex(self._supplier_of(sku)).to_numpy().astype(np.int64)

    def _order(self, sku: np.ndarray, qty: np.ndarray, due: np.ndarray, arrival: np.ndarray, order_day: int | None = None) -> None:
        """Purchase order lines (core.purchase_orders) and their receipts at the DC."""
        products = self.catalog.products
        supplier = products["supplier_id"].to_numpy()[sku]
        lead = self._lead_time(sku)
        ordered_on = due - lead if order_day is None else np.full(len(sku), order_day)
        po = np.arange(self._next_po, self._next_po + len(sku), dtype=np.int64)
        self._next_po += len(sku)
        for name, values in (("po_id", po), ("sku", sku), ("supplier", supplier), ("order_day", ordered_on),
                             ("due_day", due), ("qty", qty), ("unit_cost", products["unit_cost"].to_numpy()[sku])):
            self.po[name].append(values)
        self.ordered[sku] += qty
        for day in np.unique(arrival):
            hit = arrival == day
            self.stock.book_receipt(int(day), sku[hit], qty[hit], supplier[hit], po[hit])

    def order_basics(self, day: int, initial: bool = False) -> None:
        """Rolling orders for basics (monthly review): when the stock position will not last the supplier's
        lead time plus a safety month, order up to lead time plus two months of the run rate."""
        daily = np.maximum(self.basic_daily, self.sku_sold / 30.0)  # planners follow the run rate
        self.sku_sold[:] = 0
        lead = self._lead_time(np.arange(self.catalog.n_sku))
        position = self.stock.a[: self.catalog.n_sku] + (self.ordered - self.stock.received_at_dc)
        if initial:
            model = np.bincount(self.plan.slot_sku, weights=self.target, minlength=self.catalog.n_sku)
            need = np.ceil((lead + BASIC_COVER_DAYS) * daily + model)
        else:
            reorder_point = (lead + BASIC_SAFETY_DAYS) * daily
            need = np.where(position < reorder_point, np.ceil((lead + BASIC_COVER_DAYS) * daily - position), 0)
        sku = np.flatnonzero((need > 0) & (self.basic_daily > 0))
        due = np.full(len(sku), day) if initial else day + lead[sku]
        self._order(sku, need[sku].astype(np.int64), due, due, order_day=None if initial else day)

    def _reorder(self, day: int) -> None:
        """追单: a style-colour whose run rate will outsell its stock position is reordered once."""
        skc = self.catalog.skc
        launch = skc["launch_day"].to_numpy()
        due = (~self.reordered) & ~skc["is_basic"].to_numpy() & (day >= launch + REORDER_WINDOW[0]) & (day <= launch + REORDER_WINDOW[1])
        if not due.any():
            return
        weeks = np.maximum((day - launch) / 7.0, 1.0)
        remaining = np.maximum((skc["clearance_day"].to_numpy() - day) / 7.0, 0.0)
        projected = self.cum_sold / weeks * remaining * 0.8
        n_skc, n_sku = self.catalog.n_skc, self.catalog.n_sku
        dc = self.stock.a[:n_sku] + (self.ordered - self.stock.received_at_dc)
        stores = self.active()
        position = np.bincount(self.sku_skc, weights=dc, minlength=n_skc)
        position += np.bincount(self.sku_skc[self.plan.slot_sku[stores]], weights=self.stock.a[stores] + self.stock.transit[stores], minlength=n_skc)
        hot = np.flatnonzero(due & (projected > 1.3 * position))
        if len(hot) == 0:
            return
        self.reordered[hot] = True
        sku = np.flatnonzero(np.isin(self.sku_skc, hot))
        qty = np.ceil((projected - position)[self.sku_skc[sku]] * self._generic_sku_share()[sku]).astype(np.int64)
        lead = self._lead_time(sku)
        arrival = day + np.maximum(21, lead // 2)  # quick response: fabric is booked, only making is left
        keep = qty > 0
        self._order(sku[keep], qty[keep], arrival[keep], arrival[keep], order_day=day)

    def purchase_orders(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.po.items()}

    def _supplier_of(self, sku: np.ndarray) -> np.ndarray:
        return self.catalog.products["supplier_id"].to_numpy()[sku]
