"""Run events: every listener is told, a broken one is logged and ignored, failures log as warnings."""

from __future__ import annotations

import datetime as dt
import logging

from workbench.pipelines.events import Event, emit, log_event


def event(**fields) -> Event:
    return Event(**{"kind": "attempt_finished", "run_id": "r1", "pipeline": "daily", "as_of": dt.date(2025, 11, 30),
                    **fields})


def test_a_broken_listener_does_not_stop_the_others(caplog):
    told = []

    def broken(e):
        raise RuntimeError("webhook down")

    emit([broken, told.append], event(step="forecast"))
    assert [e.step for e in told] == ["forecast"]
    assert "a listener of pipeline events failed on attempt_finished" in caplog.text and "webhook down" in caplog.text


def test_failures_retries_and_overruns_are_logged_as_warnings(caplog):
    caplog.set_level(logging.INFO, logger="workbench.pipelines")
    log_event(event(step="forecast", attempt=2, status="failed", seconds=3.25, message="cell 4: ValueError: x"))
    log_event(event(kind="run_finished", status="succeeded", seconds=10.0))
    failed, finished = caplog.records
    assert failed.levelno == logging.WARNING and finished.levelno == logging.INFO
    assert failed.getMessage() == ("daily 2025-11-30 run r1 step forecast: attempt_finished "
                                   "(failed, attempt 2, 3.2 s, cell 4: ValueError: x)")
    assert finished.getMessage() == "daily 2025-11-30 run r1: run_finished (succeeded, 10.0 s)"
