"""A scale on the gateway (称重台): each new load that settles on the pan is a reading, journaled, then landed.

The scale is asked for a stable weight (MT-SICS ``S``) over and over; :func:`is_new_load` (pure) says when the
settled weight is a new parcel (a change beyond the noise, the pan not empty), so a parcel left on the pan is
one reading, and the same weight put on again after the pan was emptied is another. Each reading is journaled
(:mod:`.journal`, a "round" of one weight) before it is written to ``raw.scale_readings`` as the store's device
user, ``replace_where`` on (session, reading_no): written again after a crash, it replaces itself.
"""

from __future__ import annotations

import logging
import threading

from workbench.devices.journal import Journal, now_utc
from workbench.devices.line import SerialLine, wait_for_port
from workbench.devices.scale import Scale, ScaleError
from workbench.devices.settings import DevicePort
from workbench.devices.stats import ReaderStats
from workbench.devices.stocktake import contract_rows, store_of

__all__ = ["is_new_load", "ScaleLoop", "land_weights", "EMPTY_G", "POLL_S"]

log = logging.getLogger("workbench.devices.gateway")
EMPTY_G = 5.0        # below this the pan counts as empty
MIN_CHANGE = 0.005   # a settled weight this much (relative, at least 2 g) off the last is a new load
POLL_S = 0.2


def is_new_load(last: float | None, weight: float) -> bool:
    """Whether a settled ``weight`` is a new load after ``last`` (None: the pan was empty)."""
    if weight < EMPTY_G:
        return False
    return last is None or abs(weight - last) > max(2.0, MIN_CHANGE * last)


class ScaleLoop(threading.Thread):
    """One scale's readings until ``readings`` are journaled (None: until stopped)."""

    def __init__(self, device: DevicePort, journal: Journal, readings: int | None, stop: threading.Event,
                 port_wait_s: float):
        super().__init__(daemon=True, name=f"scale-{device.name}")
        self.device, self.journal, self.readings, self.stop = device, journal, readings, stop
        self.line = SerialLine(device.port, device.baud, reconnect_s=port_wait_s)
        self.scale, self.port_wait_s = Scale(self.line), port_wait_s
        self.stats = ReaderStats(device.name)
        rounds = journal.state.rounds  # the latest reading is kept in memory: a parcel left on the pan stays one
        self._last = next(iter(rounds[max(rounds)].values()))["weight"] if rounds and rounds[max(rounds)] else None

    @property
    def done(self) -> bool:
        return self.readings is not None and self.journal.state.last_round >= self.readings

    def run(self) -> None:
        try:
            wait_for_port(self.line, self.port_wait_s, self.stop)
            serial_no = self.scale.serial_number()
            while not self.stop.is_set() and not self.done:
                self._weigh(serial_no)
                self.stop.wait(POLL_S)
        except Exception as err:  # the thread reports; the gateway lands what was journaled and says why
            self.stats.error = f"{self.device.name} on {self.device.port}: {err}"
            log.error("%s", self.stats.error)
        finally:
            self.line.close()
            if self.scale.skipped_lines:
                log.warning("%s: skipped %d line(s) of noise", self.device.name, self.scale.skipped_lines)

    def _weigh(self, serial_no: str) -> None:
        try:
            w = self.scale.stable_weight()
        except ScaleError as err:  # overload, not settling ...: said in the log, the next poll asks again
            log.warning("%s: %s", self.device.name, err)
            return
        if w.value < EMPTY_G:
            self._last = None
        elif is_new_load(self._last, w.value):
            n = self.journal.state.last_round + 1
            self.journal.append({"t": "reads", "round": n, "reads": [
                {"epc": "weight", "weight": w.value, "unit": w.unit, "scale_serial": serial_no, "read_at": now_utc()}]})
            self._last = w.value
            self.stats.rounds = self.stats.reads = n


def land_weights(session, device: DevicePort, journal: Journal) -> int:
    """Write the journal's unwritten readings to ``raw.scale_readings``; returns rows written."""
    import pandas as pd

    readings = journal.unwritten()
    if not readings:
        return 0
    session_id = journal.state.session["session_id"]
    store_id = store_of(session, device.store)
    written = 0
    with session.transaction():
        for n, (r, *_) in sorted(readings.items()):
            row = pd.DataFrame([{"session_id": session_id, "reading_no": n, "read_at": pd.Timestamp(r["read_at"]),
                                 "store_id": store_id, "purpose": "weighed_goods", "reference": device.name,
                                 "weight": r["weight"], "unit": r["unit"], "expected_weight": None, "tolerance": None,
                                 "within_tolerance": None, "scale_serial": r["scale_serial"]}])
            written += session.write("raw.scale_readings", contract_rows("raw.scale_readings", row),
                                     mode="replace_where", where={"session_id": session_id, "reading_no": n})
    journal.mark_written(list(readings))
    return written
