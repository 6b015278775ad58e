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

import numpy as np
import pyarrow as pa

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


def _records(raw: RawFile, positions: np.ndarray) -> list[str]:
    """The original cells of some rows as JSON, keyed by the file's own headers (nothing renamed, nothing typed)."""
    cells = raw.table.take(pa.array(positions, pa.int64())).to_pydict()
    headers = [h or f"column {i + 1}" for i, h in enumerate(raw.headers)]
    columns = [cells[f"c{i}"] for i in range(len(headers))]
    return [json.dumps(dict(zip(headers, row)), ensure_ascii=False) for row in zip(*columns)]


@dataclass(frozen=True)
class Quarantined:
    """Bad rows of one load, before they become ``raw.quarantine`` rows."""

    positions: np.ndarray  # rows of ``RawFile.table``
    reasons: Sequence[str] | pa.Array


def quarantine_table(raw: RawFile, bad: Sequence[Quarantined], contract: Contract, ingest_id: str, at: dt.datetime) -> pa.Table:
    """One row per bad input row, in file order, with the reasons and the original record."""
    positions = np.concatenate([b.positions for b in bad]) if bad else np.empty(0, np.int64)
    reasons: list[str] = [r for b in bad for r in (b.reasons.to_pylist() if isinstance(b.reasons, pa.Array) else b.reasons)]
    records = _records(raw, positions) if positions.size else []
    rows = raw.source_row[positions].tolist()
    # Lines that could not be split into cells keep their text as the record.
    for rejected in raw.rejected:
        rows.append(rejected.source_row)
        reasons.append(rejected.reason)
        records.append(json.dumps({"line": rejected.text}, ensure_ascii=False))
    order = sorted(range(len(rows)), key=lambda i: (rows[i] is None, rows[i] or 0))
    n = len(order)
    table = pa.table(
        {
            "ingest_id": [ingest_id] * n,
            "table_name": [contract.table] * n,
            "source_file": [raw.path.name] * n,
            "source_row": [rows[i] for i in order],
            "reason": [reasons[i] for i in order],
            "record": [records[i] for i in order],
            "quarantined_at": [at] * n,
        },
        schema=QUARANTINE_SCHEMA,
    )
    return table


def log_table(**values) -> pa.Table:
    """The one ``raw.ingest_log`` row of a load (keyword per column of ``LOG_SCHEMA``)."""
    missing = set(LOG_SCHEMA.names) - set(values)
    if missing:
        raise TypeError(f"log_table() lacks {sorted(missing)}")
    return pa.table({name: [values[name]] for name in LOG_SCHEMA.names}, schema=LOG_SCHEMA)


__all__ = ["QUARANTINE_SCHEMA", "LOG_SCHEMA", "LINEAGE_SCHEMA", "QUARANTINE_TABLE", "LOG_TABLE", "Quarantined", "quarantine_table", "log_table", "with_lineage", "new_ingest_id", "utc_now"]
