"""The RFID reader (RFID读写器): real-time inventory rounds over the R2000-family framing.

The host sends the real-time inventory command; the reader answers a frame per tag read and a
round-end frame, then waits for the next command: the host re-issues it for every round. A round
cut by a dropped line is issued again after the port is reopened; the reads that arrived before
the drop are kept (a stocktake dedupes by EPC, so a tag read twice counts once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from workbench.devices.frames import (REAL_TIME_INVENTORY, CountsNoise, FrameParser, RoundEnd, TagRead,
                                      decode_inventory, frame, is_inventory_reply)
from workbench.devices.line import DeviceNotAnswering, LineDropped, SerialLine

__all__ = ["InventoryRound", "RfidReader"]

NO_TAG = 0x36  # "no tag to operate on": an empty round, not a failure


@dataclass
class InventoryRound:
    """One inventory round (盘点轮次): the tags read, the reader's round-end summary, restarts after drops."""

    number: int
    reads: list[TagRead] = field(default_factory=list)
    end: RoundEnd | None = None
    restarts: int = 0


class RfidReader(CountsNoise):
    """A reader at ``addr`` on ``line``; a round must end within ``round_timeout_s``, ``retries`` tries."""

    def __init__(self, line: SerialLine, addr: int = 0x01, round_timeout_s: float = 2.0, retries: int = 3):
        self.line, self.addr = line, addr
        self.round_timeout_s, self.retries = round_timeout_s, retries
        self.parser = FrameParser(accept=is_inventory_reply)
        self.rounds_done = 0

    def inventory(self, rounds: int, repeat: int = 1):
        """Yield ``rounds`` completed rounds, one command each."""
        for _ in range(rounds):
            yield self.inventory_round(repeat)

    def inventory_round(self, repeat: int = 1) -> InventoryRound:
        """Issue one real-time inventory command and collect its reads until the round ends."""
        current = InventoryRound(self.rounds_done + 1)
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self.line.write(frame(REAL_TIME_INVENTORY, bytes([repeat]), self.addr))
                self._collect(current)
                self.rounds_done += 1
                return current
            except (LineDropped, DeviceNotAnswering) as err:
                last, current.restarts = err, attempt + 1
        raise DeviceNotAnswering(f"the RFID reader on {self.line.port} did not finish an inventory round after "
                                 f"{self.retries} tries ({last}): check its power, the cable and the baud rate")

    def _collect(self, current: InventoryRound) -> None:
        deadline = time.monotonic() + self.round_timeout_s
        while time.monotonic() < deadline:
            for f in self.parser.feed(self.line.read()):
                reply = decode_inventory(f)
                if isinstance(reply, TagRead):
                    current.reads.append(reply)
                elif isinstance(reply, RoundEnd):
                    current.end = reply
                    return
                elif reply.code == NO_TAG:
                    return
                else:
                    raise DeviceNotAnswering(f"the reader refused the inventory: {reply.text}")
        raise DeviceNotAnswering(f"no round end within {self.round_timeout_s} s")


