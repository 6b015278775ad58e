"""Run locks: one run per pipeline and as-of date at a time, and one step in the warehouse at a time.

Both are ``fcntl.flock`` locks on small files under ``<runs_dir>/locks/``.
The operating system releases them when the holder exits, however it exits
(a SIGKILLed runner leaves no stale lock behind), and the file says who holds
it, so the refused caller can be told which run and process to wait for.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

POLL_S = 0.2  # how often a waiting caller tries a held lock again


class RunLocked(RuntimeError):
    """The lock is held by another run; ``holder`` is what that run wrote into the lock file."""

    def __init__(self, message: str, holder: dict[str, Any]):
        super().__init__(message)
        self.holder = holder


def lock_path(runs_dir: Path, *parts: str) -> Path:
    """``<runs_dir>/locks/<part>-<part>.lock`` with only file-safe characters."""
    name = "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p) for p in parts)
    return Path(runs_dir) / "locks" / f"{name}.lock"


def read_holder(path: Path) -> dict[str, Any]:
    """What the holder wrote (run id, pid, host, since); empty when unreadable or being written."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process (it has not said which yet)"
    return (f"run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')})")


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@contextmanager
def hold(path: Path, info: dict[str, Any], *, wait_s: float = 0.0, what: str = "this lock") -> Iterator[None]:
    """Hold the lock at ``path`` for the block, writing ``info`` (plus pid, host, time) into it.

    ``wait_s`` 0 refuses at once when it is held; more waits up to that many
    seconds. RunLocked names the holder. The descriptor is not inherited by
    child processes (Python's default), so a notebook kernel never keeps it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                holder = read_holder(path)
                raise RunLocked(f"{what} is held by {describe(holder)}", holder)
            time.sleep(POLL_S)
        record = {**info, "pid": os.getpid(), "host": socket.gethostname(),
                  "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # still ours: the next holder writes its own
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
