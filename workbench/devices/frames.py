"""The RFID reader's serial framing (R2000 family, 读写器串口协议): pure bytes in, frames out.

A frame is ``0xA0 | len | addr | cmd | data... | check``: ``len`` counts the bytes after it
(address, command, data and check), ``check`` is the two's complement of the sum of every byte
before it, so all the frame's bytes add up to 0 modulo 256. Example: reset is ``A0 03 01 70 EC``.

Real-time inventory (``cmd 0x89``, data: the repeat count) answers one frame per tag read,
``freq_ant | PC (2) | EPC | RSSI``, and ends the round with ``ant | read rate (2) | total reads (4)``;
a one-byte data field is an error code. The host issues the command again for the next round.

:class:`FrameParser` takes bytes as they come (split anywhere, garbage between, corrupted checks)
and returns whole, checked frames, counting what it skipped; it resynchronises on the next 0xA0.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CountsNoise", "HEAD", "REAL_TIME_INVENTORY", "Frame", "TagRead", "RoundEnd", "ReaderError", "FrameParser",
           "checksum", "frame", "decode_inventory", "is_inventory_reply", "tag_frame", "round_end_frame"]

HEAD = 0xA0
REAL_TIME_INVENTORY = 0x89
MAX_LEN = 0x40  # the longest frame of the family (a 496-bit EPC fits); a larger len byte is garbage
# the family's error codes the inventory may answer with (its serial protocol manual's table)
ERROR_CODES = {0x11: "command failed", 0x22: "antenna missing", 0x31: "tag inventory error",
               0x36: "no tag to operate on", 0x41: "parameter invalid"}


def checksum(data: bytes) -> int:
    """Two's complement of the byte sum: ``(~sum + 1) & 0xFF``."""
    return (-sum(data)) & 0xFF


def frame(cmd: int, data: bytes = b"", addr: int = 0x01) -> bytes:
    """A whole frame for ``cmd`` with ``data``, check byte included."""
    body = bytes([HEAD, len(data) + 3, addr, cmd]) + data
    return body + bytes([checksum(body)])


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    data: bytes


@dataclass(frozen=True)
class TagRead:
    """One read of a tag (标签): antenna (1-4), RSSI in dBm, the PC word and the EPC as hex."""

    antenna: int
    rssi_dbm: int
    pc: int
    epc: str
    frequency: int


@dataclass(frozen=True)
class RoundEnd:
    """The end of an inventory round: the antenna, reads per second, tags read in the round."""

    antenna: int
    read_rate: int
    total_reads: int


@dataclass(frozen=True)
class ReaderError:
    """The reader refused or failed the command (e.g. 0x22: an antenna is not connected)."""

    code: int

    @property
    def text(self) -> str:
        return ERROR_CODES.get(self.code, f"error code 0x{self.code:02X}")


def tag_frame(epc: bytes, antenna: int = 1, rssi_dbm: int = -60, frequency: int = 0, addr: int = 0x01) -> bytes:
    """The frame a reader sends for one tag read (the simulator's, and tests' worked examples)."""
    pc = (len(epc) // 2) << 11
    data = bytes([(frequency << 2) | (antenna - 1)]) + pc.to_bytes(2, "big") + epc + bytes([rssi_dbm + 129])
    return frame(REAL_TIME_INVENTORY, data, addr)


def round_end_frame(antenna: int, read_rate: int, total_reads: int, addr: int = 0x01) -> bytes:
    data = bytes([antenna - 1]) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")
    return frame(REAL_TIME_INVENTORY, data, addr)


def decode_inventory(f: Frame) -> TagRead | RoundEnd | ReaderError:
    """A real-time inventory reply: a tag, the round's end or an error (by the data's length)."""
    d = f.data
    if len(d) == 1:
        return ReaderError(d[0])
    if len(d) == 7:
        return RoundEnd(d[0] + 1, int.from_bytes(d[1:3], "big"), int.from_bytes(d[3:7], "big"))
    if len(d) < 4:
        raise ValueError(f"an inventory frame of {len(d)} data bytes is neither a tag nor a round end")
    pc = int.from_bytes(d[1:3], "big")
    epc = d[3:-1]
    # The family's RSSI table runs one dB a step: 98 (0x62) is -31 dBm.
    return TagRead(antenna=(d[0] & 0x03) + 1, rssi_dbm=d[-1] - 129, pc=pc, epc=epc.hex().upper(),
                   frequency=d[0] >> 2)


def is_inventory_reply(f: Frame) -> bool:
    """A frame that can answer real-time inventory: an error, a round end, or a tag whose PC fits its EPC."""
    if f.cmd != REAL_TIME_INVENTORY:
        return False
    if len(f.data) in (1, 7):
        return True
    return len(f.data) >= 4 and (int.from_bytes(f.data[1:3], "big") >> 11) * 2 == len(f.data) - 4


class FrameParser:
    """Bytes in (any split), checked frames out. ``skipped_bytes`` / ``bad_checksums`` count the noise."""

    def __init__(self, accept=lambda f: True) -> None:
        self.accept = accept  # a frame whose check passes but which makes no sense is a false head too
        self._buf = bytearray()
        self.skipped_bytes = 0
        self.bad_checksums = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while (f := self._next()) is not None:
            frames.append(f)
        return frames

    def _next(self) -> Frame | None:
        while True:
            start = self._buf.find(HEAD)
            if start < 0:
                self._skip(len(self._buf))
                return None
            self._skip(start)
            if len(self._buf) < 2:
                return None
            length = self._buf[1]
            if not 3 <= length <= MAX_LEN:
                self._skip(1)  # not a frame head after all: look for the next 0xA0
                continue
            if len(self._buf) < length + 2:
                return None  # the rest of the frame has not arrived yet
            candidate = bytes(self._buf[: length + 2])
            found = Frame(candidate[2], candidate[3], candidate[4:-1])
            if sum(candidate) & 0xFF or not self.accept(found):
                self.bad_checksums += bool(sum(candidate) & 0xFF)
                self._skip(1)  # resynchronise inside it: a real frame may start after a false head
                continue
            del self._buf[: length + 2]
            return found

    def _skip(self, n: int) -> None:
        if n:
            del self._buf[:n]
            self.skipped_bytes += n


class CountsNoise:
    """A driver's noise counts: those of its ``parser`` (a :class:`FrameParser`)."""

    parser: FrameParser

    @property
    def skipped_bytes(self) -> int:
        return self.parser.skipped_bytes

    @property
    def bad_checksums(self) -> int:
        return self.parser.bad_checksums
