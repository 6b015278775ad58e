"""Benchmark results in the shared long format of DESIGN.md.

One row per method × metric × level; times are ``wall_s``, memory
``peak_rss_mb``. The same JSON feeds BENCHMARKS.md, so every figure there can
be traced to a command and a machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil


def machine_info() -> dict[str, Any]:
    """What a reader needs to compare figures across runs."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("duckdb", "ibis-framework", "pyarrow", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


@dataclass
class BenchReport:
    bench: str
    scale: str | None
    seed: int | None
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    machine: dict[str, Any] = field(default_factory=machine_info)
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, method: str, metric: str, value: float, level: str | None = None) -> None:
        self.results.append({"method": method, "metric": metric, "level": level, "value": value})

    def to_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "scale": self.scale,
            "seed": self.seed,
            "started": self.started,
            "machine": self.machine,
            "results": self.results,
        }

    def write_json(self, path: Path | None) -> Path:
        """Write the report; the default path is ``bench-results/<bench>-<scale>-<time>.json``."""
        if path is None:
            stamp = self.started.replace(":", "").replace("-", "")[:15]
            path = Path("bench-results") / f"{self.bench}-{self.scale}-{stamp}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    def print_table(self) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{self.bench}  scale={self.scale}  seed={self.seed}")
        for column in ("method", "metric", "level", "value"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for row in self.results:
            value = row["value"]
            shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
            table.add_row(row["method"], row["metric"], row["level"] or "", shown)
        Console().print(table)


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str


def run_measured(args: list[str], *, env: dict[str, str] | None = None) -> ProcessRun:
    """Run a child process; return its wall time and its own peak resident memory.

    ``wait4`` reports the child's maximum RSS from the kernel, so short
    spikes between polls are not missed. stderr is passed through (progress bars).
    """
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None, env=env, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ProcessRun(wall, usage.ru_maxrss / 1024, proc.returncode, stdout)


def python_child(code: str) -> list[str]:
    """Arguments to run ``code`` in a fresh interpreter of this environment."""
    return [sys.executable, "-c", code]
