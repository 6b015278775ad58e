"""The governed session: the one door to data (DESIGN invariant 1).

    import workbench as wb
    with wb.session("u_store_017") as s:
        s.table("sales").net_amount.sum().execute()   # only S017's rows, audited
        s.sql("select count(*) from sales")            # same policies through SQL

A session belongs to one user. It resolves the user's row scope once, hands
out ibis tables with the policies applied, rewrites raw SQL through the same
policies, writes through grants and schema checks, and records every
execution, write and refusal in the audit log.
"""

from __future__ import annotations

import datetime as dt
import secrets
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import ibis.common.exceptions as ibis_exc
import ibis.expr.types as ir
import sqlglot

from workbench.config import Settings, load_settings
from workbench.governance import sqlguard, staging, writes
from workbench.governance.apply import Governed, govern
from workbench.governance.audit import ENTRY_POINTS, AuditRecord, audited_backend_class, writer_for
from workbench.governance.backends import ops_for
from workbench.governance.gate import ExecutionGate, Provenance
from workbench.governance.policies import VIRTUAL_TABLES, AccessConfig, User, load_access, qualify, qualify_parts
from workbench.governance.scope import Scope, resolve_scope
from workbench.warehouse import engines
from workbench.warehouse.schema import LAYERS, LOGS, OPERATIONS, OUTPUTS, TABLES

if TYPE_CHECKING:
    import pandas as pd

ADMIN_ROLE = "admin"


@dataclass(frozen=True, eq=False)
class PreparedQuery:
    """A governed expression compiled once (:meth:`Session.prepare`), its values bound at each run."""

    expr: ir.Table
    sql: str  # with a $name placeholder per parameter
    names: tuple[str, ...]


class TableNotFound(LookupError):
    """A granted name that the warehouse does not hold (yet)."""


class ReadOnlySession(PermissionError):
    """A write on a session opened read-only."""


class TransactionFailed(RuntimeError):
    """A write inside a transaction failed and the caller went on; the whole transaction is rolled back."""


@dataclass
class _Transaction:
    records: list[AuditRecord] = field(default_factory=list)
    failed: str | None = None


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    dtype: str
    masked: bool = False


@dataclass(frozen=True)
class TableInfo:
    qualified: str
    doc: str
    columns: tuple[ColumnInfo, ...] = field(default_factory=tuple)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:2000]


