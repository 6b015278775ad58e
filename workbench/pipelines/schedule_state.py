"""The scheduler's memory: per pipeline, the last cron fire handled and the run started for it (SQLite).

``<runs_dir>/schedule.sqlite``, one row per pipeline, written only by the
scheduler holding its lock (``wb schedule``). Times are stored as ISO text
with their offset, so a row reads back as the same instant. Why a table of
its own and not APScheduler's job store: see ``scheduler``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from workbench.config import Settings

STATE_FILE = "schedule.sqlite"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Record:
    """A pipeline's row: fires up to ``covered`` are handled; the last fire taken up, its run and how it ended."""

    pipeline: str
    covered: dt.datetime
    fire: dt.datetime | None = None
    as_of: dt.date | None = None
    run_id: str | None = None
    status: str | None = None  # new | running | succeeded | failed | refused | missed | no steps | error
    updated: dt.datetime | None = None


_COLUMNS = ("pipeline", "covered", "fire", "as_of", "run_id", "status", "updated")


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


class State:
    """The scheduler's memory, one row per pipeline, in SQLite (written only under the scheduler lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("create table if not exists schedule (pipeline text primary key, covered text not null, "
                       "fire text, as_of text, run_id text, status text, updated text)")

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db, db:  # `with db` commits
            yield db

    def get(self, pipeline: str) -> Record | None:
        with self._db() as db:
            row = db.execute(f"select {', '.join(_COLUMNS)} from schedule where pipeline = ?", (pipeline,)).fetchone()
        return None if row is None else _record(row)

    def records(self) -> list[Record]:
        with self._db() as db:
            rows = db.execute(f"select {', '.join(_COLUMNS)} from schedule order by pipeline").fetchall()
        return [_record(r) for r in rows]

    def put(self, record: Record) -> None:
        values = (record.pipeline, record.covered.isoformat(), record.fire and record.fire.isoformat(),
                  record.as_of and record.as_of.isoformat(), record.run_id, record.status, utc_now().isoformat())
        with self._db() as db:
            db.execute(f"insert or replace into schedule ({', '.join(_COLUMNS)}) values (?, ?, ?, ?, ?, ?, ?)", values)


def _record(row: tuple) -> Record:
    pipeline, covered, fire, as_of, run_id, status, updated = row
    return Record(pipeline, _time(covered), _time(fire), as_of and dt.date.fromisoformat(as_of), run_id, status,
                  _time(updated))


def state_path(settings: Settings) -> Path:
    return Path(settings.runs_dir) / STATE_FILE
