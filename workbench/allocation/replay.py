"""Replay the chain's stores day by day under an allocation policy, against the simulator's true demand.

The benchmark's world (``wb bench allocation``). It starts from the stock of
the first day, and every policy meets the same customers: each day, what
arrives is put on the shelf, customers ask for ``truth.demand``, the store
sells ``min(demand, on hand)`` and the rest is a lost sale. Flows no policy
decides are replayed from history as they happened, clamped to the stock
there is: supplier receipts into the DC, a new season's initial allocation,
outlet allocations, recalls and supplier returns. The policy decides the
rest (DC replenishment and store-to-store transfers) after the day's close;
its moves leave at once and arrive after their route's lead time.

State is dense: ``on_hand[location, sku]`` for the shops and the DC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ReplayData", "Replay", "View", "Outcome"]

LOCATION_TYPES = ("own", "consignment", "outlet", "dc")


@dataclass
class ReplayData:
    """Everything the replay needs, read once (see ``workbench.allocation.bench.load_replay_data``)."""

    start: dt.date
    days: int
    stores: pd.DataFrame  # store_id, store_type, grade, region, city, capacity_units (shops and the DC)
    products: pd.DataFrame  # sku_id, skc_id, is_core_size, unit_cost
    opening: pd.DataFrame  # location_id, sku_id, on_hand: stock at the close of the day before ``start``
    flows: pd.DataFrame  # ship_date, receive_date, origin, dest, sku_id, units (origin or dest may be null)
    demand: pd.DataFrame  # sale_date, store_id, sku_id, demand
    prices: pd.DataFrame  # sale_date, sku_id, channel (full_price | outlet), price
    sales_before: pd.DataFrame  # sale_date, store_id, sku_id, units: the weeks before ``start``
    routes: pd.DataFrame  # origin, dest, relation, fixed_cost, unit_cost, lead_days

    @property
    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=d) for d in range(self.days)]


@dataclass
class Outcome:
    """What a policy's moves did: per-day totals and every shipment."""

    daily: pd.DataFrame
    moves: pd.DataFrame
    solves: list[dict] = field(default_factory=list)


class View:
    """What a policy may see after the close of ``day``: stock, its own sales log, the DC."""

    def __init__(self, replay: "Replay", day: dt.date):
        self.replay, self.day = replay, day
        self.data = replay.data

    def stock(self, with_transit: bool = True) -> pd.DataFrame:
        """``sku_id, location_id, stock`` where non-zero (in-transit stock counts where it is going)."""
        r = self.replay
        held = r.on_hand + (r.incoming() if with_transit else 0)
        loc, sku = np.nonzero(held)
        return pd.DataFrame({"sku_id": r.sku_ids[sku], "location_id": r.loc_ids[loc], "stock": held[loc, sku]})

    def dc_stock(self) -> pd.DataFrame:
        r = self.replay
        units = r.on_hand[r.dc_row]
        keep = units > 0
        return pd.DataFrame({"sku_id": r.sku_ids[keep], "units": units[keep]})

    def sales(self, days: int) -> pd.DataFrame:
        """``sku_id, store_id, units`` sold in the ``days`` up to and including today."""
        first = self.day - dt.timedelta(days=days - 1)
        log = self.replay.sales_log
        rows = log[(log["sale_date"] >= first) & (log["sale_date"] <= self.day)]
        return rows.groupby(["sku_id", "store_id"], as_index=False)["units"].sum()


