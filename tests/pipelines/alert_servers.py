"""Real alert receivers on 127.0.0.1: an HTTP server that keeps what is POSTed, an SMTP server (aiosmtpd) that keeps mail.

Each hands what arrives to a queue, so a test waits for the alert itself
(``queue.get(timeout=...)``) instead of guessing how long delivery takes.
"""

from __future__ import annotations

import email
import email.policy
import json
import queue
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import yaml

from workbench.config import CONF_DIR

WAIT_S = 120  # the longest a test waits for an alert (a kernel start on 2 busy cores is a few seconds)


@dataclass
class Inbox:
    """What a receiver got, in arrival order."""

    url: str
    received: "queue.Queue" = field(default_factory=queue.Queue)

    def next(self, timeout: float = WAIT_S):
        return self.received.get(timeout=timeout)

    def all_now(self) -> list:
        found = []
        while not self.received.empty():
            found.append(self.received.get_nowait())
        return found


@contextmanager
def webhook_receiver(status: int = 204) -> Iterator[Inbox]:
    """An HTTP server on a free port of 127.0.0.1 keeping each POSTed JSON body (with its path and headers)."""
    inbox = Inbox("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            inbox.received.put({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "body": json.loads(body)})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ops"
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Keep:
    """aiosmtpd handler: every message, parsed, into the inbox."""

    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.received.put({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 OK"


@contextmanager
def smtp_receiver(**smtp_options) -> Iterator[Inbox]:
    """An SMTP server on a free port of 127.0.0.1; ``inbox.url`` is ``host:port``. Options go to aiosmtpd's SMTP."""
    from aiosmtpd.controller import Controller

    inbox = Inbox("")
    port = free_port()
    controller = Controller(_Keep(inbox), hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    inbox.url = f"127.0.0.1:{port}"
    try:
        yield inbox
    finally:
        controller.stop()


def mail_text(mail: dict) -> str:
    """A received message's plain text, with the line ends of Python's str."""
    return mail["message"].get_content().replace("\r\n", "\n")


def mailed_summary(mail: dict) -> dict:
    """The JSON summary at the end of an alert mail (the same as the webhook's body)."""
    text = mail_text(mail)
    return json.loads(text[text.index("\n{") + 1:])


def alerts_config(folder: Path, smtp: Inbox | None, **alerts) -> Path:
    """A copy of the settings file whose ``pipelines.alerts`` send mail to ``smtp``; for ``WB_CONFIG``."""
    raw = yaml.safe_load((CONF_DIR / "workbench.yaml").read_text(encoding="utf-8"))
    conf = raw["pipelines"].setdefault("alerts", {})
    conf.update(alerts)
    if smtp is not None:
        host, port = smtp.url.split(":")
        conf["smtp"] = {**conf.get("smtp", {}), "host": host, "port": int(port), "from": "wb@test.local"}
    path = folder / "workbench-alerts.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path
