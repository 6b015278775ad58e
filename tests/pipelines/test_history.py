"""``ops.pipeline_runs``: rows of the contract, one per attempt (replaced when it ends), read back per grant; summaries."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from workbench.pipelines import archive, history
from workbench.pipelines.outputs import written_tables
from workbench.warehouse.schema import spec

AS_OF = dt.date(2025, 11, 30)
T0 = dt.datetime(2026, 1, 1, 2, 30)


def attempt(step: str, n: int, status: str, start: dt.datetime = T0, **more) -> history.Attempt:
    return history.Attempt("daily", step, n, AS_OF, status, "u_pipeline", parameters={"as_of": "2025-11-30"},
                           started_at=start, **more)


def frame(rows: list[tuple[str, history.Attempt]]) -> pd.DataFrame:
    return pd.DataFrame([{**a.row(), "run_id": run_id} for run_id, a in rows])


@pytest.fixture
def settings(tiny_settings, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    return settings


def test_rows_fit_the_declared_contract():
    table = history.to_table([attempt("forecast", 1, "running")])
    declared = spec("ops.pipeline_runs").arrow_schema()
    assert table.schema.names == [n for n in declared.names if n != "run_id"]
    assert json.loads(table.column("parameters")[0].as_py()) == {"as_of": "2025-11-30"}
    with pytest.raises(ValueError, match="status 'done' is not one of running, succeeded"):
        history.to_table([attempt("forecast", 1, "done")])


def test_an_attempt_is_one_row_replaced_when_it_ends_and_read_back_per_grant(settings):
    started = attempt("forecast", 1, "running", history.utc_now())
    history.record(settings, "run-a", [started])
    assert history.read_attempts(settings, run_id="run-a")["status"].tolist() == ["running"]
    done = started.finish("succeeded", outputs=("marts.forecast",), archive_html="/runs/x/forecast.html")
    history.record(settings, "run-a", [done, attempt("allocation", 0, "skipped", history.utc_now())])
    rows = history.read_attempts(settings, user="u_analyst", run_id="run-a")
    assert rows[["step", "attempt", "status", "outputs"]].values.tolist() == [
        ["forecast", 1, "succeeded", "marts.forecast"], ["allocation", 0, "skipped", ""]]
    assert rows["duration_s"].iloc[0] >= 0 and rows["run_id"].unique().tolist() == ["run-a"]
    assert history.read_attempts(settings, pipeline="weekly").empty
    with pytest.raises(PermissionError, match="may not read or write ops.pipeline_runs"):
        history.read_attempts(settings, user="u_store_001")
    with wb.session("u_store_001", settings=settings) as s, pytest.raises(PermissionError, match="may not write"):
        s.write("ops.pipeline_runs", history.to_table([started]))


def test_running_rows_left_by_a_dead_runner_are_closed_by_the_next_run(settings):
    history.record(settings, "dead-run", [attempt("forecast", 1, "running", history.utc_now())])
    assert history.close_abandoned(settings, "daily", AS_OF, by_run="next-run") == ["dead-run"]
    row = history.read_attempts(settings, run_id="dead-run").iloc[0]
    assert row["status"] == "killed" and "found by run next-run" in row["error"]
    assert history.close_abandoned(settings, "daily", AS_OF, by_run="next-run") == []


def test_runs_are_summarised_from_their_steps_last_attempts():
    later = T0 + dt.timedelta(hours=1)
    attempts = frame([
        ("ok", attempt("forecast", 1, "succeeded", T0).finish("succeeded")),
        ("bad", attempt("forecast", 1, "failed", later)),
        ("bad", attempt("forecast", 2, "failed", later, error="cell 3: ValueError: no")),
        ("bad", attempt("allocation", 0, "skipped", later, error="not run: it depends on forecast, which failed")),
        ("retried", attempt("forecast", 1, "failed", later)),
        ("retried", attempt("forecast", 2, "succeeded", later)),
    ])
    runs = history.summarise_runs(attempts).set_index("run_id")
    assert runs.loc["bad", "status"] == "failed" and runs.loc["bad", "steps"] == "1 failed, 1 skipped"
    assert runs.loc["bad", "error"] == "cell 3: ValueError: no"
    assert runs.loc["retried", "status"] == "succeeded" and runs.loc["ok", "as_of"] == AS_OF
    assert list(runs.index)[-1] == "ok"  # newest first
    assert history.run_status(["succeeded", "running"]) == "running"
    assert history.run_status(["succeeded", "killed"]) == "failed"


def test_written_tables_are_the_committed_writes_of_the_run_since_the_attempt_began(tmp_path):
    def line(run_id, action="write", status="ok", tables=("marts.forecast",), ts=T0):
        return json.dumps({"ts": ts.isoformat(), "run_id": run_id, "action": action, "status": status,
                           "tables": list(tables)})

    (tmp_path / "audit-1.jsonl").write_text("\n".join([
        line("r1"), line("r1", status="error", tables=["marts.transfer_plan"]), line("r1", action="read", tables=["core.sales"]),
        line("r1", tables=["ops.pipeline_runs"]), line("r1", ts=T0 - dt.timedelta(seconds=1), tables=["marts.old"]),
        line("r2", tables=["marts.replenishment_plan"]), '{"half a line']) + "\n")
    assert written_tables(tmp_path, "r1", T0, ignore=("ops.pipeline_runs",)) == ("marts.forecast",)
    assert written_tables(tmp_path / "none", "r1", T0) == ()


def test_attempts_are_archived_under_pipeline_date_and_run():
    folder = archive.run_folder(Path("/runs"), "daily", AS_OF, "run-1")
    assert str(folder) == "/runs/daily/2025-11-30/run-1"
    assert archive.attempt_files(folder, "forecast", 1).html.name == "forecast.html"
    assert archive.attempt_files(folder, "forecast", 2).ipynb.name == "forecast.attempt2.ipynb"
