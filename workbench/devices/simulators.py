"""Simulated devices (设备模拟器) on the far end of a real pty pair, noise included.

Each simulator starts ``socat`` (:class:`~workbench.devices.ptys.PtyPair`), opens the device end with
pyserial and answers the driver's commands from a background thread, speaking the real protocol:
MT-SICS for the scale, the R2000-family framing for the RFID reader. :class:`Noise` adds what a shop
floor does to a serial line: garbage bytes, replies split in two writes, frames with a bad check
byte, a scale that takes a while to settle, and a disconnect (socat stopped and started again, as a
cable pulled and plugged back) after a given number of replies. ``port`` is what a driver opens.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import serial

from workbench.devices.buffer import (BUFFER_EMPTY, GET_BUFFER, INVENTORY, RESET_BUFFER, SUCCESS, buffer_tag_frame,
                                      inventory_reply_frame)
from workbench.devices.epc import epc_of_unit
from workbench.devices.frames import (REAL_TIME_INVENTORY, FrameParser, frame, round_end_frame, tag_frame)
from workbench.devices.line import LINE_ERRORS
from workbench.devices.ptys import PtyPair

__all__ = ["Noise", "ScaleSimulator", "RfidSimulator", "shelf", "planted_discrepancies"]


@dataclass
class Noise:
    """What goes wrong on the line; every chance is per reply (scale) or per frame (reader)."""

    garbage: float = 0.0           # garbage bytes before it
    split: float = 0.0             # written in two pieces, flushed apart
    bad_checksum: float = 0.0      # reader: a corrupted copy (check byte flipped) sent before the good frame
    unstable: int = 0              # scale: weighings that find the load moving before it settles
    disconnect_after: int | None = None  # drop the line once, after this many replies / frames
    seed: int = 0


class _Simulator:
    """The thread, the pty pair and the noisy ``send`` both simulators share."""

    def __init__(self, noise: Noise | None = None, baudrate: int = 9600):
        self.noise = noise or Noise()
        self.baudrate = baudrate
        self.pair = PtyPair()
        self.sent = 0          # replies or frames sent
        self.disconnects = 0
        self.commands = 0      # commands received
        self._rng = random.Random(self.noise.seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None

    @property
    def port(self) -> str:
        """The host end: what a driver or `wb devices ... --port` opens."""
        return self.pair.host_port

    def start(self):
        self.pair.start()
        self._open()
        self._thread = threading.Thread(target=self._run, daemon=True, name=type(self).__name__)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()
        self.pair.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_stopped(self, timeout_s: float | None = None) -> bool:
        """Block until stopped (the CLI's simulator runs until interrupted)."""
        return self._stop.wait(timeout_s)

    def on_bytes(self, data: bytes) -> None:  # pragma: no cover - each simulator answers its protocol
        raise NotImplementedError

    def send(self, payload: bytes, corrupt: bytes | None = None) -> None:
        """Write one reply or frame with the configured noise (``corrupt``: its broken copy, if any)."""
        n = self.noise
        if n.garbage and self._rng.random() < n.garbage:
            self._write(self.garbage())
        if corrupt is not None and n.bad_checksum and self._rng.random() < n.bad_checksum:
            self._write(corrupt)
        if n.split and len(payload) > 1 and self._rng.random() < n.split:
            cut = self._rng.randrange(1, len(payload))
            self._write(payload[:cut])
            self._stop.wait(0.002)  # the second half comes in a later read on the host
            payload = payload[cut:]
        self._write(payload)
        self.sent += 1
        if n.disconnect_after is not None and self.sent == n.disconnect_after and not self.disconnects:
            self.drop_line()

    def garbage(self) -> bytes:
        return bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 12)))

    def drop_line(self) -> None:
        """Pull the cable: stop socat (the host's port fails), then plug back: a new pair on the same paths."""
        self.disconnects += 1
        self._close()
        self.pair.restart()
        self._open()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._serial.read(1)
                data += self._serial.read(self._serial.in_waiting)
            except (*LINE_ERRORS, AttributeError, TypeError):
                if self._stop.is_set():
                    return
                self._reopen()
                continue
            if data:
                self.on_bytes(data)

    def _reopen(self) -> None:
        self._close()
        if not self.pair.running:
            self.pair.start()
        self._open()

    def _open(self) -> None:
        self._serial = serial.Serial(self.pair.device_port, self.baudrate, timeout=0.05)

    def _close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except LINE_ERRORS:
                pass
            self._serial = None

    def _write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except LINE_ERRORS:
            pass  # the host end went away: the reply is lost, as on a real line; the host retries


