"""Staged writes: a pipeline step's outputs wait under its run id until the step has succeeded.

A pipeline step runs its notebook with ``WB_STAGE_WRITES=1`` in the
environment (the runner sets it). Every governed write of that process then
passes all the door's checks (grants, scope, the table's columns, the
``replace_where`` rule) but lands in the ``stage`` schema instead of its
table: the rows in a table of the run's own, the write itself (table, mode,
where) as a line of ``stage.writes``. No reader sees anything change, and
``stage`` is not a layer, so no governed read can reach it.

When the notebook has ended well, the runner publishes in one transaction:
the run's writes are replayed in order against the real tables, the step's
data checks read the result, and the transaction commits only if they hold.
A failed, killed or unchecked step therefore leaves the previous outputs in
place (issue 5's atomic swap), and its staged rows are dropped.

The functions here do the bookkeeping with the engine's own primitives
(``backends.py``); the session checks grants and writes the audit records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping

import ibis
import pyarrow as pa

SCHEMA = "stage"
WRITES = "writes"  # stage.writes: one row per staged write
ENV = "WB_STAGE_WRITES"  # "1": this process's sessions stage their writes (set by the pipeline runner)
RUN, SEQ = "_stage_run", "_stage_seq"

WRITES_SCHEMA = ibis.schema({
    "run_id": "string", "seq": "int64", "table_name": "string", "mode": "string", "where_json": "string",
    "rows": "int64", "staged_at": "timestamp",
})


def wanted() -> bool:
    """Whether this process was asked to stage its writes (``WB_STAGE_WRITES=1``)."""
    return os.environ.get(ENV, "") == "1"


@dataclass(frozen=True)
class StagedWrite:
    """One write waiting to be published: its place in the run, its table, how it replaces, its rows."""

    seq: int
    table: str  # layer.name
    mode: str
    where: dict[str, Any] | None
    rows: int
    staged_table: str  # in the stage schema


def staged_table(table: str, run_id: str) -> str:
    """The stage table holding ``run_id``'s rows for ``table``: one per run, so it always has the table's
    columns of the day and is dropped whole."""
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:12]
    return f"{table.replace('.', '__')}__{digest}"


def stage(backend, ops, table: str, target: ibis.Schema, data: pa.Table, mode: str,
          where: Mapping[str, Any] | None, run_id: str) -> None:
    """Keep ``data`` (already conformed to ``target``) and the write under ``run_id``; the caller holds a
    transaction, so the rows and their line in ``stage.writes`` are kept together or not at all."""
    writes = _writes_table(backend, ops)
    seq = int(writes.filter(writes.run_id == run_id).count().execute()) + 1
    name = staged_table(table, run_id)
    if name not in ops.list_tables(backend, SCHEMA):
        ops.create_table(backend, SCHEMA, name, ibis.schema({**target, RUN: "string", SEQ: "int64"}))
    tagged = data.append_column(RUN, pa.array([run_id] * data.num_rows, pa.string()))
    ops.insert(backend, SCHEMA, name, tagged.append_column(SEQ, pa.array([seq] * data.num_rows, pa.int64())))
    line = {"run_id": [run_id], "seq": [seq], "table_name": [table], "mode": [mode],
            "where_json": [encode_where(where)], "rows": [data.num_rows],
            "staged_at": [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)]}
    ops.insert(backend, SCHEMA, WRITES, pa.table(line, schema=WRITES_SCHEMA.to_pyarrow()))


def staged(backend, ops, run_id: str) -> list[StagedWrite]:
    """``run_id``'s staged writes, in the order they were made."""
    if WRITES not in ops.list_tables(backend, SCHEMA):
        return []
    writes = backend.table(WRITES, database=SCHEMA)
    rows = writes.filter(writes.run_id == run_id).order_by("seq").to_pyarrow().to_pylist()
    return [StagedWrite(r["seq"], r["table_name"], r["mode"], decode_where(r["where_json"]), r["rows"],
                        staged_table(r["table_name"], run_id)) for r in rows]


def rows_of(backend, write: StagedWrite) -> ibis.Table:
    """The rows of one staged write, without the stage's own columns."""
    t = backend.table(write.staged_table, database=SCHEMA)
    return t.filter(t[SEQ] == write.seq).drop(RUN, SEQ)


def discard(backend, ops, run_id: str) -> int:
    """Drop ``run_id``'s staged rows and writes; how many writes were dropped."""
    found = staged(backend, ops, run_id)
    for name in sorted({w.staged_table for w in found}):
        backend.drop_table(name, database=SCHEMA, force=True)
    if found:
        ops.delete_where(backend, SCHEMA, WRITES, {"run_id": run_id})
    return len(found)


def _writes_table(backend, ops) -> ibis.Table:
    if WRITES not in ops.list_tables(backend, SCHEMA):
        ops.create_table(backend, SCHEMA, WRITES, WRITES_SCHEMA)
    return backend.table(WRITES, database=SCHEMA)


# ``where`` values are dates, numbers or text; JSON keeps the date's type by a tag.
def encode_where(where: Mapping[str, Any] | None) -> str | None:
    if where is None:
        return None
    return json.dumps({k: {"date": v.isoformat()} if isinstance(v, dt.date) and not isinstance(v, dt.datetime)
                       else {"timestamp": v.isoformat()} if isinstance(v, dt.datetime) else v
                       for k, v in where.items()})


def decode_where(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None

    def value(v: Any) -> Any:
        if isinstance(v, dict) and "date" in v:
            return dt.date.fromisoformat(v["date"])
        if isinstance(v, dict) and "timestamp" in v:
            return dt.datetime.fromisoformat(v["timestamp"])
        return v

    return {k: value(v) for k, v in json.loads(text).items()}
