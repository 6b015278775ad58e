"""The execution gate: every execution on a session's backend passes here.

The session registers each governed expression it hands out (``s.table``,
``s.sql``) with its provenance: which tables, which policies, which query.
When the user executes anything, the gate walks the expression: governed
parts are accounted for; a table or raw SQL the session did not hand out
(``backend.table(...)``, ``t.sql(...)``) is refused, so the policies cannot be
side-stepped through the backend object by accident. Then it runs the call
and writes one audit record with the rows returned.

In-process Python is not a sandbox: this stops mistakes and casual
bypasses and records what ran; the hard boundary for hostile code is the
engine's credentials and file permissions.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NoReturn

import ibis.expr.operations as ops
import pyarrow as pa

from workbench.governance.sqlguard import blocked_function


@dataclass(frozen=True)
class Provenance:
    """Where a governed expression came from: what the audit record says about it."""

    action: str  # read | sql
    tables: tuple[str, ...]
    policies: tuple[str, ...]
    query: str | None = None


@dataclass(frozen=True)
class Inspection:
    provenance: tuple[Provenance, ...]
    stray: tuple[str, ...]  # descriptions of ungoverned parts

    @property
    def action(self) -> str:
        return "sql" if any(p.action == "sql" for p in self.provenance) else "read"

    @property
    def tables(self) -> list[str]:
        return sorted({t for p in self.provenance for t in p.tables})

    @property
    def policies(self) -> list[str]:
        return sorted({x for p in self.provenance for x in p.policies})

    @property
    def query(self) -> str | None:
        queries = [p.query for p in self.provenance if p.query]
        return "\n;\n".join(dict.fromkeys(queries)) if queries else None


# (audit fields) -> None; the session writes the record.
Recorder = Callable[..., None]


class ExecutionGate:
    def __init__(self, record: Recorder):
        self._record = record
        self._governed: dict[ops.Node, Provenance] = {}
        self._local = threading.local()

    # --- re-entrancy ---------------------------------------------------------

    def busy(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextmanager
    def internal(self) -> Iterator[None]:
        """Work done by the session itself, or inside an audited call: not audited again."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    # --- provenance ----------------------------------------------------------

    def register(self, expr, provenance: Provenance):
        self._governed[expr.op()] = provenance
        return expr

    def inspect(self, expr) -> Inspection:
        """Governed parts of ``expr`` and any part the session did not hand out."""
        found: list[Provenance] = []
        stray: list[str] = []
        seen: set[ops.Node] = set()
        stack = [expr.op()]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in self._governed:
                found.append(self._governed[node])
                continue  # everything below a governed node is the session's own
            if isinstance(node, ops.DatabaseTable):
                ns = ".".join(p for p in (node.namespace.catalog, node.namespace.database) if p)
                stray.append(f"table {ns + '.' if ns else ''}{node.name} opened outside the session")
            elif isinstance(node, (ops.SQLQueryResult, ops.SQLStringView)):
                stray.append("raw SQL given outside s.sql()")
            elif isinstance(node, ops.Impure) and blocked_function(getattr(node, "__func_name__", "") or ""):
                stray.append(f"function {node.__func_name__}() is not allowed")
            stack.extend(node.__children__)
        return Inspection(tuple(found), tuple(stray))

    # --- running ---------------------------------------------------------------

    def _checked(self, method: str, expr: Any) -> Inspection:
        """The inspection of ``expr``; refused (and audited) if any part is not governed."""
        seen = self.inspect(expr)
        if seen.stray:
            message = (
                f"refused: {'; '.join(seen.stray)}. Use the session's s.table() / s.sql(), "
                "which apply your policies"
            )
            self._record(action="denied", status="denied", tables=seen.tables, policies=seen.policies,
                         query=seen.query, message=f"{method}: {message}")
            raise PermissionError(message)
        return seen

    def refuse(self, method: str) -> NoReturn:
        """A backend method that would side-step the door (raw SQL, DDL, file readers)."""
        message = (
            f"backend.{method}() is not part of the governed door: read with s.table() / s.sql(), "
            "write with s.write()"
        )
        self._record(action="denied", status="denied", message=f"{method}: {message}")
        raise PermissionError(message)

    def cache(self, expr: Any, call: Callable[[], Any]) -> Any:
        """``t.cache()``: run once (audited), and the cached table keeps the governed provenance."""
        seen = self._checked("cache", expr)
        with self.internal():
            cached = call()
        self._governed[cached.op()] = Provenance(seen.action, tuple(seen.tables), tuple(seen.policies), seen.query)
        self._record(action=seen.action, status="ok", tables=seen.tables, policies=seen.policies,
                     query=seen.query, message="cache")
        return cached

    def run(self, method: str, expr: Any, args: tuple, call: Callable[[], Any]) -> Any:
        seen = self._checked(method, expr)
        export = method not in ("execute", "to_pandas", "to_pyarrow", "to_polars", "to_torch",
                                "to_pyarrow_batches")
        note = f"{method} {args[0]}" if export and args else method
        try:
            with self.internal():
                result = call()
        except Exception as err:
            self._record(action=seen.action, status="error", tables=seen.tables, policies=seen.policies,
                         query=seen.query, message=f"{note}: {type(err).__name__}: {err}"[:2000])
            raise

        def done(rows: int | None) -> None:
            self._record(action=seen.action, status="ok", tables=seen.tables, policies=seen.policies,
                         rows=rows, query=seen.query, message=note)

        if isinstance(result, pa.RecordBatchReader):
            return _counting_reader(result, done)
        done(None if export else _rows(result))
        return result


def _rows(result: Any) -> int:
    """Rows returned: a frame or array counts its rows, a scalar is one row."""
    if hasattr(result, "num_rows"):
        return int(result.num_rows)
    if hasattr(result, "shape") and getattr(result, "shape", None):
        return int(result.shape[0])
    if isinstance(result, dict):  # to_torch: column -> tensor
        first = next(iter(result.values()), None)
        return int(len(first)) if first is not None else 0
    return 1


def _counting_iter(items, done: Callable[[int], None]):
    rows = 0
    try:
        for item in items:
            rows += _rows(item)
            yield item
    finally:
        done(rows)


def _counting_reader(reader: pa.RecordBatchReader, done: Callable[[int], None]) -> pa.RecordBatchReader:
    """A reader that writes the audit record, with the row count, once the stream ends.

    Its schema is the stream's with every field nullable: DuckDB hands out
    nullable batches even for NOT NULL columns, and a strict schema would make
    ``read_all()`` fail (as it does on plain ibis 12).
    """
    schema = pa.schema([f.with_nullable(True) for f in reader.schema], metadata=reader.schema.metadata)
    return pa.RecordBatchReader.from_batches(schema, _counting_iter(reader, done))
