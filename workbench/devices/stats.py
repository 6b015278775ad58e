"""What a device's thread on the gateway did (设备统计): the counts the gateway prints and logs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReaderStats"]


@dataclass
class ReaderStats:
    """What a reader's thread did: rounds and reads journaled, noise skipped, reconnects, the error it stopped on."""

    device: str
    rounds: int = 0
    reads: int = 0
    skipped_bytes: int = 0
    bad_checksums: int = 0
    reconnects: int = 0
    error: str | None = None
