"""Outfits (搭配): the looks merchandisers design, and how they make pieces sell on one ticket.

**Designed looks (搭配 / 陈列搭配).** Each season the merchandisers of every brand style each lead piece -- every
top, dress and piece of outerwear -- into a look that is hung and shown together on the floor:

- a top with a bottom, and half the time an outer layer or an accessory;
- a dress with an outer layer or an accessory, and 40 % of the time an accessory as well;
- an outer layer with a top or a bottom.

Partners are of the same brand and season (one collection, one floor) and are drawn at random with weights:
the lead's occasion (casual, office, sport, party) ×3, colours that go together (the same colour family, or
either neutral) ×1 against ×0.1 for a clash, the lead's delivery drop (波段: launched within 10 days of it) ×2,
and 1 / (1 + looks it is already in), so that a few bottoms do not end up in every look. A piece can be in
several looks (a bottom styled with several tops). The draws come from ``rng(seed, "looks", season, brand)``,
so the catalogue itself does not change; the looks are kept as ground truth in ``truth.looks`` (one row per
look and SKC; only the oracle reads it), so an evaluation can say how much of the structure a method recovers.

**Tickets.** What a store sells in a day (units per SKU) is fixed by demand and stock before tickets are
made; outfits only decide how those lines are grouped on tickets (``arrange``):

1. each line stands for one of its SKC's looks: the one with most pieces sold at that store that day (ties at
   random); a line whose looks have no other piece sold there that day stands for none;
2. a store's lines of one look that day form candidate outfits -- the first line of each of the look's SKCs
   (smallest size first), then the second ... A candidate of two or more pieces whose sizes fit one body
   (sized pieces at most ``Affinity.size_gap`` apart on the body scale; one-size accessories fit anyone) was
   bought as a whole by one customer with probability ``Affinity.look_together`` (0.7: when the pieces of a
   displayed look sell at one store on one day in sizes that fit, it is mostly one customer's outfit); such an
   outfit is never cut apart;
3. the outfits and the other lines are then ordered as before, by store and the buyer's size (an outfit by its
   first line), and within a size a share ``Affinity.styled`` of them sits next to lines of the same occasion
   and colour family (a customer who matches by eye), the rest at random;
4. tickets are cut at random between these units with a probability that keeps the store's attach rate
   (连带率, units per ticket): fewer, bigger units are cut more often (``Checkout.sell``).

The line-level size loyalty (``baskets.SIZE_LOYALTY``) and the attach rate stay as they were; an outfit may
span two neighbouring sizes (a top in M, trousers in L), so slightly fewer multi-line tickets are all in one
size than in generator version 2 (0.62 against 0.69 on ``demo``). With ``look_together = styled = 0`` the
tickets are random as in version 2 (with other draws). Which units come back as returns does not depend on any
of this (``Checkout.schedule_returns`` draws them in version 2's ticket order). Nothing here runs a Python loop
per line; looks are designed once per season and brand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.simulation.arrays import expand
from workbench.simulation.catalog import COLOURS
from workbench.simulation.chain import BRANDS
from workbench.simulation.seeding import rng

__all__ = ["Affinity", "AFFINITY", "Looks", "design_looks", "arrange", "RECIPES"]

# lead category: the partners a look adds, as (categories to choose from, chance of adding one)
RECIPES: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    "tops": ((("bottoms",), 1.0), (("outerwear", "accessories"), 0.5)),
    "dresses": ((("outerwear", "accessories"), 1.0), (("accessories",), 0.4)),
    "outerwear": ((("tops", "bottoms"), 1.0),),
}
SAME_OCCASION, CLASH = 3.0, 0.1  # partner weights: the lead's occasion; colours that do not go together
SAME_DROP, SAME_DROP_DAYS = 2.0, 10  # partner weight: launched in the lead's delivery drop (波段), within 10 days
OCCASIONS = ("casual", "office", "sport", "party")
FAMILIES = tuple(dict.fromkeys(c[2] for c in COLOURS))  # dark, light, neutral, bright
N_STYLES = len(OCCASIONS) * len(FAMILIES)


@dataclass(frozen=True)
class Affinity:
    """How strongly outfits hold tickets together (module docstring)."""

    look_together: float = 0.7  # a candidate outfit of one look whose sizes fit is bought by one customer
    size_gap: int = 1  # ... its sized pieces at most this far apart on the body scale (a top in M, trousers in L)
    styled: float = 0.3  # other lines placed next to lines of the same occasion and colour family


AFFINITY = Affinity()  # read at every sale: a test sets look_together = styled = 0 to compare with random tickets


@dataclass(frozen=True)
class Looks:
    """The designed looks: ``table`` (look_id, skc_id, is_lead; ids 1-based) and, per SKC index, its looks."""

    table: pd.DataFrame
    first: np.ndarray  # per SKC index: where its looks start in ``look_of``
    count: np.ndarray  # per SKC index: how many looks it is in
    look_of: np.ndarray  # look index (0-based), grouped by SKC
    style: np.ndarray  # per SKC index: occasion × colour family, the key of a customer matching by eye

    def memberships(self, skc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (line, look) pair of lines whose SKC is in looks: line positions and look indices."""
        count = self.count[skc]
        line = np.repeat(np.arange(len(skc)), count)
        return line, self.look_of[expand(self.first[skc], count)]

    def piece_key(self, loc: np.ndarray, look: np.ndarray, skc: np.ndarray) -> np.ndarray:
        """One int64 per store × look × SKC (sorts by store, then look, then SKC; ``// n_skc`` = store × look)."""
        n_looks = int(self.look_of.max()) + 1 if len(self.look_of) else 1
        return (loc.astype(np.int64) * n_looks + look) * len(self.count) + skc


