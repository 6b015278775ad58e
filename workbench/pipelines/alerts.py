"""Alerts: a webhook POST and / or an e-mail when a step fails, is retried, or the run overruns.

Nobody watches a run at 02:30, so the run tells someone. Every event is
logged already (``events.log_event``); when the pipeline file lists
``alerts:`` targets, this listener also sends a summary to each: an HTTP POST
of JSON to every webhook URL, one plain-text e-mail (the same summary, also
as JSON) to the addresses, through the SMTP server of ``pipelines.alerts`` in
``workbench/conf/workbench.yaml``.

Told: a step that failed or was killed for good (``failure``), a failed
attempt that will be tried again (``retry``), a run past the pipeline's
``expected_duration_s`` (``overrun``, once). Delivery is best effort: a target
that refuses or does not answer within ``timeout_s`` is logged and skipped,
and never fails the run (it is a listener; ``events.emit`` ignores what
raises). Sending is synchronous: the alert has left before the run goes on,
and a dead target costs the run at most ``timeout_s`` per target.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import smtplib
import socket
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from workbench.config import Settings
from workbench.pipelines import archive
from workbench.pipelines.events import Event, Listener
from workbench.pipelines.spec import Pipeline

log = logging.getLogger("workbench.pipelines")

TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Smtp:
    """The mail server e-mail alerts go through (``pipelines.alerts.smtp``); the login is read from the environment."""

    host: str | None = None
    port: int = 25
    sender: str = "workbench@localhost"
    starttls: bool = False
    user_env: str | None = None  # the NAME of the variable holding the login user, never the user itself
    password_env: str | None = None

    def login(self) -> tuple[str, str] | None:
        """(user, password) from the named environment variables; None when no login is configured."""
        if not self.user_env:
            return None
        user, password = os.environ.get(self.user_env), os.environ.get(self.password_env or "")
        if not user or password is None:
            raise RuntimeError(f"SMTP login needs the environment variables {self.user_env} and "
                               f"{self.password_env or '(pipelines.alerts.smtp.password_env)'}; set them for the run")
        return user, password


@dataclass(frozen=True)
class Targets:
    webhooks: tuple[str, ...]
    addresses: tuple[str, ...]
    smtp: Smtp
    timeout_s: float = TIMEOUT_S


def targets(pipeline: Pipeline, settings: Settings) -> Targets:
    """Where this pipeline's alerts go: its ``alerts:`` split into URLs and addresses, with the delivery settings."""
    conf = dict((settings.pipelines or {}).get("alerts") or {})
    smtp = dict(conf.get("smtp") or {})
    urls = tuple(t for t in pipeline.alerts if re.match(r"https?://", t))
    return Targets(urls, tuple(t for t in pipeline.alerts if t not in urls),
                   Smtp(smtp.get("host"), int(smtp.get("port") or 25), smtp.get("from") or Smtp.sender,
                        bool(smtp.get("starttls")), smtp.get("user_env"), smtp.get("password_env")),
                   float(conf.get("timeout_s") or TIMEOUT_S))


def listeners_for(pipeline: Pipeline, settings: Settings) -> list[Listener]:
    """The alert listener of a run of ``pipeline``, or none when its file lists no targets.

    Settings that cannot be read (a port that is not a number) are logged as
    an error and the run goes on with its log lines only: it must not fail
    for the sake of telling about it.
    """
    if not pipeline.alerts:
        return []
    try:
        return [Alerts(pipeline, settings)]
    except (TypeError, ValueError) as err:
        log.error("alerts of %s are off for this run: pipelines.alerts in workbench/conf/workbench.yaml is not "
                  "valid (%s); fix it (pipelines/README.md, Alerts)", pipeline.name, err)
        return []


class Alerts:
    """A run listener that sends an alert on a final failure, a retry and an overrun.

    It remembers each step's last finished attempt (a retry event carries the
    wait, not the attempt's duration and archive) and the step running now
    (an overrun belongs to the run, but the reader wants to know where it is).
    """

    def __init__(self, pipeline: Pipeline, settings: Settings):
        self.targets = targets(pipeline, settings)
        self.runs_dir = Path(settings.runs_dir)
        self.finished: dict[str, Event] = {}
        self.running: Event | None = None

    def __call__(self, event: Event) -> None:
        if event.kind == "attempt_started":
            self.running = event
        elif event.kind == "attempt_finished":
            self.finished[event.step or ""] = event
        kind = alert_kind(event)
        if kind:
            send(summary(kind, event, self.context(kind, event), self.runs_dir), self.targets)

    def context(self, kind: str, event: Event) -> Event | None:
        """The attempt event that says more about ``event``: the failed one of a retry, the running one of an overrun."""
        if kind == "retry":
            return self.finished.get(event.step or "")
        return self.running if kind == "overrun" else None


