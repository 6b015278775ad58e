"""RFID stocktake (RFID盘点, 自动盘点): a store's tags read over inventory rounds, counted per SKU, compared with
the book stock (账面库存) of the latest inventory snapshot, and written through the governed door.

The pure steps: :func:`tally_reads` (rounds → one row per EPC: reads deduplicated, first / last round,
strongest read), :func:`identify` (EPC → GTIN, serial, SKU), :func:`count_per_sku` and :func:`variance`
(found, missing, unexpected per SKU). The session does the I/O: :func:`book_stock` reads
``core.inventory`` as the store's ``device`` user, :func:`write_stocktake` writes ``raw.rfid_reads`` and
``raw.rfid_stocktake`` in one transaction, replacing the stocktake's rows if it is written again.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Iterable

import pandas as pd
import pyarrow as pa

from workbench.devices.epc import COMPANY_PREFIX, NotSgtin, decode_sgtin96, sku_of
from workbench.devices.rfid import InventoryRound

__all__ = ["Stocktake", "tally_reads", "identify", "count_per_sku", "variance", "book_stock", "store_of",
           "take_stock", "write_stocktake", "contract_rows"]

READ_COLUMNS = ["epc", "reads", "first_round", "last_round", "antenna", "rssi_dbm"]


@dataclass
class Stocktake:
    """A finished stocktake: the tags (``raw.rfid_reads`` rows) and the variance (``raw.rfid_stocktake`` rows)."""

    session_id: str
    store_code: str
    store_id: int
    count_date: dt.date
    book_date: dt.date | None
    tags: pd.DataFrame
    result: pd.DataFrame
    rounds: int

    def summary(self) -> str:
        r, unknown = self.result, int(self.tags["sku_id"].isna().sum())
        return (f"stocktake {self.session_id} of {self.store_code} on {self.count_date}: {len(self.tags)} tags in "
                f"{self.rounds} rounds, {int(r['counted_qty'].sum())} units of {len(r)} SKUs against "
                f"{int(r['book_qty'].sum())} in the books of {self.book_date}: {int(r['found'].sum())} found, "
                f"{int(r['missing'].sum())} missing, {int(r['unexpected'].sum())} unexpected; "
                f"{unknown} tag(s) not the chain's")


def tally_reads(rounds: Iterable[InventoryRound]) -> pd.DataFrame:
    """One row per EPC over every round: times read, first and last round, the strongest read's antenna."""
    rows = [(t.epc, r.number, t.antenna, t.rssi_dbm) for r in rounds for t in r.reads]
    reads = pd.DataFrame(rows, columns=["epc", "round", "antenna", "rssi_dbm"])
    if reads.empty:
        return pd.DataFrame(columns=READ_COLUMNS)
    strongest = reads.sort_values("rssi_dbm", ascending=False).drop_duplicates("epc").set_index("epc")
    g = reads.groupby("epc")
    out = pd.DataFrame({"reads": g.size(), "first_round": g["round"].min(), "last_round": g["round"].max()})
    out[["antenna", "rssi_dbm"]] = strongest[["antenna", "rssi_dbm"]]
    return out.reset_index()[READ_COLUMNS]


def identify(tags: pd.DataFrame, company_prefix: str = COMPANY_PREFIX) -> pd.DataFrame:
    """``tags`` with ``gtin``, ``serial`` and ``sku_id`` (null for an EPC that is not one of the chain's SGTINs)."""
    decoded = [_decode(e, company_prefix) for e in tags["epc"]]
    return tags.assign(gtin=[d[0] for d in decoded], serial=pd.array([d[1] for d in decoded], dtype="Int64"),
                       sku_id=pd.array([d[2] for d in decoded], dtype="Int32"))


@functools.lru_cache(maxsize=200_000)  # pure; a gateway reads the same tags round after round
def _decode(epc: str, company_prefix: str) -> tuple[str | None, int | None, int | None]:
    try:
        sgtin = decode_sgtin96(epc)
    except NotSgtin:
        return None, None, None
    return sgtin.gtin, sgtin.serial, sku_of(sgtin.gtin, company_prefix)


