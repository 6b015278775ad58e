"""Merchandising operations (商品运营): buying, allocation, replenishment, 调拨, recalls, outlets.

The decisions a merchandising team makes, as rules over arrays of slots:

- **Buying (订货)**: season orders, rolling basics orders and reorders (追单),
  see ``buying``.
- **Initial allocation**: a few days before a store starts ranging an SKC,
  the DC ships its *model stock*: weeks of planned sales spread over sizes
  with the generic size curve (every store gets the same curve, their
  customers do not have it -- so size runs break, 断码).
- **Replenishment (补货)**: twice a week per store (the online shop daily),
  the DC tops each SKU back up to model stock, i.e. "sell one, replenish
  one", while stock lasts; A stores are served first when it runs short.
- **Model-stock review**: every four weeks a slot whose sales outgrew its
  model stock gets a bigger one (never smaller: stock-outs hide demand).
- **Store-to-store transfers (调拨)**: weekly, a store missing a core size that
  the DC cannot supply gets one from a store in the same region with spare.
- **Season end**: markdown review, clearance, recall to the DC, returns to
  the supplier within the agreed allowance, and the rest resold in outlets
  the next year until sold out, see ``season_end``.

This module holds the state and the daily schedule (``morning``, ``evening``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from workbench.simulation.arrays import by_day, expand, ration
from workbench.simulation.buying import Buying
from workbench.simulation.calendar import Calendar
from workbench.simulation.catalog import NEVER, Catalog
from workbench.simulation.chain import Chain
from workbench.simulation.demand import Calibration, size_shares
from workbench.simulation.pricing import PriceBook
from workbench.simulation.ranging import BASIC, OUTLET, SEASON, RangePlan
from workbench.simulation.season_end import OUTLET_DEEP_PRICE, SeasonEnd
from workbench.simulation.seeding import rng
from workbench.simulation.stock import ALLOCATION, REPLENISHMENT, TRANSFER, Stock, StockOuts

COVER_WEEKS = {"own": 3.0, "consignment": 2.5, "online": 2.0}
PRIORITY = {"online": 0, "A": 1, "B": 2, "C": 3, "consignment": 4}
TRANSFER_WEEKDAY, SWEEP_WEEKDAY = 2, 0  # Wednesday, Monday
TRANSFER_SHARE = 0.6  # only some breaks are worth the logistics cost
REVIEW_WEEKS = 4


class Merchandising(Buying, SeasonEnd):
    """The range and stock decisions, applied day by day to ``Stock``."""

    def __init__(self, cal: Calendar, chain: Chain, catalog: Catalog, plan: RangePlan, calib: Calibration,
                 stock: Stock, prices: PriceBook, seed: int):
        self.cal, self.chain, self.catalog, self.plan = cal, chain, catalog, plan
        self.stock, self.prices, self.seed = stock, prices, seed
        self.stockouts = StockOuts(plan.n_slots)
        self.ranged = np.zeros(plan.n_slots, dtype=bool)
        self.version = 0  # bumped whenever the ranged set changes
        self._active: tuple[int, np.ndarray] = (-1, np.zeros(0, np.int64))
        self._cycle: tuple[int, list[np.ndarray]] = (-1, [])
        n_rec = plan.n_records
        self.rec_first = plan.first_slot_of_record()  # a record's sizes are contiguous slots
        self.rec_count = np.bincount(plan.slot_rec[plan.slot_rec >= 0], minlength=n_rec)
        self.rec_started = np.full(n_rec, -1, dtype=np.int32)
        self.rec_ended = np.full(n_rec, -1, dtype=np.int32)
        self.is_dc_slot = plan.slot_rec < 0
        self.slot_lead = chain.lead_days[plan.slot_loc].astype(np.int32)
        self.sku_skc = catalog.sku_skc()
        self.cum_sold = np.zeros(catalog.n_skc)
        self.sku_sold = np.zeros(catalog.n_sku)  # since the last basics order
        self.slot_sold = np.zeros(plan.n_slots, dtype=np.int32)  # since the last model-stock review
        self.reordered = np.zeros(catalog.n_skc, dtype=bool)
        self.ordered = np.zeros(catalog.n_sku, dtype=np.int64)
        self.po = defaultdict(list)
        self._next_po = 1
        self.target = self._model_stock(calib)
        self.repl_until = self._replenish_until()
        kind = plan.rec_kind
        planned = kind != OUTLET
        alloc_day = np.maximum(plan.rec_start - chain.lead_days[plan.rec_loc], 0)
        self._alloc = by_day(np.where(planned, alloc_day, -1))
        self._starts: dict[int, list[np.ndarray]] = defaultdict(list)
        for d, r in by_day(np.where(planned, plan.rec_start, -1)).items():
            self._starts[d].append(r)
        skc = catalog.skc
        self._events = {name: by_day(skc[name].to_numpy()) for name in
                        ("review_day", "clearance_day", "recall_day", "return_day", "outlet_day", "outlet_deep_day")}
        self.basic_daily = self._basic_forecast(calib)
        outlets = np.flatnonzero(chain.type == "outlet")
        self.outlets = outlets
        self.outlet_rec = np.full((len(outlets), catalog.n_skc), -1, dtype=np.int64)
        is_outlet = kind == OUTLET
        self.outlet_rec[np.searchsorted(outlets, plan.rec_loc[is_outlet]), plan.rec_skc[is_outlet]] = np.flatnonzero(is_outlet)
        self.recs_of_skc = by_day(np.where(kind == SEASON, plan.rec_skc, -1))
        label = np.where(chain.type == "own", chain.stores["grade"].fillna("").to_numpy(), chain.type)
        self.loc_priority = np.array([PRIORITY.get(x, 5) for x in label])
        self.is_core = catalog.products["is_core_size"].to_numpy()

    # --- set-up ---------------------------------------------------------------------

    def _model_stock(self, calib: Calibration) -> np.ndarray:
        """Units per slot the DC keeps a store topped up to: weeks of planned sales on the generic curve."""
        plan, chain = self.plan, self.chain
        generic = size_shares(plan, self.catalog, np.zeros(chain.n))
        rec = np.maximum(plan.slot_rec, 0)
        loc_type = chain.type[plan.slot_loc]
        cover = np.array([COVER_WEEKS.get(t, 0.0) for t in chain.type])[plan.slot_loc]
        self.target_cover = cover
        units = np.round(calib.rec_weekly[rec] * cover * generic)
        core = self.catalog.products["is_core_size"].to_numpy()[plan.slot_sku]
        small = (chain.stores["grade"].to_numpy()[plan.slot_loc] == "C") | (loc_type == "consignment")
        units = np.maximum(units, np.where(core | ~small, 1, 0))  # small stores skip the edge sizes
        units = np.where(self.is_dc_slot | (plan.rec_kind[rec] == OUTLET), 0, units)
        return units.astype(np.int32)

    def _replenish_until(self) -> np.ndarray:
        """Replenishment stops at clearance for season items, never for basics, and outlets get none."""
        plan = self.plan
        rec = np.maximum(plan.slot_rec, 0)
        clearance = self.catalog.skc["clearance_day"].to_numpy()[plan.rec_skc[rec]]
        kind = plan.rec_kind[rec]
        until = np.select([kind == SEASON, kind == BASIC], [clearance, NEVER], -1)
        return np.where(self.is_dc_slot, -1, until).astype(np.int32)

    # --- the range --------------------------------------------------------------------

    def active(self) -> np.ndarray:
        """Ranged store slots (the series that have demand today), cached between range changes."""
        if self._active[0] != self.version:
            self._active = (self.version, np.flatnonzero(self.ranged))
        return self._active[1]

    def record_slots(self, records: np.ndarray) -> np.ndarray:
        return expand(self.rec_first[records], self.rec_count[records])

    def _open(self, day: int, records: np.ndarray) -> None:
        records = records[self.rec_started[records] < 0]
        self.rec_started[records] = day
        self.ranged[self.record_slots(records)] = True
        self.version += 1

    def _close(self, day: int, records: np.ndarray) -> np.ndarray:
        """End ranging (last day ranged = ``day - 1``); returns the records' slots."""
        records = records[(self.rec_started[records] >= 0) & (self.rec_ended[records] < 0)]
        self.rec_ended[records] = day - 1
        slots = self.record_slots(records)
        self.ranged[slots] = False
        self.stockouts.close(slots, day - 1)
        self.version += 1
        return slots

    # --- the day -----------------------------------------------------------------------

    def morning(self, day: int) -> None:
        """Before opening: arrivals, then everything scheduled for today."""
        if day == 0:
            self.order_basics(day, initial=True)
        self.stock.arrive(day)
        if day in self._alloc:
            self._allocate(day, self._alloc[day])
        if day in self._starts:
            self._open(day, np.concatenate(self._starts.pop(day)))
        ev = self._events
        if day in ev["review_day"]:
            self._markdown_review(day, ev["review_day"][day])
        if day in ev["clearance_day"]:
            self.prices.clearance(day, ev["clearance_day"][day])
        if day in ev["recall_day"]:
            self._recall(day, ev["recall_day"][day])
        if day in ev["return_day"]:
            self._return_to_supplier(day, ev["return_day"][day])
        if day in ev["outlet_day"]:
            self._open_outlets(day, ev["outlet_day"][day])
        if day in ev["outlet_deep_day"]:
            self.prices.open_outlet(day, ev["outlet_deep_day"][day], OUTLET_DEEP_PRICE)
        if day > 0 and self.cal.date(day).day == 1:
            self.order_basics(day)

    def evening(self, day: int) -> None:
        """After closing: replenishment, weekly transfers and sweeps, outlet sell-outs."""
        self._replenish(day)
        weekday = int(self.cal.weekday[day])
        if weekday == TRANSFER_WEEKDAY:
            self._rebalance(day)
        if weekday == SWEEP_WEEKDAY:
            self._sweep(day)
            self._reorder(day)
            if (day // 7) % REVIEW_WEEKS == 0:
                self._review_model_stock()
        if weekday == 6:
            self._close_sold_out_outlets(day)
        if self.cal.date(day).day == 1 and self.cal.date(day).month in (1, 4, 7, 10):
            self._return_b_goods(day)

    def record_sales(self, slots: np.ndarray, units: np.ndarray) -> None:
        """Running sales counters (``slots`` are distinct)."""
        sku = self.plan.slot_sku[slots]
        self.cum_sold += np.bincount(self.sku_skc[sku], weights=units, minlength=self.catalog.n_skc)
        self.sku_sold += np.bincount(sku, weights=units, minlength=self.catalog.n_sku)
        self.slot_sold[slots] += units.astype(np.int32)

    def _review_model_stock(self) -> None:
        """Raise the model stock of slots that sold more than it covers (it is never lowered)."""
        slots = self.active()
        weekly = self.slot_sold[slots] / REVIEW_WEEKS
        cover = self.target_cover[slots]
        self.target[slots] = np.maximum(self.target[slots], np.ceil(weekly * cover)).astype(np.int32)
        self.slot_sold[:] = 0

    def _ship_from_dc(self, day: int, kind: int, slots: np.ndarray, need: np.ndarray) -> None:
        """Serve requests from DC stock: per SKU, online first, then A, B, C stores and counters, ties at random."""
        dc = self.plan.slot_sku[slots].astype(np.int64)  # DC slot number = SKU index
        noise = rng(self.seed, "priority", day).random(len(slots))
        order = np.argsort(dc * 8 + self.loc_priority[self.plan.slot_loc[slots]] + noise)
        slots, need, dc = slots[order], need[order], dc[order]
        grant = ration(need, dc, self.stock.a, presorted=True).astype(np.int32)
        self.stock.ship(day, kind, grant, src=dc, dst=slots, lead=self.slot_lead[slots])

    def _allocate(self, day: int, records: np.ndarray) -> None:
        slots = self.record_slots(records)
        self._ship_from_dc(day, ALLOCATION, slots, self.target[slots])

    def _replenish(self, day: int) -> None:
        slots = self._replenished_on(int(self.cal.weekday[day]))
        slots = slots[day < self.repl_until[slots]]
        need = self.target[slots] - self.stock.a[slots] - self.stock.transit[slots]
        keep = need > 0
        self._ship_from_dc(day, REPLENISHMENT, slots[keep], need[keep])

    def _replenished_on(self, weekday: int) -> np.ndarray:
        """Ranged slots of the locations replenished on this weekday (cached between range changes)."""
        if self._cycle[0] != self.version:
            slots = self.active()
            days = self.chain.replenish_days[self.plan.slot_loc[slots]]
            self._cycle = (self.version, [slots[days[:, d]] for d in range(7)])
        return self._cycle[1][weekday]

    def _rebalance(self, day: int) -> None:
        """调拨: one unit of a missing core size from the same-region store with most spare."""
        st, plan = self.stock, self.plan
        slots = self.active()
        loc = plan.slot_loc[slots]
        kind = self.chain.type[loc]
        eligible = np.isin(kind, ("own", "consignment")) & (day < self.repl_until[slots])
        sku = plan.slot_sku[slots]
        core = self.is_core[sku]
        g = rng(self.seed, "rebalance", day)
        want = eligible & core & (st.a[slots] == 0) & (st.transit[slots] == 0) & (st.a[sku] == 0)
        want &= g.random(len(slots)) < TRANSFER_SHARE
        spare = np.where(eligible, st.a[slots] - 2, 0)
        region = self.chain.region_index[loc].astype(np.int64)
        key = region * self.catalog.n_sku + sku
        recipients, donors = slots[want], slots[spare > 0]
        r_key, d_key, d_spare = key[want], key[spare > 0], spare[spare > 0]
        d_order = np.argsort(d_key * 1024 - np.minimum(d_spare, 1023))  # per region and SKU, most spare first
        donors, d_key, d_spare = donors[d_order], d_key[d_order], d_spare[d_order]
        r_order = np.argsort(r_key + g.random(len(r_key)))
        recipients, r_key = recipients[r_order], r_key[r_order]
        rank = np.arange(len(r_key)) - np.searchsorted(r_key, r_key, side="left")
        cum = np.cumsum(d_spare)
        lo = np.searchsorted(d_key, r_key, side="left")
        hi = np.searchsorted(d_key, r_key, side="right")
        base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0)
        pos = np.searchsorted(cum, base + rank, side="right")
        ok = pos < hi
        st.ship(day, TRANSFER, np.ones(int(ok.sum()), np.int32), src=donors[pos[ok]], dst=recipients[ok], lead=2)