def new_run_id() -> str:
    """``adhoc-<UTC time>-<hex>``: unique enough to tell interactive runs apart."""
    return f"adhoc-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class Session:
    """One user's governed access to the warehouse. Open it with ``workbench.session(user)``."""

    def __init__(
        self,
        user: str,
        settings: Settings | None = None,
        read_only: bool | None = None,
        run_id: str | None = None,
        entry_point: str = "python",
        stage: bool | None = None,
    ):
        if entry_point not in ENTRY_POINTS:
            raise ValueError(f"entry_point must be one of {', '.join(ENTRY_POINTS)}, not {entry_point!r}")
        settings = settings or load_settings()
        # Overrides given as strings (load_settings(warehouse="...")) work as paths too.
        self.settings = settings.with_(**{k: Path(getattr(settings, k)) for k in ("warehouse", "access_file", "audit_dir")})
        self.entry_point = entry_point
        self.run_id = run_id or new_run_id()
        # a pipeline step's writes wait in the stage schema until the step succeeded (staging.py)
        self.stage = staging.wanted() if stage is None else bool(stage)
        self._audit = writer_for(self.settings.audit_dir)
        self.config: AccessConfig = load_access(self.settings.access_file)
        self._closed = False
        self._tx: _Transaction | None = None  # the open transaction, if any
        try:
            self.user: User = self.config.user(user)
        except LookupError as err:
            self._write_record(AuditRecord(user, "", entry_point, "denied", "denied", self.run_id, message=str(err)))
            raise
        self.role = self.config.role_of(self.user)
        default = not self.role.write or self.role.opens_read_only
        self.read_only = default if read_only is None else bool(read_only)
        self._ops = ops_for(self.settings)
        self.gate = ExecutionGate(self._record)
        audited = audited_backend_class(engines.backend_class(self.settings.engine))
        self._backend = self._ops.connect(read_only=self.read_only, cls=audited)
        self._backend._wb_gate = self.gate
        self._dialect = self._ops.dialect(self._backend)
        self._governed_cache: dict[str, Governed] = {}
        self._sql_cache: dict[str, sqlglot.exp.Expression] = {}
        self._prepared_queries: weakref.WeakSet[PreparedQuery] = weakref.WeakSet()
        # What the layers above keep for as long as the session lives (compiled query shapes ...); dropped on close.
        self.caches: dict[str, Any] = {}
        try:
            self.scope: Scope = resolve_scope(self.user, self.config.row_policy(self.role), self._store_rows())
        except Exception:
            self.close()
            raise

    # --- the public API ---------------------------------------------------------------

    @property
    def is_admin(self) -> bool:
        return self.role.name == ADMIN_ROLE

    def table(self, name: str) -> ir.Table:
        """The table with this user's row filter and column policies applied."""
        qualified = self._qualify(name, action="read")
        self._require_read(qualified, action="read")
        return self._governed(qualified).table

    def sql(self, query: str) -> ir.Table | None:
        """Run SQL through the same policies: parsed, checked, rewritten; returns an ibis table.

        For admin the SQL runs as written (bare names still mean ``core``);
        a non-query statement of admin's runs at once and returns ``None``.
        """
        self._require_open()
        try:
            tree = sqlguard.parse_statement(query, self._dialect)
        except (sqlguard.SqlSyntaxError, PermissionError) as err:
            if self.is_admin:
                return self._admin_statement(query)
            if isinstance(err, PermissionError):
                self._deny("sql", [], err, query=query)
            self._record(action="sql", status="error", query=query, message=str(err))
            raise
        if self.is_admin:
            return self._admin_sql(tree, query)
        return self._guarded_sql(tree, query)

    @property
    def runs_bound_sql(self) -> bool:
        """Whether this engine can :meth:`prepare` expressions (compile once, run with bound values)."""
        return self._ops.bound_sql

    def prepare(self, expr: ir.Table, params: Mapping[str, ir.Scalar]) -> PreparedQuery | None:
        """Compile a governed expression once, with a ``$name`` placeholder for each ibis parameter.

        Returns None when the engine's SQL cannot be templated safely (the
        caller then runs the expression as usual). Only :meth:`run_prepared`
        of this session runs the result.
        """
        self._require_open()
        with self.gate.internal():
            sql = self._ops.template(self._backend, expr, dict(params))
        if sql is None:
            return None
        prepared = PreparedQuery(expr, sql, tuple(params))
        self._prepared_queries.add(prepared)
        return prepared

    def run_prepared(self, prepared: PreparedQuery, values: Mapping[str, Any]) -> "pd.DataFrame":
        """Run a query :meth:`prepare` made, with ``values`` for its placeholders; as ``expr.to_pandas()``.

        Checked and audited as the expression it was compiled from (its
        tables and policies); SQL from anywhere else is refused.
        """
        self._require_open()
        if prepared not in self._prepared_queries:
            raise PermissionError("this query was not prepared by this session: prepare it with s.prepare()")
        if set(values) != set(prepared.names):
            raise ValueError(f"values for {sorted(prepared.names)} expected, got {sorted(values)}")
        schema = prepared.expr.schema()
        return self.gate.run("to_pandas", prepared.expr, (),
                             lambda: self._ops.run_bound(self._backend, prepared.sql, dict(values), schema))

    def tables(self) -> list[TableInfo]:
        """The tables this user may read, with the columns they see (masked ones marked)."""
        infos = []
        for qualified in self._existing_tables():
            if not self.config.can_read(self.role, qualified):
                continue
            governed = self._governed(qualified)
            cols = tuple(
                ColumnInfo(name, str(dtype.copy(nullable=True)), name in governed.masked)
                for name, dtype in governed.table.schema().items()
            )
            spec = TABLES.get(qualified) or OUTPUTS.get(qualified) or OPERATIONS.get(qualified) or LOGS.get(qualified)
            doc = spec.doc if spec else ("The audit log: every read, query, write and refusal." if qualified == "audit_log" else "")
            infos.append(TableInfo(qualified, doc, cols))
        return infos

    def table_exists(self, name: str) -> bool:
        """Whether a table the user may read or write exists (writers check before creating)."""
        qualified = self._qualify(name, action="read")
        if not (self.config.can_read(self.role, qualified) or self.config.can_write(self.role, qualified)):
            self._deny("read", [qualified], self._grant_message(qualified, "read or write", "no grant matches it"))
        return qualified in self._existing_tables()

    def write(self, table: str, data: Any, mode: str = "append", *, where: Mapping[str, Any] | None = None) -> int:
        """Write ``data`` to ``table`` under the role's write grants; returns rows written.

        ``mode``: ``append``; ``replace`` (all rows); ``replace_where`` (the rows
        matching ``where``, e.g. ``{"as_of": date}``: a re-run replaces its own
        output and never double-counts). The data must fit the table's columns;
        a missing table is created from the data. ``run_id`` is filled with the
        session's. On DuckDB each write is atomic, and writes inside
        ``s.transaction()`` commit together. A session opened with
        ``stage=True`` (a pipeline step's: ``WB_STAGE_WRITES=1``) keeps its
        writes in the stage schema until :meth:`publish`.
        """
        qualified = self._qualify(table, action="write")
        if mode not in writes.MODES:
            raise ValueError(f"mode must be one of {', '.join(writes.MODES)}, not {mode!r}")
        if (mode == "replace_where") != bool(where):
            raise ValueError("replace_where needs where={column: value, ...}; the other modes take no where")
        if not self.config.can_write(self.role, qualified):
            reason = f"no `write` grant of role {self.role.name!r} matches it"
            self._deny("write", [qualified], self._grant_message(qualified, "write", reason))
        if self.read_only:
            raise ReadOnlySession(
                f"this session of {self.user.name!r} is read-only; open it with "
                "wb.session(user, read_only=False) to write"
            )
        if mode == "replace_where" and not self._ops.deletes:
            self._ops.delete_where(self._backend, *qualified.split("."), dict(where))  # raises, saying why
        data = writes.to_arrow(data)
        outside = writes.rows_out_of_scope(data, self.scope, self.config.location_columns)
        if outside:
            self._deny("write", [qualified], f"{outside} row(s) are for locations outside the scope of "
                       f"{self.user.name!r} ({self.scope.describe()})")
        action = "stage" if self.stage else "write"
        record = AuditRecord(self.user.name, self.role.name, self.entry_point, action, "ok", self.run_id,
                             tables=[qualified], message=mode if not where else f"{mode} {dict(where)}")
        try:
            with self._atomic(), self.gate.internal():
                rows = (self._stage if self.stage else self._write)(qualified, data, mode, where)
        except Exception as err:
            if self._tx is not None:
                self._tx.failed = f"{qualified}: {type(err).__name__}: {err}"
            record.status, record.message = "error", f"{record.message}: {type(err).__name__}: {err}"[:2000]
            self._write_record(record)
            raise
        record.rows = rows
        if self._tx is not None:
            self._tx.records.append(record)  # written when the transaction ends, with its outcome
        else:
            self._write_record(record)
        return rows

    @contextmanager
    def transaction(self) -> Iterator["Session"]:
        """Writes inside commit together or not at all; a nested transaction joins the outer one."""
        if self._tx is not None:
            yield self
            return
        self._require_open()
        if self.read_only:
            raise ReadOnlySession(f"this session of {self.user.name!r} is read-only; transactions are for writes")
        self._ops.begin(self._backend)
        self._tx = tx = _Transaction()
        try:
            yield self
            if tx.failed:
                # DuckDB has no savepoints: a failed write may have done part of its work.
                raise TransactionFailed(f"a write in this transaction failed ({tx.failed}); nothing was committed")
        except BaseException as err:
            self._tx = None
            self._ops.rollback(self._backend)
            self._governed_cache.clear()
            self._sql_cache.clear()
            for rec in tx.records:
                rec.status, rec.message = "error", f"{rec.message}; rolled back: {type(err).__name__}: {err}"[:2000]
                self._write_record(rec)
            raise
        self._tx = None
        self._ops.commit(self._backend)
        for rec in tx.records:
            self._write_record(rec)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.caches.clear()
            # Drop t.cache() tables now: ibis would try at exit, on a closed connection.
            with self.gate.internal():
                for name in list(getattr(self._backend, "_cache_name_to_entry", {})):
                    self._backend._finalize_cached_table(name)
            self._ops.close(self._backend)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Session user={self.user.name} role={self.role.name} scope={self.scope.describe()} "
            f"run_id={self.run_id} {'read-only' if self.read_only else 'read-write'}>"
        )

    # --- reading ------------------------------------------------------------------

    def _qualify(self, name: str, *, action: str) -> str:
        self._require_open()
        try:
            return qualify(name)
        except PermissionError as err:
            self._deny(action, [name], err)

    def _grant_message(self, qualified: str, verb: str, reason: str) -> str:
        return (
            f"user {self.user.name!r} (role {self.role.name!r}) may not {verb} {qualified}: "
            f"{reason} in the policy file {self.config.path}. "
            f"See what you may read with `wb tables --user {self.user.name}`"
        )

    def _require_read(self, qualified: str, *, action: str, audit: bool = True) -> None:
        reason = self.config.read_decision(self.role, qualified)
        if reason is None:
            return
        message = self._grant_message(qualified, "read", reason)
        if audit:
            self._deny(action, [qualified], message)
        raise PermissionError(message)

    def _governed(self, qualified: str) -> Governed:
        """The governed expression for a readable table (built once per session)."""
        if qualified not in self._governed_cache:
            with self.gate.internal():
                base = self._base_table(qualified)
            rules = self.config.column_rules(self.role, base.columns)
            governed = govern(base, self.scope, self.config.location_columns, rules)
            self.gate.register(governed.table, Provenance("read", (qualified,), governed.policies))
            self._governed_cache[qualified] = governed
        return self._governed_cache[qualified]

    def _base_table(self, qualified: str) -> ir.Table:
        if qualified == "audit_log":
            return self._ops.audit_table(self._backend, self.settings.audit_dir)
        layer, name = qualified.split(".")
        if name not in self._ops.list_tables(self._backend, layer):
            raise TableNotFound(
                f"no table {qualified} in the warehouse at {self.settings.warehouse}. "
                f"See the tables you may read with `wb tables --user {self.user.name}`"
            )
        try:
            return self._backend.table(name, database=layer)
        except ibis_exc.TableNotFound:
            raise TableNotFound(f"no table {qualified} in the warehouse at {self.settings.warehouse}") from None

    def _governed_sql(self, qualified: str) -> sqlglot.exp.Expression:
        """The governed expression as a parsed SQL tree, to splice into a user's query."""
        if qualified not in self._sql_cache:
            with self.gate.internal():
                compiled = self._backend.compile(self._governed(qualified).table)
            self._sql_cache[qualified] = sqlglot.parse_one(compiled, read=self._dialect)
        return self._sql_cache[qualified]

    def _refuse_hidden_columns(self, tree: sqlglot.exp.Expression, governed: Mapping[str, Governed]) -> None:
        named = sqlguard.column_names(tree)
        for qualified, g in governed.items():
            for col, policy in g.hidden.items():
                if col.lower() in named:
                    raise PermissionError(
                        f"column {col} of {qualified} is hidden from role {self.role.name!r} "
                        f"by column policy {policy!r} in {self.config.path}"
                    )

    def _guarded_sql(self, tree: sqlglot.exp.Expression, query: str) -> ir.Table:
        """Check a non-admin query and splice each user's governed tables into it."""
        tables: list[str] = []
        try:
            sqlguard.check_read_only(tree)
            refs = [(ref, qualify_parts(sqlguard.reference_parts(ref), ref.sql())) for ref in sqlguard.table_references(tree)]
            tables = sorted({q for _, q in refs})
            for qualified in tables:
                self._require_read(qualified, action="sql", audit=False)
            governed = {q: self._governed(q) for q in tables}
            self._refuse_hidden_columns(tree, governed)
            for ref, qualified in refs:
                sqlguard.substitute(ref, self._governed_sql(qualified).copy())
            final = sqlguard.render(tree, self._dialect)
        except PermissionError as err:
            self._deny("sql", tables, err, query=query)
        except (LookupError, RecursionError) as err:
            self._record(action="sql", status="error", tables=tables, query=query, message=str(err))
            if isinstance(err, RecursionError):
                raise sqlguard.SqlSyntaxError("the query is nested too deeply to check; simplify it") from None
            raise
        expr = self._bind(final, query, tables)
        policies = tuple(sorted({p for q in tables for p in governed[q].policies}))
        return self.gate.register(expr, Provenance("sql", tuple(tables), policies, query))

    def _admin_sql(self, tree: sqlglot.exp.Expression, query: str) -> ir.Table | None:
        """Admin's SQL runs as written; bare names that are core tables get their layer."""
        if not isinstance(tree, (sqlglot.exp.Select, sqlglot.exp.SetOperation, sqlglot.exp.Subquery)):
            return self._admin_statement(query)
        with self.gate.internal():
            core = set(self._ops.list_tables(self._backend, "core"))
        tables = []
        for ref in sqlguard.table_references(tree):
            parts = sqlguard.reference_parts(ref)
            if isinstance(ref.this, sqlglot.exp.Identifier) and len(parts) == 1 and parts[0] in core:
                sqlguard.rename(ref, "core", parts[0])
                tables.append(f"core.{parts[0]}")
            elif isinstance(ref.this, sqlglot.exp.Identifier):
                tables.append(".".join(parts))
        expr = self._bind(sqlguard.render(tree, self._dialect), query, tables)
        return self.gate.register(expr, Provenance("sql", tuple(sorted(set(tables))), (), query))

    def _bind(self, final: str, query: str, tables: list[str]) -> ir.Table:
        """Hand the checked SQL to the engine, which binds names and types (not yet run)."""
        try:
            with self.gate.internal():
                return self._backend.sql(final)
        except Exception as err:  # the engine's own error types differ per engine
            self._record(action="sql", status="error", tables=tables, query=query, message=_first_line(err))
            raise sqlguard.SqlError(f"the engine rejected the query: {_first_line(err)}") from err

    def _admin_statement(self, query: str) -> None:
        """A statement of admin's that is not one read query: run as written, audited."""
        try:
            with self.gate.internal():
                self._backend.raw_sql(query)
        except Exception as err:  # the engine's own error types differ per engine
            self._record(action="sql", status="error", query=query, message=_first_line(err))
            raise sqlguard.SqlError(f"the engine rejected the statement: {_first_line(err)}") from err
        self._record(action="sql", status="ok", query=query, message="statement")
        self._governed_cache.clear()
        self._sql_cache.clear()
        return None

    def _existing_tables(self) -> list[str]:
        with self.gate.internal():
            found = [f"{layer}.{t}" for layer in LAYERS for t in sorted(self._ops.list_tables(self._backend, layer))]
        return found + list(VIRTUAL_TABLES)

    def _store_rows(self) -> list[dict] | None:
        policy = self.config.row_policy(self.role)
        if policy is None:
            return None
        with self.gate.internal():
            if "stores" not in self._ops.list_tables(self._backend, "core"):
                return None
            stores = self._backend.table("stores", database="core")
            cols = list(dict.fromkeys(["store_id", "store_code", policy.match]))
            return stores.select(cols).to_pyarrow().to_pylist()

    # --- writing -------------------------------------------------------------------

    def _atomic(self):
        return self.transaction() if self._ops.transactions else nullcontext()

    def _prepared(self, qualified: str, data, mode: str, where: Mapping[str, Any] | None):
        """The target's schema (existing or new) and the data conformed to it; raises before any change."""
        layer, name = qualified.split(".")
        exists = name in self._ops.list_tables(self._backend, layer)
        target = self._backend.table(name, database=layer).schema() if exists else writes.new_table_schema(data)
        prepared = writes.conform(data, target, self.run_id)
        if mode == "replace_where":
            unknown = [c for c in where if c not in target]
            if unknown:
                raise writes.SchemaMismatch(f"replace_where columns not in {qualified}: {', '.join(unknown)}")
            stray = writes.rows_outside_where(prepared, where)
            if stray:
                raise ValueError(f"{stray} row(s) of the data do not match where={dict(where)}; a re-run could not replace them")
        return target, prepared

    def _write(self, qualified: str, data, mode: str, where: Mapping[str, Any] | None) -> int:
        # Every check comes before the first change, so a refused write changes nothing.
        target, prepared = self._prepared(qualified, data, mode, where)
        self._apply(qualified, target, prepared, mode, where)
        return prepared.num_rows

    def _apply(self, qualified: str, target, rows, mode: str, where: Mapping[str, Any] | None) -> None:
        """Change the table: create it if missing, remove what the mode replaces, insert ``rows``."""
        layer, name = qualified.split(".")
        if name not in self._ops.list_tables(self._backend, layer):
            self._ops.create_table(self._backend, layer, name, target)
        if mode == "replace_where":
            self._ops.delete_where(self._backend, layer, name, dict(where))
        self._ops.insert(self._backend, layer, name, rows, overwrite=(mode == "replace"))
        self._governed_cache.pop(qualified, None)
        self._sql_cache.pop(qualified, None)

    def _stage(self, qualified: str, data, mode: str, where: Mapping[str, Any] | None) -> int:
        if not (self._ops.transactions and self._ops.deletes):
            raise NotImplementedError(f"staged writes are not implemented on {self._ops.name}: publishing "
                                      "needs transactions and deletes; run pipelines on duckdb")
        target, prepared = self._prepared(qualified, data, mode, where)
        staging.stage(self._backend, self._ops, qualified, target, prepared, mode, where, self.run_id)
        return prepared.num_rows

    # --- publishing staged writes (the pipeline runner, once a step succeeded) ---------

    def publish(self, run_id: str | None = None) -> dict[str, int]:
        """Apply the writes staged under ``run_id`` (default: this session's) to their tables, in the
        order they were made, and clear them; rows per table. Each is checked against this session's
        grants again and audited as a write. Call it inside :meth:`transaction` to look at the result
        before it commits (the runner runs the step's data checks there)."""
        run_id = run_id or self.run_id
        self._require_open()
        published: dict[str, int] = {}
        with self._atomic(), self.gate.internal():
            for w in staging.staged(self._backend, self._ops, run_id):
                if not self.config.can_write(self.role, w.table):
                    self._deny("write", [w.table], f"publishing run {run_id}: no `write` grant of role "
                                                   f"{self.role.name!r} matches {w.table}")
                rows = staging.rows_of(self._backend, w)
                self._apply(w.table, rows.schema(), rows, w.mode, w.where)
                published[w.table] = published.get(w.table, 0) + w.rows
                message = (w.mode if not w.where else f"{w.mode} {w.where}") + f"; published from run {run_id}"
                self._tx.records.append(AuditRecord(self.user.name, self.role.name, self.entry_point, "write", "ok",
                                                    self.run_id, tables=[w.table], rows=w.rows, message=message))
            staging.discard(self._backend, self._ops, run_id)
        return published

    def discard_staged(self, run_id: str | None = None) -> int:
        """Drop the writes staged under ``run_id`` (a failed step's); how many there were."""
        self._require_open()
        with self._atomic(), self.gate.internal():
            return staging.discard(self._backend, self._ops, run_id or self.run_id)

    # --- audit --------------------------------------------------------------------

    def _record(self, *, action: str, status: str, tables=(), policies=(), rows=None, query=None, message=None) -> None:
        self._write_record(AuditRecord(
            self.user.name, self.role.name, self.entry_point, action, status, self.run_id,
            tables=list(tables), policies=list(policies), rows=rows, query=query, message=message,
        ))

    def _write_record(self, record: AuditRecord) -> None:
        self._audit.write(record)

    def _deny(self, attempted: str, tables: list[str], reason: str | PermissionError, *, query: str | None = None):
        """Audit a refusal, then raise it. ``attempted`` is what was tried (read | sql | write)."""
        self._record(action="denied", status="denied", tables=tables, query=query, message=f"{attempted}: {reason}")
        raise reason if isinstance(reason, PermissionError) else PermissionError(reason)

    def _require_open(self) -> None:
        if self._closed:
            raise RuntimeError("this session is closed; open a new one with workbench.session(user)")


def session(
    user: str,
    settings: Settings | None = None,
    read_only: bool | None = None,
    run_id: str | None = None,
    entry_point: str = "python",
    stage: bool | None = None,
) -> Session:
    """Open a governed session for ``user`` (see ``wb users``).

    ``read_only=None``: read-only unless the user's role has a write grant and is not
    marked ``opens_read_only`` (DuckDB allows one writing process per file, so readers
    should not hold it).
    """
    return Session(user, settings=settings, read_only=read_only, run_id=run_id, entry_point=entry_point, stage=stage)
