"""Next run times from the cron, in the pipeline's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from workbench.pipelines import load_pipeline, next_runs


def test_next_runs_are_strictly_after_and_in_order(project):
    p = project.load("p", 'schedule: "30 2 * * *"\ntimezone: Asia/Shanghai\nsteps: []\n')
    shanghai = ZoneInfo("Asia/Shanghai")
    runs = next_runs(p, dt.datetime(2025, 11, 30, 2, 30, tzinfo=shanghai), 3)
    assert runs == [dt.datetime(2025, 12, d, 2, 30, tzinfo=shanghai) for d in (1, 2, 3)]


def test_a_naive_time_is_read_in_the_pipeline_s_zone(project):
    p = project.load("p", 'schedule: "30 2 * * *"\ntimezone: Asia/Shanghai\nsteps: []\n')
    (run,) = next_runs(p, dt.datetime(2025, 11, 30, 2, 0), 1)
    assert run.isoformat() == "2025-11-30T02:30:00+08:00"


def test_weekly_runs_on_sundays_and_monthly_on_the_first():
    after = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert {r.strftime("%a") for r in next_runs(load_pipeline("weekly"), after, 4)} == {"Sun"}
    assert [r.day for r in next_runs(load_pipeline("monthly"), after, 3)] == [1, 1, 1]
