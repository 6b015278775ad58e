"""Cron schedules read by APScheduler (the library ``wb schedule`` will run them with).

Validating with the scheduler's own parser means a schedule that loads here
is one the scheduler accepts; the one trap it has is guarded against below.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

if TYPE_CHECKING:
    from workbench.pipelines.spec import Pipeline

# APScheduler 3 numbers weekdays from Monday = 0, cron from Sunday = 0: "0 4 * * 0"
# would run on Mondays. Names (mon..sun) mean the same to both, so only names are allowed.
_WEEKDAY_NUMBER = re.compile(r"\d")


def cron_trigger(schedule: str, timezone: str | None = None) -> CronTrigger:
    """The trigger for a five-field crontab string; ValueError saying what is wrong and how to write it."""
    fields = schedule.split()
    if len(fields) == 5 and _WEEKDAY_NUMBER.search(fields[4]):
        raise ValueError(f"cron {schedule!r}: write the day of week as names (mon,tue,...,sun or mon-fri), "
                         f"not {fields[4]!r}: the scheduler counts weekdays from Monday = 0, cron from Sunday = 0")
    try:
        return CronTrigger.from_crontab(schedule, timezone=timezone)
    except (ValueError, KeyError) as err:  # an unknown time zone is a KeyError (ZoneInfoNotFoundError)
        raise ValueError(f"cron {schedule!r} (time zone {timezone or 'local'}) is not valid: {err}. "
                         "Write five fields: minute hour day-of-month month day-of-week, e.g. '30 2 * * *'") from None


def next_fire_times(trigger: CronTrigger, after: dt.datetime, n: int) -> list[dt.datetime]:
    """The next ``n`` times strictly after ``after`` (naive: in the trigger's time zone), time-zone aware."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=trigger.timezone)
    times: list[dt.datetime] = []
    previous = after
    while len(times) < n and (fire := trigger.get_next_fire_time(previous, previous)) is not None:
        times.append(fire)
        previous = fire
    return times


def next_runs(pipeline: "Pipeline", after: dt.datetime, n: int = 3) -> list[dt.datetime]:
    """When the pipeline is next due: ``n`` times strictly after ``after``, in its time zone."""
    return next_fire_times(cron_trigger(pipeline.schedule, pipeline.timezone), after, n)
