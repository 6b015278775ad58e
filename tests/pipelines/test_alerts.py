"""Alerts as a run listener, against a real HTTP receiver and a real SMTP server on 127.0.0.1.

Delivery is synchronous, so when the listener returns the receiver has the
alert (or the failure is logged): the tests wait on nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time

import pytest
from aiosmtpd.smtp import AuthResult

from workbench.config import load_settings
from workbench.pipelines import alerts, archive
from workbench.pipelines.events import Event
from workbench.pipelines.spec import Pipeline

from .alert_servers import free_port, mail_text, mailed_summary, smtp_receiver, webhook_receiver

AS_OF = dt.date(2025, 11, 30)
RUN = "daily-20251130-20260101T023000-3fa2"


def event(kind: str, **fields) -> Event:
    return Event(kind, RUN, "daily", AS_OF, **fields)


def listener(tmp_path, targets: list[str], server=None, smtp=None, **conf) -> alerts.Alerts:
    """The alert listener of a pipeline ``daily`` telling ``targets``; mail goes to ``server`` with ``smtp`` settings."""
    smtp_conf = {"host": None}
    if server is not None:
        host, port = server.url.split(":")
        smtp_conf = {"host": host, "port": int(port), "from": "wb@test.local"}
    settings = load_settings().with_(runs_dir=tmp_path / "runs",
                                     pipelines={"alerts": {"smtp": {**smtp_conf, **(smtp or {})}, **conf}})
    (found,) = alerts.listeners_for(Pipeline("daily", "30 2 * * *", (), alerts=tuple(targets)), settings)
    return found


def archived(tmp_path, step: str, attempt: int) -> archive.AttemptFiles:
    """The attempt's notebook, HTML and log, as the runner leaves them."""
    files = archive.attempt_files(archive.run_folder(tmp_path / "runs", "daily", AS_OF, RUN), step, attempt)
    files.ipynb.parent.mkdir(parents=True, exist_ok=True)
    for path in (files.ipynb, files.html, files.log):
        path.write_text("x")
    return files


def test_a_step_that_failed_for_good_posts_a_json_summary_and_mails_the_same(tmp_path):
    files = archived(tmp_path, "forecast", 2)
    with webhook_receiver() as hook, smtp_receiver() as smtp:
        told = listener(tmp_path, [hook.url, "ops@example.com", "merch@example.com"], smtp)
        told(event("attempt_started", step="forecast", attempt=2, status="running"))
        told(event("attempt_finished", step="forecast", attempt=2, status="failed", final=True, seconds=12.34,
                   message="cell 4: ValueError: no champion", archive=str(files.html)))
        posted, mail = hook.all_now(), smtp.all_now()
    assert len(posted) == 1 and len(mail) == 1
    assert posted[0]["path"] == "/hooks/ops" and posted[0]["content_type"] == "application/json"
    body = posted[0]["body"]
    assert {k: body[k] for k in ("alert", "pipeline", "run_id", "as_of", "step", "status", "attempt", "error",
                                 "duration_s", "host")} == {
        "alert": "failure", "pipeline": "daily", "run_id": RUN, "as_of": "2025-11-30", "step": "forecast",
        "status": "failed", "attempt": 2, "error": "cell 4: ValueError: no champion", "duration_s": 12.3,
        "host": socket.gethostname()}
    assert body["archive"] == {"folder": str(files.ipynb.parent), "ipynb": str(files.ipynb),
                               "html": str(files.html), "log": str(files.log)}
    assert body["text"] == ("daily 2025-11-30: step forecast failed (attempt 2, failed): "
                            "cell 4: ValueError: no champion")

    assert mail[0]["to"] == ["ops@example.com", "merch@example.com"] and mail[0]["from"] == "wb@test.local"
    assert mail[0]["message"]["Subject"] == f"[wb] {body['text']}"
    assert mail[0]["message"].get_content_type() == "text/plain"
    assert f"\nrun_id: {RUN}\n" in mail_text(mail[0]) and f"\narchive.html: {files.html}\n" in mail_text(mail[0])
    assert mailed_summary(mail[0]) == body


def test_a_retry_tells_the_failed_attempt_its_duration_and_the_wait(tmp_path):
    files = archived(tmp_path, "allocation", 1)
    with webhook_receiver() as hook:
        told = listener(tmp_path, [hook.url])
        told(event("attempt_finished", step="allocation", attempt=1, status="killed", seconds=61.0,
                   message="killed after 61 s", archive=str(files.html)))
        assert hook.all_now() == []  # not final: the retry event tells
        told(event("retry", step="allocation", attempt=1, status="killed", seconds=300.0, message="killed after 61 s"))
        (posted,) = hook.all_now()
    body = posted["body"]
    assert (body["alert"], body["step"], body["attempt"], body["status"]) == ("retry", "allocation", 1, "killed")
    assert (body["duration_s"], body["retry_in_s"], body["error"]) == (61.0, 300.0, "killed after 61 s")
    assert body["archive"]["html"] == str(files.html)
    assert body["text"] == ("daily 2025-11-30: step allocation will be retried (attempt 1, killed, retry in 300 s): "
                            "killed after 61 s")


