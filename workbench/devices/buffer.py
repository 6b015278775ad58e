"""The reader's tag buffer (缓存盘点): inventory into the reader, fetch, then reset; nothing lost in between.

Real-time inventory (:mod:`.rfid`) sends each read once, as it happens: a read on the wire when the host
dies is gone. The R2000 family also keeps the tags of an inventory in its own buffer, one entry per EPC
with the times it was read, until the host resets it:

- ``0x80`` inventory into the buffer (data: repeat); reply ``ant | tag count (2) | read rate (2) | reads (4)``;
- ``0x90`` get the buffer, without emptying it: one frame per tag,
  ``tag count (2) | data len | PC (2) | EPC | CRC (2) | RSSI | freq_ant | times read``;
- ``0x93`` reset the buffer; reply one byte, ``0x10`` (success).

So the gateway fetches a round, journals it, and only then resets the buffer: a gateway killed at any
point finds the round still in the reader when it starts again (``0x90`` may be asked any number of
times). The frames are pure functions; :class:`TagBuffer` is the driver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from workbench.devices.frames import CountsNoise, Frame, FrameParser, frame
from workbench.devices.line import DeviceNotAnswering, LineDropped, SerialLine

__all__ = ["INVENTORY", "GET_BUFFER", "RESET_BUFFER", "SUCCESS", "NO_TAG", "BUFFER_EMPTY", "BufferedTag",
           "buffer_tag_frame", "inventory_reply_frame", "decode_buffer_tag", "is_buffer_reply", "crc16", "TagBuffer"]

INVENTORY, GET_BUFFER, RESET_BUFFER = 0x80, 0x90, 0x93
SUCCESS, NO_TAG, BUFFER_EMPTY = 0x10, 0x36, 0x38  # the family's codes: command success, no tag, buffer empty


@dataclass(frozen=True)
class BufferedTag:
    """A tag in the reader's buffer: EPC (hex), antenna, strongest RSSI (dBm), times read in the round."""

    epc: str
    antenna: int
    rssi_dbm: int
    times_read: int
    buffer_count: int  # tags in the buffer, as every frame of the reply says


def crc16(data: bytes) -> int:
    """The tag's CRC-16 over PC + EPC (EPC Gen2: CCITT polynomial, preset 0xFFFF, complemented)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc ^ 0xFFFF


def buffer_tag_frame(epc: bytes, count: int, antenna: int = 1, rssi_dbm: int = -60, times_read: int = 1,
                     frequency: int = 0, addr: int = 0x01) -> bytes:
    """One frame of a ``0x90`` reply (the simulator's, and the tests' worked example)."""
    pc_epc = ((len(epc) // 2) << 11).to_bytes(2, "big") + epc
    tag = pc_epc + crc16(pc_epc).to_bytes(2, "big")
    data = count.to_bytes(2, "big") + bytes([len(tag)]) + tag
    return frame(GET_BUFFER, data + bytes([rssi_dbm + 129, (frequency << 2) | (antenna - 1), times_read]), addr)


def inventory_reply_frame(antenna: int, tag_count: int, read_rate: int, reads: int, addr: int = 0x01) -> bytes:
    data = bytes([antenna - 1]) + tag_count.to_bytes(2, "big") + read_rate.to_bytes(2, "big") + reads.to_bytes(4, "big")
    return frame(INVENTORY, data, addr)


def decode_buffer_tag(f: Frame) -> BufferedTag:
    d = f.data
    size = d[2]
    tag = d[3:3 + size]
    rssi, freq_ant, times = d[3 + size:6 + size]
    return BufferedTag(epc=tag[2:-2].hex().upper(), antenna=(freq_ant & 0x03) + 1, rssi_dbm=rssi - 129,
                       times_read=times, buffer_count=int.from_bytes(d[:2], "big"))


def is_buffer_reply(f: Frame) -> bool:
    """A frame that can answer one of the three commands (a checked false head in garbage is not)."""
    n = len(f.data)
    if f.cmd == INVENTORY:
        return n in (1, 9)
    if f.cmd == RESET_BUFFER:
        return n == 1
    if f.cmd != GET_BUFFER:
        return False
    if n == 1:
        return True
    return n >= 10 and f.data[2] + 6 == n and (int.from_bytes(f.data[3:5], "big") >> 11) * 2 + 4 == f.data[2]


class TagBuffer(CountsNoise):
    """The buffer of the reader at ``addr`` on ``line``: each exchange retried after a drop, ``retries`` tries."""

    def __init__(self, line: SerialLine, addr: int = 0x01, timeout_s: float = 2.0, retries: int = 3):
        self.line, self.addr, self.timeout_s, self.retries = line, addr, timeout_s, retries
        self.parser = FrameParser(accept=is_buffer_reply)

    def inventory(self, repeat: int = 1) -> int:
        """Run one inventory round into the buffer; the tags it now holds (0 when the field is empty)."""
        reply = self._exchange(INVENTORY, bytes([repeat]), _single(INVENTORY))
        if len(reply.data) == 1:
            return _refused(reply.data[0], NO_TAG, "inventory")
        return int.from_bytes(reply.data[1:3], "big")

    def fetch(self) -> list[BufferedTag]:
        """Every tag in the buffer (the buffer is left as it is)."""
        return self._exchange(GET_BUFFER, b"", _BufferCollector())

    def reset(self) -> None:
        reply = self._exchange(RESET_BUFFER, b"", _single(RESET_BUFFER))
        _refused(reply.data[0], SUCCESS, "buffer reset")

    def _exchange(self, cmd: int, data: bytes, collect):
        last: Exception | None = None
        for _ in range(self.retries):
            try:
                self.line.write(frame(cmd, data, self.addr))
                return self._collect(collect.fresh())
            except (LineDropped, DeviceNotAnswering) as err:
                last = err
        raise DeviceNotAnswering(f"the RFID reader on {self.line.port} did not answer command 0x{cmd:02X} after "
                                 f"{self.retries} tries ({last}): check its power, the cable and the baud rate")

    def _collect(self, collect):
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            for f in self.parser.feed(self.line.read(4096)):
                done = collect.take(f)
                if done is not None:
                    return done
        raise DeviceNotAnswering(f"no complete reply within {self.timeout_s} s")


def _refused(code: int, ok: int, what: str) -> int:
    """0 when ``code`` is the expected one; else the reader's refusal as an error."""
    if code != ok:
        raise DeviceNotAnswering(f"the reader refused the {what}: error code 0x{code:02X}")
    return 0


class _single:
    """The one reply frame of ``cmd``."""

    def __init__(self, cmd: int):
        self.cmd = cmd

    def fresh(self):
        return self

    def take(self, f: Frame):
        return f if f.cmd == self.cmd else None


class _BufferCollector:
    """The frames of a ``0x90`` reply until as many distinct tags as each frame's count (a repeat is harmless)."""

    def __init__(self):
        self.tags: dict[str, BufferedTag] = {}

    def fresh(self):
        return _BufferCollector()

    def take(self, f: Frame):
        if f.cmd != GET_BUFFER:
            return None
        if len(f.data) == 1:
            _refused(f.data[0], BUFFER_EMPTY, "buffer read")
            return []
        tag = decode_buffer_tag(f)
        self.tags.setdefault(tag.epc, tag)
        return list(self.tags.values()) if len(self.tags) >= tag.buffer_count else None