class ScaleSimulator(_Simulator):
    """An MT-SICS scale (电子秤) with ``load_g`` on its pan; ``capacity_g`` above it is an overload."""

    def __init__(self, load_g: float = 1250.0, capacity_g: float = 6200.0, serial_number: str = "B523108876",
                 noise: Noise | None = None, baudrate: int = 9600):
        super().__init__(noise, baudrate)
        self.load_g, self.capacity_g, self.serial_number = load_g, capacity_g, serial_number
        self.zero_g = self.tare_g = 0.0
        self._unstable = self.noise.unstable
        self._buffer = b""

    def garbage(self) -> bytes:
        """A line of noise: the driver skips it (a burst inside a reply line would cost a retry)."""
        return super().garbage().replace(b"\r", b"\x00").replace(b"\n", b"\x00") + b"\x00\r\n"

    def put(self, load_g: float, settle: int = 0) -> None:
        """Put ``load_g`` on the pan; the next ``settle`` weighings find it moving."""
        self.load_g, self._unstable = load_g, settle

    def on_bytes(self, data: bytes) -> None:
        self._buffer += data
        *commands, self._buffer = self._buffer.split(b"\r\n")
        for command in commands:
            self.commands += 1
            for line in self.answer(command.decode("ascii", errors="replace").strip()):
                self.send(line.encode("ascii") + b"\r\n")

    def answer(self, command: str) -> list[str]:
        """The reply lines to one command (the protocol, without the line)."""
        handler = {"S": self._weigh_stable, "SI": self._weigh_now, "Z": self._zero, "T": self._tare,
                   "@": self._reset, "I4": self._serial_no, "I0": self._command_list}.get(command)
        return handler() if handler else ["ES"]

    def _net(self) -> float:
        return self.load_g - self.zero_g - self.tare_g

    def _limit(self, cmd: str) -> str | None:
        if self.load_g > self.capacity_g:
            return f"{cmd} +"
        if self.load_g - self.zero_g < -0.02 * self.capacity_g:
            return f"{cmd} -"
        return None

    def _moving(self) -> bool:
        if self._unstable > 0:
            self._unstable -= 1
            return True
        return False

    def _weigh_stable(self) -> list[str]:
        limit = self._limit("S")
        return [limit or ("S I" if self._moving() else f"S S {self._net():10.2f} g")]

    def _weigh_now(self) -> list[str]:
        limit = self._limit("S")
        if limit:
            return [limit]
        if self._moving():
            return [f"S D {self._net() + self._rng.uniform(-5, 5):10.2f} g"]
        return [f"S S {self._net():10.2f} g"]

    def _zero(self) -> list[str]:
        if self._moving():
            return ["Z I"]
        self.zero_g, self.tare_g = self.load_g, 0.0
        return ["Z A"]

    def _tare(self) -> list[str]:
        limit = self._limit("T")
        if limit or self._moving():
            return [limit or "T I"]
        self.tare_g = self.load_g - self.zero_g
        return [f"T S {self.tare_g:10.2f} g"]

    def _reset(self) -> list[str]:
        self.zero_g = self.tare_g = 0.0
        self._unstable = 0
        return self._serial_no()

    def _serial_no(self) -> list[str]:
        return [f'I4 A "{self.serial_number}"']

    def _command_list(self) -> list[str]:
        names = ["I0", "I4", "S", "SI", "Z", "T", "@"]
        return [f'I0 {"A" if i == len(names) - 1 else "B"} 0 "{n}"' for i, n in enumerate(names)]


