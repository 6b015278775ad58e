"""How long archived runs are kept: ``pipelines.keep_days`` (90 by default; null keeps every run).

A run's folder, ``<runs_dir>/<pipeline>/<as_of>/<run_id>/`` (its notebooks,
their HTML and the kept copies of its outputs, about 20 MB a night on demo),
is removed once the newest file in it is older than ``keep_days``. A folder
still being written is therefore never old. The history rows stay in
``ops.pipeline_runs``; ``wb runs show`` says when an archive was removed.
Only folders of that shape are touched: the locks, the scheduler's table and
anything else in the runs folder stay. Every run prunes when it ends
(``listener``); ``wb runs prune`` does it by hand, or shows what it would do.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.config import Settings
from workbench.pipelines.events import Event, Listener

log = logging.getLogger("workbench.pipelines")

DEFAULT_KEEP_DAYS = 90


@dataclass(frozen=True)
class Expired:
    """A run folder past the retention: where, when it was last written (UTC), its size in bytes."""

    folder: Path
    last_written: dt.datetime
    size: int


def keep_days(settings: Settings) -> int | None:
    """``pipelines.keep_days``: days an archived run is kept; None keeps them all."""
    value = settings.pipelines.get("keep_days", DEFAULT_KEEP_DAYS)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"pipelines.keep_days must be a whole number of days (1 or more) or null, not {value!r}")
    return value


def run_folders(runs_dir: Path) -> list[Path]:
    """Every ``<pipeline>/<as_of>/<run_id>`` folder, as-of being a date."""
    return sorted(run for as_of in Path(runs_dir).glob("*/*") if as_of.is_dir() and _is_date(as_of.name)
                  for run in as_of.iterdir() if run.is_dir())


def expired(runs_dir: Path, days: int, now: dt.datetime) -> list[Expired]:
    """The run folders whose newest file is older than ``days`` before ``now`` (aware UTC)."""
    cutoff = (now - dt.timedelta(days=days)).timestamp()
    found = []
    for folder in run_folders(runs_dir):
        files = [f.stat() for f in folder.rglob("*") if f.is_file()]
        newest = max([s.st_mtime for s in files], default=folder.stat().st_mtime)
        if newest < cutoff:
            found.append(Expired(folder, dt.datetime.fromtimestamp(newest, dt.timezone.utc),
                                 sum(s.st_size for s in files)))
    return found


def prune(runs_dir: Path, days: int, now: dt.datetime, *, dry_run: bool = False) -> list[Expired]:
    """Remove the expired run folders (and the as-of and pipeline folders they leave empty); what went."""
    gone = expired(runs_dir, days, now)
    if dry_run:
        return gone
    for run in gone:
        shutil.rmtree(run.folder)
        for parent in (run.folder.parent, run.folder.parent.parent):
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    return gone


def listener(settings: Settings) -> Listener:
    """Prune when a run ends; a failure is logged and the run's result stands."""

    def on_finish(event: Event) -> None:
        if event.kind != "run_finished":
            return
        days = keep_days(settings)
        if days is None:
            return
        gone = prune(settings.runs_dir, days, dt.datetime.now(dt.timezone.utc))
        if gone:
            log.info("removed %d archived run(s) older than %d days (%.1f MB) from %s", len(gone), days,
                     sum(g.size for g in gone) / 1e6, settings.runs_dir)

    return on_finish


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True
