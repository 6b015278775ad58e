"""The device gateway (设备网关, ``wb devices run``): the configured readers, journaled, landed in the warehouse.

One thread per RFID reader runs inventory rounds into the reader's buffer (:mod:`.buffer`): journal "round N
open", inventory, fetch the buffer, journal the reads (fsync), reset the buffer, journal "closed". The main
thread lands the journaled rounds in the warehouse every ``flush_s`` (:mod:`.landing`), holding the DuckDB
file only for that write. A session (盘点 / 收货 session) covers a store or a zone of it: the readers of one
zone share it, and it goes on across restarts until its rounds are done; then its stocktake (book stock against
the tags counted, :mod:`.stocktake`) is written and the journals move to ``done/``.

After a crash (SIGKILL, power) the gateway starts again from the journal: the round left open is fetched
again from the reader's buffer (still there: it was never reset), unwritten rounds are written, replacing.
Garbage on the line is skipped and counted (``skipped_bytes``, ``bad_checksums``, logged); a port that
disappears is waited for ``port_wait_s``, then the reader's thread stops with a message saying so.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field

from workbench.devices.buffer import TagBuffer
from workbench.devices.journal import Journal, now_utc
from workbench.devices.landing import land, open_door, session_rounds
from workbench.devices.line import SerialLine, wait_for_port
from workbench.devices.settings import DevicePort, GatewaySettings
from workbench.devices.stats import ReaderStats
from workbench.devices.stocktake import take_stock, write_stocktake
from workbench.devices.weigh_station import ScaleLoop, land_weights

__all__ = ["ReaderLoop", "GatewayReport", "run_gateway", "session_key", "new_session_id"]

log = logging.getLogger("workbench.devices.gateway")
NOISE_LOG_EVERY_S = 10.0  # a noisy line is logged at most this often (the counts keep growing in between)


def session_key(device: DevicePort) -> tuple[str, str | None]:
    return device.store, device.zone


def new_session_id(store: str, zone: str | None) -> str:
    """``gw-S001[-zone]-<UTC time>``: the stocktake session of a store or zone."""
    return f"gw-{store}{'-' + zone if zone else ''}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}"


class ReaderLoop(threading.Thread):
    """One RFID reader's rounds until ``rounds`` are journaled (None: until stopped)."""

    def __init__(self, device: DevicePort, journal: Journal, rounds: int | None, stop: threading.Event,
                 port_wait_s: float, timeout_s: float = 2.0):
        super().__init__(daemon=True, name=f"reader-{device.name}")
        self.device, self.journal, self.rounds, self.stop = device, journal, rounds, stop
        self.line = SerialLine(device.port, device.baud, reconnect_s=port_wait_s)
        self.buffer = TagBuffer(self.line, timeout_s=timeout_s)
        self.port_wait_s = port_wait_s
        self.stats = ReaderStats(device.name)
        self._next_log = 0.0

    @property
    def done(self) -> bool:
        state = self.journal.state
        return self.rounds is not None and state.last_round >= self.rounds and state.open_round is None

    def run(self) -> None:
        try:
            wait_for_port(self.line, self.port_wait_s, self.stop)
            if (n := self.journal.state.open_round) is not None:
                log.info("%s: round %d was open when the gateway stopped; fetching it again", self.device.name, n)
                self._finish(n)
            while not self.stop.is_set() and not self.done:
                n = self.journal.state.last_round + 1
                self.journal.append({"t": "open", "round": n})
                self.buffer.inventory()
                self._finish(n)
        except Exception as err:  # the thread reports; the gateway lands what was journaled and says why
            self.stats.error = f"{self.device.name} on {self.device.port}: {err}"
            log.error("%s", self.stats.error)
        finally:
            self.stats.skipped_bytes, self.stats.bad_checksums = self.buffer.skipped_bytes, self.buffer.bad_checksums
            self.line.close()
            if self.stats.skipped_bytes:
                log.warning("%s: skipped %d garbage byte(s) and %d frame(s) with a bad check byte in %d rounds",
                            self.device.name, self.stats.skipped_bytes, self.stats.bad_checksums, self.stats.rounds)

    def _finish(self, n: int) -> None:
        tags, at = self.buffer.fetch(), now_utc()
        reads = [{"epc": t.epc, "antenna": t.antenna, "rssi_dbm": t.rssi_dbm, "times_read": t.times_read,
                  "read_at": at} for t in tags]
        self.journal.append({"t": "reads", "round": n, "reads": reads})
        self.buffer.reset()
        self.journal.append({"t": "closed", "round": n})
        self._count(len(reads))

    def _count(self, reads: int) -> None:
        s = self.stats
        s.rounds, s.reads, s.reconnects = s.rounds + 1, s.reads + reads, self.line.reconnects
        noise = (self.buffer.skipped_bytes, self.buffer.bad_checksums)
        if noise != (s.skipped_bytes, s.bad_checksums) and time.monotonic() >= self._next_log:
            log.warning("%s: skipped %d garbage byte(s) and %d frame(s) with a bad check byte so far (%d rounds)",
                        self.device.name, *noise, s.rounds)
            s.skipped_bytes, s.bad_checksums = noise
            self._next_log = time.monotonic() + NOISE_LOG_EVERY_S


