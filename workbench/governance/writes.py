"""Governed writes: checking data against the target table before anything is written.

Pure functions over Arrow data and ibis schemas. The session calls them, then
hands the conformed data to the engine (``backends.py``) inside a transaction.
A write that does not fit the table fails with every mismatch listed, so the
caller fixes the data once, not column by column.
"""

from __future__ import annotations

from typing import Any, Mapping

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
import pyarrow.compute as pc

from workbench.governance.scope import Scope, location_columns_of

MODES = ("append", "replace", "replace_where")
RUN_ID = "run_id"


class SchemaMismatch(ValueError):
    """The data does not fit the existing table; the message lists every problem."""


def to_arrow(data: Any) -> pa.Table:
    """Accept an Arrow table or batch, or a pandas DataFrame (its index is dropped)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"write() takes a pyarrow.Table or a pandas.DataFrame, not {type(data).__name__}")


def _castable(src: dt.DataType, dst: dt.DataType) -> bool:
    """Casts that cannot change meaning (a lossy value still fails the cast itself)."""
    if src.copy(nullable=True) == dst.copy(nullable=True) or src.is_null():
        return True
    if dst.is_integer():
        return src.is_integer() or src.is_floating()  # floats only if whole: the safe cast checks
    if dst.is_floating() or dst.is_decimal():
        return src.is_numeric()
    if dst.is_string():
        return src.is_string()
    if dst.is_timestamp():
        return src.is_timestamp()
    return False


def _plain(t: dt.DataType) -> str:
    return str(t.copy(nullable=True))


def mismatches(data: pa.Table, target: ibis.Schema) -> list[str]:
    """Every way ``data`` does not fit ``target`` (``run_id`` is filled by the session)."""
    have = ibis.Schema.from_pyarrow(data.schema)
    problems = []
    missing = [c for c in target.names if c not in have and c != RUN_ID]
    extra = [c for c in have.names if c not in target]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"columns the table does not have: {', '.join(extra)}")
    for col in have.names:
        if col in target and col != RUN_ID:
            if not _castable(have[col], target[col]):
                problems.append(f"{col}: data is {_plain(have[col])}, table wants {_plain(target[col])}")
            elif not target[col].nullable and data.column(col).null_count:
                problems.append(f"{col}: {data.column(col).null_count} null value(s), the table requires a value")
    return problems


def conform(data: pa.Table, target: ibis.Schema, run_id: str) -> pa.Table:
    """Columns in the table's order and types, ``run_id`` filled. Raises SchemaMismatch."""
    problems = mismatches(data, target)
    if problems:
        raise SchemaMismatch("; ".join(problems))
    arrays, fields = [], []
    for name, dtype in target.items():
        arrow_type = dtype.to_pyarrow()
        if name == RUN_ID:
            arrays.append(pa.array([run_id] * data.num_rows, type=arrow_type))
        else:
            try:
                arrays.append(data.column(name).cast(arrow_type, safe=True))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise SchemaMismatch(f"{name}: cannot convert to {_plain(dtype)}: {err}") from None
        fields.append(pa.field(name, arrow_type, nullable=dtype.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def new_table_schema(data: pa.Table) -> ibis.Schema:
    """Schema for a table created by its first write: the data's columns plus ``run_id``."""
    schema = ibis.Schema.from_pyarrow(data.schema)
    if any(t.is_null() for t in schema.types):
        nulls = [n for n, t in schema.items() if t.is_null()]
        raise SchemaMismatch(f"cannot create a table from all-null columns {', '.join(nulls)}: give them a type")
    fields = {n: t.copy(nullable=True) for n, t in schema.items() if n != RUN_ID}
    fields[RUN_ID] = dt.string
    return ibis.schema(fields)


def _mask(column: pa.ChunkedArray, value: Any) -> pa.ChunkedArray:
    if value is None:
        return pc.is_null(column)
    return pc.fill_null(pc.equal(column, pa.scalar(value).cast(column.type)), False)


def rows_outside_where(data: pa.Table, where: Mapping[str, Any]) -> int:
    """Rows of the new data that ``where`` would not select (they would survive the next replace)."""
    missing = [c for c in where if c not in data.column_names]
    if missing:
        raise SchemaMismatch(f"replace_where columns not in the data: {', '.join(missing)}")
    inside = pa.chunked_array([pa.array([True] * data.num_rows, type=pa.bool_())])  # typed: 0 rows is null-typed
    for col, value in where.items():
        inside = pc.and_(inside, _mask(data.column(col), value))
    return data.num_rows - pc.sum(inside.cast(pa.int64())).as_py() if data.num_rows else 0


def rows_out_of_scope(data: pa.Table, scope: Scope, location_columns: Mapping[str, str]) -> int:
    """Rows a scoped writer could not read back: none of their locations is in scope."""
    cols = location_columns_of(data.column_names, location_columns)
    if scope.unrestricted or not cols or not data.num_rows:
        return 0
    visible = pa.chunked_array([pa.array([False] * data.num_rows, type=pa.bool_())])
    for col in cols:
        keys = pa.array(scope.keys_for(location_columns[col])).cast(data.column(col).type)
        visible = pc.or_(visible, pc.fill_null(pc.is_in(data.column(col), value_set=keys), False))
    return data.num_rows - pc.sum(visible.cast(pa.int64())).as_py()