def alert_kind(event: Event) -> str | None:
    """``failure``, ``retry``, ``overrun``, or None for events that are only logged."""
    if event.kind == "attempt_finished" and event.final and event.status in ("failed", "killed"):
        return "failure"
    return event.kind if event.kind in ("retry", "overrun") else None


# ---------------------------------------------------------------- the summary


def summary(kind: str, event: Event, context: Event | None, runs_dir: Path) -> dict[str, Any]:
    """What every target is told, as plain JSON values (the e-mail shows the same)."""
    about = context or event
    attempt = about.attempt if about.step else None
    duration = event.seconds if kind != "retry" else (context.seconds if context else None)
    values = {"alert": kind, "pipeline": event.pipeline, "run_id": event.run_id, "as_of": event.as_of.isoformat(),
              "step": about.step, "status": "running" if kind == "overrun" else event.status, "attempt": attempt,
              "error": event.message if kind != "overrun" else None,
              "duration_s": None if duration is None else round(duration, 1),
              "archive": _archive(runs_dir, event, about.step, attempt),
              "host": socket.gethostname(), "sent_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    if kind == "retry":
        values["retry_in_s"] = event.seconds
    if kind == "overrun":
        values["overrun"] = event.message
    return {"text": headline(values), **values}


def _archive(runs_dir: Path, event: Event, step: str | None, attempt: int | None) -> dict[str, Any]:
    """The run's folder and, for a step's attempt, its files that exist (notebook, HTML, PDF, log, offending rows)."""
    folder = archive.run_folder(runs_dir, event.pipeline, event.as_of, event.run_id)
    found: dict[str, Any] = {"folder": str(folder)}
    if step and attempt:
        files = archive.attempt_files(folder, step, attempt)
        found.update({k: str(p) for k, p in (("ipynb", files.ipynb), ("html", files.html), ("pdf", files.pdf),
                                                         ("log", files.log))
                      if p.is_file()})
        rows = sorted(folder.glob(f"{files.ipynb.stem}.check*.csv"))
        if rows:
            found["check_rows"] = [str(p) for p in rows]
    return found


def headline(s: dict[str, Any]) -> str:
    """One line for a chat message or a mail subject."""
    where = f"{s['pipeline']} {s['as_of']}"
    if s["alert"] == "overrun":
        return f"{where}: {s['overrun']}" + (f" (now at step {s['step']})" if s["step"] else "")
    verb = "failed" if s["alert"] == "failure" else "will be retried"
    status = s["status"] if s["alert"] == "failure" else f"{s['status']}, retry in {s['retry_in_s']:g} s"
    return f"{where}: step {s['step']} {verb} (attempt {s['attempt']}, {status}): {s['error'] or 'no error recorded'}"


# ---------------------------------------------------------------- delivery


def send(values: dict[str, Any], to: Targets) -> None:
    """Deliver to every target; each one that fails is logged and skipped."""
    for url in to.webhooks:
        _deliver(f"webhook {url}", values, post_webhook, url, values, to.timeout_s)
    if to.addresses:
        _deliver(f"e-mail to {', '.join(to.addresses)}", values, send_mail, to.smtp, to.addresses, values, to.timeout_s)


def _deliver(target: str, values: dict[str, Any], how, *args) -> None:
    try:
        how(*args)
    except Exception as err:  # network, HTTP and SMTP errors alike: telling must never break the run
        log.warning("could not send the %s alert of run %s to %s: %s: %s", values["alert"], values["run_id"],
                    target, type(err).__name__, err)
    else:
        log.info("sent the %s alert of run %s to %s", values["alert"], values["run_id"], target)


def _lines(values: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: value`` lines for a reader, nested values (the archive's files) one per line."""
    lines = []
    for key, value in values.items():
        if isinstance(value, dict):
            lines += _lines(value, f"{prefix}{key}.")
        elif key != "text" and value is not None:
            lines.append(f"{prefix}{key}: {value}")
    return lines


def post_webhook(url: str, values: dict[str, Any], timeout_s: float) -> None:
    """POST the summary as JSON; raises on a refusal, an HTTP error status or no answer within ``timeout_s``."""
    body = json.dumps(values, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "retail-workbench"})
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # urlopen raises HTTPError for 4xx / 5xx
        answer.read()


def send_mail(smtp: Smtp, addresses: tuple[str, ...], values: dict[str, Any], timeout_s: float) -> None:
    """One plain-text message to every address: the summary as lines, then as JSON."""
    if not smtp.host:
        raise RuntimeError("no mail server: set pipelines.alerts.smtp.host in workbench/conf/workbench.yaml")
    message = EmailMessage()
    message["Subject"] = f"[wb] {values['text']}"[:200]
    message["From"], message["To"] = smtp.sender, ", ".join(addresses)
    message.set_content(f"{values['text']}\n\n" + "\n".join(_lines(values)) + "\n\n"
                        + json.dumps(values, indent=1, default=str))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s) as server:
        if smtp.starttls:
            server.starttls()
        login = smtp.login()
        if login:
            server.login(*login)
        server.send_message(message)