@dataclass
class GatewayReport:
    """The run: per reader stats, reads landed, seconds from the first round to the last write, sessions ended."""

    readers: list[ReaderStats]
    landed: int = 0
    active_s: float = 0.0
    finished: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.readers if r.error]


def _start_sessions(devices: list[DevicePort], journals: dict[str, Journal]) -> None:
    """Resume each store's or zone's open session from the journals, or start a new one."""
    ids: dict[tuple, str] = {}
    for d in devices:
        s = journals[d.name].state.session
        if s is not None:
            ids.setdefault(session_key(d), s["session_id"])
    for d in devices:
        sid = ids.setdefault(session_key(d), new_session_id(*session_key(d)))
        if journals[d.name].state.session is None:
            journals[d.name].append({"t": "session", "session_id": sid, "store": d.store, "zone": d.zone,
                                     "started": now_utc()})


def _land_all(devices, journals, gw: GatewaySettings, settings) -> int:
    """Write every journaled, unwritten round; one door per (user, session)."""
    landed = 0
    groups: dict[tuple[str, str], list[DevicePort]] = {}
    for d in devices:
        if journals[d.name].state.unwritten():
            groups.setdefault((d.user, journals[d.name].state.session["session_id"]), []).append(d)
    for (user, sid), members in groups.items():
        with open_door(user, sid, gw.warehouse_wait_s, settings) as s:
            landed += sum((land if d.kind == "rfid" else land_weights)(s, d, journals[d.name]) for d in members)
    return landed


def _finish_sessions(devices, journals, gw, settings, count_date) -> list[str]:
    """Write each finished session's stocktake (its readers' tags against the books), then close its journals."""
    done = []
    for key in dict.fromkeys(session_key(d) for d in devices):
        members = [d for d in devices if session_key(d) == key]
        readers = [d for d in members if d.kind == "rfid"]
        sid = journals[members[0].name].state.session["session_id"]
        if readers:
            with open_door(readers[0].user, sid, gw.warehouse_wait_s, settings) as s:
                st = take_stock(s, session_rounds(s, sid, [d.name for d in readers]), key[0], count_date,
                                reader_port=",".join(d.port for d in readers))
                write_stocktake(s, st)
            log.info("%s", st.summary())
        for d in members:
            journals[d.name].finish()
        done.append(sid)
    return done


def run_gateway(gw: GatewaySettings, rounds: int | None = None, seconds: float | None = None,
                count_date: dt.date | None = None, settings=None, stop: threading.Event | None = None) -> GatewayReport:
    """Run the configured devices until ``rounds`` per device are done (a scale: readings), ``seconds`` pass, or
    ``stop``."""
    stop = stop or threading.Event()
    devices = list(gw.devices)
    if not devices:
        raise ValueError("no device in the devices: settings (devices.ports.NAME: {kind: rfid, port: ..., store: ..., "
                         "user: ...} in workbench/conf/workbench.yaml, or --config FILE)")
    journals = {d.name: Journal(gw.journal, d.name) for d in devices}
    _start_sessions(devices, journals)
    loops = [(ReaderLoop if d.kind == "rfid" else ScaleLoop)(d, journals[d.name], rounds, stop, gw.port_wait_s)
             for d in devices]
    report = GatewayReport([lp.stats for lp in loops])
    started = time.monotonic()
    for lp in loops:
        lp.start()
    while alive := [lp for lp in loops if lp.is_alive()]:
        left = None if seconds is None else seconds - (time.monotonic() - started)
        if left is not None and left <= 0:
            stop.set()
        alive[0].join(gw.flush_s if left is None or left <= 0 else min(gw.flush_s, left))  # wakes when it ends
        report.landed += _land_all(devices, journals, gw, settings)
    report.landed += _land_all(devices, journals, gw, settings)
    report.active_s = time.monotonic() - started
    if rounds is not None and all(lp.done for lp in loops):
        report.finished = _finish_sessions(devices, journals, gw, settings, count_date or dt.date.today())
    else:
        for j in journals.values():
            j.close()
    return report
