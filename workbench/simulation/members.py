"""Loyalty members (会员): who they are, how often they buy, when they lapse, what size they wear.

Each member has a hidden purchase rate (Gamma-distributed: a few loyal
regulars, many occasional buyers), a lifetime after joining (exponential:
the day they silently stop coming, 流失), a body size and a spend level
(kept in ``truth.members``). Rates are scaled per home store so that the
members' expected visits match the share of tickets that carry a member card.

A ticket picks its member among the living members of its store who wear
the ticket's size, in proportion to their purchase rates -- so a member's
history is consistent (same store, same size, a realistic rhythm) and the
hidden rate is recoverable from the data by a good model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.simulation.calendar import Calendar
from workbench.simulation.catalog import NEVER
from workbench.simulation.chain import Chain
from workbench.simulation.seeding import rng

MEAN_RATE = 0.06  # purchases per week (about three a year)
RATE_SHAPE = 0.8
MEAN_LIFETIME_DAYS = 3 * 365
PROGRAMME_START = date(2016, 1, 1)
TIERS = ("silver", "gold", "platinum")
GENDERS = ("F", "M")
TIER_POINTS = np.array([1.0, 1.2, 1.5])  # points per CNY by tier
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu",
            "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song", "Tang", "Han", "Feng", "Deng")
GIVEN = ("Fang", "Min", "Jing", "Li", "Ting", "Yan", "Hui", "Xin", "Yu", "Lei", "Jun", "Wei", "Hao", "Qiang",
         "Jie", "Tao", "Ming", "Chao", "Yun", "Lan", "Xiaoyu", "Zihan", "Yuxuan", "Haoran", "Shiyu", "Mengqi",
         "Jiayi", "Ruoxi", "Yifan", "Zhiwei", "Xinyi", "Kaiwen")
PHONE_PREFIXES = ("138", "139", "150", "158", "186", "188", "135", "136", "137", "177", "199")


@dataclass
class Members:
    member_id: np.ndarray  # int64
    home: np.ndarray  # home location index
    size: np.ndarray  # preferred body size 1..6
    rate: np.ndarray  # purchases per week while alive
    join_day: np.ndarray
    drop_day: np.ndarray  # NEVER if still alive at the end
    spend: np.ndarray
    tier: np.ndarray  # index into TIERS
    gender: np.ndarray  # index into GENDERS
    birth_year: np.ndarray

    @property
    def n(self) -> int:
        return len(self.member_id)

    def points_per_cny(self) -> np.ndarray:
        return TIER_POINTS[self.tier]


def build_members(cal: Calendar, chain: Chain, tickets_per_day: np.ndarray, seed: int) -> Members:
    """Members per home location, sized so their visits fill ``member_share`` of the tickets."""
    g = rng(seed, "members")
    has_programme = np.isin(chain.type, ("own", "outlet", "consignment", "online"))
    weekly_member_tickets = np.where(has_programme, chain.member_share * tickets_per_day * 7, 0.0)
    counts = np.ceil(weekly_member_tickets / MEAN_RATE / 0.55).astype(np.int64)
    home = np.repeat(np.arange(chain.n), counts)
    n = len(home)
    open_day = np.array([cal.index(d) for d in chain.stores["open_date"]])
    first = np.maximum(open_day, cal.index(PROGRAMME_START))[home]
    last_day = cal.n_days - 1
    join = (first + g.random(n) * (last_day - first)).astype(np.int32)
    drop = join + g.exponential(MEAN_LIFETIME_DAYS, n).astype(np.int64)
    drop = np.where(drop > last_day, NEVER, drop).astype(np.int32)
    rate = g.gamma(RATE_SHAPE, MEAN_RATE / RATE_SHAPE, n)
    mid = cal.first_window_day + (last_day - cal.first_window_day) // 2
    alive = (join <= mid) & (drop > mid)
    have = np.bincount(home, weights=rate * alive, minlength=chain.n)
    rate = rate * (weekly_member_tickets / np.maximum(have, 1e-9))[home]
    gender = (g.random(n) >= 0.65).astype(np.int8)  # index into GENDERS
    centre = np.where(gender == 0, 2.9, 4.1) + chain.size_shift[home]
    size = np.clip(np.round(g.normal(centre, 0.9)), 1, 6).astype(np.int8)
    spend = g.lognormal(0.0, 0.35, n)
    value = spend * rate / np.maximum(rate.mean(), 1e-12)
    tier = np.searchsorted(np.quantile(value, [0.75, 0.95]), value).astype(np.int8) if n else np.zeros(0, np.int8)
    order = np.lexsort((join, home))  # member ids follow home store, then joining date
    members = Members(
        member_id=np.zeros(n, np.int64), home=home[order].astype(np.int32), size=size[order], rate=rate[order],
        join_day=join[order], drop_day=drop[order], spend=spend[order].round(3), tier=tier[order],
        gender=gender[order], birth_year=np.clip(np.round(g.normal(1990, 9, n)), 1955, 2007).astype(np.int16)[order],
    )
    members.member_id = 10_000_001 + np.arange(n, dtype=np.int64)
    return members


def member_tables(m: Members, cal: Calendar, chain: Chain, seed: int) -> tuple[pa.Table, pa.Table]:
    """core.members (names and phones are personal data, masked by policy) and truth.members."""
    g = rng(seed, "member-personal-data")
    n = m.n
    surname = pc.take(pa.array(SURNAMES), pa.array(g.integers(0, len(SURNAMES), n)))
    given = pc.take(pa.array(GIVEN), pa.array(g.integers(0, len(GIVEN), n)))
    name = pc.binary_join_element_wise(surname, given, " ")
    prefix = pc.take(pa.array(PHONE_PREFIXES), pa.array(g.integers(0, len(PHONE_PREFIXES), n)))
    digits = pc.utf8_lpad(pc.cast(pa.array(g.integers(0, 10**8, n)), pa.string()), 8, "0")
    phone = pc.binary_join_element_wise(prefix, digits, "")
    days = cal.epoch_day
    core = pa.table({
        "member_id": m.member_id,
        "member_name": name,
        "phone": phone,
        "gender": pa.DictionaryArray.from_arrays(pa.array(m.gender), pa.array(GENDERS)),
        "birth_year": m.birth_year,
        "join_date": pa.array((m.join_day + days).astype(np.int32)).view(pa.date32()),
        "home_store_id": chain.store_id[m.home],
        "city": pa.DictionaryArray.from_arrays(pa.array(m.home), pa.array(chain.stores["city"].tolist())),
        "tier": pa.DictionaryArray.from_arrays(pa.array(m.tier), pa.array(TIERS)),
    })
    dropped = m.drop_day < cal.n_days
    truth = pa.table({
        "member_id": m.member_id,
        "purchase_rate": m.rate.round(5),
        "dropout_date": pa.array((np.minimum(m.drop_day, cal.n_days) + days).astype(np.int32), mask=~dropped).view(pa.date32()),
        "preferred_size_rank": m.size,
        "spend_level": m.spend,
    })
    return core, truth


class MemberPool:
    """Who can be drawn for a ticket: living members by home store and size, weighted by rate."""

    SIZES = 8

    def __init__(self, members: Members, n_locations: int):
        self.m = members
        self.n_loc = n_locations
        self.order = np.lexsort((members.size, members.home))
        # kept in pool order so the weekly refresh is one pass over contiguous arrays
        self.rate = members.rate[self.order]
        self.join = members.join_day[self.order]
        self.drop = members.drop_day[self.order]
        key = members.home[self.order].astype(np.int64) * self.SIZES + members.size[self.order]
        self.key_edges = np.searchsorted(key, np.arange(n_locations * self.SIZES + 1))
        self.loc_edges = self.key_edges[:: self.SIZES]
        self.cum = np.zeros(members.n + 1)
        self.alive_rate = np.zeros(n_locations)
        self.day = -1

    def refresh(self, day: int) -> None:
        """Weekly: who has joined and who has lapsed."""
        weight = self.rate * ((self.join <= day) & (self.drop > day))
        self.cum = np.r_[0.0, np.cumsum(weight)]
        self.alive_rate = self.cum[self.loc_edges[1:]] - self.cum[self.loc_edges[:-1]]
        self.day = day

    def draw(self, loc: np.ndarray, size: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A member index per ticket (−1: nobody eligible); falls back to any size at the store."""
        key = loc.astype(np.int64) * self.SIZES + np.clip(size, 0, self.SIZES - 1)
        lo, hi = self.cum[self.key_edges[key]], self.cum[self.key_edges[key + 1]]
        by_loc = hi - lo <= 0
        lo = np.where(by_loc, self.cum[self.loc_edges[loc]], lo)
        hi = np.where(by_loc, self.cum[self.loc_edges[loc + 1]], hi)
        target = lo + u * (hi - lo)
        order = np.argsort(target)  # sorted needles: a cache-friendly search of a long array
        pos = np.empty(len(target), dtype=np.int64)
        pos[order] = np.searchsorted(self.cum, target[order], side="right") - 1
        pos = np.clip(pos, 0, self.m.n - 1)
        return np.where(hi - lo > 0, self.order[pos], -1)
