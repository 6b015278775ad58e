"""The few things the door does differently per engine, kept in one place.

Everything else in ``workbench.governance`` speaks ibis and sqlglot and runs
unchanged on any engine (DESIGN invariant 2). Here: opening the connection,
reading the audit files, listing tables, and writing (DDL, insert, delete,
transactions). An engine that cannot do something raises
``NotImplementedError`` with the reason, which the compliance suite marks.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlglot import exp

from workbench.config import Settings
from workbench.governance.audit import AUDIT_SCHEMA, audit_glob
from workbench.warehouse import engines


class EngineOps:
    """Base: what every engine shares. Subclasses fill in the engine-specific parts."""

    name = "base"
    transactions = False
    deletes = False  # can delete rows (replace_where)
    bound_sql = False  # can run compiled SQL with ``$name`` parameters bound (run_bound)

    def __init__(self, settings: Settings):
        self.settings = settings

    def connect(self, *, read_only: bool, cls: type):
        return engines.connect(self.settings, read_only=read_only, cls=cls)

    def dialect(self, backend):
        return backend.compiler.dialect

    def list_tables(self, backend, layer: str) -> list[str]:
        try:
            return list(backend.list_tables(database=layer))
        except PermissionError:
            raise
        except Exception:  # Spark: the layer (database) does not exist yet
            return []

    def _finish_audit(self, table: ir.Table) -> ir.Table:
        return table.mutate(ts=table.ts.cast("timestamp"))

    def audit_table(self, backend, audit_dir: Path) -> ir.Table:
        raise NotImplementedError(f"reading the audit log is not implemented on {self.name}")

    # --- writes (all run inside the session's gate, so they are not audited twice) ---

    def create_table(self, backend, layer: str, name: str, schema: ibis.Schema) -> None:
        raise NotImplementedError(f"creating tables is not implemented on {self.name}")

    def insert(self, backend, layer: str, name: str, data: pa.Table, *, overwrite: bool = False) -> None:
        raise NotImplementedError(f"writing is not implemented on {self.name}")

    def delete_where(self, backend, layer: str, name: str, where: dict) -> None:
        raise NotImplementedError(f"replace_where (deleting rows) is not implemented on {self.name}")

    def begin(self, backend) -> None:
        raise NotImplementedError(f"transactions are not implemented on {self.name}")

    commit = rollback = begin

    def template(self, backend, expr: ir.Table, params: dict[str, ir.Scalar]) -> str | None:
        raise NotImplementedError(f"compiling with placeholders is not implemented on {self.name}")

    def run_bound(self, backend, sql: str, values: dict, schema: ibis.Schema):
        raise NotImplementedError(f"running SQL with bound parameters is not implemented on {self.name}")

    def close(self, backend) -> None:
        backend.disconnect()


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def where_clause(where: dict) -> exp.Expression:
    """``{"col": value}`` as ``col = value AND ...`` (None as IS NULL), values as literals."""
    terms = []
    for col, value in where.items():
        column = exp.column(col, quoted=True)
        terms.append(exp.Is(this=column, expression=exp.Null()) if value is None else column.eq(exp.convert(value)))
    return exp.and_(*terms)


@contextmanager
def _unfused_selects():
    """Compile without merging nested SELECTs: that is half of ibis' compile time, and DuckDB's optimizer does it."""
    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


class DuckDBOps(EngineOps):
    name = "duckdb"
    transactions = True
    deletes = True
    bound_sql = True

    def template(self, backend, expr, params):
        """``expr``'s SQL with a ``$name`` placeholder for each parameter (None if that cannot be done).

        ibis writes parameters as literals, so it compiles with stand-ins no
        query uses (days of the year 1111, random strings) and swaps their
        literals for placeholders. A stand-in missing or left over means the
        SQL is not what we think: None, and the caller compiles each time.
        """
        import re
        import secrets

        token = f"wbparam{secrets.token_hex(4)}"
        stand_ins, patterns = {}, {}
        for i, (name, param) in enumerate(params.items()):
            if param.type().is_date():
                day = dt.date(1111, 1, 1) + dt.timedelta(days=i)
                stand_ins[param] = day
                patterns[name] = re.compile(rf"MAKE_DATE\(\s*{day.year},\s*{day.month},\s*{day.day}\s*\)")
            elif param.type().is_string():
                stand_ins[param] = f"{token}_{i}"
                patterns[name] = re.compile(re.escape(f"'{token}_{i}'"))
            elif param.type().is_array() and param.type().value_type.is_string():
                stand_ins[param] = [f"{token}_{i}"]
                patterns[name] = re.compile(re.escape(f"['{token}_{i}']"))
            else:
                return None
        with _unfused_selects():
            sql = backend.compile(expr, params=stand_ins)
        for name, pattern in patterns.items():
            sql, count = pattern.subn(f"${name}", sql)
            if count == 0:
                return None
        # a stand-in written some other way (a date string, a cast) would be left over: refuse to guess
        return None if re.search(rf"MAKE_DATE\(\s*1111\b|\b1111-\d\d-\d\d|{token}", sql) else sql

    def run_bound(self, backend, sql, values, schema):
        """``sql`` with its ``$name`` parameters bound, as a pandas frame typed as ibis types it."""
        import pandas as pd
        import pyarrow.types as pat
        from ibis.backends.duckdb.converter import DuckDBPandasData

        table = backend.con.sql(sql, params=values or None).to_arrow_table()
        # As ibis' DuckDB execute() does, so that a frame is the same as from expr.to_pandas().
        frame = pd.DataFrame({
            name: col.to_pylist() if (pat.is_nested(col.type) or pat.is_dictionary(col.type) or col.null_count)
            else col.to_pandas()
            for name, col in zip(table.column_names, table.columns)
        })
        return DuckDBPandasData.convert_table(frame, schema)

    def connect(self, *, read_only: bool, cls: type):
        import duckdb

        try:
            return super().connect(read_only=read_only, cls=cls)
        except duckdb.ConnectionException as err:
            if "different configuration" not in str(err):
                raise
            if read_only:
                # This process already holds the file read-write (another session):
                # DuckDB cannot add a read-only connection, so share the mode; the
                # session itself stays read-only (writes are refused at the door).
                return super().connect(read_only=False, cls=cls)
            raise RuntimeError(
                f"this process already has a read-only session on {self.settings.warehouse}; close it "
                "before opening one that writes, or pass read_only=True to only read "
                "(DuckDB allows one access mode per file and process)"
            ) from None

    def audit_table(self, backend, audit_dir: Path) -> ir.Table:
        from ibis.backends.sql.datatypes import DuckDBType

        columns = ", ".join(f"{_quote(n)}: {_quote(DuckDBType.to_string(t))}" for n, t in AUDIT_SCHEMA.items())
        query = (
            f"SELECT * FROM read_json({_quote(audit_glob(audit_dir))}, "
            f"format = 'newline_delimited', columns = {{{columns}}})"
        )
        return self._finish_audit(backend.sql(query, schema=AUDIT_SCHEMA))

    def create_table(self, backend, layer, name, schema):
        # Not ibis's create_database(force=True): that is CREATE OR *REPLACE* SCHEMA.
        backend.raw_sql(exp.Create(this=exp.to_identifier(layer, quoted=True), kind="SCHEMA", exists=True).sql("duckdb"))
        backend.create_table(name, schema=schema, database=layer)

    def insert(self, backend, layer, name, data, *, overwrite=False):
        if overwrite:
            backend.raw_sql(exp.delete(exp.table_(name, db=layer, quoted=True)).sql("duckdb"))
        backend.insert(name, obj=data, database=layer)

    def delete_where(self, backend, layer, name, where):
        stmt = exp.delete(exp.table_(name, db=layer, quoted=True), where=where_clause(where))
        backend.raw_sql(stmt.sql("duckdb"))

    def begin(self, backend):
        backend.con.begin()

    def commit(self, backend):
        backend.con.commit()

    def rollback(self, backend):
        backend.con.rollback()


class SparkOps(EngineOps):
    """Spark over Parquet folders: appends and whole-table replaces; no deletes, no transactions."""

    name = "pyspark"

    def audit_table(self, backend, audit_dir: Path) -> ir.Table:
        from ibis.backends.pyspark.datatypes import PySparkSchema

        frame = backend._session.read.schema(PySparkSchema.from_ibis(AUDIT_SCHEMA)).json(audit_glob(audit_dir))
        frame.createOrReplaceTempView("wb_audit_log")
        return self._finish_audit(backend.table("wb_audit_log"))

    def _frame(self, backend, data: pa.Table):
        from ibis.backends.pyspark.datatypes import PySparkSchema

        return backend._session.createDataFrame(data.to_pandas(), schema=PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(data.schema)))

    def create_table(self, backend, layer, name, schema):
        # An external table in the warehouse folder, where the next connect finds it again.
        location = Path(self.settings.warehouse) / layer / name
        backend._session.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
        empty = pa.Table.from_pylist([], schema=schema.to_pyarrow())
        self._frame(backend, empty).write.format("parquet").option("path", location.as_posix()).saveAsTable(f"{layer}.{name}")

    def insert(self, backend, layer, name, data, *, overwrite=False):
        # insertInto matches columns by position; the caller conformed them to the table's order.
        self._frame(backend, data).write.insertInto(f"{layer}.{name}", overwrite=overwrite)

    def delete_where(self, backend, layer, name, where):
        raise NotImplementedError(
            "replace_where is not implemented on pyspark: Parquet tables cannot delete rows; "
            "use mode='replace' or the duckdb engine"
        )

    def begin(self, backend):
        raise NotImplementedError("transactions are not implemented on pyspark: Parquet tables have no multi-write commit")

    commit = rollback = begin

    def close(self, backend) -> None:
        # One Spark session serves the whole process; stopping it would break the next session.
        pass


def ops_for(settings: Settings) -> EngineOps:
    kinds = {"duckdb": DuckDBOps, "pyspark": SparkOps}
    if settings.engine not in kinds:
        raise ValueError(f"the governed door does not support engine {settings.engine!r} (known: {', '.join(kinds)})")
    return kinds[settings.engine](settings)
