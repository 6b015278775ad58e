"""Planted irregularities: real rows in the business tables, labelled only in truth.irregularities.

Each kind is planted a fixed number of times per year on days drawn at
random; when a day offers no opportunity (no promotion running, no exchange
due ...) the case waits for the next day that does. The planted rows look
like any others; only their definition gives them away:

- ``discount_beyond_policy``: a promotion line priced below the promotion's
  ``max_discount_pct`` of the tag price (a cashier's extra discount).
- ``points_abuse``: a ticket credited twice, or a staff card (员工卡)
  collecting points on walk-in customers' tickets.
- ``exchange_other_style``: an exchange whose new item is a different style
  (policy allows another size of the same style only).
- ``return_without_sale``: a refund citing an original ticket that does not exist.
- ``unpaid_sale``: a ticket whose money is missing or short in ``payments``
  (paid into a personal account: goods and money records disagree).
- ``consignment_shortfall``: a counter's stocktake finds fewer units than the system.
- ``scalping``: one member buying a limited release in several stores of one
  city on the same day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.simulation.baskets import (ALIPAY, CASH, EXCHANGE_IN, EXCHANGE_OUT, POINTS, RETURN, SALE, WECHAT,
                                          Checkout, Lines, Settlement)
from workbench.simulation.calendar import Calendar
from workbench.simulation.chain import Chain
from workbench.simulation.members import Members
from workbench.simulation.ranging import RangePlan
from workbench.simulation.scales import Scale
from workbench.simulation.seeding import rng
from workbench.simulation.stock import Stock

KINDS = ("discount_beyond_policy", "points_abuse", "exchange_other_style", "return_without_sale", "unpaid_sale",
         "consignment_shortfall", "scalping")
DISCOUNT, POINTS_ABUSE, OTHER_STYLE, FAKE_RETURN, UNPAID, SHORTFALL, SCALPING = range(len(KINDS))


class Planter:
    """Schedules the cases, plants them into the day's rows and keeps their labels."""

    def __init__(self, cal: Calendar, chain: Chain, plan: RangePlan, products: pd.DataFrame, members: Members,
                 promos: pd.DataFrame, scale: Scale, seed: int):
        self.cal, self.chain, self.plan, self.members, self.seed = cal, chain, plan, members, seed
        g = rng(seed, "irregularity-plan")
        first = cal.first_window_day
        years = (cal.n_days - first) / 365.0
        n_cases = max(3, int(round(scale.cases_per_kind_year * years)))
        self.due = np.zeros((len(KINDS), cal.n_days), dtype=np.int64)
        for k in range(len(KINDS)):
            np.add.at(self.due[k], g.integers(first, cal.n_days, n_cases), 1)
        self.quota = np.zeros(len(KINDS), dtype=np.int64)
        self.own = chain.type == "own"
        self.cap = np.zeros(int(promos["promo_id"].max()) + 1)
        self.cap[promos["promo_id"].to_numpy()] = promos["max_discount_pct"].to_numpy()
        self.style = products["style_id"].to_numpy()
        self.skc = products["skc_id"].to_numpy() - 1
        self.limited = products["is_limited"].to_numpy()
        self.loc_edges = np.searchsorted(plan.slot_loc, np.arange(chain.n + 1))
        first = np.searchsorted(members.home, np.arange(chain.n))  # members are sorted by home store
        count = np.bincount(members.home, minlength=chain.n)
        pick = first + (g.random(chain.n) * count).astype(np.int64)
        self.staff_card = np.where(self.own & (count > 0), pick, -1)  # one member card per store that staff misuse
        self.city = chain.stores["city"].to_numpy()
        self.city_index = pd.factorize(self.city)[0]
        self.rows: list[tuple] = []

    def start_day(self, day: int) -> None:
        self.quota += self.due[:, day]

    def _record(self, kind: int, day: int, loc, ticket, member, sku, amount, detail) -> None:
        """Label planted rows (scalars broadcast); -1 means 'not applicable'."""
        loc = np.atleast_1d(loc)
        cols = [np.broadcast_to(np.asarray(v), loc.shape) for v in (ticket, member, sku, amount, detail)]
        for i in range(len(loc)):
            self.rows.append((kind, day, int(loc[i]), int(cols[0][i]), int(cols[1][i]), int(cols[2][i]),
                              round(float(cols[3][i]), 2), str(cols[4][i])))
        self.quota[kind] = max(0, self.quota[kind] - len(loc))

    def _choose(self, kind: int, day: int, candidates: np.ndarray) -> np.ndarray:
        k = int(min(self.quota[kind], len(candidates)))
        if k == 0:
            return candidates[:0]
        return np.sort(rng(self.seed, f"plant-{KINDS[kind]}", day).choice(candidates, size=k, replace=False))

    # --- planted into sales ------------------------------------------------------------

    def discounts(self, day: int, lines: Lines) -> None:
        """Push a few promotion lines below the policy's deepest allowed price."""
        cand = np.flatnonzero((lines.kind == SALE) & (lines.promo > 0) & self.own[lines.loc])
        pick = self._choose(DISCOUNT, day, cand)
        if len(pick) == 0:
            return
        g = rng(self.seed, "plant-discount-depth", day)
        floor = lines.full[pick] * (1.0 - self.cap[lines.promo[pick]])
        new = np.round(floor * (1.0 - g.uniform(0.10, 0.35, len(pick))), 2)
        lost = (lines.price[pick] - new) * lines.qty[pick]
        lines.price[pick] = new
        self._record(DISCOUNT, day, lines.loc[pick], lines.ticket[pick], lines.member[pick], lines.sku[pick], lost,
                     "manual discount below the promotion's max_discount_pct")

    def swap_exchanges(self, day: int, items: Lines, new_slot: np.ndarray, stock: Stock, ranged: np.ndarray) -> np.ndarray:
        """Some exchanges hand out a different style from the store's shelves instead of another size."""
        cand = np.flatnonzero((new_slot >= 0) & self.own[items.loc])
        pick = self._choose(OTHER_STYLE, day, cand)
        if len(pick) == 0:
            return new_slot
        g = rng(self.seed, "plant-exchange-target", day)
        lo, hi = self.loc_edges[items.loc[pick]], self.loc_edges[items.loc[pick] + 1]
        tries = lo[:, None] + (g.random((len(pick), 40)) * (hi - lo)[:, None]).astype(np.int64)
        own_style = self.style[items.sku[pick]][:, None]
        ok = (stock.a[tries] > 1) & ranged[tries] & (self.style[self.plan.slot_sku[tries]] != own_style)
        found = ok.any(axis=1)
        chosen = tries[np.arange(len(pick)), ok.argmax(axis=1)]
        new_slot = new_slot.copy()
        new_slot[pick[found]] = chosen[found]
        return new_slot

    def record_exchanges(self, day: int, lines: Lines) -> None:
        """Label the exchanges that left with another style (found by comparing the two lines)."""
        out = np.flatnonzero(lines.kind == EXCHANGE_OUT)
        into = np.flatnonzero(lines.kind == EXCHANGE_IN)
        if len(out) == 0:
            return
        order_in = into[np.argsort(lines.ticket[into], kind="stable")]
        order_out = out[np.argsort(lines.ticket[out], kind="stable")]
        differs = self.style[lines.sku[order_in]] != self.style[lines.sku[order_out]]
        hit_in, hit_out = order_in[differs], order_out[differs]
        gain = lines.full[hit_in] - lines.price[hit_out]
        self._record(OTHER_STYLE, day, lines.loc[hit_in], lines.ticket[hit_in], lines.member[hit_in], lines.sku[hit_in],
                     gain, "exchange for a different style (policy: same style only)")

    def fake_returns(self, day: int, checkout: Checkout, stock: Stock, ranged: np.ndarray,
                     unit_price: np.ndarray) -> Lines:
        """Refunds that cite a ticket number no sale ever had."""
        k = int(self.quota[FAKE_RETURN])
        stores = np.flatnonzero(self.own & (self.loc_edges[1:] > self.loc_edges[:-1]))
        if k == 0 or len(stores) == 0:
            return Lines.empty()
        g = rng(self.seed, "plant-fake-return", day)
        loc = g.choice(stores, size=k)
        lo, hi = self.loc_edges[loc], self.loc_edges[loc + 1]
        tries = lo[:, None] + (g.random((k, 40)) * (hi - lo)[:, None]).astype(np.int64)
        ok = ranged[tries]
        keep = ok.any(axis=1)
        slot = tries[np.arange(k), ok.argmax(axis=1)][keep]
        loc, n = loc[keep], int(keep.sum())
        if n == 0:
            return Lines.empty()
        sku = self.plan.slot_sku[slot]
        orig_day = np.maximum(self.cal.first_window_day, day - g.integers(3, 25, n))
        orig = np.array([_day_key(self.cal, d) for d in orig_day]) + 9_000_000 + g.integers(0, 999_999, n)
        price = unit_price[self.plan.slot_group[slot]]
        lines = Lines(
            ticket=checkout.new_tickets(n), line_no=np.ones(n, np.int64), loc=loc, slot=slot, sku=sku,
            member=np.full(n, -1, np.int64), cashier=checkout._cashiers(g, loc), kind=np.full(n, RETURN, np.int8),
            qty=-np.ones(n, np.int64), full=checkout.full_price[sku], price=price, promo=np.zeros(n, np.int64),
            orig=orig, seconds=checkout._times(g, loc), method=np.full(n, CASH, np.int8),
        )
        stock.take_back(day, slot, np.ones(n, np.int64), 0.0)
        self._record(FAKE_RETURN, day, loc, lines.ticket, -1, sku, price, "refund citing a ticket that does not exist")
        return lines

    def scalping(self, day: int, checkout: Checkout, stock: Stock, active: np.ndarray, unit_price: np.ndarray) -> Lines:
        """One member sweeps a limited release from several stores of one city in a day."""
        if self.quota[SCALPING] == 0:
            return Lines.empty()
        plan = self.plan
        loc = plan.slot_loc[active]
        sku = plan.slot_sku[active]
        cand = active[self.limited[sku] & self.own[loc] & (stock.a[active] > 0)]
        if len(cand) == 0:
            return Lines.empty()
        g = rng(self.seed, "plant-scalping", day)
        blocks = []
        for slot in _city_sweeps(cand, plan.slot_loc[cand], self.skc[plan.slot_sku[cand]], stock.a[cand],
                                 self.city_index[plan.slot_loc[cand]], g, int(self.quota[SCALPING])):
            loc0 = plan.slot_loc[slot[:1]].astype(np.int64)
            member = int(checkout.pool.draw(loc0, np.zeros(1, np.int64), g.random(1))[0])
            if member < 0:
                continue
            qty = np.minimum(stock.a[slot], g.integers(1, 3, len(slot)))
            stock.a[slot] -= qty.astype(np.int32)
            b = self._scalper_tickets(g, checkout, slot, qty, member, unit_price)
            blocks.append(b)
            skc_code = self.skc[plan.slot_sku[slot[0]]] + 1
            self._record(SCALPING, day, b.loc, b.ticket, member, b.sku, b.price * b.qty,
                         f"member bought limited SKC {skc_code} in {len(slot)} stores of {self.city[loc0[0]]} in one day")
        return Lines.concat(blocks) if blocks else Lines.empty()

    def _scalper_tickets(self, g, checkout: Checkout, slot: np.ndarray, qty: np.ndarray, member: int, unit_price: np.ndarray) -> Lines:
        n = len(slot)
        loc = self.plan.slot_loc[slot].astype(np.int64)
        sku = self.plan.slot_sku[slot]
        seconds = 10 * 3600 + np.sort(g.integers(0, 9 * 3600, n))  # one store after another
        return Lines(
            ticket=checkout.new_tickets(n), line_no=np.ones(n, np.int64), loc=loc, slot=slot, sku=sku,
            member=np.full(n, member, np.int64), cashier=checkout._cashiers(g, loc), kind=np.full(n, SALE, np.int8),
            qty=qty.astype(np.int64), full=checkout.full_price[sku], price=unit_price[self.plan.slot_group[slot]],
            promo=np.zeros(n, np.int64), orig=np.zeros(n, np.int64), seconds=seconds,
            method=np.where(g.random(n) < 0.5, WECHAT, ALIPAY).astype(np.int8),
        )

    # --- planted into money, points and counts -------------------------------------------

    def unpaid(self, day: int, s: Settlement) -> Settlement:
        """Drop or shorten the payments of a few store tickets."""
        money = (s.pay_amount > 0) & self.own[s.pay_loc] & (s.pay_method != POINTS)
        pick = self._choose(UNPAID, day, np.flatnonzero(money))
        if len(pick) == 0:
            return s
        g = rng(self.seed, "plant-unpaid", day)
        missing = g.random(len(pick)) < 0.5
        share = np.where(missing, 1.0, g.uniform(0.3, 0.8, len(pick)))
        lost = np.round(s.pay_amount[pick] * share, 2)
        self._record(UNPAID, day, s.pay_loc[pick], s.pay_ticket[pick], -1, -1, lost,
                     np.where(missing, "payment never reached the company account", "payment short of the ticket total"))
        amount = s.pay_amount.copy()
        amount[pick] = np.round(amount[pick] - lost, 2)
        drop_ticket = np.isin(s.pay_ticket, s.pay_ticket[pick[missing]])
        keep = ~drop_ticket & (amount != 0)
        s.pay_amount = amount
        for name in ("pay_ticket", "pay_loc", "pay_method", "pay_amount"):
            setattr(s, name, getattr(s, name)[keep])
        return s

    def points_abuse(self, day: int, s: Settlement, lines: Lines, balance: np.ndarray) -> Settlement:
        """Credit a member ticket twice, or credit walk-in tickets to a staff member's card."""
        if self.quota[POINTS_ABUSE] == 0:
            return s
        g = rng(self.seed, "plant-points", day)
        if g.random() < 0.5:
            pick = self._choose(POINTS_ABUSE, day, np.flatnonzero(s.pt_reason == 0))
            extra = (s.pt_member[pick], s.pt_ticket[pick], s.pt_loc[pick], s.pt_points[pick])
            detail = "ticket credited twice"
        else:
            walk_in = (lines.member < 0) & (lines.kind == SALE) & (self.staff_card[lines.loc] >= 0)
            tickets, first = np.unique(lines.ticket[walk_in], return_index=True)
            loc = lines.loc[walk_in][first]
            if len(loc) == 0:
                return s
            store = g.choice(np.unique(loc))
            pick = self._choose(POINTS_ABUSE, day, np.flatnonzero(loc == store)[:3])
            line_net = lines.net()
            net = np.array([line_net[lines.ticket == t].sum() for t in tickets[pick]])
            member = np.full(len(pick), self.staff_card[store])
            extra = (member, tickets[pick], loc[pick], np.floor(np.maximum(net, 0)).astype(np.int64))
            detail = "staff card collecting points on a walk-in ticket"
        if len(extra[0]) == 0:
            return s
        self._record(POINTS_ABUSE, day, extra[2], extra[1], extra[0], -1, extra[3] * 0.01, detail)
        np.add.at(balance, extra[0], extra[3])
        s.pt_member = np.r_[s.pt_member, extra[0]]
        s.pt_ticket = np.r_[s.pt_ticket, extra[1]]
        s.pt_loc = np.r_[s.pt_loc, extra[2]]
        s.pt_points = np.r_[s.pt_points, extra[3]]
        s.pt_reason = np.r_[s.pt_reason, np.zeros(len(extra[0]), np.int64)]
        return s

    def shortfalls(self, day: int, slot: np.ndarray, counted: np.ndarray, full_price: np.ndarray) -> np.ndarray:
        """A few counter stocktake lines come up short."""
        pick = self._choose(SHORTFALL, day, np.flatnonzero(counted >= 1))
        if len(pick) == 0:
            return counted
        g = rng(self.seed, "plant-shortfall", day)
        missing = np.minimum(counted[pick], g.integers(1, 4, len(pick)))
        counted = counted.copy()
        counted[pick] -= missing
        sku = self.plan.slot_sku[slot[pick]]
        self._record(SHORTFALL, day, self.plan.slot_loc[slot[pick]], -1, -1, sku, missing * full_price[sku],
                     "stocktake at the counter short of the system quantity")
        return counted

    def table(self, chain: Chain, members: Members, epoch_day: int) -> dict[str, np.ndarray]:
        rows = self.rows
        kind = np.array([r[0] for r in rows], dtype=np.int64)
        loc = np.array([r[2] for r in rows], dtype=np.int64)
        ticket = np.array([r[3] for r in rows], dtype=np.int64)
        member = np.array([r[4] for r in rows], dtype=np.int64)
        sku = np.array([r[5] for r in rows], dtype=np.int64)
        return dict(
            kind=kind, day=np.array([r[1] for r in rows], dtype=np.int64), store_id=chain.store_id[loc] if len(loc) else loc,
            ticket=ticket, member_id=np.where(member >= 0, members.member_id[np.maximum(member, 0)], -1) if len(member) else member,
            sku_id=np.where(sku >= 0, sku + 1, -1), amount=np.array([r[6] for r in rows], dtype=float),
            detail=np.array([r[7] for r in rows], dtype=object),
        )


def _city_sweeps(slots: np.ndarray, loc: np.ndarray, skc: np.ndarray, on_hand: np.ndarray, city: np.ndarray,
                 g: np.random.Generator, n: int) -> list[np.ndarray]:
    """Up to ``n`` (city, limited SKC) pairs stocked in 2+ stores: per pair, the best-stocked slot in up to 3 stores."""
    order = np.lexsort((-on_hand, loc, skc, city))
    slots, loc, skc, city = slots[order], loc[order], skc[order], city[order]
    store_first = np.r_[True, (loc[1:] != loc[:-1]) | (skc[1:] != skc[:-1])]
    slots, loc, skc, city = slots[store_first], loc[store_first], skc[store_first], city[store_first]
    pair = np.r_[0, np.cumsum((skc[1:] != skc[:-1]) | (city[1:] != city[:-1]))]
    stores = np.bincount(pair)
    eligible = np.flatnonzero(stores >= 2)
    chosen = g.permutation(eligible)[:n]
    return [slots[pair == p][:3] for p in chosen]


def _day_key(cal: Calendar, day: int) -> int:
    d = cal.date(day)
    return (d.year * 10_000 + d.month * 100 + d.day) * 10_000_000
