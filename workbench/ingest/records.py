"""The rows ingest writes besides the data: lineage, quarantine and the ingest log.

Their schemas are fixed here so that every load appends the same columns
(the session creates each table from the first write's schema) and so that
``wb query`` users can rely on the names. The session adds ``run_id``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.ingest.contracts import LINEAGE_SCHEMA, Contract
from workbench.ingest.readers import RawFile

QUARANTINE_TABLE = "raw.quarantine"
LOG_TABLE = "raw.ingest_log"

QUARANTINE_SCHEMA = pa.schema(
    [
        ("ingest_id", pa.string()),
        ("table_name", pa.string()),  # not "table": a SQL keyword users would have to quote
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("reason", pa.string()),  # every reason, joined with '; '
        ("record", pa.string()),  # the row as it was in the file: JSON {header: text}
        ("quarantined_at", pa.timestamp("us")),
    ]
)

LOG_SCHEMA = pa.schema(
    [
        ("ingest_id", pa.string()),
        ("table_name", pa.string()),
        ("source_file", pa.string()),
        ("source_path", pa.string()),
        ("file_sha256", pa.string()),
        ("file_bytes", pa.int64()),
        ("file_format", pa.string()),
        ("encoding", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_duplicate", pa.int64()),
        ("user_name", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("finished_at", pa.timestamp("us")),
        ("status", pa.string()),  # loaded | partial (some rows quarantined) | nothing_loaded
    ]
)


def new_ingest_id(now: dt.datetime) -> str:
    """Sortable by time and unique: 20250301T101500-1a2b3c4d."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def utc_now() -> dt.datetime:
    """Naive UTC, as stored (engines disagree on time zones; the column doc says UTC)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def with_lineage(typed: pa.Table, contract: Contract, ingest_id: str, source_file: str, source_row: np.ndarray, loaded_at: dt.datetime) -> pa.Table:
    """Good rows as ``raw.<table>`` stores them: the contract's columns, then where each row came from."""
    n = typed.num_rows
    lineage = [
        pa.array([ingest_id] * n, pa.string()),
        pa.array([source_file] * n, pa.string()),
        pa.array(source_row, pa.int64()),
        pa.array([loaded_at] * n, pa.timestamp("us")),
    ]
    return pa.Table.from_arrays(typed.select(contract.column_names).columns + lineage, schema=contract.raw_schema())


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _records(raw: RawFile, positions: np.ndarray) -> pa.Array:
    """The original cells of some rows as JSON, keyed by the file's own headers (nothing renamed,
    nothing typed). DuckDB's ``to_json`` escapes correctly and is vectorised: a file whose every
    row is bad still quarantines in seconds."""
    headers = [h or f"column {i + 1}" for i, h in enumerate(raw.headers)]
    rows = raw.table.take(pa.array(positions, pa.int64())).append_column("__i", pa.array(np.arange(positions.size)))
    fields = ", ".join(f"{_identifier(h)} := c{i}" for i, h in enumerate(headers))
    con = duckdb.connect()
    try:
        con.register("bad_rows", rows)
        return con.execute(f"SELECT to_json(struct_pack({fields}))::VARCHAR AS record FROM bad_rows ORDER BY __i").to_arrow_table().column(0).combine_chunks()
    finally:
        con.close()


@dataclass(frozen=True)
class Quarantined:
    """Bad rows of one load, before they become ``raw.quarantine`` rows."""

    positions: np.ndarray  # rows of ``RawFile.table``
    reasons: pa.Array  # one string per position


def quarantine_table(raw: RawFile, bad: Sequence[Quarantined], contract: Contract, ingest_id: str, at: dt.datetime) -> pa.Table:
    """One row per bad input row, in file order, with the reasons and the original record."""
    positions = np.concatenate([b.positions for b in bad] + [np.empty(0, np.int64)]).astype(np.int64)
    reasons = pa.concat_arrays([b.reasons.cast(pa.string()) for b in bad] + [pa.array([], pa.string())])
    records = _records(raw, positions) if positions.size else pa.array([], pa.string())
    rows = raw.source_row[positions]
    if raw.rejected:
        # Lines that could not be split into cells keep their text as the record.
        rows = np.concatenate([rows, [r.source_row if r.source_row is not None else -1 for r in raw.rejected]])
        reasons = pa.concat_arrays([reasons, pa.array([r.reason for r in raw.rejected], pa.string())])
        records = pa.concat_arrays([records, pa.array([json.dumps({"line": r.text}, ensure_ascii=False) for r in raw.rejected], pa.string())])
    order = pa.array(np.argsort(rows, kind="stable"))
    n = len(rows)
    source_row = pa.array(rows, pa.int64())
    return pa.table(
        {
            "ingest_id": pa.array([ingest_id] * n, pa.string()),
            "table_name": pa.array([contract.table] * n, pa.string()),
            "source_file": pa.array([raw.path.name] * n, pa.string()),
            "source_row": pc.if_else(pc.equal(source_row, -1), pa.scalar(None, pa.int64()), source_row).take(order),
            "reason": reasons.take(order),
            "record": records.take(order),
            "quarantined_at": pa.array([at] * n, pa.timestamp("us")),
        },
        schema=QUARANTINE_SCHEMA,
    )


def log_table(**values) -> pa.Table:
    """The one ``raw.ingest_log`` row of a load (keyword per column of ``LOG_SCHEMA``)."""
    missing = set(LOG_SCHEMA.names) - set(values)
    if missing:
        raise TypeError(f"log_table() lacks {sorted(missing)}")
    return pa.table({name: [values[name]] for name in LOG_SCHEMA.names}, schema=LOG_SCHEMA)


__all__ = ["QUARANTINE_SCHEMA", "LOG_SCHEMA", "LINEAGE_SCHEMA", "QUARANTINE_TABLE", "LOG_TABLE", "Quarantined", "quarantine_table", "log_table", "with_lineage", "new_ingest_id", "utc_now"]