class Replay:
    """The day loop; ``run(policy)`` returns an :class:`Outcome`."""

    def __init__(self, data: ReplayData):
        self.data = data
        stores = data.stores[data.stores["store_type"].isin(LOCATION_TYPES)].reset_index(drop=True)
        self.loc_ids = stores["store_id"].to_numpy()
        self.sku_ids = np.sort(data.products["sku_id"].unique())
        self.loc_of = pd.Series(np.arange(len(self.loc_ids)), index=self.loc_ids)
        self.sku_of = pd.Series(np.arange(len(self.sku_ids)), index=self.sku_ids)
        dcs = np.flatnonzero(stores["store_type"].to_numpy() == "dc")
        if len(dcs) != 1:
            raise ValueError(f"the replay needs exactly one DC in core.stores, found {len(dcs)}")
        self.dc_row = int(dcs[0])
        self.shop_rows = np.flatnonzero(stores["store_type"].to_numpy() != "dc")
        self.channel = np.where(stores["store_type"].to_numpy() == "outlet", "outlet", "full_price")
        self._size_runs(data.products)
        self._prepare_days()

    # --- preparation -------------------------------------------------------
    def _size_runs(self, products: pd.DataFrame) -> None:
        """SKUs ordered by style-colour, so a style's sizes are one slice (for size-break counts)."""
        info = products.drop_duplicates("sku_id").set_index("sku_id").loc[self.sku_ids]
        self.unit_cost = info["unit_cost"].to_numpy(float)
        self.skc_order = np.argsort(info["skc_id"].to_numpy(), kind="stable")
        skc_sorted = info["skc_id"].to_numpy()[self.skc_order]
        self.skc_starts = np.flatnonzero(np.r_[True, skc_sorted[1:] != skc_sorted[:-1]])
        self.core_sorted = info["is_core_size"].fillna(False).to_numpy(bool)[self.skc_order]

    def _rows(self, frame: pd.DataFrame, loc_col: str) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        frame = frame[frame[loc_col].isin(self.loc_of.index) & frame["sku_id"].isin(self.sku_of.index)]
        return self.loc_of[frame[loc_col]].to_numpy(), self.sku_of[frame["sku_id"]].to_numpy(), frame

    def _prepare_days(self) -> None:
        d = self.data
        self.day_demand = {day: self._rows(g, "store_id") for day, g in d.demand.groupby("sale_date")}
        price = d.prices.pivot_table(index=["sale_date", "sku_id"], columns="channel", values="price", aggfunc="first")
        self.prices = {day: g.droplevel(0) for day, g in price.groupby(level=0)}
        self.flows_by_ship = dict(tuple(d.flows.dropna(subset=["ship_date"]).groupby("ship_date")))

    def reset(self) -> None:
        loc, sku, frame = self._rows(self.data.opening, "location_id")
        self.on_hand = np.zeros((len(self.loc_ids), len(self.sku_ids)), dtype=np.int64)
        np.add.at(self.on_hand, (loc, sku), frame["on_hand"].to_numpy(np.int64))
        np.maximum(self.on_hand, 0, out=self.on_hand)
        self.pending: list[tuple[dt.date, np.ndarray, np.ndarray, np.ndarray]] = []
        before = self.data.flows[(self.data.flows["ship_date"].isna()) | (self.data.flows["ship_date"] < self.data.start)]
        self._send(before[before["receive_date"] >= self.data.start], clamp=False)
        self.sales_log = self.data.sales_before[["sale_date", "store_id", "sku_id", "units"]].copy()
        self._sold_parts: list[pd.DataFrame] = []

    # --- stock movements ----------------------------------------------------
    def incoming(self) -> np.ndarray:
        total = np.zeros_like(self.on_hand)
        for _, loc, sku, units in self.pending:
            np.add.at(total, (loc, sku), units)
        return total

    def _send(self, flows: pd.DataFrame, clamp: bool = True) -> np.ndarray:
        """Take ``units`` from each origin (at most what it holds when ``clamp``) and queue them for the destination."""
        units = flows["units"].to_numpy(np.int64).copy()
        has_origin = flows["origin"].notna().to_numpy() & flows["origin"].isin(self.loc_of.index).to_numpy()
        if clamp and has_origin.any():
            rows = flows[has_origin]
            loc, sku = self.loc_of[rows["origin"]].to_numpy(), self.sku_of[rows["sku_id"]].to_numpy()
            for i, l, s in zip(np.flatnonzero(has_origin), loc, sku):  # in turn: two flows may share an origin
                units[i] = min(units[i], self.on_hand[l, s])
                self.on_hand[l, s] -= units[i]
        to = flows["dest"].isin(self.loc_of.index).to_numpy() & (units > 0)
        for day, group in flows[to].assign(units=units[to]).groupby("receive_date"):
            self.pending.append((day, self.loc_of[group["dest"]].to_numpy(), self.sku_of[group["sku_id"]].to_numpy(),
                                 group["units"].to_numpy(np.int64)))
        return units

    def _arrive(self, day: dt.date) -> None:
        keep = []
        for item in self.pending:
            if item[0] <= day:
                np.add.at(self.on_hand, (item[1], item[2]), item[3])
            else:
                keep.append(item)
        self.pending = keep

    def _sell(self, day: dt.date) -> dict:
        loc, sku, frame = self.day_demand.get(day, (np.zeros(0, int), np.zeros(0, int), None))
        if frame is None or len(loc) == 0:
            return {"units_sold": 0, "sales_value": 0.0, "gross_margin": 0.0, "lost_sales_units": 0, "demand_units": 0}
        demand = frame["demand"].to_numpy(np.int64)
        sold = np.minimum(demand, self.on_hand[loc, sku])
        self.on_hand[loc, sku] -= sold
        price = self._price(day, loc, sku)
        hit = sold > 0
        self._sold_parts.append(pd.DataFrame({"sale_date": day, "store_id": self.loc_ids[loc[hit]],
                                              "sku_id": self.sku_ids[sku[hit]], "units": sold[hit]}))
        return {"units_sold": int(sold.sum()), "sales_value": float((sold * price).sum()),
                "gross_margin": float((sold * (price - self.unit_cost[sku])).sum()),
                "lost_sales_units": int((demand - sold).sum()), "demand_units": int(demand.sum())}

    def _price(self, day: dt.date, loc: np.ndarray, sku: np.ndarray) -> np.ndarray:
        table = self.prices[day]
        ids = self.sku_ids[sku]
        full = table["full_price"].reindex(ids).to_numpy(float)
        outlet = table["outlet"].reindex(ids).to_numpy(float) if "outlet" in table else full
        return np.where(self.channel[loc] == "outlet", np.where(np.isnan(outlet), full, outlet), full)

    def margins(self, day: dt.date, pairs: pd.DataFrame) -> pd.DataFrame:
        """``pairs`` (``sku_id, location_id``, shops) with ``margin``: today's price there less unit cost."""
        loc = self.loc_of.reindex(pairs["location_id"]).to_numpy()
        sku = self.sku_of.reindex(pairs["sku_id"]).to_numpy()
        known = ~(np.isnan(loc) | np.isnan(sku))
        margin = np.full(len(pairs), np.nan)
        loc, sku = loc[known].astype(int), sku[known].astype(int)
        margin[known] = self._price(day, loc, sku) - self.unit_cost[sku]
        return pairs.assign(margin=margin)

    def size_breaks(self) -> int:
        """Store × style-colour pairs on display (any size held) with a core size missing (断码)."""
        held = self.on_hand[self.shop_rows][:, self.skc_order]
        shown = np.add.reduceat(held, self.skc_starts, axis=1) > 0
        missing = np.add.reduceat(((held <= 0) & self.core_sorted).astype(np.int64), self.skc_starts, axis=1) > 0
        return int((shown & missing).sum())

    def _ship(self, day: dt.date, moves: pd.DataFrame) -> pd.DataFrame:
        """Apply a policy's moves: clamp to stock, price the freight, queue the arrivals."""
        if moves is None or moves.empty:
            return pd.DataFrame(columns=["ship_date", "origin", "dest", "sku_id", "units", "relation", "cost"])
        moves = moves.groupby(["origin", "dest", "sku_id"], as_index=False)["units"].sum()
        routes = self.data.routes[["origin", "dest", "relation", "fixed_cost", "unit_cost", "lead_days"]]
        moves = moves.merge(routes, on=["origin", "dest"], how="left")
        if moves["relation"].isna().any():
            bad = moves[moves["relation"].isna()].iloc[0]
            raise ValueError(f"the policy moved stock from {bad['origin']} to {bad['dest']}, a route that does not exist")
        moves["receive_date"] = [day + dt.timedelta(days=int(d)) for d in moves["lead_days"]]
        moves["ship_date"] = day
        moves["units"] = self._send(moves)
        moves = moves[moves["units"] > 0]
        first = ~moves.duplicated(["origin", "dest"])
        moves["cost"] = moves["units"] * moves["unit_cost"] + np.where(first, moves["fixed_cost"], 0.0)
        return moves[["ship_date", "origin", "dest", "sku_id", "units", "relation", "cost"]]

    # --- the loop -----------------------------------------------------------
    def run(self, policy, progress=None) -> Outcome:
        self.reset()
        daily, shipped, solves = [], [], []
        for number, day in enumerate(self.data.dates):
            self._send(self.flows_by_ship.get(day, self.data.flows.iloc[:0]))
            self._arrive(day)
            row = {"date": day, **self._sell(day)}
            row["size_breaks"] = self.size_breaks()
            if self._sold_parts:
                self.sales_log = pd.concat([self.sales_log, *self._sold_parts], ignore_index=True)
                self._sold_parts = []
            view = View(self, day)
            moves = policy.plan(day, view)
            if getattr(policy, "last_solve", None):
                solves.append({"date": day, **policy.last_solve})
                policy.last_solve = None
            moves = self._ship(day, moves)
            shipped.append(moves)
            row["shop_stock"] = int(self.on_hand[self.shop_rows].sum())
            daily.append(row)
            if progress:
                progress(number + 1, len(self.data.dates))
        shipped = [m for m in shipped if len(m)]
        moves = pd.concat(shipped, ignore_index=True) if shipped else self._ship(day, None)
        return Outcome(pd.DataFrame(daily), moves, solves)
