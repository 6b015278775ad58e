"""``wb schedule``: run the pipelines' cron schedules as a service, or once for system cron (``--once``).

Exit codes: 0 stopped or nothing failed, 1 a run did not succeed (``--once``),
2 refused (another scheduler holds the lock), 130 stopped in the middle of a run.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Iterator

import click

from workbench.cli_output import Refused, print_rows

FINE = ("succeeded", "no steps", "missed")  # --once exits 0 when every fire ended so


@contextlib.contextmanager
def _logging(level: str, log_file: Path | None) -> Iterator[None]:
    """Log lines with times to stderr (and ``log_file``): a service's only voice. Removed afterwards."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    loggers = [(logging.getLogger("workbench"), getattr(logging, level)), (logging.getLogger("apscheduler"), logging.WARNING)]
    saved = [lg.level for lg, _ in loggers]
    for (lg, lvl) in loggers:
        lg.setLevel(lvl)
        for h in handlers:
            h.setFormatter(fmt)
            lg.addHandler(h)
    try:
        yield
    finally:
        for (lg, _), was in zip(loggers, saved):
            lg.setLevel(was)
            for h in handlers:
                lg.removeHandler(h)
        for h in handlers:
            h.close()


@contextlib.contextmanager
def _the_only_scheduler(settings, once: bool) -> Iterator[None]:
    """Hold the scheduler lock for the block; a second scheduler is refused, naming the first."""
    from workbench.pipelines import locks

    path = locks.lock_path(settings.runs_dir, "scheduler")
    try:
        with locks.hold(path, {"run_id": "wb schedule" + (" --once" if once else "")}, what="the scheduler"):
            yield
    except locks.RunLocked as err:
        h = err.holder
        raise Refused(f"another scheduler is running ({h.get('run_id', 'wb schedule')}, pid {h.get('pid', '?')} on "
                      f"{h.get('host', '?')} since {h.get('since', '?')}): one at a time, as the warehouse takes "
                      "one writer; stop it first, or let it run (`wb schedule --status` shows what it did)") from None


def _status(scheduler) -> None:
    from workbench.pipelines.scheduler import _when, next_fire

    now = scheduler.clock()
    records = {r.pipeline: r for r in scheduler.state.records()}
    rows = []
    for p in scheduler.pipelines():
        r = records.get(p.name)
        rows.append({"pipeline": p.name, "schedule": p.schedule + (f" ({p.timezone})" if p.timezone else ""),
                     "last fire": _when(r.fire) if r and r.fire else "", "as_of": str(r.as_of or "") if r else "",
                     "status": r.status if r else "not seen yet", "run_id": (r.run_id or "") if r else "",
                     "next run": _when(next_fire(p, now))})
    print_rows(rows, None, "table", title=f"wb schedule: state in {scheduler.state.path}")


@click.command(name="schedule")
@click.option("--once", is_flag=True, help="Run what is due since the last recorded run (a missed run once), then exit.")
@click.option("--status", "show_status", is_flag=True, help="Show each pipeline's last scheduled run and next one; run nothing.")
@click.option("--pipeline", "names", multiple=True, metavar="NAME", help="Only this pipeline (repeatable; default: all).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append the log lines to this file.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO", show_default=True)
def schedule(once: bool, show_status: bool, names: tuple[str, ...], log_file: Path | None, log_level: str) -> None:
    """Run the pipelines on their cron schedules (pipelines/*.yaml) until stopped.

    Each pipeline runs when its `schedule` fires, for the as-of date of the
    fire's day minus `as_of_lag_days` (default 1: the data through yesterday),
    one run at a time, acting as the pipeline user; every run is archived and
    recorded as `wb run` does. After downtime a missed run is caught up once,
    not once per missed day: the latest missed fire runs. What was run is kept
    in <runs folder>/schedule.sqlite; a pipeline seen for the first time starts
    from now. One scheduler at a time (a second one is refused). A new pipeline
    file or an edited schedule is picked up within 5 minutes. Ctrl-C or SIGTERM
    stops it; a run going at the time is killed and runs again at the next start.

    With --once it runs what is due and exits: for a system crontab instead of
    a service (exit code 1 when a run did not succeed, so cron mails you).

    \b
    Examples:
      wb schedule                                   # the service: logs to stderr
      wb schedule --log-file data/runs/schedule.log
      wb schedule --once                            # e.g. from crontab: */15 * * * * cd /srv/workbench && .venv/bin/wb schedule --once
      wb schedule --once --pipeline daily
      wb schedule --status                          # last and next run of each pipeline
    """
    from workbench.config import load_settings
    from workbench.pipelines.run_commands import _stop_on_sigterm
    from workbench.pipelines.scheduler import Scheduler

    from workbench.pipelines import list_pipelines

    unknown = sorted(set(names) - set(list_pipelines()))
    if unknown:
        raise Refused(f"no pipeline {unknown[0]!r} (known: {', '.join(list_pipelines()) or 'none'}); see `wb pipelines list`")
    settings = load_settings()
    scheduler = Scheduler(settings, names=list(names) or None)
    if show_status:
        _status(scheduler)
        return
    previous_handler = _stop_on_sigterm()
    try:
        with _logging(log_level, log_file), _the_only_scheduler(settings, once):
            done = _run(scheduler, once)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    if once and any(status not in FINE for _, status in done):
        sys.exit(1)


def _run(scheduler, once: bool) -> list:
    from workbench.pipelines.scheduler import log, serve

    try:
        if once:
            done = scheduler.run_due()
            log.info("wb schedule --once: %s", f"{len(done)} run(s)" if done else "nothing due")
            return done
        serve(scheduler)
    except KeyboardInterrupt:
        log.warning("scheduler stopped (Ctrl-C or SIGTERM)%s", _interrupted(scheduler))
        if _interrupted(scheduler):
            sys.exit(130)
    return []


def _interrupted(scheduler) -> str:
    """``; run X ... was interrupted`` when a run was going (the next start runs it again), else empty."""
    running = [r for r in scheduler.state.records() if r.status == "running"]
    return "".join(f"; run {r.run_id} ({r.pipeline} for as-of {r.as_of}) was interrupted and runs again at the "
                   "next start" for r in running)
