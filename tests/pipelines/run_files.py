"""Fixture notebooks and helpers for the runner tests: a notebook that writes marts.forecast, and `wb run` processes.

``writer.ipynb`` replaces the as-of date's rows of ``marts.forecast`` (``rows``
forecast days for one SKU at one store) inside one transaction, and inside
it may fail on purpose (``fail``; ``fail_after``: after it committed) or hold the transaction open (``hold``: it
writes its kernel's pid to that file, then waits for ever), so that a test
can kill it mid-write, time it out, or start a second run beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

import workbench as wb
from workbench.config import Settings

from .project_files import Project, write_notebook

WRITER_PARAMETERS = ('as_of = "2025-11-30"\nrun_id = None\nuser = "u_pipeline"\nrows = 3\nfail = False\n'
                     'hold = None\nfail_after = False\n')
WRITER_CODE = """\
import datetime as dt, os, threading
from pathlib import Path
import pandas as pd
import workbench as wb
from workbench.forecasting.output import TABLE, to_rows

day = dt.date.fromisoformat(as_of)
frame = pd.DataFrame({"sku_id": 1, "store_id": 1, "date": [day + dt.timedelta(days=d + 1) for d in range(rows)],
                      "mean": 1.0, "p10": 0.0, "p50": 1.0, "p90": 2.0, "nb_size": 1.0})
with wb.session(user, read_only=False, run_id=run_id, entry_point="pipeline") as s, s.transaction():
    s.write(TABLE, to_rows(frame, day, None), mode="replace_where", where={"as_of": day})
    if hold:
        Path(hold).write_text(str(os.getpid()))
        threading.Event().wait()
    if fail:
        raise RuntimeError("planned failure inside the write")
print(f"wrote {rows} rows")
if fail_after:
    raise RuntimeError("planned failure after the write")
"""


def writer_project(root: Path) -> Project:
    """A throwaway project with notebooks/step.ipynb (prints) and notebooks/writer.ipynb (writes marts.forecast)."""
    root.mkdir(parents=True, exist_ok=True)
    project = Project(root)
    write_notebook(root / "notebooks" / "writer.ipynb", WRITER_PARAMETERS, WRITER_CODE)
    return project


def writer_home(tiny_settings: Settings, root: Path, monkeypatch, pipelines: dict[str, str]) -> tuple[Settings, Project, dict[str, str]]:
    """A private copy of the tiny warehouse under ``root``, the writer project with ``pipelines`` (name -> YAML),
    and the env of its `wb` runs and kernels (set in this process too, through ``monkeypatch``)."""
    settings = tiny_settings.with_(warehouse=root / "tiny.duckdb", audit_dir=root / "audit", runs_dir=root / "runs")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    project = writer_project(root / "project")
    for name, text in pipelines.items():
        project.write(name, text)
    env = env_for(settings, project.root, settings.runs_dir, uuid.uuid4().hex)
    for key in ("WB_HOME", "WB_WAREHOUSE", "WB_AUDIT_DIR", "WB_RUNS_DIR", "WB_TEST_MARKER"):
        monkeypatch.setenv(key, env[key])
    return settings, project, env


def forecast_rows(settings: Settings) -> list[tuple]:
    """marts.forecast as sorted (as_of, date, mean, run_id) tuples."""
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        if not s.table_exists("marts.forecast"):
            return []
        frame = s.table("marts.forecast").select("as_of", "date", "mean", "run_id").to_pandas()
    return sorted(tuple(str(v) for v in r) for r in frame.itertuples(index=False))


def env_for(settings: Settings, home: Path, runs_dir: Path, marker: str) -> dict[str, str]:
    """The environment of a `wb run` process (and its kernels): this warehouse, project and a marker to find them."""
    return {**os.environ, "WB_HOME": str(home), "WB_WAREHOUSE": str(settings.warehouse),
            "WB_AUDIT_DIR": str(settings.audit_dir), "WB_RUNS_DIR": str(runs_dir), "WB_TEST_MARKER": marker,
            "OMP_WAIT_POLICY": "PASSIVE"}


def start_wb(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", *args], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for_file(path: Path, process: subprocess.Popen, timeout_s: float = 120) -> str:
    """The file's text once it has some; fails early if ``process`` ends first (it would never come)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise AssertionError(f"the run ended before writing {path}:\n{process.stdout.read()}")
        time.sleep(0.05)  # polling a file the other process writes: the event, not a guess at timing
    raise AssertionError(f"{path} was not written within {timeout_s} s")


def marked_processes(marker: str) -> list[psutil.Process]:
    """Live processes (kernels, children) started with ``WB_TEST_MARKER=marker``; none may outlive a run."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("WB_TEST_MARKER") == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def staged_writes(settings: Settings) -> int:
    """Writes waiting in the stage schema (read beside the door: ``stage`` is not a layer anyone may read)."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        if not con.sql("select 1 from duckdb_tables() where schema_name = 'stage' and table_name = 'writes'").fetchall():
            return 0
        return con.sql("select count(*) from stage.writes").fetchone()[0]
