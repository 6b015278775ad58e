"""``wb schedule``: what is due, catching up a missed run once, and the table that remembers, with a clock.

The scheduler is driven by a clock the test moves and a fake run that only
records what it was asked to run, so downtime of days takes no time. The
real runs (``--once`` and the service) are in test_schedule_runs.py.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import load_settings
from workbench.pipelines import locks
from workbench.pipelines.schedule import cron_trigger
from workbench.pipelines.schedule_state import Record, State
from workbench.pipelines.scheduler import Fire, Scheduler, due, latest_fire

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAILY = 'schedule: "30 2 * * *"\ntimezone: Asia/Shanghai\nsteps: []\n'


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class FakeRun:
    """Records each fire it is asked to run; ends as ``status`` or raises ``error``."""

    def __init__(self, status: str = "succeeded", error: BaseException | None = None):
        self.fires: list[Fire] = []
        self.status, self.error = status, error

    def __call__(self, fire, settings, started) -> str:
        self.fires.append(fire)
        started(f"{fire.pipeline}-{fire.as_of:%Y%m%d}-{len(self.fires)}")
        if self.error:
            raise self.error
        return self.status


@pytest.fixture
def home(project, tmp_path, monkeypatch):
    """The project as WB_HOME (its pipelines/), runs under tmp_path; a clock, a fake run, a scheduler factory."""
    monkeypatch.setenv("WB_HOME", str(project.root))
    monkeypatch.setenv("WB_RUNS_DIR", str(tmp_path / "runs"))  # for the `wb schedule` processes too
    settings = load_settings().with_(runs_dir=tmp_path / "runs")
    clock, run = Clock(at(20)), FakeRun()

    def scheduler(**changes) -> Scheduler:
        return Scheduler(settings.with_(**changes), clock=clock, run=run)

    return project, settings, clock, run, scheduler


# ---------------------------------------------------------------- what is due


def test_after_days_down_only_the_latest_fire_is_due_for_the_day_before_it(project):
    p = project.load("daily", DAILY)
    fire = due(p, covered=at(25, 2, 30), now=at(30, 9))
    assert fire == Fire("daily", at(30, 2, 30), dt.date(2025, 11, 29))
    assert due(p, covered=at(30, 2, 30), now=at(30, 9)) is None  # handled already
    assert due(p, covered=at(30, 2, 30), now=at(1, 2, 30, month=12)).at == at(1, 2, 30, month=12)  # on the minute


def test_the_as_of_lag_is_per_pipeline_and_read_in_the_pipeline_s_zone(project):
    same_day = project.load("same_day", DAILY + "as_of_lag_days: 0\n")
    # 02:30 in Shanghai is 18:30 UTC the day before: the date is Shanghai's
    assert due(same_day, covered=at(29, 2, 30), now=at(30, 2, 31).astimezone(dt.timezone.utc)).as_of == dt.date(2025, 11, 30)
    weekly = project.load("weekly", 'schedule: "0 4 * * sun"\nas_of_lag_days: 7\nsteps: []\n')
    fire = due(weekly, covered=dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc), now=dt.datetime(2025, 11, 20, tzinfo=dt.timezone.utc))
    assert fire.at.strftime("%a %d %H:%M") == "Sun 16 04:00" and fire.as_of == dt.date(2025, 11, 9)


def test_the_latest_minutely_fire_after_two_years_is_found_at_once():
    trigger = cron_trigger("* * * * *", "UTC")
    now = dt.datetime(2025, 11, 30, 9, 17, 30, tzinfo=dt.timezone.utc)
    started = time.perf_counter()
    assert latest_fire(trigger, now - dt.timedelta(days=730), now) == now.replace(second=0)
    assert time.perf_counter() - started < 2  # one day of minutes searched, not two years of them
    rare = cron_trigger("0 0 29 2 *", "UTC")  # the 29th of February: the search widens to find it
    assert latest_fire(rare, dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc), now) == dt.datetime(2024, 2, 29, tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------- the scheduler and its table


def test_a_new_pipeline_starts_from_now_then_catches_up_a_gap_once(home):
    project, _, clock, run, scheduler = home
    project.write("daily", DAILY)
    s = scheduler()
    assert s.run_due() == [] and s.state.get("daily").status == "new"  # no run for fires before it was scheduled

    clock.now = at(26, 10)  # down for six days, through six 02:30 fires
    assert s.run_due() == [(Fire("daily", at(26, 2, 30), dt.date(2025, 11, 25)), "succeeded")]
    assert s.run_due() == []  # the same moment again: nothing
    assert Scheduler(s.settings, clock=clock, run=run).run_due() == []  # nor after a restart: the table remembers
    record = s.state.get("daily")
    assert (record.covered, record.as_of, record.status, record.run_id) == (at(26, 2, 30), dt.date(2025, 11, 25),
                                                                             "succeeded", "daily-20251125-1")
    clock.now = at(27, 2, 30)
    assert [f.as_of for f, _ in s.run_due()] == [dt.date(2025, 11, 26)]
    assert len(run.fires) == 2


def test_due_pipelines_run_one_after_another_oldest_fire_first(home):
    project, _, clock, run, scheduler = home
    project.write("daily", DAILY)
    project.write("early", 'schedule: "0 1 * * *"\ntimezone: Asia/Shanghai\nsteps: []\n')
    s = scheduler()
    s.run_due()
    clock.now = at(22, 12)
    assert [(f.pipeline, f.at) for f, _ in s.run_due()] == [("early", at(22, 1)), ("daily", at(22, 2, 30))]


def test_a_run_stopped_midway_runs_again_at_the_next_start(home, caplog):
    project, settings, clock, _, scheduler = home
    project.write("daily", DAILY)
    scheduler().run_due()
    clock.now = at(23)
    stopped = Scheduler(settings, clock=clock, run=FakeRun(error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        stopped.run_due()
    record = stopped.state.get("daily")
    assert (record.status, record.run_id, record.covered) == ("running", "daily-20251122-1", at(20))  # not handled

    again = FakeRun()
    assert Scheduler(settings, clock=clock, run=again).run_due()[0][1] == "succeeded"
    assert [f.as_of for f in again.fires] == [dt.date(2025, 11, 22)]
    assert "run daily-20251122-1 for as-of 2025-11-22 did not finish (the scheduler stopped); running it again" in caplog.text


def test_a_failed_or_crashed_run_is_handled_not_repeated(home, caplog):
    project, settings, clock, _, scheduler = home
    project.write("daily", DAILY)
    scheduler().run_due()
    clock.now = at(23)
    assert Scheduler(settings, clock=clock, run=FakeRun(status="failed")).run_due()[0][1] == "failed"
    clock.now = at(24)
    crashed = Scheduler(settings, clock=clock, run=FakeRun(error=RuntimeError("disk full")))
    assert crashed.run_due()[0][1] == "error"
    assert "daily for as-of 2025-11-23: the run failed" in caplog.text and "disk full" in caplog.text
    later = FakeRun()
    assert Scheduler(settings, clock=clock, run=later).run_due() == [] and not later.fires  # the next fire will run


def test_a_fire_later_than_the_grace_is_recorded_missed_not_run(home, caplog):
    project, settings, clock, run, scheduler = home
    project.write("daily", DAILY)
    scheduler().run_due()
    clock.now = at(22, 8, 30)  # six hours after the 02:30 fire
    strict = scheduler(pipelines={**settings.pipelines, "schedule": {"misfire_grace_s": 3600}})
    assert strict.run_due()[0][1] == "missed" and not run.fires
    assert "past misfire_grace_s; skipped (run it with `wb run daily --as-of 2025-11-21`)" in caplog.text


def test_a_pipeline_file_that_does_not_load_is_left_out_and_the_others_run(home, caplog):
    project, _, clock, run, scheduler = home
    project.write("daily", DAILY)
    project.write("broken", 'schedule: "61 2 * * *"\nsteps: []\n')
    s = scheduler()
    s.run_due()
    clock.now = at(21)
    assert [f.pipeline for f, _ in s.run_due()] == ["daily"]
    assert "broken is not scheduled:" in caplog.text


def test_the_table_keeps_times_with_their_zone(tmp_path):

    state = State(tmp_path / "s.sqlite")
    state.put(Record("daily", at(20, 2, 30), at(20, 2, 30), dt.date(2025, 11, 19), "r1", "succeeded"))
    got = state.get("daily")
    assert got.covered == at(20, 2, 30) and got.as_of == dt.date(2025, 11, 19) and got.updated.tzinfo is not None
    assert [r.pipeline for r in state.records()] == ["daily"] and state.get("weekly") is None


# ---------------------------------------------------------------- the command


def test_a_second_scheduler_is_refused_naming_the_first(home):
    project, settings, *_ = home
    project.write("daily", DAILY)
    with locks.hold(locks.lock_path(settings.runs_dir, "scheduler"), {"run_id": "wb schedule"}):
        for args in (["schedule", "--once"], ["schedule"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 2, result.output
            assert "error: another scheduler is running (wb schedule, pid " in result.output
            assert "one at a time" in result.output


def test_schedule_refuses_an_unknown_pipeline_and_shows_its_status(home):
    project, settings, *_ = home
    project.write("daily", DAILY)
    result = CliRunner().invoke(main, ["schedule", "--once", "--pipeline", "dialy"])
    assert result.exit_code == 2 and "no pipeline 'dialy' (known: daily)" in result.output
    first = CliRunner().invoke(main, ["schedule", "--once"])  # first sight: recorded, nothing run
    assert first.exit_code == 0, first.output
    shown = CliRunner().invoke(main, ["schedule", "--status"])
    assert shown.exit_code == 0 and "daily" in shown.output and "new" in shown.output
    assert "30 2 * * * (Asia/Shanghai)" in shown.output


def test_the_service_has_a_job_per_pipeline_and_follows_an_edited_schedule(home, caplog):
    from apscheduler.schedulers.blocking import BlockingScheduler

    from workbench.pipelines.scheduler import _sync_jobs

    caplog.set_level("INFO", logger="workbench.pipelines")
    project, *_, scheduler = home
    project.write("daily", DAILY)
    s, aps = scheduler(), BlockingScheduler()
    _sync_jobs(aps, s, lambda: None)
    project.write("daily", DAILY.replace("30 2", "0 3"))  # edited while the service runs
    project.write("weekly", 'schedule: "0 4 * * sun"\nsteps: []\n')  # added
    _sync_jobs(aps, s, lambda: None)
    jobs = {j.id: j.trigger for j in aps.get_jobs()}
    assert sorted(jobs) == ["daily", "weekly"]
    assert "hour='3', minute='0'" in str(jobs["daily"]) and "Asia/Shanghai" in repr(jobs["daily"])
    assert "daily: rescheduled (0 3 * * *); next run at" in caplog.text and "weekly: scheduled (0 4 * * sun)" in caplog.text