def design_looks(skc: pd.DataFrame, seed: int) -> Looks:
    """The looks of every season and brand (``skc``: the catalogue's SKC frame, index = SKC index)."""
    family = np.array([c[2] for c in COLOURS])[skc["colour_index"].to_numpy()]
    looks: list[list[int]] = []
    for (season, brand), group in skc.groupby(["season_index", "brand"], sort=True):
        g = rng(seed, "looks", int(season), BRANDS.index(str(brand)))
        looks += _style_group(group.index.to_numpy(), skc, family, g)
    table = pd.DataFrame({
        "look_id": np.repeat(np.arange(1, len(looks) + 1), [len(k) for k in looks]).astype(np.int32),
        "skc_id": (np.array([s for k in looks for s in k], dtype=np.int64) + 1).astype(np.int32),
        "is_lead": np.array([i == 0 for k in looks for i in range(len(k))], dtype=bool),
    })
    style = (pd.Categorical(skc["occasion"], OCCASIONS).codes * len(FAMILIES)
             + pd.Categorical(family, FAMILIES).codes).astype(np.int64)
    return _index(table, len(skc), style)


def _style_group(idx: np.ndarray, skc: pd.DataFrame, family: np.ndarray, g: np.random.Generator) -> list[list[int]]:
    """Looks of one brand's season: each lead piece (in random order) with its partners (SKC indices)."""
    cat, occ, fam = skc["category"].to_numpy()[idx], skc["occasion"].to_numpy()[idx], family[idx]
    launch = skc["launch_day"].to_numpy()[idx]
    used = np.zeros(len(idx))
    looks = []
    for lead in g.permutation(np.flatnonzero(np.isin(cat, tuple(RECIPES)))):
        look = [lead]
        for choices, chance in RECIPES[cat[lead]]:
            if g.random() >= chance:
                continue
            ok = np.isin(cat, choices)
            ok[look] = False
            if not ok.any():
                continue
            goes = (fam == fam[lead]) | (fam == "neutral") | (fam[lead] == "neutral")
            drop = np.abs(launch - launch[lead]) <= SAME_DROP_DAYS
            w = (ok * np.where(occ == occ[lead], SAME_OCCASION, 1.0) * np.where(goes, 1.0, CLASH)
                 * np.where(drop, SAME_DROP, 1.0) / (1.0 + used))
            look.append(int(g.choice(len(idx), p=w / w.sum())))
        if len(look) > 1:
            used[look] += 1
            looks.append([int(i) for i in idx[look]])
    return looks


def _index(table: pd.DataFrame, n_skc: int, style: np.ndarray) -> Looks:
    """Per SKC index, the looks it is in (CSR arrays)."""
    skc = table["skc_id"].to_numpy(np.int64) - 1
    order = np.argsort(skc, kind="stable")
    count = np.bincount(skc, minlength=n_skc)
    first = np.r_[0, np.cumsum(count)[:-1]]
    look_of = table["look_id"].to_numpy(np.int64)[order] - 1
    return Looks(table=table, first=first, count=count, look_of=look_of, style=style)


