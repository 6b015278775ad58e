"""The range plan: which location sells which style-colour, from when to when (core.assortment).

A range record is one (location, SKC) pair with a start and an end. Own
stores range a share of each season by grade (A stores carry more, and the
buyers put the items they believe in into more stores); a consignment
counter ranges only its brand; the online shop ranges everything; limited
releases go to A stores, the big-city B stores and online. Outlets range an
old season's leftovers from the following year, only where the DC sends
stock, until they are sold out (so their records open and close during the
simulation).

The simulation works on *slots*: one per (location, SKU) that can ever hold
stock. The DC has one slot per SKU, slot number = SKU index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.simulation.catalog import NEVER, Catalog
from workbench.simulation.chain import Chain
from workbench.simulation.seeding import rng

SEASON, BASIC, OUTLET = 0, 1, 2  # record kinds
RANGE_SHARE = {"A": 0.45, "B": 0.32, "C": 0.22}
BASIC_SHARE = {"A": 0.8, "B": 0.6, "C": 0.45}
N_CHANNEL_KEYS = 11  # demand groups per SKC: 5 store regions, online, 5 outlet regions


@dataclass(frozen=True)
class RangePlan:
    """Range records and the slots they open."""

    rec_loc: np.ndarray  # location index
    rec_skc: np.ndarray  # SKC index
    rec_start: np.ndarray  # planned first day on sale (day number)
    rec_end: np.ndarray  # planned last day (recall), NEVER if open-ended
    rec_kind: np.ndarray  # SEASON | BASIC | OUTLET
    slot_loc: np.ndarray  # per slot: location index
    slot_sku: np.ndarray  # per slot: SKU index
    slot_rec: np.ndarray  # per slot: range record, -1 for DC slots
    slot_group: np.ndarray  # per slot: demand group (SKC × channel-region), -1 for DC slots

    @property
    def n_slots(self) -> int:
        return len(self.slot_loc)

    @property
    def n_records(self) -> int:
        return len(self.rec_loc)

    def rec_group(self) -> np.ndarray:
        """Demand group of each record (same for all its sizes)."""
        return self.slot_group[self.first_slot_of_record()]

    def first_slot_of_record(self) -> np.ndarray:
        """A record's sizes are contiguous slots (slots are sorted by location, then SKU)."""
        slots = np.flatnonzero(self.slot_rec >= 0)
        _, first = np.unique(self.slot_rec[slots], return_index=True)
        return slots[first]


def build_range_plan(chain: Chain, catalog: Catalog, open_day: np.ndarray, end_day: int, seed: int) -> RangePlan:
    records = pd.concat([
        _season_records(chain, catalog, open_day, seed),
        _outlet_records(chain, catalog, end_day),
    ], ignore_index=True)
    records = records[records["start"] <= np.minimum(records["end"], end_day)].reset_index(drop=True)
    return _slots(records, chain, catalog)


def _season_records(chain: Chain, catalog: Catalog, open_day: np.ndarray, seed: int) -> pd.DataFrame:
    g = rng(seed, "range-plan")
    skc = catalog.skc
    kind = chain.type
    grade = chain.stores["grade"].fillna("").to_numpy()
    tier = chain.stores["city_tier"].to_numpy()
    appeal = np.sqrt(skc["base_known"].to_numpy())
    appeal = appeal / appeal.mean()
    basic = skc["is_basic"].to_numpy()
    limited = skc["is_limited"].to_numpy()
    brand = skc["brand"].to_numpy()
    frames = []
    for loc in range(chain.n):
        if kind[loc] in ("dc", "outlet"):
            continue
        if kind[loc] == "online":
            take = np.ones(len(skc), dtype=bool)
        else:
            share = np.where(basic, BASIC_SHARE.get(grade[loc], 0.5), RANGE_SHARE.get(grade[loc], 0.35))
            p = np.clip(share * appeal, 0.0, 0.95)
            if kind[loc] == "consignment":
                p = np.where(brand == chain.brand[loc], np.minimum(0.95, p * 1.6), 0.0)
            take = g.random(len(skc)) < p
            big_city = grade[loc] == "A" or (grade[loc] == "B" and tier[loc] == 1)
            take = np.where(limited, big_city and kind[loc] == "own", take)
        rows = np.flatnonzero(take)
        start = np.maximum(skc["launch_day"].to_numpy()[rows], open_day[loc] + 1)
        frames.append(pd.DataFrame({
            "loc": loc, "skc": rows, "start": start, "end": skc["recall_day"].to_numpy()[rows],
            "kind": np.where(basic[rows], BASIC, SEASON),
        }))
    return pd.concat(frames, ignore_index=True)


def _outlet_records(chain: Chain, catalog: Catalog, end_day: int) -> pd.DataFrame:
    """Every outlet may receive every old-season SKC; the outlet allocation decides which really start."""
    skc = catalog.skc
    old = np.flatnonzero((skc["outlet_day"].to_numpy() <= end_day) & ~skc["is_basic"].to_numpy())
    outlets = np.flatnonzero(chain.type == "outlet")
    loc = np.repeat(outlets, len(old))
    rows = np.tile(old, len(outlets))
    return pd.DataFrame({"loc": loc, "skc": rows, "start": skc["outlet_day"].to_numpy()[rows], "end": NEVER, "kind": OUTLET})


def _slots(records: pd.DataFrame, chain: Chain, catalog: Catalog) -> RangePlan:
    """Expand records to one slot per size; DC slots first so that DC slot = SKU index."""
    sku_skc = catalog.sku_skc()
    first_sku = np.searchsorted(sku_skc, np.arange(catalog.n_skc))
    n_sizes = np.bincount(sku_skc, minlength=catalog.n_skc)
    rec_skc = records["skc"].to_numpy(np.int64)
    counts = n_sizes[rec_skc]
    rec_index = np.repeat(np.arange(len(records)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    sku = first_sku[rec_skc][rec_index] + offset
    loc = records["loc"].to_numpy(np.int32)[rec_index]
    order = np.lexsort((sku, loc))
    region = chain.region_index.astype(np.int64)
    kind = records["kind"].to_numpy()
    rec_loc = records["loc"].to_numpy()
    channel_key = np.where(chain.type[rec_loc] == "online", 5, np.where(kind == OUTLET, 6 + region[rec_loc], region[rec_loc]))
    group = rec_skc * N_CHANNEL_KEYS + channel_key
    dc = np.arange(catalog.n_sku)
    return RangePlan(
        rec_loc=rec_loc.astype(np.int32),
        rec_skc=rec_skc.astype(np.int32),
        rec_start=records["start"].to_numpy(np.int32),
        rec_end=np.minimum(records["end"].to_numpy(np.int64), NEVER).astype(np.int32),
        rec_kind=kind.astype(np.int8),
        slot_loc=np.r_[np.zeros(len(dc), np.int32), loc[order]].astype(np.int32),
        slot_sku=np.r_[dc, sku[order]].astype(np.int32),
        slot_rec=np.r_[np.full(len(dc), -1), rec_index[order]].astype(np.int32),
        slot_group=np.r_[np.full(len(dc), -1), group[rec_index][order]].astype(np.int64),
    )
