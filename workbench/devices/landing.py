"""Journaled rounds landing in the warehouse (入仓): ``raw.rfid_tag_reads`` through the governed door.

:func:`round_rows` is pure: a round's reads as rows with their stable ``read_id``. :func:`land` writes the
rounds a journal holds but has not marked written, each with ``replace_where`` on (session, device, round),
in one transaction, and only then journals them as written: a crash between the two writes them again,
replacing, so the warehouse ends with each read exactly once. :func:`open_door` waits while another
process holds the DuckDB file (a pipeline step, a stocktake), the journal keeping the reads meanwhile.
"""

from __future__ import annotations

import time

import pandas as pd
import pyarrow.compute as pc

from workbench.devices.journal import Journal, read_id
from workbench.devices.settings import DevicePort
from workbench.devices.stocktake import contract_rows, identify, store_of

__all__ = ["TABLE", "round_rows", "open_door", "land", "session_rounds"]

TABLE = "raw.rfid_tag_reads"
WAIT_POLL_S = 0.2


def round_rows(device: DevicePort, session_id: str, store_id: int, round_no: int, reads: list[dict]) -> pd.DataFrame:
    """One row per read of the round (pure)."""
    frame = pd.DataFrame(reads, columns=["epc", "antenna", "rssi_dbm", "times_read", "read_at"])
    frame = identify(frame).assign(
        read_id=[read_id(device.name, session_id, round_no, e) for e in frame["epc"]], session_id=session_id,
        device=device.name, zone=device.zone, store_id=store_id, round_no=round_no,
        read_at=pd.to_datetime(frame["read_at"]))
    return frame


def open_door(user: str, run_id: str, wait_s: float, settings=None):
    """A writing session of the device user; waits up to ``wait_s`` while another process holds the file."""
    from workbench.governance.session import session

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return session(user, settings=settings, read_only=False, run_id=run_id, entry_point="device")
        except Exception as err:  # duckdb.IOException; its class is the engine's business
            if "lock" not in str(err).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(WAIT_POLL_S)  # a back-off while another process writes, not a synchronisation


def land(session, device: DevicePort, journal: Journal) -> int:
    """Write the journal's unwritten rounds in one transaction, then journal them written; returns reads written."""
    rounds = journal.unwritten()
    session_id = journal.state.session["session_id"]
    store_id = store_of(session, device.store) if rounds else None
    rows = [round_rows(device, session_id, store_id, n, reads)
            for n, reads in sorted(rounds.items()) if reads]  # an empty field writes nothing; its round is done
    written = 0
    if rows:
        table = contract_rows(TABLE, pd.concat(rows, ignore_index=True))
        with session.transaction():
            for n in sorted({int(r["round_no"].iloc[0]) for r in rows}):
                written += session.write(TABLE, table.filter(pc.equal(table["round_no"], n)), mode="replace_where",
                                         where={"session_id": session_id, "device": device.name, "round_no": n})
    if rounds:
        journal.mark_written(list(rounds))
    return written


def session_rounds(session, session_id: str, devices: list[str]) -> list:
    """The session's rounds as landed (the stocktake counts them): each read as often as the reader read it."""
    from workbench.devices.frames import TagRead
    from workbench.devices.rfid import InventoryRound

    t = session.table(TABLE)
    t = t.filter((t.session_id == session_id) & t.device.isin(devices))
    reads = t.select("round_no", "epc", "antenna", "rssi_dbm", "times_read").to_pandas()
    rounds: dict[int, InventoryRound] = {}
    for r in reads.itertuples(index=False):
        tag = TagRead(int(r.antenna), int(r.rssi_dbm), 0x3000, r.epc, 0)
        rounds.setdefault(int(r.round_no), InventoryRound(int(r.round_no))).reads.extend([tag] * max(1, int(r.times_read)))
    return [rounds[n] for n in sorted(rounds)]