def count_per_sku(tags: pd.DataFrame) -> pd.DataFrame:
    """``sku_id``, ``counted_qty``: distinct EPCs of each SKU (tags of no known SKU left out)."""
    known = tags.dropna(subset=["sku_id"])
    return known.groupby("sku_id").size().rename("counted_qty").reset_index()


def variance(book: pd.DataFrame, counted: pd.DataFrame) -> pd.DataFrame:
    """Per SKU in either: ``book_qty``, ``counted_qty``, ``found``, ``missing``, ``unexpected``, ``status``."""
    v = book[["sku_id", "book_qty"]].merge(counted[["sku_id", "counted_qty"]], on="sku_id", how="outer")
    v[["book_qty", "counted_qty"]] = v[["book_qty", "counted_qty"]].fillna(0).astype("int64")
    v["found"] = v[["book_qty", "counted_qty"]].min(axis=1)
    v["missing"] = v["book_qty"] - v["found"]
    v["unexpected"] = v["counted_qty"] - v["found"]
    v["status"] = "match"
    v.loc[v["missing"] > 0, "status"] = "missing"
    v.loc[v["unexpected"] > 0, "status"] = "unexpected"
    v = v[(v["book_qty"] > 0) | (v["counted_qty"] > 0)]
    return v.astype({"sku_id": "int64"}).sort_values("sku_id").reset_index(drop=True)


# --- the session's side ------------------------------------------------------------------------------------


def store_of(session, store_code: str) -> int:
    """The store's id, if it is in the user's scope; else a refusal saying which stores the user may count."""
    stores = session.table("stores")
    found = stores.filter(stores.store_code == store_code).store_id.to_pandas()
    if found.empty:
        raise PermissionError(f"{session.user.name} may not count {store_code}: its scope is "
                              f"{session.scope.describe()}; use the device user of {store_code}'s gateway")
    return int(found.iloc[0])


def book_stock(session, store_id: int, count_date: dt.date) -> tuple[dt.date | None, pd.DataFrame]:
    """The latest snapshot on or before ``count_date`` and its units on hand per SKU (quality A and B)."""
    inv = session.table("inventory")
    inv = inv.filter((inv.store_id == store_id) & (inv.snapshot_date <= count_date))
    day = inv.snapshot_date.max().to_pandas()
    if day is None or pd.isna(day):
        return None, pd.DataFrame({"sku_id": pd.Series(dtype="int64"), "book_qty": pd.Series(dtype="int64")})
    day = pd.Timestamp(day).date()
    at = inv.filter(inv.snapshot_date == day)
    book = at.group_by("sku_id").aggregate(book_qty=at.on_hand.sum()).to_pandas()
    return day, book[book["book_qty"] > 0].reset_index(drop=True)


def take_stock(session, rounds: Iterable[InventoryRound], store_code: str, count_date: dt.date | None = None,
               reader_port: str | None = None) -> Stocktake:
    """Read the rounds (the reader runs them as they are consumed) and compare with the book stock."""
    count_date = count_date or dt.date.today()
    store_id = store_of(session, store_code)
    done = list(rounds)
    tags = identify(tally_reads(done)).assign(reader_port=reader_port)
    book_date, book = book_stock(session, store_id, count_date)
    result = variance(book, count_per_sku(tags)).assign(book_date=book_date)
    return Stocktake(session.run_id, store_code, store_id, count_date, book_date, tags, result, len(done))


def write_stocktake(session, st: Stocktake) -> dict[str, int]:
    """Both tables in one transaction; writing the same stocktake again replaces its rows."""
    common = {"session_id": st.session_id, "count_date": st.count_date, "store_id": st.store_id}
    written = {}
    with session.transaction():
        for table, frame in (("raw.rfid_reads", st.tags), ("raw.rfid_stocktake", st.result)):
            data = contract_rows(table, frame.assign(**common))
            written[table] = session.write(table, data, mode="replace_where", where={"session_id": st.session_id})
    return written


def contract_rows(table: str, frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow in the table's contract (workbench.warehouse.schema), ``run_id`` left to the session."""
    from workbench.warehouse.schema import LOGS

    schema = pa.schema([f for f in LOGS[table].arrow_schema() if f.name != "run_id"])
    cols = {f.name: frame[f.name].astype(object).where(frame[f.name].notna(), None).tolist() for f in schema}
    return pa.Table.from_pydict(cols, schema=schema)
