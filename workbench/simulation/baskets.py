"""Tickets (小票): units sold become baskets with prices, members, cashiers, payments and points.

- **Baskets**: a store's units of the day are ordered by size (most lines of a
  ticket share the buyer's size; some items -- bags, gifts -- don't) and cut
  into tickets of geometric length with mean = the store's attach rate (连带率).
  Outfits (搭配, ``outfits``): pieces of one designed look sold at a store that
  day are often bought together and stay on one ticket, and some customers
  match occasion and colour; only the grouping changes, never the units sold.
- **Members**: a ticket carries a member card with the store's member share,
  drawn from the living members of that store and size (see ``members``).
- **Payments**: WeChat Pay and Alipay dominate, some card and cash; online
  only the two wallets; a consignment counter's takings are collected by the
  department store (``dept_store``) and settled monthly.
- **Points (积分)**: members earn points per CNY paid (more in higher tiers),
  sometimes pay part of a ticket with points (100 points = 1 CNY), and lose
  the points of what they return.
- **Returns and exchanges**: some units come back within 30 days (more
  online; drawn per line in generator version 2's ticket order, so outfits
  never change stock), as a refund or, in stores, an exchange for a neighbouring size of
  the same SKC if it is in stock; a share of returns is defective (B-goods).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields

import numpy as np

from workbench.simulation.calendar import Calendar
from workbench.simulation.catalog import Catalog
from workbench.simulation.chain import Chain
from workbench.simulation.members import MemberPool, Members
from workbench.simulation import outfits
from workbench.simulation.arrays import expand
from workbench.simulation.ranging import RangePlan
from workbench.simulation.seeding import rng
from workbench.simulation.stock import Stock

LINE_TYPES = ("sale", "return", "exchange_out", "exchange_in")
SALE, RETURN, EXCHANGE_OUT, EXCHANGE_IN = range(4)
METHODS = ("cash", "card", "wechat", "alipay", "dept_store", "points")
CASH, CARD, WECHAT, ALIPAY, DEPT_STORE, POINTS = range(6)
STORE_PAYMENT = np.array([0.08, 0.12, 0.45, 0.35, 0.0, 0.0])
ONLINE_PAYMENT = np.array([0.0, 0.0, 0.45, 0.55, 0.0, 0.0])
STORE_HOURS = np.r_[np.zeros(10), [0.5, 0.7, 0.9, 1.0, 1.1, 1.2, 1.1, 0.9, 0.9, 1.2, 1.2, 0.7], np.zeros(2)]  # 10:00-22:00
ONLINE_HOURS = np.array([0.6, 0.3, 0.15, 0.1, 0.1, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0,
                         1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.2, 1.5, 1.7, 1.6, 1.1])
SIZE_LOYALTY = 0.85  # share of lines that follow the buyer's size
MULTI_UNIT = 0.2  # chance that a second unit of an item sold that day goes on the same line
EXCHANGE_SHARE = 0.35  # of store returns, when another size is in stock
RETURN_DEFECTS = {"online": 0.05, "store": 0.08}
REDEEM_SHARE, POINT_VALUE = 0.05, 0.01  # members redeeming on a ticket; CNY per point
MAX_RETURN_DAYS = 30


@dataclass
class Lines:
    """A block of ticket lines, as arrays (indices are internal: location, slot, SKU, member)."""

    ticket: np.ndarray
    line_no: np.ndarray
    loc: np.ndarray
    slot: np.ndarray
    sku: np.ndarray
    member: np.ndarray  # member index, -1 = walk-in
    cashier: np.ndarray
    kind: np.ndarray  # LINE_TYPES code
    qty: np.ndarray
    full: np.ndarray
    price: np.ndarray  # unit price paid
    promo: np.ndarray  # promo_id, 0 = none
    orig: np.ndarray  # original ticket, 0 = none
    seconds: np.ndarray  # time of day
    method: np.ndarray  # METHODS code of the ticket

    def __len__(self) -> int:
        return len(self.ticket)

    def take(self, index: np.ndarray) -> "Lines":
        return Lines(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(blocks: list["Lines"]) -> "Lines":
        blocks = [b for b in blocks if b is not None]
        return Lines(**{f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(Lines)})

    @staticmethod
    def empty() -> "Lines":
        return Lines(**{f.name: np.zeros(0, dtype=np.int64) for f in fields(Lines)})

    def net(self) -> np.ndarray:
        return np.round(self.price * self.qty, 2)


@dataclass
class Settlement:
    """Payments and points of a day's tickets (before any planted irregularity)."""

    pay_ticket: np.ndarray
    pay_loc: np.ndarray
    pay_method: np.ndarray
    pay_amount: np.ndarray
    pt_member: np.ndarray
    pt_ticket: np.ndarray
    pt_loc: np.ndarray
    pt_points: np.ndarray
    pt_reason: np.ndarray  # 0 earn, 1 redeem, 2 adjust


