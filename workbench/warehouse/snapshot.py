"""The serving snapshot: what the apps read while pipelines write (DESIGN invariant 9).

DuckDB lets one process hold a file for writing, and then no other process
may open it, not even to read. The apps run all day in one long-lived server,
so they never open the live warehouse for reading: they read a **snapshot**,
an immutable copy that :func:`publish` makes after a pipeline run changed the
warehouse (and ``wb demo`` / ``wb serve`` when the snapshot is older than the
warehouse), then swaps in by rewriting one pointer file with ``os.replace``.

- A session opened after the swap reads the new copy; a session already open
  keeps reading the old one until it closes (on Linux an open file survives
  its deletion), so no reader ever sees half a run.
- The copy is taken while holding a read-only connection, so no writer can
  start half-way (DuckDB's file lock); if a writer holds the file, publish
  waits ``pipelines.warehouse_wait_s`` like the pipeline history does.
- The snapshots live in ``<warehouse>.serving/`` next to the file; the two
  newest are kept.
- Writes from the apps (approvals) go to the live warehouse, briefly.
- Other engines (Spark over Parquet) let readers and a writer share the data:
  there is no snapshot, and :func:`serving_settings` returns the settings as they are.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from pathlib import Path

from workbench.config import Settings

log = logging.getLogger(__name__)
POINTER = "CURRENT"
KEEP = 2
WAIT_POLL_S = 0.5


def serving_dir(settings: Settings) -> Path:
    return settings.warehouse.with_name(settings.warehouse.name.removesuffix(".duckdb") + ".serving")


def current(settings: Settings) -> Path | None:
    """The snapshot the pointer names, or None before the first publish (or on a non-file engine)."""
    pointer = serving_dir(settings) / POINTER
    if settings.engine != "duckdb" or not pointer.exists():
        return None
    path = serving_dir(settings) / pointer.read_text(encoding="utf-8").strip()
    return path if path.exists() else None


def serving_settings(settings: Settings) -> Settings:
    """Settings whose warehouse is the current snapshot: what app sessions read.

    Before the first publish the apps read the live file (a single-user set-up);
    ``wb serve`` publishes one first, so a deployment never does.
    """
    snapshot = current(settings)
    return settings.with_(warehouse=snapshot) if snapshot else settings


def is_stale(settings: Settings) -> bool:
    """Whether the live warehouse changed since the current snapshot was taken (or there is none)."""
    if settings.engine != "duckdb" or not settings.warehouse.exists():
        return False
    snapshot = current(settings)
    return snapshot is None or settings.warehouse.stat().st_mtime > snapshot.stat().st_mtime


def _read_lock(settings: Settings, wait_s: float):
    """A read-only connection to the live file: while it is open no process can write the file."""
    import duckdb

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(settings.warehouse), read_only=True)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(WAIT_POLL_S)


def publish(settings: Settings, wait_s: float | None = None) -> Path | None:
    """Copy the live warehouse into a new snapshot and make it the current one; its path (None: not DuckDB)."""
    if settings.engine != "duckdb":
        return None
    if not settings.warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}: build one with `wb demo` first")
    wait_s = float(settings.pipelines.get("warehouse_wait_s", 120)) if wait_s is None else wait_s
    folder = serving_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"warehouse-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}.duckdb"
    started = time.monotonic()
    con = _read_lock(settings, wait_s)
    try:
        wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
        if wal.exists():  # a writer died before its checkpoint: copy through the engine, not the bytes
            con.close()
            _copy_through_engine(settings.warehouse, folder / (name + ".tmp"))
        else:
            shutil.copyfile(settings.warehouse, folder / (name + ".tmp"))
    finally:
        con.close()
    os.replace(folder / (name + ".tmp"), folder / name)
    _point(folder, name)
    _prune(folder, keep=KEEP)
    log.info("serving snapshot %s published in %.1f s", folder / name, time.monotonic() - started)
    return folder / name


def _copy_through_engine(source: Path, target: Path) -> None:
    import duckdb

    target.unlink(missing_ok=True)
    def quoted(path: Path) -> str:
        return "'" + str(path).replace("'", "''") + "'"

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {quoted(source)} AS src (READ_ONLY)")
        con.execute(f"ATTACH {quoted(target)} AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
    finally:
        con.close()


def _point(folder: Path, name: str) -> None:
    tmp = folder / (POINTER + ".tmp")
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, folder / POINTER)


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest snapshots; sessions still reading one keep their open file."""
    snapshots = sorted(folder.glob("warehouse-*.duckdb"))
    for old in snapshots[:-keep]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".wal").unlink(missing_ok=True)
    for tmp in folder.glob("*.tmp"):
        if time.time() - tmp.stat().st_mtime > 3600:  # a copy abandoned by a killed publisher
            tmp.unlink(missing_ok=True)
