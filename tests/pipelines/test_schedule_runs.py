"""``wb schedule`` running real pipelines: ``--once`` catches a gap up once, and the service does at its start.

A fixture pipeline (``writer.ipynb`` writing marts.forecast on a copy of the
tiny chain, run_files.py) with the scheduler's table seeded as if it had
last run three days ago: one run, for the as-of date of the latest fire, its
outputs kept; asked again, nothing. The service runs the same catch-up when
it starts, then waits, and stops on SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.pipelines import history, load_pipeline
from workbench.pipelines.schedule_state import Record
from workbench.pipelines.scheduler import Scheduler, due

from .run_files import marked_processes, start_wb, writer_home

pytestmark = pytest.mark.slow

NIGHTLY = """\
    schedule: "30 2 * * *"
    steps:
      - name: writer
        notebook: notebooks/writer.ipynb
        parameters: {rows: 3}
        outputs: [marts.forecast]
    """


@pytest.fixture
def home(tiny_settings, tmp_path, monkeypatch):
    """A project with the nightly pipeline, a private tiny warehouse, the env; the table seeded 3 days back."""
    settings, _, env = writer_home(tiny_settings, tmp_path, monkeypatch, {"nightly": NIGHTLY})
    now = dt.datetime.now(dt.timezone.utc)
    scheduler = Scheduler(settings)
    scheduler.state.put(Record("nightly", now - dt.timedelta(days=3), status="succeeded"))  # down since then
    expected = due(load_pipeline("nightly"), now - dt.timedelta(days=3), now)
    return {"settings": settings, "env": env, "tmp": tmp_path, "scheduler": scheduler, "expected": expected}


def nightly_runs(settings):
    attempts = history.read_attempts(settings, user="u_admin", pipeline="nightly")
    return history.final_attempts(attempts)


def test_once_runs_the_missed_run_once_then_nothing(home):
    settings, expected = home["settings"], home["expected"]
    result = CliRunner().invoke(main, ["schedule", "--once"])
    assert result.exit_code == 0, result.output
    assert f"nightly: due at {expected.at.isoformat(timespec='minutes')}, running for as-of {expected.as_of}" in result.output
    runs = nightly_runs(settings)
    assert len(runs) == 1 and runs["status"].iloc[0] == "succeeded"
    assert runs["as_of"].iloc[0].date() == expected.as_of == (expected.at.date() - dt.timedelta(days=1))
    run_id = runs["run_id"].iloc[0]
    kept = settings.runs_dir / "nightly" / str(expected.as_of) / run_id / "writer.outputs" / "marts.forecast.parquet"
    assert kept.is_file()  # the outputs were kept for `wb runs diff`
    record = home["scheduler"].state.get("nightly")
    assert (record.covered, record.run_id, record.status) == (expected.at, run_id, "succeeded")

    again = CliRunner().invoke(main, ["schedule", "--once"])
    assert again.exit_code == 0 and "wb schedule --once: nothing due" in again.output
    assert len(nightly_runs(settings)) == 1


def test_the_service_catches_up_at_start_waits_and_stops_on_sigterm(home):
    log_file = home["tmp"] / "schedule.log"
    service = start_wb(home["env"], "schedule", "--log-file", str(log_file), cwd=home["tmp"])
    try:
        wait_for_line(log_file, "scheduler started: 1 pipelines", service)
    finally:
        service.send_signal(signal.SIGTERM)  # as systemd stops it
        out, _ = service.communicate(timeout=120)
    assert service.returncode == 0, out
    text = log_file.read_text()
    expected = home["expected"]
    assert f"nightly for as-of {expected.as_of}: succeeded (run nightly-" in text
    assert "nightly: scheduled (30 2 * * *); next run at " in text
    assert "scheduler stopped (Ctrl-C or SIGTERM)" in text
    assert len(nightly_runs(home["settings"])) == 1
    assert not marked_processes(home["env"]["WB_TEST_MARKER"])


def wait_for_line(path, text: str, process, timeout_s: float = 180) -> None:
    """Until ``path`` holds ``text``; fails early if ``process`` ends first (it would never come)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"the scheduler ended before logging {text!r}:\n{process.stdout.read()}")
        time.sleep(0.1)  # polling a file the other process writes: the event, not a guess at timing
    raise AssertionError(f"{text!r} not in {path} within {timeout_s} s")