def arrange(h: np.random.Generator, loc: np.ndarray, size: np.ndarray, skc: np.ndarray, size_rank: np.ndarray,
            looks: Looks, affinity: Affinity) -> tuple[np.ndarray, np.ndarray]:
    """The order of a day's lines before tickets are cut, and ``joined``: the line (in that order) belongs to
    the same outfit as the line before it, so no ticket may end between them (module docstring, steps 1-3).
    ``size``: the buyer's size per line; ``size_rank``: the size of the item sold (0 = one size)."""
    m = len(loc)
    unit = _outfits(h, loc, skc, size_rank, looks, affinity)
    present = np.zeros(int(unit.max()) + 1, dtype=bool)
    present[unit] = True
    unit = (np.cumsum(present) - 1)[unit]  # 0 .. units - 1
    n_units = int(unit.max()) + 1
    first = np.empty(n_units, dtype=np.int64)
    first[unit] = np.arange(m)  # a line of each unit (which one does not matter)
    styled = h.random(n_units) < affinity.styled
    jitter = h.random(n_units)
    style = np.where(styled, looks.style[skc[first]] + jitter, jitter * N_STYLES)  # one style: one interval
    # a unit takes its buyer size and style from one of its lines; its lines share one key (ties only within it)
    key = (loc[first] * 8 + size[first]) * float(N_STYLES) + style
    shuffled = h.permutation(m)  # the lines of an outfit in random order (a stable sort keeps it)
    order = shuffled[np.argsort(key[unit][shuffled], kind="stable")]
    ordered = unit[order]
    joined = np.r_[False, ordered[1:] == ordered[:-1]]
    return order, joined


def _outfits(h: np.random.Generator, loc: np.ndarray, skc: np.ndarray, size_rank: np.ndarray, looks: Looks,
             affinity: Affinity) -> np.ndarray:
    """A unit id per line: the lines of an outfit bought together share one (>= m), every other line its own."""
    m = len(loc)
    cand, piece = _look_shown(h, loc, skc, looks)
    unit = np.arange(m, dtype=np.int64)
    if len(cand) < 2:
        return unit
    # the k-th line of each SKC of a look at a store joins that look's k-th candidate outfit; lines come in
    # slot order, so within an SKC the smaller sizes come first and the pieces of an outfit tend to agree
    k = _rank_in_runs(piece)
    outfit_key = piece // len(looks.count) * (int(k.max()) + 1) + k
    in_outfit = np.argsort(outfit_key, kind="stable")
    lines, outfit_key = cand[in_outfit], outfit_key[in_outfit]
    outfit = np.cumsum(np.r_[True, outfit_key[1:] != outfit_key[:-1]]) - 1
    pieces = np.bincount(outfit)
    bought = (pieces >= 2) & _sizes_fit(outfit, size_rank[lines], affinity.size_gap)
    bought &= h.random(len(pieces)) < affinity.look_together
    keep = bought[outfit]
    unit[lines[keep]] = m + outfit[keep]
    return unit


def _sizes_fit(outfit: np.ndarray, size_rank: np.ndarray, gap: int) -> np.ndarray:
    """Per outfit (``outfit`` ids ascending from 0): its sized pieces are at most ``gap`` apart (one-size fits all)."""
    starts = np.flatnonzero(np.r_[True, outfit[1:] != outfit[:-1]])
    sized = size_rank > 0
    top = np.maximum.reduceat(np.where(sized, size_rank, 0), starts)
    bottom = np.minimum.reduceat(np.where(sized, size_rank, 99), starts)
    return (top - np.minimum(bottom, top)) <= gap


def _look_shown(h: np.random.Generator, loc: np.ndarray, skc: np.ndarray, looks: Looks) -> tuple[np.ndarray, np.ndarray]:
    """The look each line was bought for: of its SKC's looks, the one with most pieces sold at that store that
    day (ties at random); none when no look of its SKC has another piece sold there that day. Returns the lines
    bought for a look and their store × look × SKC keys (``Looks.piece_key``), sorted by key, then by line."""
    line, look = looks.memberships(skc)
    if len(line) == 0:
        return line, line
    piece = looks.piece_key(loc[line], look, skc[line])
    order = np.argsort(piece, kind="stable")
    p = piece[order]
    shown = p // len(looks.count)  # store × look
    new_look = np.r_[True, shown[1:] != shown[:-1]]
    group = np.cumsum(new_look) - 1
    pieces = np.bincount(group, weights=np.r_[True, p[1:] != p[:-1]])[group]  # distinct SKCs sold there today
    priority = np.empty(len(line))
    priority[order] = pieces + h.random(len(line))
    starts = np.flatnonzero(np.r_[True, line[1:] != line[:-1]])  # ``line`` ascends: one run per line
    best = np.maximum.reduceat(priority, starts)
    chosen = (priority == np.repeat(best, np.diff(np.r_[starts, len(line)]))) & (priority >= 2)
    kept = order[chosen[order]]
    return line[kept], piece[kept]


def _rank_in_runs(key: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal keys (rows sorted by the key)."""
    n = len(key)
    start = np.maximum.accumulate(np.where(np.r_[True, key[1:] != key[:-1]], np.arange(n), 0))
    return np.arange(n) - start
