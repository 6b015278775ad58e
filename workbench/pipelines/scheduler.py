"""``wb schedule``: the pipelines' cron schedules, run as a service or once, with a missed run caught up once.

What is due
-----------
A small SQLite table (``schedule_state.State``, ``<runs_dir>/schedule.sqlite``) keeps,
per pipeline, the last fire time that was handled. A pipeline is due when its
cron has fired since then; only the *latest* such fire runs (coalesced), so
after three days of downtime the daily pipeline runs once, for yesterday, not
three times. A fire is recorded handled only when its run has ended
(succeeded or failed): a scheduler stopped in the middle of a run runs it
again when it comes back, which is safe because runs are idempotent. A fire
older than ``pipelines.schedule.misfire_grace_s`` is recorded as missed
instead (default: none is too old). A pipeline seen for the first time starts
from now: it does not run for fires before it was scheduled.

The run's as-of date is the fire's date, in the pipeline's time zone, minus
its ``as_of_lag_days`` (1: the data through yesterday).

Why a table of its own, not APScheduler's job store: APScheduler 3 resets a
stored job's next run time when the job is added again at start-up, does not
tell the job which fire time it runs for (the as-of date comes from it), and
has no "run what is due, then exit" for ``--once``. The table answers all
three, and "what is due" becomes a function of (cron, last fire, now) that the
tests drive with a clock.

APScheduler (3.11) does the waiting: a BlockingScheduler with one cron job per
pipeline, each of which asks the table what is due. Jobs run in the
scheduler's own thread (``DebugExecutor``), so two runs never overlap (DuckDB
holds one process at a time) and Ctrl-C or SIGTERM reach the running step,
which is killed and recorded as ``wb run`` does. One scheduler at a time: it
holds ``<runs_dir>/locks/scheduler.lock`` for as long as it lives.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from workbench.config import Settings
from workbench.pipelines.keys import PipelineError
from workbench.pipelines.schedule import cron_trigger
from workbench.pipelines.schedule_state import Record, State, state_path, utc_now
from workbench.pipelines.spec import Pipeline, list_pipelines, load_pipeline

log = logging.getLogger("workbench.pipelines")

RESCAN_S = 300  # how often the service reads pipelines/ again (new files, edited schedules)
# Where to look for the latest fire before now: a day back first, so a minutely cron after a long gap stays cheap.
_SPANS = (dt.timedelta(days=1), dt.timedelta(days=40), dt.timedelta(days=400))

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Fire:
    """One fire of a pipeline's cron, and the as-of date its run is for."""

    pipeline: str
    at: dt.datetime  # time-zone aware
    as_of: dt.date