class RfidSimulator(_Simulator):
    """An R2000-family reader (RFID读写器) with ``epcs`` in its field.

    Each round reads each tag with ``read_chance`` (sometimes twice), on a random antenna of
    ``antennas``, and every tag at least once in any ``full_cover_rounds`` consecutive rounds,
    so a stocktake of that many rounds finds them all. Real-time inventory (``0x89``) sends the reads
    as they happen; buffered inventory (``0x80``, :mod:`.buffer`) keeps them until the host resets the
    buffer (``0x93``), and ``buffered`` logs every (round, EPC) put there: what the reader had to deliver.
    """

    def __init__(self, epcs: list[str], read_chance: float = 0.8, antennas: int = 4, full_cover_rounds: int = 2,
                 noise: Noise | None = None, baudrate: int = 115200):
        super().__init__(noise, baudrate)
        self.epcs = [bytes.fromhex(e) for e in epcs]
        self.read_chance, self.antennas, self.full_cover_rounds = read_chance, antennas, full_cover_rounds
        self.rounds = 0
        self.buffered: list[tuple[int, str]] = []   # (round, EPC) of every tag put in the buffer
        self._buffer: dict[bytes, list[int]] = {}   # EPC -> [antenna, rssi, times read]
        self._parser = FrameParser()

    def on_bytes(self, data: bytes) -> None:
        for f in self._parser.feed(data):
            self.commands += 1
            handler = {REAL_TIME_INVENTORY: self._round, INVENTORY: self._buffer_round, GET_BUFFER: self._send_buffer,
                       RESET_BUFFER: self._reset_buffer}.get(f.cmd)
            if handler is not None:
                handler(f.addr)
            else:
                self.send(frame(f.cmd, bytes([0x41]), f.addr))  # parameter invalid: only inventory is simulated

    def _round(self, addr: int) -> None:
        self.rounds += 1
        if not self.epcs:
            self.send(frame(REAL_TIME_INVENTORY, bytes([0x36]), addr))  # no tag to operate on
            return
        reads, line = 0, self.disconnects
        for i, epc in enumerate(self.epcs):
            if self.disconnects != line:
                return  # the line dropped mid-round: the host issues the round again

            due = i % self.full_cover_rounds == self.rounds % self.full_cover_rounds
            for _ in range(self._times_read(due)):
                good = tag_frame(epc, self._rng.randrange(1, self.antennas + 1), self._rng.randrange(-75, -35),
                                 self._rng.randrange(50), addr)
                self.send(good, corrupt=good[:-1] + bytes([good[-1] ^ 0x5A]))
                reads += 1
        self.send(round_end_frame(1, read_rate=max(1, reads * 10), total_reads=reads, addr=addr))

    def _buffer_round(self, addr: int) -> None:
        """Inventory into the buffer: each tag read joins it (read again: its count grows, strongest RSSI kept)."""
        self.rounds += 1
        reads = 0
        for i, epc in enumerate(self.epcs):
            due = i % self.full_cover_rounds == self.rounds % self.full_cover_rounds
            for _ in range(self._times_read(due)):
                antenna, rssi = self._rng.randrange(1, self.antennas + 1), self._rng.randrange(-75, -35)
                if epc not in self._buffer:
                    self._buffer[epc] = [antenna, rssi, 0]
                    self.buffered.append((self.rounds, epc.hex().upper()))
                entry = self._buffer[epc]
                entry[2] = min(entry[2] + 1, 255)
                if rssi > entry[1]:
                    entry[:2] = [antenna, rssi]
                reads += 1
        if not self._buffer:
            self.send(frame(INVENTORY, bytes([0x36]), addr))  # no tag to operate on
            return
        self.send(inventory_reply_frame(1, len(self._buffer), max(1, reads * 10), reads, addr))

    def _send_buffer(self, addr: int) -> None:
        if not self._buffer:
            self.send(frame(GET_BUFFER, bytes([BUFFER_EMPTY]), addr))
            return
        count, line = len(self._buffer), self.disconnects
        for epc, (antenna, rssi, times) in list(self._buffer.items()):
            if self.disconnects != line:
                return  # the line dropped mid-reply: the host asks again
            good = buffer_tag_frame(epc, count, antenna, rssi, times, self._rng.randrange(50), addr)
            self.send(good, corrupt=good[:-1] + bytes([good[-1] ^ 0x5A]))

    def _reset_buffer(self, addr: int) -> None:
        self._buffer.clear()
        self.send(frame(RESET_BUFFER, bytes([SUCCESS]), addr))

    def _times_read(self, due: bool) -> int:
        if not due and self._rng.random() >= self.read_chance:
            return 0
        return 2 if self._rng.random() < 0.1 else 1


def shelf(book: dict[int, int], missing: dict[int, int] | None = None, unexpected: dict[int, int] | None = None,
          foreign: int = 0, first_serial: int = 1) -> list[str]:
    """The EPCs physically in a store: the book stock (``sku_id`` → units) less ``missing`` plus ``unexpected``,
    one SGTIN-96 per unit with its own serial, and ``foreign`` tags that are not the chain's (another header)."""
    units = dict(book)
    for sku, n in (missing or {}).items():
        units[sku] = units.get(sku, 0) - n
    for sku, n in (unexpected or {}).items():
        units[sku] = units.get(sku, 0) + n
    if any(n < 0 for n in units.values()):
        raise ValueError("more units missing than the books hold")
    serials = iter(range(first_serial, first_serial + sum(units.values())))
    epcs = [epc_of_unit(sku, next(serials)) for sku, n in sorted(units.items()) for _ in range(n)]
    return epcs + [f"E2801160{i:016X}" for i in range(foreign)]


def planted_discrepancies(book: dict[int, int], seed: int = 0, count: int = 3) -> tuple[dict[int, int], dict[int, int]]:
    """A few units missing from booked SKUs and a few unexpected ones (a simulated store's shrinkage and surplus)."""
    rng = random.Random(seed)
    booked = sorted(sku for sku, n in book.items() if n > 0)
    missing = {sku: rng.randint(1, book[sku]) for sku in rng.sample(booked, min(count, len(booked)))}
    unexpected = {sku: rng.randint(1, 3) for sku in rng.sample(booked, min(count, len(booked))) if sku not in missing}
    return missing, unexpected
