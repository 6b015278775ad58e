"""The end of a season: markdown review, recall to the DC, returns to suppliers, outlet resale.

Mid-season the merchandisers mark down what sells behind its sell-through
target (售罄率); at clearance everything left goes to half price; after the
season everything in the stores goes back to the DC (with any B-goods), the
supplier takes back up to its allowance, and the following year the
leftovers are split over the outlets, which sell them until they are gone.
Weekly, stray units (customer returns after a recall) and B-goods go back to
the DC; quarterly, the DC's B-goods go back to their suppliers.

These are methods of ``operations.Merchandising`` (a mixin), which holds the state.
"""

from __future__ import annotations

import numpy as np

from workbench.simulation.arrays import largest_remainder
from workbench.simulation.ranging import OUTLET
from workbench.simulation.stock import OUTLET_ALLOCATION, RECALL, SUPPLIER_RETURN, B

OUTLET_PRICE, OUTLET_DEEP_PRICE = 0.35, 0.25  # of the tag price


class SeasonEnd:
    """Season-end decisions (mixed into ``Merchandising``)."""

    def _markdown_review(self, day: int, skcs: np.ndarray) -> None:
        skc = self.catalog.skc
        received = np.bincount(self.sku_skc, weights=self.stock.received_at_dc[: self.catalog.n_sku], minlength=self.catalog.n_skc)
        sell_through = self.cum_sold[skcs] / np.maximum(received[skcs], 1)
        launch = skc["launch_day"].to_numpy()[skcs]
        elapsed = np.clip((day - launch) / np.maximum(skc["season_end_day"].to_numpy()[skcs] - launch, 1), 0, 1)
        review = ~skc["is_limited"].to_numpy()[skcs]
        expected = skc["target_sell_through"].to_numpy()[skcs] * elapsed
        self.prices.markdown_review(day, skcs[review], sell_through[review], expected[review])

    def _recall(self, day: int, skcs: np.ndarray) -> None:
        """Season over: everything in the stores and online goes back to the DC (A and B goods)."""
        records = np.concatenate([self.recs_of_skc.get(int(s), np.zeros(0, np.int64)) for s in skcs])
        slots = self._close(day, records)
        self._to_dc(day, slots)

    def _to_dc(self, day: int, slots: np.ndarray) -> None:
        st = self.stock
        dc = self.plan.slot_sku[slots]
        st.ship(day, RECALL, st.a[slots].copy(), src=slots, dst=dc, lead=self.slot_lead[slots])
        st.ship(day, RECALL, st.b[slots].copy(), src=slots, dst=dc, lead=self.slot_lead[slots], quality=B)

    def _sweep(self, day: int) -> None:
        """Weekly: B-goods and stray units (returns after a recall) go back to the DC."""
        st = self.stock
        stray = np.flatnonzero(~self.is_dc_slot & ((st.b > 0) | ((st.a > 0) & ~self.ranged)))
        dc = self.plan.slot_sku[stray]
        a = np.where(self.ranged[stray], 0, st.a[stray])
        st.ship(day, RECALL, a, src=stray, dst=dc, lead=self.slot_lead[stray])
        st.ship(day, RECALL, st.b[stray].copy(), src=stray, dst=dc, lead=self.slot_lead[stray], quality=B)

    def _return_to_supplier(self, day: int, skcs: np.ndarray) -> None:
        """Leftovers back to the supplier, up to the allowance of what was ordered."""
        sku = np.flatnonzero(np.isin(self.sku_skc, skcs))
        supplier = self._supplier_of(sku)
        allowance = self.catalog.suppliers.set_index("supplier_id")["return_allowance"].reindex(supplier).to_numpy()
        qty = np.minimum(self.stock.a[sku], np.floor(allowance * self.ordered[sku])).astype(np.int32)
        self.stock.ship(day, SUPPLIER_RETURN, qty, src=sku, supplier=supplier)

    def _return_b_goods(self, day: int) -> None:
        """Quarterly: defective units at the DC go back to their suppliers."""
        sku = np.flatnonzero(self.stock.b[: self.catalog.n_sku] > 0)
        self.stock.ship(day, SUPPLIER_RETURN, self.stock.b[sku].copy(), src=sku, supplier=self._supplier_of(sku), quality=B)

    def _open_outlets(self, day: int, skcs: np.ndarray) -> None:
        """Next-year resale: the DC's leftovers of a season are split over the outlets."""
        self.prices.open_outlet(day, skcs, OUTLET_PRICE)
        if len(self.outlets) == 0:
            return
        sku = np.flatnonzero(np.isin(self.sku_skc, skcs))
        weight = self.chain.effect[self.outlets] / self.chain.effect[self.outlets].sum()
        split = largest_remainder(self.stock.a[sku], weight)  # (SKUs, outlets)
        rec = self.outlet_rec[:, self.sku_skc[sku]].T  # (SKUs, outlets)
        has = (split > 0) & (rec >= 0)
        rows, cols = np.nonzero(has)
        rec_hit = rec[rows, cols]
        offset = sku[rows] - np.searchsorted(self.sku_skc, self.sku_skc[sku[rows]])
        dst = self.rec_first[rec_hit] + offset
        lead = self.chain.lead_days[self.outlets[cols]]
        self.stock.ship(day, OUTLET_ALLOCATION, split[rows, cols].astype(np.int32), src=sku[rows], dst=dst, lead=lead)
        for start in np.unique(day + lead):
            self._starts[int(start)].append(np.unique(rec_hit[day + lead == start]))

    def _close_sold_out_outlets(self, day: int) -> None:
        rec = np.flatnonzero((self.plan.rec_kind == OUTLET) & (self.rec_started >= 0) & (self.rec_ended < 0))
        if len(rec) == 0:
            return
        slots = self.record_slots(rec)
        owner = np.repeat(rec, self.rec_count[rec])
        left = np.bincount(np.searchsorted(rec, owner), weights=self.stock.a[slots] + self.stock.transit[slots], minlength=len(rec))
        self._close(day + 1, rec[left == 0])
