"""``wb run`` with alerts: a failed step, a retry, an overrun and a failed data check reach a real webhook and SMTP server.

Real kernels on an empty DuckDB file of their own (the fixture notebooks
write only ``marts.forecast``), the receivers of ``alert_servers`` on
127.0.0.1, and a settings file (``WB_CONFIG``) pointing the mail at them.
The overrun test needs no sleep: its notebook waits for a file that the
test writes once the overrun alert has arrived.
"""

from __future__ import annotations

import datetime as dt
import queue
import time
import uuid

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import load_settings
from workbench.pipelines import history

from .alert_servers import alerts_config, mailed_summary, smtp_receiver, webhook_receiver
from .project_files import write_notebook
from .run_files import env_for, forecast_rows, marked_processes, start_wb, writer_project
from .test_run_failures import PIPELINES

pytestmark = pytest.mark.slow

AS_OF = "2025-11-30"
WAITER_PARAMETERS = 'as_of = "2025-11-30"\nrun_id = None\nrelease = None\n'
WAITER_CODE = """\
import time
from pathlib import Path

while not Path(release).exists():  # the test writes it once the overrun alert has arrived
    time.sleep(0.05)
print("released")
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A project with writer and waiter notebooks, an empty warehouse, receivers, and the env of `wb run`."""
    settings = load_settings(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit", runs_dir=tmp_path / "runs")
    duckdb.connect(str(settings.warehouse)).close()
    project = writer_project(tmp_path / "project")
    write_notebook(project.root / "notebooks" / "waiter.ipynb", WAITER_PARAMETERS, WAITER_CODE)
    marker = uuid.uuid4().hex
    with webhook_receiver() as hook, smtp_receiver() as smtp:
        env = {**env_for(settings, project.root, settings.runs_dir, marker),
               "WB_CONFIG": str(alerts_config(tmp_path, smtp))}
        for key in ("WB_HOME", "WB_WAREHOUSE", "WB_AUDIT_DIR", "WB_RUNS_DIR", "WB_TEST_MARKER", "WB_CONFIG"):
            monkeypatch.setenv(key, env[key])
        yield {"settings": settings, "project": project, "env": env, "marker": marker, "tmp": tmp_path,
               "hook": hook, "smtp": smtp}


def alert_while_running(inbox, run, timeout_s: float = 120) -> dict:
    """The next alert to arrive while ``run`` is still going; fails at once, with its output, if it ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return inbox.next(timeout=0.5)  # waiting on the receiver's queue, not on a guess
        except queue.Empty:
            if run.poll() is not None:
                raise AssertionError(f"the run ended before its alert arrived:\n{run.stdout.read()}") from None
    raise AssertionError(f"no alert within {timeout_s} s")


def test_a_retry_and_a_step_failed_for_good_are_posted_and_mailed(home):
    hook, smtp = home["hook"], home["smtp"]
    flaky = PIPELINES["flaky"].replace("        steps:", f"        alerts: [{hook.url}, ops@example.com]\n        steps:")
    home["project"].write("flaky", flaky)  # part 2's: write_bad fails twice, report depends on it, independent not
    result = CliRunner().invoke(main, ["run", "flaky", "--as-of", AS_OF])
    assert result.exit_code == 1, result.output
    posted = [p["body"] for p in hook.all_now()]
    mails = smtp.all_now()
    assert [(b["alert"], b["step"], b["attempt"], b["status"]) for b in posted] == [
        ("retry", "write_bad", 1, "failed"), ("failure", "write_bad", 2, "failed")]  # skipped, succeeded: no alert
    assert [mailed_summary(m) for m in mails] == posted and all(m["to"] == ["ops@example.com"] for m in mails)
    retry, failure = posted
    run_id = history.read_attempts(home["settings"], user="u_admin")["run_id"].iloc[0]
    for body in posted:
        assert (body["pipeline"], body["run_id"], body["as_of"]) == ("flaky", run_id, AS_OF)
        assert body["error"].endswith("RuntimeError: planned failure inside the write")
        assert body["duration_s"] > 0 and body["archive"]["ipynb"].endswith(".ipynb")
    assert retry["retry_in_s"] == 0 and retry["archive"]["html"].endswith("/write_bad.html")
    assert failure["archive"]["html"].endswith("/write_bad.attempt2.html")
    assert mails[1]["message"]["Subject"] == f"[wb] {failure['text']}"
    assert not marked_processes(home["marker"])


def test_a_run_past_its_expected_duration_is_told_once_while_it_runs(home):
    hook, smtp = home["hook"], home["smtp"]
    release = home["tmp"] / "release"
    home["project"].write("overrun", f"""\
        schedule: "30 2 * * *"
        expected_duration_s: 1
        alerts: [{hook.url}, ops@example.com]
        steps:
          - name: wait
            notebook: notebooks/waiter.ipynb
            parameters: {{release: {release}}}
            timeout_s: 300
        """)
    run = start_wb(home["env"], "run", "overrun", "--as-of", AS_OF, cwd=home["tmp"])
    try:
        body = alert_while_running(hook, run)["body"]  # the step waits for its file: the alert came while it ran
    finally:
        release.write_text("go")
        out, _ = run.communicate(timeout=120)
    assert run.returncode == 0, out
    assert (body["alert"], body["pipeline"], body["step"], body["attempt"], body["status"]) == (
        "overrun", "overrun", "wait", 1, "running")
    assert body["duration_s"] >= 1 and body["overrun"].endswith("expected 1 s") and body["error"] is None
    assert body["archive"]["folder"].endswith(f"/overrun/{AS_OF}/{body['run_id']}")
    assert hook.all_now() == []  # once per run, and the step's success is not an alert
    (mail,) = smtp.all_now()
    assert mailed_summary(mail) == body


def test_a_failed_data_check_fails_the_step_skips_its_dependants_saves_the_rows_and_alerts(home):
    hook = home["hook"]
    home["project"].write("checked", f"""\
        schedule: "30 2 * * *"
        alerts: [{hook.url}]
        steps:
          - name: write
            notebook: notebooks/writer.ipynb
            parameters: {{rows: 3}}
            outputs: [marts.forecast]
            checks:
              - {{check: row_count, min: 5}}
              - {{check: range, columns: [p90], max: 1.5}}
              - {{check: unique}}
          - name: report
            notebook: notebooks/step.ipynb
            depends_on: [write]
        """)
    result = CliRunner().invoke(main, ["run", "checked", "--as-of", AS_OF])
    assert result.exit_code == 1, result.output
    attempts = history.read_attempts(home["settings"], user="u_admin")
    assert attempts[["step", "status"]].values.tolist() == [["write", "failed"], ["report", "skipped"]]
    write = attempts.iloc[0]
    rows = write["archive_ipynb"].replace(".ipynb", ".check2-range.csv")
    assert write["error"] == (
        "check 1 row_count on marts.forecast failed: 3 rows for as-of 2025-11-30, expected at least 5; "
        "check 2 range on marts.forecast (p90) failed: 3 of 3 rows are out of range (expected at most 1.5) "
        f"(rows: {rows})")
    assert forecast_rows(home["settings"]) == []  # the failed rows were never published
    saved = pd.read_csv(rows)
    assert saved["p90"].tolist() == [2.0] * 3 and set(saved["as_of"]) == {AS_OF}
    assert pd.to_datetime(saved["date"]).dt.date.tolist() == [dt.date(2025, 12, d) for d in (1, 2, 3)]
    (posted,) = hook.all_now()
    body = posted["body"]
    assert (body["alert"], body["step"], body["status"], body["error"]) == ("failure", "write", "failed", write["error"])
    assert body["archive"]["check_rows"] == [rows]
