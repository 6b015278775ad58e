"""The audit log: one JSON-lines file per process, and the audited backend class.

Why files and not a warehouse table: a DuckDB file has one writer process at
a time, and read-only sessions must be audited too. Each process appends to
its own file under ``settings.audit_dir`` (no lock, no contention); the
``audit_log`` table is the engine reading all those files (docs/ARCHITECTURE.md).

Why an audited backend subclass: users execute ibis expressions themselves
(``t.count().execute()``, ``t.to_pyarrow()``), so the door must sit where
every execution passes: the backend's ``execute`` / ``to_*`` methods. A
re-entrancy guard makes one user call one record, however the engine's
methods call each other inside.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import socket
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, NoReturn, Protocol

import ibis

ENTRY_POINTS = ("python", "cli", "app", "pipeline", "device")
ACTIONS = ("read", "sql", "write", "stage", "denied", "login")  # stage: a pipeline step's write kept until it succeeds; login: the apps' login
STATUSES = ("ok", "denied", "error")

# The columns of audit_log, in order. ``ts`` is written as ISO text (UTC) and
# cast on read, so every engine's JSON reader agrees on it.
AUDIT_SCHEMA = ibis.schema({
    "ts": "string",
    "user": "string",
    "role": "string",
    "entry_point": "string",
    "action": "string",
    "tables": "array<string>",
    "policies": "array<string>",
    "rows": "int64",
    "status": "string",
    "run_id": "string",
    "query": "string",
    "message": "string",
    "pid": "int64",
})


@dataclass
class AuditRecord:
    user: str
    role: str
    entry_point: str
    action: str
    status: str
    run_id: str
    tables: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    rows: int | None = None
    query: str | None = None
    message: str | None = None
    ts: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds"))
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> str:
        row = asdict(self)
        return json.dumps({k: row[k] for k in AUDIT_SCHEMA.names}, ensure_ascii=False, default=str)


class AuditWriter:
    """Appends records to this process's file; safe across threads, one line per write."""

    def __init__(self, audit_dir: Path):
        self.dir = Path(audit_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.path = self.dir / f"audit-{stamp}-{socket.gethostname()}-{os.getpid()}.jsonl"
        self.path.touch()  # so the audit_log reader always finds at least one file
        self._lock = threading.Lock()

    def write(self, record: AuditRecord) -> None:
        line = (record.to_json() + "\n").encode("utf-8")
        with self._lock:
            # O_APPEND keeps lines whole even if another handle appends too.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


_WRITERS: dict[tuple[Path, int], AuditWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(audit_dir: Path) -> AuditWriter:
    """This process's writer for ``audit_dir`` (a forked child gets its own file)."""
    key = (Path(audit_dir).resolve(), os.getpid())
    with _WRITERS_LOCK:
        if key not in _WRITERS:
            _WRITERS[key] = AuditWriter(key[0])
        return _WRITERS[key]


def audit_glob(audit_dir: Path) -> str:
    return str(Path(audit_dir).resolve() / "*.jsonl")


# --- the audited backend ---------------------------------------------------------


class Gate(Protocol):
    """What the audited backend hands each call to (the session implements it)."""

    def busy(self) -> bool: ...

    def internal(self) -> ContextManager[None]: ...

    def run(self, method: str, expr: Any, args: tuple, call: Callable[[], Any]) -> Any: ...

    def cache(self, expr: Any, call: Callable[[], Any]) -> Any: ...

    def refuse(self, method: str) -> NoReturn: ...


# Backend methods that execute an expression. Those a backend lacks are skipped.
# Not ``to_pandas_batches``: ibis makes it a generator over ``to_pyarrow_batches``,
# which runs (and is audited, once) only when the caller iterates.
EXECUTING_METHODS = (
    "execute", "to_pandas", "to_pyarrow", "to_pyarrow_batches", "to_polars",
    "to_torch", "to_csv", "to_csv_dir", "to_parquet", "to_parquet_dir", "to_json", "to_delta",
    "to_xlsx", "to_geo", "to_kafka",
)

# Backend methods that change the warehouse, bring in other data or run SQL text.
# The session uses some of them for its own work (inside the gate); called
# directly on a session's backend they would side-step grants and the SQL guard.
GUARDED_METHODS = (
    "raw_sql", "sql", "create_table", "insert", "upsert", "drop_table", "truncate_table",
    "rename_table", "create_view", "drop_view", "create_database", "drop_database",
    "create_catalog", "drop_catalog", "read_csv", "read_parquet", "read_json", "read_delta",
    "read_geo", "read_xlsx", "read_sqlite", "read_postgres", "read_mysql", "read_in_memory",
    "attach", "attach_sqlite", "detach", "register", "register_filesystem", "load_extension",
)


def _gate(backend) -> Gate | None:
    gate = getattr(backend, "_wb_gate", None)
    # No gate yet (connecting), or the session's own work / a call nested in an audited one.
    return None if gate is None or gate.busy() else gate


def _audited(method_name: str, method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, expr, *args, **kwargs):
        gate = _gate(self)
        if gate is None:
            return method(self, expr, *args, **kwargs)
        return gate.run(method_name, expr, args, lambda: method(self, expr, *args, **kwargs))

    return wrapper


def _guarded(method_name: str, method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        gate = _gate(self)
        if gate is not None:
            gate.refuse(method_name)
        return method(self, *args, **kwargs)

    return wrapper


def _cached_table(method: Callable) -> Callable:
    """``t.cache()``: materialise a governed table once, and keep it governed."""

    @functools.wraps(method)
    def wrapper(self, table):
        gate = _gate(self)
        return method(self, table) if gate is None else gate.cache(table, lambda: method(self, table))

    return wrapper


def _drop_cached_table(method: Callable) -> Callable:
    """Releasing a cache (from a finaliser, at any time) is the session's own work."""

    @functools.wraps(method)
    def wrapper(self, name):
        gate = getattr(self, "_wb_gate", None)
        if gate is None:
            return method(self, name)
        with gate.internal():
            return method(self, name)

    return wrapper


@functools.cache
def audited_backend_class(base: type) -> type:
    """A subclass of an ibis backend class whose every execution goes through the session's gate."""
    namespace: dict[str, Any] = {n: _audited(n, getattr(base, n)) for n in EXECUTING_METHODS if hasattr(base, n)}
    namespace.update({n: _guarded(n, getattr(base, n)) for n in GUARDED_METHODS if hasattr(base, n)})
    namespace["_cached_table"] = _cached_table(base._cached_table)
    namespace["_drop_cached_table"] = _drop_cached_table(base._drop_cached_table)
    namespace["__doc__"] = f"{base.__module__}.{base.__name__}, with every execution audited by the workbench."
    namespace["__module__"] = __name__
    return type(f"Audited{base.__module__.split('.')[-1].title()}Backend", (base,), namespace)
