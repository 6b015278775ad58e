"""Memory per app session, measured on the real server (the ``rss_growth_pct`` of ``wb bench dashboard``).

Starts ``panel serve`` as ``wb serve`` does (with a one-second idle lifetime
so closed sessions are discarded promptly), logs in with Debian's Chromium,
opens the page once and closes it (its libraries are loaded now: that is the
start), then opens ``sessions`` tabs on the page one after the other, closes
them all, waits until the server's log shows every session closed (each
closes its governed session and warehouse connection), and compares the
server's resident memory with the start.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.config import Settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CLOSED = re.compile(r"app session closed: ")


@dataclass(frozen=True)
class SessionMemory:
    sessions: int
    rss_start_mb: float
    rss_peak_mb: float
    rss_end_mb: float
    open_s_median: float  # page open until the header shows, in the browser

    @property
    def growth_pct(self) -> float:
        return 100.0 * (self.rss_end_mb - self.rss_start_mb) / self.rss_start_mb


def _closed_count(log: Path) -> int:
    return len(CLOSED.findall(log.read_text(errors="replace"))) if log.exists() else 0


def _wait_closed(log: Path, n: int, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _closed_count(log) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server closed {_closed_count(log)} of {n} sessions in {timeout_s:.0f} s; see {log}")
        time.sleep(0.25)


def session_memory(settings: Settings, user: str, password: str, page: str = "operations", sessions: int = 50,
                   chromium: str = "/usr/bin/chromium", progress=None) -> SessionMemory:
    import psutil
    from playwright.sync_api import sync_playwright

    from workbench.apps import serve as srv
    from workbench.apps.settings import app_settings
    from workbench.tracking.server import free_port

    work = Path(tempfile.mkdtemp(prefix="wb-bench-apps-"))
    env = {"WB_WAREHOUSE": str(settings.warehouse), "WB_AUDIT_DIR": str(work / "audit"), "WB_APPS_DIR": str(work),
           "WB_APPS_COOKIE_SECRET": secrets.token_urlsafe(32)}
    apps = app_settings(settings)
    apps = type(apps)(**{**apps.__dict__, "dir": work})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = srv.launch("panel", srv.panel_command(apps, port=port, idle_ms=1000), f"{base}/login", apps, env=env)
    proc = psutil.Process(server.pid)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context()
            tab = context.new_page()
            tab.set_default_timeout(120_000)
            tab.goto(f"{base}/login")
            tab.fill("input[name=username]", user)
            tab.fill("input[name=password]", password)
            tab.click("button[type=submit], input[type=submit]")
            tab.locator(".wb-user").first.wait_for()
            tab.goto(f"{base}/{page}")
            tab.locator(".wb-user").first.wait_for()
            tab.close()
            _wait_closed(server.log, 2)  # the home page's and one of the page's: its libraries are loaded now
            start = proc.memory_info().rss
            times, peak = [], start
            for i in range(sessions):  # one after the other: what each session leaves behind adds up
                t0 = time.perf_counter()
                tab = context.new_page()
                tab.set_default_timeout(120_000)
                tab.goto(f"{base}/{page}")
                tab.locator(".wb-user").first.wait_for()
                times.append(time.perf_counter() - t0)
                peak = max(peak, proc.memory_info().rss)
                tab.close()
                _wait_closed(server.log, 3 + i)
                if progress:
                    progress(i + 1, sessions)
            end = proc.memory_info().rss
            browser.close()
    finally:
        srv._terminate(server.pid)
    times.sort()
    mb = 1024 * 1024
    return SessionMemory(sessions, start / mb, peak / mb, end / mb, times[len(times) // 2])
