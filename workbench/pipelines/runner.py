"""``wb run``: a pipeline's steps for one as-of date, in dependency order, with retries, timeouts and history.

Two phases. :func:`prepare` checks everything that can be checked before
anything runs (the date, the acting user, every parameter of every step)
and raises ``PipelineError`` with what to fix. :func:`execute` then holds the
lock of the pipeline and date, runs each step's notebook in a child process
(``attempt``), archives it (``archive``), records every attempt in
``ops.pipeline_runs`` (``history``) and tells its listeners (``events``). A
failed step stops the steps that depend on it; the others still run.

A step's writes are staged under the run id (``governance/staging.py``) and
published, with its data checks run on the result, in one transaction once
its notebook has ended well: a failed, killed or unchecked step leaves the
previous outputs of the date in place.

The runner holds no warehouse connection while a notebook runs (DuckDB has
one process per file, and during a step that is the step's kernel); see
pipelines/README.md, "Sharing the warehouse".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import subprocess
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from workbench.config import PACKAGE_DIR, Settings, load_settings
from workbench.dates import parse_day
from workbench.pipelines import alerts, archive, attempt, checks, history, locks, output_archive, retention
from workbench.pipelines.events import Event, Listener, emit, log_event
from workbench.pipelines.graph import dependants, order
from workbench.pipelines.keys import PipelineError
from workbench.pipelines.outputs import written_tables
from workbench.pipelines.spec import Pipeline, Step, parse_overrides
from workbench.warehouse import snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """A run, fully checked: the steps' parameters are resolved, nothing has run."""

    pipeline: Pipeline
    as_of: dt.date
    user: str
    scope: str | None
    run_id: str
    parameters: dict[str, dict[str, Any]]  # step -> the notebook's parameters


@dataclass(frozen=True)
class StepResult:
    step: str
    status: str  # succeeded | failed | killed | skipped
    attempts: int
    seconds: float
    archive: str | None = None  # the last attempt's HTML (else ipynb)
    error: str | None = None


@dataclass
class RunResult:
    request: Request
    folder: Path
    steps: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.status == "succeeded" for s in self.steps)


def parse_as_of(value: Any) -> dt.date:
    """The run's date; PipelineError (a refusal before anything runs) when it is not one."""
    try:
        return parse_day(value)
    except ValueError as err:
        raise PipelineError(str(err)) from None


def new_run_id(pipeline: str, as_of: dt.date) -> str:
    """``daily-20251130-20260101T023000-3fa2``: readable, sortable by start, unique enough, file-safe."""
    now = dt.datetime.now(dt.timezone.utc)
    return f"{pipeline}-{as_of:%Y%m%d}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def prepare(pipeline: Pipeline, as_of: Any, *, params: Sequence[str] = (), user: str | None = None,
            scope: str | None = None, settings: Settings | None = None, run_id: str | None = None) -> Request:
    """Check a run before anything runs; PipelineError says what to fix."""
    from workbench.governance.policies import load_access

    settings = settings or load_settings()
    day = parse_as_of(as_of)
    user = user or settings.pipelines.get("user", "u_pipeline")
    users = load_access(settings.access_file).users
    if user not in users:
        raise PipelineError(f"unknown user {user!r} to run as: see `wb users` (default: the pipeline user)")
    per_step = pipeline.step_overrides(parse_overrides(list(params)))
    run_id = run_id or new_run_id(pipeline.name, day)
    resolved = {s.name: s.resolved_parameters(day, run_id, user, scope, per_step[s.name]) for s in pipeline.steps}
    return Request(pipeline, day, user, scope, run_id, resolved)


