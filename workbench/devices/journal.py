"""The gateway's local journal (本地日志): every read on disk, fsync'd, before it goes to the warehouse.

One append-only JSON-lines file per device (``<journal>/<device>.jsonl``, git-ignored under ``data/``).
A record is one line, written and fsync'd before the gateway takes the next step:

- ``session``: the stocktake / receiving session the reads belong to (its id, store, zone);
- ``open``: round N is about to be asked of the reader (its tags then wait in the reader's buffer);
- ``reads``: round N's tags, fetched whole from the buffer;
- ``closed``: the reader's buffer was reset after round N;
- ``written``: rounds committed to the warehouse;
- ``end``: the session is over (the file is then moved to ``done/``).

:func:`replay` (pure) turns the lines back into a :class:`JournalState`: after a crash the gateway knows the
session, the round left open in the reader, and the rounds journaled but not yet written. A line cut short by
a crash is ignored (its step was not done). Each read has a stable id, :func:`read_id` (device, session,
round, EPC: the buffer holds an EPC once per round), so writing a round again never duplicates it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

__all__ = ["JournalState", "Journal", "replay", "read_id", "now_utc"]


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")


def read_id(device: str, session_id: str, round_no: int, epc: str) -> str:
    """The read's stable id: the same read journaled or written twice is still one read."""
    return f"{device}/{session_id}/{round_no}/{epc}"


@dataclass
class JournalState:
    """What the journal says: the session, each round's reads (EPC -> read), and how far each round got."""

    session: dict | None = None
    rounds: dict[int, dict[str, dict]] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)
    written: set[int] = field(default_factory=set)
    ended: bool = False
    torn_lines: int = 0

    @property
    def last_round(self) -> int:
        return max(self.opened | set(self.rounds), default=0)

    @property
    def open_round(self) -> int | None:
        """A round asked of the reader whose buffer was not reset yet: fetch it again first."""
        pending = sorted(self.opened - self.closed)
        return pending[-1] if pending else None

    def unwritten(self) -> list[int]:
        return sorted(set(self.rounds) - self.written)

    def forget_written(self) -> None:
        """Drop the reads of written rounds but the latest from memory (the warehouse and the file have them):
        a long session's memory stays bounded by what is not yet written."""
        latest = max(self.rounds, default=None)
        for n in self.written:
            if n != latest and self.rounds.get(n):
                self.rounds[n] = {}

    def apply(self, record: dict) -> None:
        kind = record["t"]
        if kind == "session":
            self.session = {k: v for k, v in record.items() if k != "t"}
        elif kind == "open":
            self.opened.add(record["round"])
        elif kind == "reads":
            got = self.rounds.setdefault(record["round"], {})
            before = len(got)
            for read in record["reads"]:
                got.setdefault(read["epc"], read)
            if len(got) > before:
                self.written.discard(record["round"])  # new reads of a written round: write it again
        elif kind == "closed":
            self.closed.add(record["round"])
        elif kind == "written":
            self.written.update(record["rounds"])
        elif kind == "end":
            self.ended = True


def replay(lines: Iterable[str]) -> JournalState:
    """The state after the journal's lines (pure); unparsable lines (a crash mid-write) are counted, not applied."""
    state = JournalState()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            state.torn_lines += 1
            continue
        state.apply(record)
    return state


class Journal:
    """A device's journal file: :meth:`append` returns once the record is on disk (fsync)."""

    def __init__(self, folder: Path, device: str):
        self.folder, self.device = Path(folder), device
        self.path = self.folder / f"{device}.jsonl"
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        self.state = replay(lines)
        self.state.forget_written()
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")
        if lines and not self.path.read_bytes().endswith(b"\n"):
            self._file.write("\n")  # end a torn last line, so the next record starts on its own

    def append(self, record: dict) -> None:
        with self._lock:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self.state.apply(record)

    def mark_written(self, rounds: list[int]) -> None:
        """Journal ``rounds`` as committed to the warehouse, and let go of their reads."""
        self.append({"t": "written", "rounds": sorted(rounds), "at": now_utc()})
        with self._lock:
            self.state.forget_written()

    def unwritten(self) -> dict[int, list[dict]]:
        """Rounds journaled but not yet written, with their reads (a copy: the reader goes on meanwhile)."""
        with self._lock:
            return {n: list(self.state.rounds[n].values()) for n in self.state.unwritten()}

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def finish(self) -> Path:
        """End the session: the file moves to ``done/<device>.<session>.jsonl``; the next run starts a new one."""
        self.append({"t": "end", "at": now_utc()})
        self.close()
        done = self.folder / "done" / f"{self.device}.{self.state.session['session_id']}.jsonl"
        done.parent.mkdir(exist_ok=True)
        os.replace(self.path, done)
        return done