POINT_REASONS = ("earn", "redeem", "adjust")


class Checkout:
    """Turns units sold into tickets; keeps member point balances and the queue of future returns."""

    def __init__(self, cal: Calendar, chain: Chain, catalog: Catalog, plan: RangePlan, members: Members, seed: int):
        self.cal, self.chain, self.catalog, self.plan, self.members, self.seed = cal, chain, catalog, plan, members, seed
        self.pool = MemberPool(members, chain.n)
        self.pool.refresh(cal.first_window_day + (cal.n_days - cal.first_window_day) // 2)
        self.reference_rate = self.pool.alive_rate.copy()  # the member base the shares were calibrated on
        self.balance = np.zeros(members.n, dtype=np.int64)
        self.points_per_cny = members.points_per_cny()
        products = catalog.products
        self.size_rank = products["size_rank"].to_numpy(np.int64)
        self.full_price = products["full_price"].to_numpy(float)
        self.sku_skc = catalog.sku_skc()
        self.looks = outfits.design_looks(catalog.skc, seed)
        kind = chain.type
        staff = chain.stores["staff_count"].to_numpy()
        self.cashier_first = chain.store_id.astype(np.int64) * 100 + 1
        self.cashiers = np.where(kind == "online", 3, np.maximum(2, staff // 3)).astype(np.int64)
        self.online = kind == "online"
        self.counter = kind == "consignment"
        self.pending: dict[int, list[tuple[Lines, np.ndarray]]] = defaultdict(list)
        self.return_rank = np.zeros(0, np.int64)  # today's sale lines in version 2's ticket order (sell)
        self.day_key = 0
        self.seq = 0

    # --- ticket ids -------------------------------------------------------------------

    def start_day(self, day: int) -> None:
        d = self.cal.date(day)
        self.day_key = (d.year * 10_000 + d.month * 100 + d.day) * 10_000_000
        self.seq = 0
        week = day - day % 7  # the living members are re-counted weekly
        if self.pool.day != week:
            self.pool.refresh(week)

    def new_tickets(self, n: int) -> np.ndarray:
        ids = self.day_key + self.seq + 1 + np.arange(n, dtype=np.int64)
        self.seq += n
        return ids

    # --- sales ------------------------------------------------------------------------

    def sell(self, day: int, slots: np.ndarray, sold: np.ndarray, unit_price: np.ndarray, promo: np.ndarray) -> Lines:
        """Tickets for the units sold today (``unit_price``/``promo`` per demand group), sorted by ticket."""
        g = rng(self.seed, "baskets", day)
        self.return_rank = np.zeros(0, np.int64)
        line_slot, qty = _join_units(g, np.repeat(slots, sold))
        m = len(line_slot)
        if m == 0:
            return Lines.empty()
        plan = self.plan
        sku = plan.slot_sku[line_slot]
        loc = plan.slot_loc[line_slot].astype(np.int64)
        size = np.where(g.random(m) < SIZE_LOYALTY, self.size_rank[sku], g.integers(0, 7, m))
        version2 = self._version2_rank(g, loc, size, qty)
        # by store, then the buyer's size; outfits (搭配) stay whole, like styles sit together (see outfits)
        order, joined = outfits.arrange(rng(self.seed, "outfits", day), loc, size, self.sku_skc[sku], self.size_rank[sku],
                                        self.looks, outfits.AFFINITY)
        t_loc, t_size, seconds, n_lines, take = self._cut(g, loc[order], size[order], qty[order], joined)
        take = order[take]
        self.return_rank = version2[take]  # read by schedule_returns
        line_slot, qty = line_slot[take], qty[take]
        ticket_of_line = np.repeat(np.arange(len(t_loc)), n_lines)
        ticket_id = self.new_tickets(len(t_loc))
        sku = plan.slot_sku[line_slot]
        group = plan.slot_group[line_slot]
        return Lines(
            ticket=ticket_id[ticket_of_line], line_no=_line_numbers(ticket_of_line), loc=t_loc[ticket_of_line],
            slot=line_slot, sku=sku, member=self._members(g, t_loc, t_size)[ticket_of_line],
            cashier=self._cashiers(g, t_loc)[ticket_of_line], kind=np.full(m, SALE, np.int8), qty=qty.astype(np.int64),
            full=self.full_price[sku], price=unit_price[group], promo=promo[group], orig=np.zeros(m, np.int64),
            seconds=seconds[ticket_of_line], method=self._methods(g, t_loc)[ticket_of_line],
        )

    def _cut(self, g: np.random.Generator, loc: np.ndarray, size: np.ndarray, qty: np.ndarray,
             joined: np.ndarray) -> tuple[np.ndarray, ...]:
        """Tickets from arranged lines: cut at random between units (an outfit or a single line; ``joined``: the
        line continues the one before) so that units per ticket average the store's attach rate (连带率):
        E[tickets] = units ÷ attach whatever the outfits are. Returns per ticket, in time order: location, buyer's
        size, time of day, lines; and the arranged lines' positions in ticket order."""
        m, n = len(loc), self.chain.n
        units = np.bincount(loc, weights=qty, minlength=n) / np.maximum(np.bincount(loc, weights=(~joined).astype(float), minlength=n), 1)
        cut = g.random(m) < np.minimum(1.0, units[loc] / self.chain.attach[loc])
        first = np.flatnonzero(np.r_[True, loc[1:] != loc[:-1]] | (cut & ~joined))
        t_loc = loc[first]
        seconds = self._times(g, t_loc)
        by_time = np.argsort(t_loc * 86_400 + seconds)  # ticket numbers run through the day, store by store
        first, n_lines = first[by_time], np.diff(np.r_[first, m])[by_time]
        return t_loc[by_time], size[first], seconds[by_time], n_lines, expand(first, n_lines)

    def _version2_rank(self, g: np.random.Generator, loc: np.ndarray, size: np.ndarray, qty: np.ndarray) -> np.ndarray:
        """Where each line stood in generator version 2's tickets (by store and buyer's size, cut at random; the
        same draws from ``g``). Returns are drawn line by line in that order, so which units come back -- and so
        stock, sales and demand per SKU × store × day -- are exactly version 2's; only the tickets are new."""
        m = len(loc)
        order = np.argsort(loc * 8 + size + g.random(m))
        *_, take = self._cut(g, loc[order], size[order], qty[order], np.zeros(m, dtype=bool))
        rank = np.empty(m, dtype=np.int64)
        rank[order[take]] = np.arange(m)
        return rank

    def _times(self, g: np.random.Generator, loc: np.ndarray) -> np.ndarray:
        hours = np.where(self.online[loc], _draw(g, ONLINE_HOURS, len(loc)), _draw(g, STORE_HOURS, len(loc)))
        return hours * 3600 + g.integers(0, 3600, len(loc))

    def _members(self, g: np.random.Generator, loc: np.ndarray, size: np.ndarray) -> np.ndarray:
        """A ticket carries a card with the store's member share, scaled by how many members are alive now."""
        ratio = np.where(self.reference_rate > 0, self.pool.alive_rate / np.maximum(self.reference_rate, 1e-12), 1.0)
        share = self.chain.member_share * np.clip(ratio, 0.3, 1.3)  # a new store's member base is still growing
        member = np.full(len(loc), -1, dtype=np.int64)
        carded = np.flatnonzero(g.random(len(loc)) < share[loc])
        member[carded] = self.pool.draw(loc[carded], size[carded], g.random(len(carded)))
        return member

    def _cashiers(self, g: np.random.Generator, loc: np.ndarray) -> np.ndarray:
        return (self.cashier_first[loc] + g.integers(0, 1 << 30, len(loc)) % self.cashiers[loc]).astype(np.int64)

    def _methods(self, g: np.random.Generator, loc: np.ndarray) -> np.ndarray:
        method = np.where(self.online[loc], _draw(g, ONLINE_PAYMENT, len(loc)), _draw(g, STORE_PAYMENT, len(loc)))
        return np.where(self.counter[loc], DEPT_STORE, method).astype(np.int8)

    # --- returns and exchanges ---------------------------------------------------------

    def schedule_returns(self, day: int, lines: Lines) -> None:
        """Decide now which units will come back, when, and whether as an exchange."""
        g = rng(self.seed, "returns", day)
        # drawn line by line in generator version 2's order (today's sale lines as sell() ranked them, then any
        # others): which units come back, and so the stock, does not depend on the outfits on the tickets
        sold = len(self.return_rank)
        lines = lines.take(np.r_[np.argsort(self.return_rank), np.arange(sold, len(lines))])
        back = g.binomial(lines.qty, self.chain.return_rate[lines.loc])
        hit = np.flatnonzero((back > 0) & (lines.kind == SALE))
        if len(hit) == 0:
            return
        items = lines.take(hit)
        items.qty = back[hit]
        online = self.online[items.loc]
        lag = np.where(online, 3 + g.geometric(0.12, len(hit)), g.geometric(0.15, len(hit)))
        lag = np.minimum(lag, MAX_RETURN_DAYS)
        exchange = (~online) & (items.qty == 1) & (g.random(len(hit)) < EXCHANGE_SHARE)
        due = day + lag
        for d in np.unique(due):
            if d < self.cal.n_days:
                pick = due == d
                self.pending[int(d)].append((items.take(np.flatnonzero(pick)), exchange[pick]))

    def returns_due(self, day: int, stock: Stock, ranged: np.ndarray, swap=None) -> Lines:
        """Today's returns and exchanges as ticket lines; stock takes the units back.

        ``swap(day, items, new_slots) -> new_slots`` lets the irregularity planter
        turn some exchanges into exchanges for another style.
        """
        due = self.pending.pop(day, [])
        if not due:
            return Lines.empty()
        items = Lines.concat([d[0] for d in due])
        wants_exchange = np.concatenate([d[1] for d in due])
        g = rng(self.seed, "exchanges", day)
        new_slot = self._other_size(g, items.slot, wants_exchange, stock, ranged)
        if swap is not None:
            new_slot = swap(day, items, new_slot)
        take = ration_single(new_slot, stock.a)
        exchanged = np.flatnonzero(take)
        refunded = np.flatnonzero(~take)
        np.subtract.at(stock.a, new_slot[exchanged], 1)  # two exchanges may take the same size
        for share_key, mask in (("online", self.online[items.loc]), ("store", ~self.online[items.loc])):
            back = np.flatnonzero(mask)
            stock.take_back(day, items.slot[back], items.qty[back], RETURN_DEFECTS[share_key])
        return Lines.concat([self._refunds(g, items.take(refunded)), self._exchanges(g, items.take(exchanged), new_slot[exchanged])])

    def _other_size(self, g: np.random.Generator, slot: np.ndarray, wants: np.ndarray, stock: Stock, ranged: np.ndarray) -> np.ndarray:
        """A neighbouring size of the same SKC at the same store with stock, else -1."""
        plan = self.plan
        step = np.where(g.random(len(slot)) < 0.5, 1, -1)
        result = np.full(len(slot), -1, np.int64)
        for direction in (step, -step):
            cand = np.clip(slot + direction, 0, plan.n_slots - 1)
            ok = wants & (result < 0) & (plan.slot_rec[cand] == plan.slot_rec[slot]) & ranged[cand] & (stock.a[cand] > 0)
            result = np.where(ok, cand, result)
        return result

    def _refunds(self, g: np.random.Generator, items: Lines) -> Lines:
        n = len(items)
        ticket = self.new_tickets(n)
        return Lines(
            ticket=ticket, line_no=np.ones(n, np.int64), loc=items.loc, slot=items.slot, sku=items.sku,
            member=items.member, cashier=self._cashiers(g, items.loc), kind=np.full(n, RETURN, np.int8),
            qty=-items.qty, full=items.full, price=items.price, promo=items.promo, orig=items.ticket,
            seconds=self._times(g, items.loc), method=items.method,
        )

    def _exchanges(self, g: np.random.Generator, items: Lines, new_slot: np.ndarray) -> Lines:
        """Two lines per exchange ticket: the unit brought back and the one taken, at the original price."""
        n = len(items)
        ticket = self.new_tickets(n)
        new_sku = self.plan.slot_sku[new_slot]
        seconds, cashier = self._times(g, items.loc), self._cashiers(g, items.loc)
        back = Lines(
            ticket=ticket, line_no=np.ones(n, np.int64), loc=items.loc, slot=items.slot, sku=items.sku,
            member=items.member, cashier=cashier, kind=np.full(n, EXCHANGE_OUT, np.int8), qty=-np.ones(n, np.int64),
            full=items.full, price=items.price, promo=items.promo, orig=items.ticket, seconds=seconds, method=items.method,
        )
        out = Lines(
            ticket=ticket, line_no=np.full(n, 2, np.int64), loc=items.loc, slot=new_slot, sku=new_sku,
            member=items.member, cashier=cashier, kind=np.full(n, EXCHANGE_IN, np.int8), qty=np.ones(n, np.int64),
            full=self.full_price[new_sku], price=items.price, promo=items.promo, orig=items.ticket, seconds=seconds,
            method=items.method,
        )
        return Lines.concat([back, out]).take(np.arange(2 * n).reshape(2, n).T.ravel())  # line 1, line 2 per ticket

    # --- money and points ---------------------------------------------------------------

    def settle(self, day: int, lines: Lines) -> Settlement:
        """Per ticket: the money paid (or refunded) by method, and the points earned, redeemed or taken back."""
        g = rng(self.seed, "settle", day)
        if np.any(np.diff(lines.ticket) < 0):  # the day's blocks come sorted; keep working if one is not
            lines = lines.take(np.argsort(lines.ticket, kind="stable"))
        first = np.flatnonzero(np.r_[True, lines.ticket[1:] != lines.ticket[:-1]])
        tickets = lines.ticket[first]
        inverse = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(lines)]))
        net = np.round(np.bincount(inverse, weights=lines.net(), minlength=len(tickets)), 2)
        loc, member, method = lines.loc[first], lines.member[first], lines.method[first]
        has_member = member >= 0
        mem = np.maximum(member, 0)
        balance = self.balance[mem]
        redeem = has_member & (net > 0) & (balance >= 1000) & (g.random(len(tickets)) < REDEEM_SHARE)
        points_used = np.where(redeem, np.minimum(balance, np.floor(net * 0.3 / POINT_VALUE)) // 100 * 100, 0).astype(np.int64)
        paid = np.round(net - points_used * POINT_VALUE, 2)
        earned = np.where(has_member & (paid > 0), np.floor(paid * self.points_per_cny[mem]), 0).astype(np.int64)
        clawed = np.where(has_member & (net < 0), np.ceil(net * self.points_per_cny[mem]), 0).astype(np.int64)
        money_row = paid != 0
        points_row = points_used > 0
        pay_ticket = np.r_[tickets[money_row], tickets[points_row]]
        order = np.argsort(pay_ticket, kind="stable")
        entries = [(earned > 0, earned, 0), (points_used > 0, -points_used, 1), (clawed < 0, clawed, 2)]
        pt_mask = np.concatenate([m for m, _, _ in entries])
        pt_index = np.tile(np.arange(len(tickets)), len(entries))[pt_mask]
        pt_points = np.concatenate([v for _, v, _ in entries])[pt_mask]
        np.add.at(self.balance, mem[pt_index], pt_points)
        return Settlement(
            pay_ticket=pay_ticket[order],
            pay_loc=np.r_[loc[money_row], loc[points_row]][order],
            pay_method=np.r_[method[money_row], np.full(int(points_row.sum()), POINTS)][order],
            pay_amount=np.r_[paid[money_row], points_used[points_row] * POINT_VALUE][order],
            pt_member=member[pt_index], pt_ticket=tickets[pt_index], pt_loc=loc[pt_index], pt_points=pt_points,
            pt_reason=np.concatenate([np.full(len(v), r) for _, v, r in entries])[pt_mask],
        )


def _join_units(g: np.random.Generator, unit_slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines from units (grouped by slot): a customer sometimes takes two of the same item, one line with qty 2."""
    n = len(unit_slot)
    joins = np.r_[False, unit_slot[1:] == unit_slot[:-1]] & (g.random(n) < MULTI_UNIT)
    starts = np.flatnonzero(~joins)
    return unit_slot[starts], np.diff(np.r_[starts, n])


def ration_single(slot: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Which one-unit requests (slot ≥ 0) can be served from ``available``, first come first served."""
    want = slot >= 0
    idx = np.flatnonzero(want)
    order = np.argsort(slot[idx], kind="stable")
    s = slot[idx][order]
    rank = np.arange(len(s)) - np.searchsorted(s, s, side="left")
    ok = np.zeros(len(slot), dtype=bool)
    ok[idx[order]] = rank < available[s]
    return ok


def _draw(g: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights) / weights.sum()
    return np.searchsorted(cum, g.random(n), side="right").astype(np.int64)


def _line_numbers(ticket_index: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... within each ticket (lines are grouped by ticket)."""
    return np.arange(len(ticket_index)) - np.searchsorted(ticket_index, ticket_index, side="left") + 1