def git_commit(*folders: Path) -> str | None:
    """The commit checked out in the first of ``folders`` that is in git (notebooks, then the library); else None."""
    for folder in folders:
        try:
            done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def execute(request: Request, *, settings: Settings | None = None, listeners: Iterable[Listener] = ()) -> RunResult:
    """Run the request's steps under the lock of its pipeline and date; RunLocked if another run has it."""
    settings = settings or load_settings()
    p = request.pipeline
    lock = locks.lock_path(settings.runs_dir, p.name, request.as_of.isoformat())
    with locks.hold(lock, {"run_id": request.run_id, "pipeline": p.name, "as_of": request.as_of.isoformat()},
                    what=f"pipeline {p.name} for as-of {request.as_of}"):
        kept = output_archive.listener(p, settings)  # copies of the outputs, for `wb runs diff`
        pruned = retention.listener(settings)  # old runs' archives go when this one ends
        return _Run(request, settings, [log_event, kept, *alerts.listeners_for(p, settings), pruned, *listeners]).run()


class _Run:
    """The state of one run while it goes: results so far, failed steps, whether the overrun was told."""

    def __init__(self, request: Request, settings: Settings, listeners: list[Listener]):
        self.req, self.settings, self.listeners = request, settings, listeners
        self.root = request.pipeline.root or Path.cwd()
        self.result = RunResult(request, archive.run_folder(settings.runs_dir, request.pipeline.name, request.as_of,
                                                            request.run_id))
        self.started = time.monotonic()
        self.commit = git_commit(self.root, PACKAGE_DIR)
        self.blocked: dict[str, str] = {}  # step -> the failed step it depends on
        self.overran = False

    def emit(self, kind: str, **fields: Any) -> None:
        emit(self.listeners, Event(kind, self.req.run_id, self.req.pipeline.name, self.req.as_of, **fields))

    def run(self) -> RunResult:
        abandoned = history.close_abandoned(self.settings, self.req.pipeline.name, self.req.as_of, self.req.run_id)
        if abandoned:  # a dead runner's staged outputs were never published; they never will be
            with history.open_session(self.settings, self.req.run_id, write=True, user=self.req.user) as s:
                for run_id in abandoned:
                    s.discard_staged(run_id)
        self.emit("run_started")
        for step in order(self.req.pipeline):
            result = self.skip(step) if step.name in self.blocked else self.step(step)
            self.result.steps.append(result)
            if result.status in ("failed", "killed"):
                for later in dependants(self.req.pipeline, step):
                    self.blocked.setdefault(later.name, step.name)
        self.result.seconds = time.monotonic() - self.started
        if any(s.status == "succeeded" for s in self.result.steps):
            self.publish_snapshot()
        self.emit("run_finished", status="succeeded" if self.result.ok else "failed", seconds=self.result.seconds)
        return self.result

    def publish_snapshot(self) -> None:
        """The apps read a copy of the warehouse: give them this run's outputs (workbench/warehouse/snapshot.py)."""
        try:
            snapshot.publish(self.settings)
        except Exception as err:  # the run's outputs are in the warehouse; only the apps lag behind
            log.warning("the serving snapshot was not refreshed after run %s: %s; `wb serve --publish` "
                        "refreshes it", self.req.run_id, err)

    def attempt_row(self, step: Step, n: int) -> history.Attempt:
        """The history row of attempt ``n`` of ``step``, starting now."""
        return history.Attempt(self.req.pipeline.name, step.name, n, self.req.as_of, "running", self.req.user,
                               parameters=self.req.parameters[step.name], notebook=step.notebook,
                               started_at=history.utc_now(), git_commit=self.commit, pid=os.getpid())

    def skip(self, step: Step) -> StepResult:
        why = f"not run: it depends on {self.blocked[step.name]}, which failed"
        history.record(self.settings, self.req.run_id, [self.attempt_row(step, 0).finish("skipped", why)])
        self.emit("step_skipped", step=step.name, status="skipped", message=why)
        return StepResult(step.name, "skipped", 0, 0.0, error=why)

    def step(self, step: Step) -> StepResult:
        waits, n = step.retry_waits, 1
        while True:
            final = self.attempt(step, n, last=n > len(waits))
            if final.status == "succeeded" or n > len(waits):
                return StepResult(step.name, final.status, n, final.duration_s or 0.0,
                                  final.archive_html or final.archive_ipynb, final.error)
            self.emit("retry", step=step.name, attempt=n, status=final.status, seconds=waits[n - 1],
                      message=final.error)
            time.sleep(waits[n - 1])  # the configured back-off itself
            n += 1

    def attempt(self, step: Step, n: int, *, last: bool) -> history.Attempt:
        files = archive.attempt_files(self.result.folder, step.name, n)
        row = self.attempt_row(step, n)
        history.record(self.settings, self.req.run_id, [row])
        self.emit("attempt_started", step=step.name, attempt=n, status="running")
        job = attempt.Job(self.root / step.notebook, files.ipynb, self.req.parameters[step.name],
                          self.settings.pipelines.get("kernel", "python3"), self.root, files.log, files.error)
        try:
            outcome = attempt.run(job, step.timeout_s, tick=self.check_overrun)
        except BaseException:  # Ctrl-C or SIGTERM: the child is gone; say so in the history, then stop
            history.record(self.settings, self.req.run_id, [row.finish("killed", "interrupted: the runner was stopped")])
            raise
        files.error.unlink(missing_ok=True)  # its line is in the history now
        outcome = self.published(step, outcome, files)
        ipynb, html = archive.archive(files, outcome.status, outcome.error, step.exports,
                                      self.settings.pipelines.get("chromium", "/usr/bin/chromium"))
        wrote = written_tables(self.settings.audit_dir, self.req.run_id, row.started_at, ignore=(history.TABLE,))
        error = _with_outputs_note(outcome, wrote)
        final = row.finish(outcome.status, error, outputs=wrote, archive_ipynb=_text(ipynb), archive_html=_text(html))
        history.record(self.settings, self.req.run_id, [final])
        self.emit("attempt_finished", step=step.name, attempt=n, status=final.status,
                  final=last or final.status == "succeeded", seconds=final.duration_s, message=error,
                  archive=final.archive_html or final.archive_ipynb)
        return final

    def published(self, step: Step, outcome: attempt.Outcome, files: archive.AttemptFiles) -> attempt.Outcome:
        """The attempt's staged writes replace the previous outputs only if it succeeded and its data checks
        hold on the result (one transaction); otherwise they are dropped and the attempt has failed."""
        with history.open_session(self.settings, self.req.run_id, write=True, user=self.req.user) as s:
            if outcome.status != "succeeded":
                s.discard_staged()
                return outcome
            try:
                with s.transaction():
                    s.publish()
                    error = checks.verify(lambda: nullcontext(s), step.checks, self.req.as_of, files.ipynb.parent,
                                          files.ipynb.stem) if step.checks else None
                    if error:
                        raise _ChecksFailed(error)
            except _ChecksFailed as failed:
                s.discard_staged()
                return attempt.Outcome("failed", outcome.seconds, str(failed))
            except Exception as err:  # a grant withdrawn, the engine: the outputs stay as they were
                s.discard_staged()
                return attempt.Outcome("failed", outcome.seconds, f"publishing the step's outputs failed, the "
                                       f"previous ones are kept: {type(err).__name__}: {err}"[:1000])
        return outcome

    def check_overrun(self) -> None:
        expected = self.req.pipeline.expected_duration_s
        elapsed = time.monotonic() - self.started
        if expected and not self.overran and elapsed > expected:
            self.overran = True
            self.emit("overrun", seconds=elapsed, message=f"running for {elapsed:.0f} s, expected {expected:g} s")


class _ChecksFailed(Exception):
    """The step's data checks failed on its published outputs: roll the publishing back."""


def _with_outputs_note(outcome: attempt.Outcome, wrote: tuple[str, ...]) -> str | None:
    """A failed attempt that wrote past the stage (``stage=False``) before failing says so: those outputs are its own."""
    if outcome.status == "succeeded" or not wrote:
        return outcome.error
    return f"{outcome.error} (it had already replaced {', '.join(wrote)} before failing)"


def _text(path: Path | None) -> str | None:
    return str(path) if path else None
