"""The local MLflow tracking server: start, stop, status, and the URI clients should use.

One server per store (``models/store`` by default, ``WB_MODELS_DIR`` elsewhere):
the backend is ``<store>/mlflow.db`` (SQLite) and the server proxies
artifacts into ``<store>/artifacts`` (``--artifacts-destination``). Clients
therefore never write into the store themselves: they upload through the
server (``mlflow-artifacts:/`` URIs), so a notebook, a pipeline and a process
under another working directory all log to the same place, and the store
could move to another machine without changing a client.

The server runs detached in its own process group. ``<store>/server.pid``
holds its PID and ``<store>/server.json`` its URL and start time, so
``wb mlflow status``, ``wb mlflow stop`` and :func:`tracking_uri` find it from
any process; its output goes to ``<store>/server.log``.

This module deliberately does not import mlflow (two seconds of imports):
``wb mlflow status`` answers at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from workbench.config import Settings, load_settings

URI_ENV = "WB_MLFLOW_URI"

# The server's environment: no telemetry (STACK.md), and none of MLflow's GenAI
# job runners (eight huey processes that this workbench does not use; without
# them the server is healthy in ~13 s instead of ~18 s).
SERVER_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


class TrackingError(RuntimeError):
    """The tracking server cannot be started, reached or stopped; the message says what to do."""


class ServerNotRunning(TrackingError):
    """No tracking server is running for this store and ``WB_MLFLOW_URI`` is not set."""


@dataclass(frozen=True)
class ServerConfig:
    """Where the server keeps its files and where it listens."""

    store: Path
    host: str
    port: int
    workers: int
    start_timeout_s: float

    @property
    def db(self) -> Path:
        return self.store / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        return self.store / "artifacts"

    @property
    def pid_file(self) -> Path:
        return self.store / "server.pid"

    @property
    def info_file(self) -> Path:
        return self.store / "server.json"

    @property
    def log_file(self) -> Path:
        return self.store / "server.log"


@dataclass(frozen=True)
class ServerStatus:
    """What ``wb mlflow status`` prints. ``running`` means the process is alive, ``healthy`` that it answers."""

    store: Path
    running: bool
    healthy: bool
    pid: int | None = None
    url: str | None = None
    started: str | None = None
    log: Path | None = None


def server_config(settings: Settings | None = None, *, port: int | None = None) -> ServerConfig:
    """The ``mlflow:`` settings resolved; ``port=0`` picks a free port (tests)."""
    settings = settings or load_settings()
    conf = settings.mlflow
    chosen = int(conf.get("port", 5000)) if port is None else int(port)
    host = str(conf.get("host", "127.0.0.1"))
    return ServerConfig(
        store=Path(settings.models_dir),
        host=host,
        port=free_port(host) if chosen == 0 else chosen,
        workers=int(conf.get("workers", 1)),
        start_timeout_s=float(conf.get("start_timeout_s", 120)),
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


# Health checks go straight to the server, never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``url``/health answers OK."""
    try:
        with _OPENER.open(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _is_our_server(pid: int) -> bool:
    """The PID is alive and is an ``mlflow server`` (not a recycled PID of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"mlflow" in b" ".join(cmdline) and b"server" in cmdline


def _read_info(config: ServerConfig) -> dict | None:
    try:
        return json.loads(config.info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _forget(config: ServerConfig) -> None:
    for path in (config.pid_file, config.info_file):
        path.unlink(missing_ok=True)


def status(settings: Settings | None = None) -> ServerStatus:
    """Whether a server runs for this store, with its PID, URL and log."""
    config = server_config(settings)
    info = _read_info(config)
    if not info or not _is_our_server(int(info.get("pid", -1))):
        return ServerStatus(store=config.store, running=False, healthy=False, log=config.log_file)
    return ServerStatus(
        store=config.store,
        running=True,
        healthy=is_healthy(info["url"]),
        pid=int(info["pid"]),
        url=info["url"],
        started=info.get("started"),
        log=config.log_file,
    )


def tracking_uri(settings: Settings | None = None) -> str:
    """The URI MLflow clients should use: ``WB_MLFLOW_URI``, else the running server of this store.

    Raises :class:`ServerNotRunning` (saying to run ``wb mlflow serve``) when
    there is neither: logging to a file store behind the server's back would
    split the model history in two.
    """
    env = os.environ.get(URI_ENV)
    if env:
        if env.startswith(("http://", "https://")) and not is_healthy(env, timeout=5.0):
            raise ServerNotRunning(f"{URI_ENV}={env} does not answer (no /health): start that server or unset {URI_ENV}")
        return env
    current = status(settings)
    if current.healthy:
        return current.url
    if current.running:
        raise ServerNotRunning(
            f"the MLflow server for {current.store} (PID {current.pid}) does not answer at {current.url}; "
            f"see {current.log}, or restart it with `wb mlflow stop && wb mlflow serve`"
        )
    raise ServerNotRunning(
        f"no MLflow server is running for the store {current.store}: start it with `wb mlflow serve` "
        f"(or set {URI_ENV} to a server that runs elsewhere)"
    )


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _store_lock(config: ServerConfig) -> Iterator[None]:
    """Serialise start and stop per store: two people typing `wb mlflow serve` get one server."""
    config.store.mkdir(parents=True, exist_ok=True)
    with open(config.store / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _command(config: ServerConfig) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{config.db}",
        "--artifacts-destination", str(config.artifacts),
        "--host", config.host,
        "--port", str(config.port),
        "--workers", str(config.workers),
    ]


def _wait_healthy(proc: subprocess.Popen, config: ServerConfig, url: str, timeout_s: float) -> float:
    """Poll /health until it answers, the process dies, or the deadline passes; the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            _forget(config)
            raise TrackingError(
                f"the MLflow server exited with code {proc.returncode} while starting; "
                f"last lines of {config.log_file}:\n{_log_tail(config.log_file)}"
            )
        if is_healthy(url, timeout=1.0):
            return time.monotonic() - started
        time.sleep(0.2)
    _terminate(proc.pid)
    _forget(config)
    raise TrackingError(
        f"the MLflow server did not answer {url}/health within {timeout_s:.0f} s; "
        f"last lines of {config.log_file}:\n{_log_tail(config.log_file)}"
    )


def _record(config: ServerConfig, pid: int, url: str) -> str:
    """Write the PID file and ``server.json`` so that other processes find the server; the start time."""
    started = dt.datetime.now().isoformat(timespec="seconds")
    config.pid_file.write_text(f"{pid}\n", encoding="utf-8")
    config.info_file.write_text(json.dumps(
        {"pid": pid, "url": url, "host": config.host, "port": config.port, "started": started,
         "store": str(config.store)}, indent=1), encoding="utf-8")
    return started


# Servers this process started, kept so that they are reaped (and not warned about) when stopped.
_CHILDREN: dict[int, subprocess.Popen] = {}


def _start(settings: Settings | None, port: int | None, timeout_s: float | None) -> tuple[ServerStatus, bool]:
    config = server_config(settings, port=port)
    with _store_lock(config):
        current = status(settings)
        if current.running:
            return current, False
        if _port_in_use(config.host, config.port):
            raise TrackingError(
                f"port {config.port} on {config.host} is in use by another program; "
                f"choose another with `wb mlflow serve --port N` or set mlflow.port in workbench/conf/workbench.yaml"
            )
        config.artifacts.mkdir(parents=True, exist_ok=True)
        url = f"http://{config.host}:{config.port}"
        with open(config.log_file, "ab") as log:
            log.write(f"\n--- {dt.datetime.now().isoformat(timespec='seconds')} starting {url}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                _command(config), cwd=config.store, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **SERVER_ENV}, start_new_session=True,  # its own process group: stop ends all of it
            )
        _CHILDREN[proc.pid] = proc
        started = _record(config, proc.pid, url)
        seconds = _wait_healthy(proc, config, url, timeout_s or config.start_timeout_s)
        with open(config.log_file, "ab") as log:
            log.write(f"--- healthy after {seconds:.1f} s\n".encode())
    return ServerStatus(store=config.store, running=True, healthy=True, pid=proc.pid, url=url, started=started,
                        log=config.log_file), True


def start(settings: Settings | None = None, *, port: int | None = None, timeout_s: float | None = None) -> ServerStatus:
    """Start the server for this store in the background and wait until it is healthy.

    Returns the running server's status; if one already runs for this store,
    returns that one unchanged (whatever its port).
    """
    return _start(settings, port, timeout_s)[0]


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies nobody reaps do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _terminate(pid: int, timeout_s: float = 20.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left of it at the deadline."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.1)
        if not _group_alive(pid):
            break
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()


def stop(settings: Settings | None = None) -> ServerStatus | None:
    """Stop this store's server (its whole process group); the status it had, or None if none ran."""
    config = server_config(settings)
    with _store_lock(config):
        current = status(settings)
        if current.running:
            _terminate(current.pid)
        _forget(config)
    return current if current.running else None


def serve_foreground(settings: Settings | None = None, *, port: int | None = None) -> int:
    """Run the server attached to this terminal until Ctrl-C; its exit code."""
    config = server_config(settings, port=port)
    with _store_lock(config):
        if status(settings).running:
            raise TrackingError(f"an MLflow server already runs for {config.store}: see `wb mlflow status`")
        config.artifacts.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(_command(config), cwd=config.store, env={**os.environ, **SERVER_ENV})
        _record(config, proc.pid, f"http://{config.host}:{config.port}")
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()
    finally:
        _forget(config)


@contextlib.contextmanager
def running_server(settings: Settings | None = None, *, port: int | None = None) -> Iterator[str]:
    """The tracking URI of a running server, starting one for the length of the block if needed.

    ``WB_MLFLOW_URI`` or a server already running for the store is used as
    it is and left running; a server this block started is stopped at its end.
    Tests, notebooks and pipelines use it as ``with running_server(settings) as uri:``.
    """
    env = os.environ.get(URI_ENV)
    if env:
        yield env
        return
    if status(settings).running:
        yield tracking_uri(settings)  # says so if it does not answer
        return
    started, ours = _start(settings, port, None)
    try:
        yield started.url
    finally:
        if ours:
            stop(settings)
