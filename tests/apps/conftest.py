"""Helpers for tests that start a real server (Panel, Voila, MLflow) on 127.0.0.1: a free port, and waiting
for the server to answer by polling it, never by sleeping a guessed time."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Callable

import pytest


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port: int, path: str = "/", timeout_s: float = 120.0,
                  process: subprocess.Popen | None = None) -> int:
    """Poll ``http://127.0.0.1:port/path`` until any HTTP answer (its status is returned); fail when
    ``process`` exits first or nothing answers within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering on port {port}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            return conn.getresponse().status
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered on 127.0.0.1:{port}{path} within {timeout_s:.0f} s") from None
            time.sleep(0.2)  # the pace of polling, not a synchronisation: the loop ends on the first answer
        finally:
            conn.close()


@pytest.fixture(name="free_port", scope="session")
def free_port_fixture() -> Callable[[], int]:
    return free_port


@pytest.fixture(name="wait_for_http", scope="session")
def wait_for_http_fixture() -> Callable[..., int]:
    return wait_for_http
