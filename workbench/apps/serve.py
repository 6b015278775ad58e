"""``wb serve``: the apps (``panel serve``), Voila and the MLflow UI on localhost, in the background.

Each server runs detached in its own process group with its output in
``<apps.dir>/<name>.log``; ``<apps.dir>/serve.json`` lists what runs so that
``wb serve --status`` and ``wb serve --stop`` find them from any shell. The
login cookie's secret is handed to the servers in their environment, never on
a command line (``ps`` would show it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from workbench.apps import login
from workbench.apps.page import PAGES
from workbench.apps.settings import AppSettings
from workbench.config import PACKAGE_DIR, project_root
from workbench.tracking.server import _port_in_use, _terminate

AUTH_MODULE = PACKAGE_DIR / "apps" / "auth_module.py"
OAUTH_SETUP = PACKAGE_DIR / "apps" / "oauth_setup.py"
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect (to the login) is an answer: do not follow it
        return None


# Straight to the server: no HTTP proxy from the environment, no redirects followed.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class ServeError(RuntimeError):
    """A server did not start; the message says why and where its log is."""


@dataclass(frozen=True)
class Server:
    name: str
    pid: int
    url: str
    log: Path


def app_files(root: Path | None = None) -> list[Path]:
    """``apps/<page>.py`` of every Panel page (Voila pages are notebooks)."""
    folder = (root or project_root()) / "apps"
    return [folder / f"{page}.py" for page, info in PAGES.items() if not info.voila]


def panel_command(apps: AppSettings, port: int | None = None, oauth_provider: str | None = None,
                  idle_ms: int | None = None) -> list[str]:
    """``panel serve`` over every app, with the workbench login (or Panel's OAuth provider) and timeouts."""
    port = port or apps.port
    idle_ms = idle_ms or int(apps.idle_session_min * 60_000)
    cmd = [sys.executable, "-m", "panel", "serve", *map(str, app_files()), "--address", apps.host, "--port", str(port),
           "--allow-websocket-origin", f"{apps.host}:{port}", "--allow-websocket-origin", f"localhost:{port}",
           "--index", "home",
           "--unused-session-lifetime", str(idle_ms), "--check-unused-sessions", str(min(60_000, idle_ms))]
    if oauth_provider:  # Panel's documented OAuth / OIDC; PANEL_OAUTH_KEY / _SECRET / _EXTRA_PARAMS in the environment
        return [*cmd, "--oauth-provider", oauth_provider, "--setup", str(OAUTH_SETUP)]
    return [*cmd, "--auth-module", str(AUTH_MODULE)]


def server_env(apps: AppSettings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    secret = env.get("WB_APPS_COOKIE_SECRET") or login.cookie_secret(apps)
    return {**env, "BOKEH_COOKIE_SECRET": secret, "WB_APPS_COOKIE_SECRET": secret,
            "OMP_WAIT_POLICY": env.get("OMP_WAIT_POLICY", "PASSIVE")}


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an HTTP server answers ``url`` at all (a 403, or a redirect to the login, counts)."""
    try:
        with _OPENER.open(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def launch(name: str, cmd: list[str], url: str, apps: AppSettings, timeout_s: float = 120.0,
           env: dict[str, str] | None = None) -> Server:
    """Start one server detached, wait until ``url`` answers; refuse if its port is taken."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    if _port_in_use(host, int(port)):
        raise ServeError(f"port {port} on {host} is in use: stop what runs there (`wb serve --stop`) or change "
                         f"apps.{'voila_port' if name == 'voila' else 'port'} in workbench/conf/workbench.yaml")
    apps.dir.mkdir(parents=True, exist_ok=True)
    log = apps.dir / f"{name}.log"
    with open(log, "ab") as out:
        out.write(f"\n--- {dt.datetime.now().isoformat(timespec='seconds')} starting {url}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=project_root(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=server_env(apps, env), start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while not answers(url, timeout=1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            _terminate(proc.pid)
            raise ServeError(f"{name} did not start (exit code {proc.returncode}); last lines of {log}:\n{_log_tail(log)}")
        time.sleep(0.2)
    return Server(name, proc.pid, url, log)


def state_file(apps: AppSettings) -> Path:
    return apps.dir / "serve.json"


def record(apps: AppSettings, servers: list[Server]) -> None:
    rows = [{"name": s.name, "pid": s.pid, "url": s.url, "log": str(s.log)} for s in servers]
    state_file(apps).write_text(json.dumps(rows, indent=1), encoding="utf-8")


def running(apps: AppSettings) -> list[Server]:
    """The servers ``wb serve`` started that are still alive."""
    try:
        rows = json.loads(state_file(apps).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Server(r["name"], r["pid"], r["url"], Path(r["log"])) for r in rows if Path(f"/proc/{r['pid']}").exists()]


def stop(apps: AppSettings) -> list[Server]:
    """Stop every server ``wb serve`` started (not MLflow: `wb mlflow stop` owns it); the ones stopped."""
    servers = [s for s in running(apps) if s.name != "mlflow"]
    for server in servers:
        _terminate(server.pid)
    state_file(apps).unlink(missing_ok=True)
    return servers
