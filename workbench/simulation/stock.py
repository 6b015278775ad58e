"""Stock on hand per slot (location × SKU), goods in transit, and the logs of every movement.

Quality A is saleable stock; quality B are defective units (次品) found at
receipt inspection or in customer returns: they are counted but never sold,
and go back to the DC and on to the supplier. Goods shipped between
locations are *in transit* until their arrival day (supplier receipts are
booked on arrival, so the DC has no supplier goods in transit).

Every movement is logged as it happens (the ``core.transfers`` rows), so the
stock identity -- opening stock + receipts - shipments - net sales = closing
stock -- holds by construction and the tests check it from the tables.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from workbench.simulation.seeding import rng

MOVEMENT_TYPES = ("supplier_receipt", "initial_allocation", "replenishment", "store_transfer", "recall",
                  "supplier_return", "outlet_allocation")
RECEIPT, ALLOCATION, REPLENISHMENT, TRANSFER, RECALL, SUPPLIER_RETURN, OUTLET_ALLOCATION = range(7)
DEFECT_TYPES = ("stain", "hole", "missing_accessory", "seam")
DEFECT_SOURCES = ("receipt_inspection", "customer_return")
A, B, INSPECT = 0, 1, 2  # what an arrival is: saleable goods, defective goods, or a receipt to inspect
RECEIPT_DEFECT_RATE = 0.012


class Log:
    """Columns appended in pieces and drained in one go (movements, B-goods)."""

    def __init__(self, *names: str):
        self.names = names
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, *columns) -> None:
        lengths = [np.size(c) for c in columns if np.ndim(c) > 0]
        n = max(lengths) if lengths else 1
        if n == 0 or 0 in lengths:
            return
        self.parts.append(tuple(np.broadcast_to(np.asarray(c), (n,)).copy() for c in columns))

    def drain(self) -> dict[str, np.ndarray]:
        if not self.parts:
            return {name: np.zeros(0, dtype=np.int64) for name in self.names}
        out = {name: np.concatenate([p[i] for p in self.parts]) for i, name in enumerate(self.names)}
        self.parts.clear()
        return out


class Stock:
    """On-hand and in-transit units per slot, with the arrivals queue and movement logs."""

    def __init__(self, slot_loc: np.ndarray, slot_sku: np.ndarray, seed: int):
        n = len(slot_loc)
        self.slot_loc = slot_loc
        self.slot_sku = slot_sku
        self.seed = seed
        self.a = np.zeros(n, dtype=np.int32)
        self.b = np.zeros(n, dtype=np.int32)
        self.transit = np.zeros(n, dtype=np.int32)
        self.received_at_dc = np.zeros(int(slot_sku.max()) + 1, dtype=np.int64)  # per SKU, supplier receipts
        self._arrivals: dict[int, list[tuple]] = defaultdict(list)  # day -> (slots, qty, kind, supplier, po)
        self.moves = Log("type", "sku", "from_loc", "to_loc", "qty", "ship_day", "receive_day", "supplier", "po")
        self.b_goods = Log("sku", "loc", "day", "qty", "defect", "source")

    def ship(self, day: int, kind: int, qty: np.ndarray, *, src: np.ndarray | None = None, dst: np.ndarray | None = None,
             lead: np.ndarray | int = 0, quality: int = A, supplier: np.ndarray | int = -1) -> None:
        """Move ``qty`` from slots ``src`` (None: a supplier) to slots ``dst`` (None: back to a supplier)."""
        keep = qty > 0
        if not keep.any():
            return
        qty = qty[keep]
        src = None if src is None else src[keep]
        dst = None if dst is None else dst[keep]
        lead = np.broadcast_to(lead, keep.shape)[keep]
        supplier = np.broadcast_to(supplier, keep.shape)[keep]
        if src is not None:
            on_hand = self.a if quality == A else self.b
            np.subtract.at(on_hand, src, qty)
        arrive = day + lead
        if dst is not None:
            np.add.at(self.transit, dst, qty)
            for when in np.unique(arrive):
                hit = arrive == when
                self._arrivals[int(when)].append((dst[hit], qty[hit], quality, None, None))
        sku = self.slot_sku[src if src is not None else dst]
        from_loc = -1 if src is None else self.slot_loc[src]
        to_loc = -1 if dst is None else self.slot_loc[dst]
        receive = arrive if dst is not None else np.full(len(qty), day)  # returns to a supplier: booked on dispatch
        self.moves.add(kind, sku, from_loc, to_loc, qty, day, receive, supplier, -1)

    def book_receipt(self, day: int, dc_slots: np.ndarray, qty: np.ndarray, supplier: np.ndarray, po: np.ndarray) -> None:
        """A supplier delivery due at the DC on ``day`` (logged as a receipt when it arrives)."""
        keep = qty > 0
        self._arrivals[max(int(day), 0)].append((dc_slots[keep], qty[keep], INSPECT, supplier[keep], po[keep]))

    def arrive(self, day: int) -> None:
        """Goods due today arrive before the doors open; supplier receipts are inspected for defects."""
        for slots, qty, kind, supplier, po in self._arrivals.pop(day, []):
            if kind == INSPECT:
                self._inspect(day, slots, qty)
                self.moves.add(RECEIPT, self.slot_sku[slots], -1, self.slot_loc[slots], qty, day, day, supplier, po)
                continue
            np.subtract.at(self.transit, slots, qty)
            np.add.at(self.a if kind == A else self.b, slots, qty)

    def _inspect(self, day: int, slots: np.ndarray, qty: np.ndarray) -> None:
        g = rng(self.seed, "receipt-inspection", day)
        defects = g.binomial(qty, RECEIPT_DEFECT_RATE)
        np.add.at(self.a, slots, qty - defects)
        np.add.at(self.b, slots, defects)
        np.add.at(self.received_at_dc, self.slot_sku[slots], qty)
        hit = defects > 0
        self.b_goods.add(self.slot_sku[slots[hit]], self.slot_loc[slots[hit]], day, defects[hit],
                         g.integers(0, len(DEFECT_TYPES), int(hit.sum())), 0)

    def take_back(self, day: int, slots: np.ndarray, qty: np.ndarray, defective_share: float) -> None:
        """Customer returns: most go back on the shelf, some are defective and become B-goods."""
        g = rng(self.seed, "return-inspection", day)
        defects = g.binomial(qty, defective_share)
        np.add.at(self.a, slots, qty - defects)
        np.add.at(self.b, slots, defects)
        hit = defects > 0
        self.b_goods.add(self.slot_sku[slots[hit]], self.slot_loc[slots[hit]], day, defects[hit],
                         g.integers(0, len(DEFECT_TYPES), int(hit.sum())), 1)

    def snapshot(self, ranged: np.ndarray, is_dc: np.ndarray) -> dict[str, np.ndarray]:
        """End-of-day stock rows: quality A for every ranged slot (zeros show broken size runs, 断码)
        and any slot holding or awaiting goods; quality B wherever B-goods are."""
        show_a = np.flatnonzero((ranged & ~is_dc) | (self.a > 0) | (self.transit > 0))
        show_b = np.flatnonzero(self.b > 0)
        slots = np.r_[show_a, show_b]
        return {
            "slot": slots,
            "quality_b": np.r_[np.zeros(len(show_a), bool), np.ones(len(show_b), bool)],
            "on_hand": np.r_[self.a[show_a], self.b[show_b]],
            "in_transit": np.r_[self.transit[show_a], np.zeros(len(show_b), np.int32)],
        }


class StockOuts:
    """Spells when a ranged SKU had nothing saleable at opening (缺货): core.out_of_stock."""

    def __init__(self, n_slots: int):
        self.since = np.full(n_slots, -1, dtype=np.int32)
        self.log = Log("slot", "start_day", "end_day")

    def update(self, day: int, slots: np.ndarray, empty: np.ndarray) -> None:
        """``slots`` are the ranged slots, ``empty`` whether each had no A stock at opening today."""
        since = self.since[slots]
        begins = empty & (since < 0)
        ends = ~empty & (since >= 0)
        self.since[slots[begins]] = day
        self.log.add(slots[ends], since[ends], day - 1)
        self.since[slots[ends]] = -1

    def close(self, slots: np.ndarray, last_day: int, still_open: bool = False) -> None:
        """Slots leave the range (recall, sold-out outlet) or the window ends: spells stop there."""
        open_ = slots[self.since[slots] >= 0]
        self.log.add(open_, self.since[open_], -1 if still_open else last_day)
        self.since[open_] = -1
