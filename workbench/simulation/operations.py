"""Merchandising operations (商品运营): buying, allocation, replenishment, 调拨, recalls, outlets.

The decisions a merchandising team makes, as rules over arrays of slots:

- **Buying (订货)**: season orders placed months before launch from the
  planners' forecast (which cannot see which items will turn out hot) with a
  buying error; basics re-ordered monthly from a rolling forecast.
- **Initial allocation**: a few days before a store starts ranging an SKC,
  the DC ships its *model stock*: weeks of planned sales spread over sizes
  with the generic size curve (every store gets the same curve, their
  customers do not have it -- so size runs break, 断码).
- **Replenishment (补货)**: twice a week per store (the online shop daily),
  the DC tops each SKU back up to model stock, i.e. "sell one, replenish
  one", while stock lasts; A stores are served first when it runs short.
- **Reorders (追单)**: weeks after launch, a style-colour selling well ahead
  of its stock position is reordered once on a quick-response lead time.
- **Model-stock review**: every four weeks a slot whose sales outgrew its
  model stock gets a bigger one (never smaller: stock-outs hide demand).
- **Store-to-store transfers (调拨)**: weekly, a store missing a core size that
  the DC cannot supply gets one from a store in the same region with spare.
- **Season end**: markdown review, clearance, recall to the DC, returns to
  the supplier within the agreed allowance, and the rest resold in outlets
  the next year until sold out.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from workbench.simulation.calendar import Calendar
from workbench.simulation.catalog import NEVER, RUN_CENTRE, Catalog
from workbench.simulation.chain import Chain
from workbench.simulation.demand import Calibration, size_shares
from workbench.simulation.pricing import PriceBook
from workbench.simulation.ranging import BASIC, OUTLET, SEASON, RangePlan
from workbench.simulation.seeding import rng
from workbench.simulation.stock import (ALLOCATION, OUTLET_ALLOCATION, RECALL, REPLENISHMENT, SUPPLIER_RETURN,
                                        TRANSFER, B, Stock, StockOuts)

COVER_WEEKS = {"own": 3.0, "consignment": 2.5, "online": 2.0}
PRIORITY = {"online": 0, "A": 1, "B": 2, "C": 3, "consignment": 4}
BASIC_SAFETY_DAYS, BASIC_COVER_DAYS = 30, 60  # beyond the supplier's lead time
OUTLET_PRICE, OUTLET_DEEP_PRICE = 0.35, 0.25
TRANSFER_WEEKDAY, SWEEP_WEEKDAY = 2, 0  # Wednesday, Monday
TRANSFER_SHARE = 0.6  # only some breaks are worth the logistics cost
BUY_COVER = 1.3  # buy 30% above the full-price forecast: markdowns and outlets take the rest
REORDER_WINDOW = (14, 49)  # days after launch when a reorder may be placed
REVIEW_WEEKS = 4


def ration(request: np.ndarray, source: np.ndarray, available: np.ndarray, presorted: bool = False) -> np.ndarray:
    """Grant requests against shared stock, in the given order within each source (first come, first served).

    ``presorted``: requests already come grouped by source, in serving order.
    """
    order = np.arange(len(source)) if presorted else np.argsort(source, kind="stable")
    req, src = request[order], source[order]
    csum = np.cumsum(req)
    first = np.r_[True, src[1:] != src[:-1]]
    before_group = np.maximum.accumulate(np.where(first, csum - req, 0))
    already = csum - req - before_group
    grant = np.empty_like(request)
    grant[order] = np.clip(available[src] - already, 0, req)
    return grant


def expand(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenate ``range(first[i], first[i] + count[i])`` without a Python loop."""
    total = int(count.sum())
    starts = np.repeat(first - np.r_[0, np.cumsum(count)[:-1]], count)
    return starts + np.arange(total)


def by_day(days: np.ndarray) -> dict[int, np.ndarray]:
    """Index positions by day number: ``{day: positions}``."""
    order = np.argsort(days, kind="stable")
    values, starts = np.unique(days[order], return_index=True)
    return {int(v): part for v, part in zip(values, np.split(order, starts[1:]))}


class Merchandising:
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
        products = self.catalog.products
        rank = products["size_rank"].to_numpy(float)
        centre = products["gender"].map(RUN_CENTRE).to_numpy()
        w = np.where(rank == 0, 1.0, np.exp(-0.5 * (rank - centre) ** 2))
        return w / np.bincount(self.sku_skc, weights=w)[self.sku_skc]

    def _order(self, sku: np.ndarray, qty: np.ndarray, due: np.ndarray, arrival: np.ndarray, order_day: int | None = None) -> None:
        """Purchase order lines (core.purchase_orders) and their receipts at the DC."""
        products = self.catalog.products
        supplier = products["supplier_id"].to_numpy()[sku]
        lead = self.catalog.suppliers.set_index("supplier_id")["lead_time_days"].reindex(supplier).to_numpy()
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
        lead = self.catalog.suppliers.set_index("supplier_id")["lead_time_days"].reindex(
            self._supplier_of(np.arange(self.catalog.n_sku))).to_numpy()
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
        lead = self.catalog.suppliers.set_index("supplier_id")["lead_time_days"].reindex(self._supplier_of(sku)).to_numpy()
        arrival = day + np.maximum(21, lead // 2)  # quick response: fabric is booked, only making is left
        keep = qty > 0
        self._order(sku[keep], qty[keep], arrival[keep], arrival[keep], order_day=day)

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

    def _supplier_of(self, sku: np.ndarray) -> np.ndarray:
        return self.catalog.products["supplier_id"].to_numpy()[sku]

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
        split = _largest_remainder(self.stock.a[sku], weight)  # (SKUs, outlets)
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

    def purchase_orders(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.po.items()}


def _largest_remainder(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Split integer totals by weights so that the parts add up exactly."""
    exact = total[:, None] * weight[None, :]
    part = np.floor(exact).astype(np.int64)
    left = total - part.sum(axis=1)
    rank = np.argsort(np.argsort(-(exact - part), axis=1), axis=1)
    return part + (rank < left[:, None])