def test_an_overrun_names_the_step_running_now(tmp_path):
    with webhook_receiver() as hook:
        told = listener(tmp_path, [hook.url])
        told(event("attempt_started", step="forecast", attempt=1, status="running"))
        told(event("overrun", seconds=3700.2, message="running for 3700 s, expected 3600 s"))
        (posted,) = hook.all_now()
    body = posted["body"]
    assert (body["alert"], body["step"], body["attempt"], body["status"]) == ("overrun", "forecast", 1, "running")
    assert (body["duration_s"], body["overrun"], body["error"]) == (3700.2, "running for 3700 s, expected 3600 s", None)
    assert body["text"] == "daily 2025-11-30: running for 3700 s, expected 3600 s (now at step forecast)"


def test_successes_skips_and_the_end_of_a_run_send_nothing(tmp_path):
    with webhook_receiver() as hook:
        told = listener(tmp_path, [hook.url])
        for e in (event("run_started"), event("attempt_started", step="a", attempt=1),
                  event("attempt_finished", step="a", attempt=1, status="succeeded", final=True),
                  event("attempt_finished", step="b", attempt=1, status="failed", final=False),
                  event("step_skipped", step="c", status="skipped"), event("run_finished", status="failed")):
            told(e)
        assert hook.all_now() == []


def test_a_pipeline_without_targets_has_no_alert_listener():
    assert alerts.listeners_for(Pipeline("daily", "30 2 * * *", ()), load_settings()) == []


def failure() -> Event:
    return event("attempt_finished", step="forecast", attempt=1, status="failed", final=True, message="boom")


def test_targets_that_refuse_fail_or_are_not_configured_are_logged_and_the_run_goes_on(tmp_path, caplog):
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with webhook_receiver(status=500) as broken, webhook_receiver() as good:
        told = listener(tmp_path, [closed, broken.url, good.url, "ops@example.com"])  # and no mail server
        told(failure())
        assert len(broken.all_now()) == 1 and len(good.all_now()) == 1  # one bad target does not stop the others
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"could not send the failure alert of run {RUN} to webhook {closed}: URLError" in w for w in warnings)
    assert any(f"to webhook {broken.url}: HTTPError: HTTP Error 500" in w for w in warnings)
    assert any("to e-mail to ops@example.com: RuntimeError: no mail server: set pipelines.alerts.smtp.host" in w
               for w in warnings)


def test_a_webhook_that_never_answers_is_given_up_after_the_timeout(tmp_path, caplog):
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        told = listener(tmp_path, [url], timeout_s=0.5)
        started = time.monotonic()
        told(failure())
        assert time.monotonic() - started < 5
    assert f"to webhook {url}: TimeoutError" in caplog.text


def test_an_smtp_login_reads_user_and_password_from_the_variables_named(tmp_path, monkeypatch, caplog):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    with smtp_receiver(authenticator=authenticator, auth_require_tls=False) as smtp:
        told = listener(tmp_path, ["ops@example.com"], smtp, smtp={"user_env": "ALERT_USER", "password_env": "ALERT_PW"})
        told(failure())  # the variables are not set: logged, nothing sent
        assert smtp.all_now() == [] and "SMTP login needs the environment variables ALERT_USER and ALERT_PW" in caplog.text
        monkeypatch.setenv("ALERT_USER", "wb-alerts")
        monkeypatch.setenv("ALERT_PW", "s3cret")
        told(failure())
        assert len(smtp.all_now()) == 1
    assert logins == [(b"wb-alerts", b"s3cret")]


def test_delivery_settings_that_cannot_be_read_turn_alerts_off_with_an_error(tmp_path, caplog):
    settings = load_settings().with_(pipelines={"alerts": {"smtp": {"port": "twenty-five"}}})
    assert alerts.listeners_for(Pipeline("daily", "30 2 * * *", (), alerts=("ops@example.com",)), settings) == []
    assert "alerts of daily are off for this run: pipelines.alerts in workbench/conf/workbench.yaml" in caplog.text


@pytest.mark.parametrize("targets, webhooks, addresses", [
    (["https://chat.example.com/h", "a@b.cn", "http://10.0.0.1:8080/x"], 2, 1),
    ([], 0, 0),
])
def test_targets_are_split_into_webhooks_and_addresses(targets, webhooks, addresses):
    found = alerts.targets(Pipeline("daily", "30 2 * * *", (), alerts=tuple(targets)), load_settings())
    assert (len(found.webhooks), len(found.addresses)) == (webhooks, addresses)
    assert found.timeout_s == 5.0 and found.smtp.host is None  # the shipped settings: no mail server yet
