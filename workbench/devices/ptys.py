"""A real pseudo-terminal pair (虚拟串口对) from ``socat``: the simulators sit on one end, the drivers on the other.

``socat -d -d pty,raw,echo=0 pty,raw,echo=0`` opens two ptys and copies bytes between them; its
stderr names them (``PTY is /dev/pts/N``). Each end also gets a fixed symlink (socat's ``link=``
option) so that a driver finds the port again after the pair is stopped and started anew, as a
udev name (``/dev/serial/by-id/...``) does for a real device unplugged and plugged back.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["PtyPair", "SocatMissing", "socat_path", "pts_paths"]

_PTY_LINE = re.compile(r"PTY is (/dev/pts/\d+)")
_READY = "starting data transfer loop"


class SocatMissing(RuntimeError):
    """socat is not installed (the project's set-up installs it: .ci/system-deps)."""


def socat_path() -> str:
    found = shutil.which("socat")
    if not found:
        raise SocatMissing("socat is not installed: run `apt-get install -y socat` (.ci/system-deps does it)")
    return found


def pts_paths(stderr_lines: list[str]) -> list[str]:
    """The /dev/pts paths socat announced, in order (pure: parses its ``-d -d`` log)."""
    return [m.group(1) for line in stderr_lines if (m := _PTY_LINE.search(line))]


class PtyPair:
    """Two linked ptys: ``host_port`` for the driver, ``device_port`` for the simulator (stable paths)."""

    def __init__(self, folder: Path | None = None, start_timeout_s: float = 5.0):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="wb-pty-"))
        self.host_port = str(self.folder / "host")
        self.device_port = str(self.folder / "device")
        self.start_timeout_s = start_timeout_s
        self.pts: list[str] = []
        self._proc: subprocess.Popen | None = None

    def start(self) -> "PtyPair":
        """Start socat and wait until it copies bytes; ``pts`` holds the two /dev/pts paths."""
        cmd = [socat_path(), "-d", "-d", f"pty,raw,echo=0,link={self.host_port}",
               f"pty,raw,echo=0,link={self.device_port}"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
        lines = _wait_ready(self._proc, self.start_timeout_s)
        self.pts = pts_paths(lines)
        return self

    def stop(self) -> None:
        """Stop socat: both ends see the line drop (a cable pulled); the links go away."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "PtyPair":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _wait_ready(proc: subprocess.Popen, timeout_s: float) -> list[str]:
    """socat's stderr lines up to "starting data transfer loop"; a thread keeps draining it after."""
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True, name="socat-stderr").start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            proc.kill()
            raise RuntimeError(f"socat did not open a pty pair within {timeout_s} s: {''.join(seen)[-500:]}")
        seen.append(line)
        if _READY in line:
            return seen