def fire_times(trigger, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    """The trigger's fire times in ``(after, until]``, oldest first."""
    t = trigger.get_next_fire_time(after, after)
    while t is not None and t <= until:
        yield t
        t = trigger.get_next_fire_time(t, t)


def latest_fire(trigger, after: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The last fire time in ``(after, now]``: the one a catch-up runs; None when it has not fired since."""
    for span in (*_SPANS, None):
        start = after if span is None else max(after, now - span)
        last = None
        for last in fire_times(trigger, start, now):
            pass
        if last is not None or start == after:
            return last
    return None


def fire_for(pipeline: Pipeline, at: dt.datetime) -> Fire:
    trigger = cron_trigger(pipeline.schedule, pipeline.timezone)
    day = at.astimezone(trigger.timezone).date()
    return Fire(pipeline.name, at, day - dt.timedelta(days=pipeline.as_of_lag_days))


def due(pipeline: Pipeline, covered: dt.datetime, now: dt.datetime) -> Fire | None:
    """The fire to run for ``pipeline`` when fires up to ``covered`` were handled; None when nothing is due."""
    at = latest_fire(cron_trigger(pipeline.schedule, pipeline.timezone), covered, now)
    return None if at is None else fire_for(pipeline, at)


def next_fire(pipeline: Pipeline, now: dt.datetime) -> dt.datetime | None:
    trigger = cron_trigger(pipeline.schedule, pipeline.timezone)
    return trigger.get_next_fire_time(now, now)


# ---------------------------------------------------------------- running what is due

# Runs one fire: calls ``started(run_id)`` once the run is checked and about to start; returns how it ended.
RunFire = Callable[[Fire, Settings, Callable[[str], None]], str]


def run_fire(fire: Fire, settings: Settings, started: Callable[[str], None]) -> str:
    """Run the pipeline for the fire's as-of date in this process, as ``wb run`` would; its status."""
    from workbench.pipelines import runner
    from workbench.pipelines.locks import RunLocked, describe

    pipeline = load_pipeline(fire.pipeline)  # read again: steps edited since the scheduler started apply
    request = runner.prepare(pipeline, fire.as_of, settings=settings)
    if not pipeline.steps:
        log.info("%s: no steps yet, nothing to run (pipelines/%s.yaml)", fire.pipeline, fire.pipeline)
        return "no steps"
    started(request.run_id)
    try:
        result = runner.execute(request, settings=settings)
    except RunLocked as err:
        log.warning("%s for as-of %s not run: already running as %s", fire.pipeline, fire.as_of, describe(err.holder))
        return "refused"
    return "succeeded" if result.ok else "failed"


class Scheduler:
    """What is due, and running it: the part of ``wb schedule`` that needs no clock but the one it is given."""

    def __init__(self, settings: Settings, *, names: list[str] | None = None, clock: Clock = utc_now,
                 run: RunFire = run_fire):
        self.settings, self.names, self.clock, self.run = settings, names, clock, run
        self.state = State(state_path(settings))
        grace = ((settings.pipelines or {}).get("schedule") or {}).get("misfire_grace_s")
        self.grace = None if grace is None else dt.timedelta(seconds=float(grace))

    def pipelines(self) -> list[Pipeline]:
        """The scheduled pipelines; a file that does not load is logged and left out (the others still run)."""
        found = []
        for name in self.names or list_pipelines():
            try:
                found.append(load_pipeline(name))
            except PipelineError as err:
                log.error("%s is not scheduled: %s", name, err)
        return found

    def due(self) -> list[Fire]:
        """The fires to run now, oldest first; a pipeline seen for the first time is recorded, not run."""
        now, fires = self.clock(), []
        for p in self.pipelines():
            record = self.state.get(p.name)
            if record is None:
                self.state.put(Record(p.name, now, status="new"))
                log.info("%s: scheduled (%s); first run at %s", p.name, p.schedule, _when(next_fire(p, now)))
                continue
            fire = due(p, record.covered, now)
            if fire is not None:
                fires.append(fire)
        return sorted(fires, key=lambda f: f.at)

    def run_due(self) -> list[tuple[Fire, str]]:
        """Run every due fire, one at a time; (fire, status) for each."""
        return [(fire, self.handle(fire)) for fire in self.due()]

    def handle(self, fire: Fire) -> str:
        late = self.clock() - fire.at
        if self.grace is not None and late > self.grace:
            log.warning("%s: the run due at %s is %s late, past misfire_grace_s; skipped (run it with "
                        "`wb run %s --as-of %s`)", fire.pipeline, _when(fire.at), late, fire.pipeline, fire.as_of)
            return self._done(fire, "missed")
        previous = self.state.get(fire.pipeline)
        if previous and previous.status == "running" and previous.fire == fire.at:
            log.warning("%s: run %s for as-of %s did not finish (the scheduler stopped); running it again",
                        fire.pipeline, previous.run_id, fire.as_of)
        log.info("%s: due at %s, running for as-of %s", fire.pipeline, _when(fire.at), fire.as_of)
        status, run_id = "error", None

        def started(rid: str) -> None:
            nonlocal run_id
            run_id = rid
            self.state.put(Record(fire.pipeline, previous.covered if previous else fire.at, fire.at, fire.as_of,
                                  rid, "running"))

        try:
            status = self.run(fire, self.settings, started)
        except PipelineError as err:  # a bad file or parameter: the next fire runs once it is fixed
            log.error("%s for as-of %s not run: %s", fire.pipeline, fire.as_of, err)
            status = "refused"
        except Exception:  # a crash of one run must not stop the service
            log.exception("%s for as-of %s: the run failed", fire.pipeline, fire.as_of)
        log.info("%s for as-of %s: %s%s", fire.pipeline, fire.as_of, status, f" (run {run_id})" if run_id else "")
        return self._done(fire, status, run_id)

    def _done(self, fire: Fire, status: str, run_id: str | None = None) -> str:
        self.state.put(Record(fire.pipeline, fire.at, fire.at, fire.as_of, run_id, status))
        return status


def _when(t: dt.datetime | None) -> str:
    return "never" if t is None else t.isoformat(timespec="minutes")


# ---------------------------------------------------------------- the service


def serve(scheduler: Scheduler, *, rescan_s: float = RESCAN_S) -> None:
    """Run what is due now, then wait for each pipeline's next fire and run it, until stopped.

    Ctrl-C or SIGTERM (raised as KeyboardInterrupt) ends it; a run going at
    the time has its step killed and is run again at the next start.
    """
    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    # Coalesce and no grace in APScheduler itself: a job held up behind a long run still wakes the
    # scheduler once; the table decides what is due and how late is too late.
    aps = BlockingScheduler(executors={"default": DebugExecutor()},
                            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    stopped: list[BaseException] = []

    def wake() -> None:
        try:
            scheduler.run_due()
            _sync_jobs(aps, scheduler, wake)
        except KeyboardInterrupt as err:  # APScheduler would swallow it: stop the loop, re-raise after
            stopped.append(err)
            aps.shutdown(wait=False)

    scheduler.run_due()
    _sync_jobs(aps, scheduler, wake)
    aps.add_job(wake, "interval", seconds=rescan_s, id="rescan", name="read pipelines/ again")
    log.info("scheduler started: %d pipelines; Ctrl-C or SIGTERM stops it", len(aps.get_jobs()) - 1)
    aps.start()
    if stopped:
        raise stopped[0]


def _sync_jobs(aps, scheduler: Scheduler, wake: Callable[[], None]) -> None:
    """One cron job per pipeline file as it is now: new files added, edited schedules rescheduled.

    A job whose file is gone is left alone (removing a job while APScheduler
    processes it breaks its loop): it only wakes the scheduler, and the table
    finds nothing due for it.
    """
    for p in scheduler.pipelines():
        trigger = cron_trigger(p.schedule, p.timezone)
        job = aps.get_job(p.name)
        if job is not None and repr(job.trigger) == repr(trigger):
            continue
        if job is None:
            aps.add_job(wake, trigger, id=p.name, name=f"{p.name} ({p.schedule})")
        else:
            aps.reschedule_job(p.name, trigger=trigger)
        log.info("%s: %s (%s); next run at %s", p.name, "rescheduled" if job else "scheduled", p.schedule,
                 _when(next_fire(p, scheduler.clock())))
