"""``wb run`` when things go wrong, with real kernels on a copy of the tiny chain.

A step that fails is retried and then stops its dependants while an
independent step still runs; a step killed inside its write (SIGKILL), timed
out or stopped with its runner leaves the previous outputs in place and no
kernel behind; a second run of the same pipeline and date is refused while
the first holds the lock. Fixture notebooks: ``run_files.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import main
from workbench.forecasting.output import write_forecast
from workbench.pipelines import history
from workbench.warehouse import snapshot

from .run_files import forecast_rows, marked_processes, staged_writes, start_wb, wait_for_file, writer_home
from .test_retention import run_folder

pytestmark = pytest.mark.slow

AS_OF = "2025-11-30"
PIPELINES = {
    "flaky": """\
        schedule: "30 2 * * *"
        steps:
          - name: write_bad
            notebook: notebooks/writer.ipynb
            parameters: {rows: 5, fail: true, user: "{user}"}
            retries: 1
            retry_backoff_s: 0
            outputs: [marts.forecast]
          - name: report
            notebook: notebooks/step.ipynb
            depends_on: [write_bad]
          - name: independent
            notebook: notebooks/step.ipynb
        """,
    "hold": """\
        schedule: "30 2 * * *"
        steps:
          - name: hold
            notebook: notebooks/writer.ipynb
            parameters: {rows: 5}
            timeout_s: 600
            outputs: [marts.forecast]
        """,
    "late": """\
        schedule: "30 2 * * *"
        steps:
          - name: write_then_fail
            notebook: notebooks/writer.ipynb
            parameters: {rows: 5, fail_after: true}
            outputs: [marts.forecast]
        """,
    "slow": """\
        schedule: "30 2 * * *"
        expected_duration_s: 1
        steps:
          - name: hold
            notebook: notebooks/writer.ipynb
            parameters: {rows: 5}
            timeout_s: 10          # the kernel starts and writes in 3-5 s on 2 cores
            outputs: [marts.forecast]
        """,
}


@pytest.fixture
def home(tiny_settings, tmp_path, monkeypatch):
    """A project with the fixture pipelines, a private warehouse holding a previous good forecast, its env."""
    settings, project, env = writer_home(tiny_settings, tmp_path, monkeypatch, PIPELINES)
    day = dt.date.fromisoformat(AS_OF)
    good = pd.DataFrame({"sku_id": 1, "store_id": 1, "date": [day + dt.timedelta(days=d) for d in (1, 2, 3)],
                         "mean": 1.0, "p10": 0.0, "p50": 1.0, "p90": 2.0, "nb_size": 1.0})
    with wb.session("u_pipeline", settings=settings, run_id="previous-good") as s:
        write_forecast(s, good, day, None)
    return {"settings": settings, "project": project, "env": env, "marker": env["WB_TEST_MARKER"], "tmp": tmp_path,
            "previous": forecast_rows(settings)}


def wb_cli(*args: str):
    return CliRunner().invoke(main, list(args))


def only_run(settings) -> pd.DataFrame:
    attempts = history.read_attempts(settings, user="u_admin")
    assert attempts["run_id"].nunique() == 1, attempts
    return attempts


def test_a_failed_step_is_retried_stops_its_dependants_and_the_others_still_run(home):
    settings = home["settings"]
    old = run_folder(settings.runs_dir, "flaky", "2025-01-31", "flaky-long-ago", age_days=200,
                     now=dt.datetime.now(dt.timezone.utc))
    result = wb_cli("run", "flaky", "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    assert not old.exists()  # the end of the run removed an archive past pipelines.keep_days
    assert "write_bad: retrying in 0.0 s" in result.output
    assert "2 of 3 steps did not succeed (write_bad: failed, report: skipped)" in result.output

    attempts = only_run(settings)
    got = attempts[["step", "attempt", "status"]].values.tolist()
    assert got == [["write_bad", 1, "failed"], ["write_bad", 2, "failed"], ["report", 0, "skipped"],
                   ["independent", 1, "succeeded"]]
    bad = attempts[attempts["step"] == "write_bad"]
    assert bad["error"].str.fullmatch(r"cell \d+: RuntimeError: planned failure inside the write").all()
    assert (bad["outputs"] == "").all()  # rolled back: nothing was written
    assert attempts["error"].iloc[2] == "not run: it depends on write_bad, which failed"
    assert json_of(bad["parameters"].iloc[0]) == {"as_of": AS_OF, "fail": True, "rows": 5, "user": "u_pipeline",
                                                 "run_id": attempts["run_id"].iloc[0]}
    assert forecast_rows(settings) == home["previous"]  # the previous good outputs survive
    assert snapshot.current(settings) is not None  # a step succeeded: the apps' snapshot was refreshed

    for path in [*bad["archive_ipynb"], *bad["archive_html"]]:
        assert os.path.isfile(path)
    failed_nb = nbformat.read(bad["archive_ipynb"].iloc[1], as_version=4)
    assert "planned failure inside the write" in str(failed_nb.cells)
    assert bad["archive_ipynb"].iloc[1].endswith("write_bad.attempt2.ipynb")

    listed = wb_cli("runs", "--status", "failed", "--format", "csv")
    run_id = attempts["run_id"].iloc[0]
    assert listed.exit_code == 0 and run_id in listed.output and "1 succeeded, 1 failed, 1 skipped" in listed.output
    shown = wb_cli("runs", "show", run_id)
    assert shown.exit_code == 0 and f"run {run_id}: flaky for as-of {AS_OF} as u_pipeline, failed" in shown.output
    assert re.search(r"write_bad\s*│\s*2\s*│\s*failed", shown.output)
    assert not marked_processes(home["marker"])


def json_of(text: str) -> dict:
    import json

    return json.loads(text)


def test_a_second_run_of_the_same_pipeline_and_date_is_refused_while_the_first_runs(home):
    held = home["tmp"] / "held.txt"
    first = start_wb(home["env"], "run", "hold", "--as-of", AS_OF, "--param", f"hold={held}", cwd=home["tmp"])
    try:
        wait_for_file(held, first)  # the first run is inside its write now
        second = subprocess.run([sys.executable, "-m", "workbench.cli", "run", "hold", "--as-of", AS_OF],
                                env=home["env"], cwd=home["tmp"], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        message = second.stderr.strip().splitlines()[-1]
        assert re.fullmatch(rf"error: pipeline hold for as-of {AS_OF} is held by run hold-20251130-\S+ "
                            rf"\(pid {first.pid} on .*\); wait for it to finish \(`wb runs show hold-20251130-\S+` "
                            r"shows how far it is\), then run again", message), message
    finally:
        first.send_signal(signal.SIGTERM)  # stopped as a scheduler would stop it
        out, _ = first.communicate(timeout=120)
    assert first.returncode == 130, out
    assert "interrupted: the running step was killed" in out
    row = only_run_of(home["settings"], "hold", AS_OF)
    assert (row["status"], row["error"]) == ("killed", "interrupted: the runner was stopped")
    assert forecast_rows(home["settings"]) == home["previous"]
    assert not marked_processes(home["marker"])


def only_run_of(settings, pipeline: str, as_of: str) -> dict:
    attempts = history.read_attempts(settings, user="u_admin", pipeline=pipeline, as_of=dt.date.fromisoformat(as_of))
    assert len(attempts) == 1, attempts
    return attempts.iloc[0].to_dict()


def test_a_step_killed_inside_its_write_leaves_the_previous_outputs(home):
    held = home["tmp"] / "held.txt"
    run = start_wb(home["env"], "run", "hold", "--as-of", AS_OF, "--param", f"hold={held}", cwd=home["tmp"])
    kernel = int(wait_for_file(held, run))  # the kernel has written its rows, not yet committed
    os.kill(kernel, signal.SIGKILL)
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 1, out
    row = only_run_of(home["settings"], "hold", AS_OF)
    assert row["status"] == "failed" and "kernel died" in row["error"], row
    assert row["outputs"] == ""
    assert forecast_rows(home["settings"]) == home["previous"]
    assert not marked_processes(home["marker"])


def test_a_notebook_failing_after_its_write_leaves_the_previous_outputs(home):
    result = wb_cli("run", "late", "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    row = only_run_of(home["settings"], "late", AS_OF)
    assert row["status"] == "failed" and row["error"].endswith("RuntimeError: planned failure after the write"), row
    assert row["outputs"] == ""  # its write was staged, never published
    assert forecast_rows(home["settings"]) == home["previous"]
    assert staged_writes(home["settings"]) == 0  # and its staged rows are gone
    assert snapshot.current(home["settings"]) is None  # nothing changed: no new serving snapshot


def test_a_step_past_its_timeout_is_killed_with_its_kernel(home):
    held = home["tmp"] / "held.txt"
    result = wb_cli("run", "slow", "--as-of", AS_OF, "--param", f"hold={held}")
    assert result.exit_code == 1, result.output
    assert held.is_file()  # the kernel was inside its write when the timeout struck
    assert re.search(r"^warning: slow is running for \d+ s, expected 1 s$", result.output, re.M)  # told once
    assert result.output.count("warning: slow is running") == 1
    row = only_run_of(home["settings"], "slow", AS_OF)
    assert row["status"] == "killed"
    assert re.fullmatch(r"killed after \d+ s: the step ran past its timeout_s of 10 s; raise timeout_s in the "
                        r"pipeline file if it needs longer", row["error"])
    assert 10 <= row["duration_s"] < 60
    archived = nbformat.read(row["archive_ipynb"], as_version=4)
    assert archived.cells[0].source.startswith("**wb run:** killed after")
    assert forecast_rows(home["settings"]) == home["previous"]
    assert not marked_processes(home["marker"])
