"""Supervising one attempt: a child process runs Papermill; past the timeout, it and its kernel are killed.

Why a child process: a timeout must stop the notebook's kernel too, and the
kernel is started by Jupyter in a session of its own, out of reach of a
process-group kill. So the supervisor keeps the list of the child's
descendants as it runs (the kernel among them) and kills them by process,
kernel first (Papermill then saves the partial notebook), the child after a
grace period. Whatever is left when the child ends is killed too: no kernel
outlives its attempt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psutil

from workbench.governance import staging

POLL_S = 0.5  # how often the supervisor looks at the clock and the process tree
GRACE_S = 10.0  # after the kernel is killed, the child may take this long to save the partial notebook


@dataclass(frozen=True)
class Job:
    """What one attempt runs: the notebook, where its executed copy goes, its parameters."""

    notebook: Path
    output: Path
    parameters: dict[str, Any]
    kernel: str
    cwd: Path
    log: Path  # the child's stdout and stderr
    error_file: Path  # the child's one-line failure summary

    def to_json(self) -> str:
        return json.dumps({"notebook": str(self.notebook), "output": str(self.output), "parameters": self.parameters,
                           "kernel": self.kernel, "cwd": str(self.cwd), "error_file": str(self.error_file)},
                          default=str)


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | killed
    seconds: float
    error: str | None = None


@dataclass
class Tree:
    """A process and every descendant seen so far (kept after they are re-parented)."""

    root: psutil.Process
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def refresh(self) -> None:
        try:
            for proc in self.root.children(recursive=True):
                self.seen.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            pass

    def kill_descendants(self) -> None:
        _kill(list(self.seen.values()))


def _kill(procs: list[psutil.Process]) -> None:
    alive = []
    for proc in procs:
        try:
            proc.kill()  # psutil checks the process is still the one seen (no pid reuse)
            alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def run(job: Job, timeout_s: float, tick: Callable[[], None] | None = None) -> Outcome:
    """Run ``job`` in a child process; kill it and its kernel past ``timeout_s``. ``tick`` runs every poll."""
    job.output.parent.mkdir(parents=True, exist_ok=True)
    spec = job.output.with_suffix(".job.json")
    spec.write_text(job.to_json(), encoding="utf-8")
    job.error_file.unlink(missing_ok=True)
    started = time.monotonic()
    with open(job.log, "ab") as log:
        # the notebook's kernel inherits the variable: its writes wait in the stage schema (governance/staging.py)
        child = subprocess.Popen([sys.executable, "-m", "workbench.pipelines.child", str(spec)], stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                 env={**os.environ, staging.ENV: "1"})
    tree = Tree(psutil.Process(child.pid))
    try:
        killed = _supervise(child, tree, started + timeout_s, tick)
    except BaseException:  # Ctrl-C or an error in the runner: the notebook must not run on alone
        _stop(child, tree)
        raise
    finally:
        spec.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    if killed:
        return Outcome("killed", seconds, f"killed after {seconds:.0f} s: the step ran past its timeout_s of "
                                          f"{timeout_s:g} s; raise timeout_s in the pipeline file if it needs longer")
    if child.returncode == 0:
        return Outcome("succeeded", seconds)
    return Outcome("failed", seconds, _error(job, child.returncode))


def _supervise(child: subprocess.Popen, tree: Tree, deadline: float, tick) -> bool:
    """Wait for the child; True if it had to be killed at the deadline."""
    while True:
        try:
            child.wait(timeout=max(0.0, min(POLL_S, deadline - time.monotonic())))
            tree.kill_descendants()  # a kernel Papermill did not shut down
            return False
        except subprocess.TimeoutExpired:
            tree.refresh()
            if tick is not None:
                tick()
            if time.monotonic() >= deadline:
                _stop(child, tree)
                return True


def _stop(child: subprocess.Popen, tree: Tree) -> None:
    """Kernel first, so the child can still save the partial notebook; then the child."""
    tree.refresh()
    tree.kill_descendants()
    try:
        child.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    tree.refresh()  # anything the child started while dying
    tree.kill_descendants()


def _error(job: Job, returncode: int) -> str:
    if job.error_file.is_file():
        return job.error_file.read_text(encoding="utf-8").strip() or f"failed (exit code {returncode})"
    how = f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
    return f"the step's process ended with {how} before it could say why; see {job.log}"
