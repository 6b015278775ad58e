"""Arrow columns from simulation arrays, and buffered writing into the warehouse sink.

Facts are produced day by day; they are buffered per table and handed to
the sink in large batches by a background thread, so generating the next
days (numpy) and compressing the previous ones (DuckDB) overlap on the two
cores. The thread writes in the order batches were produced, so the
warehouse is identical however big the batches are.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict

import numpy as np
import pyarrow as pa

from workbench.warehouse.schema import TABLES, TableSpec


def dates(day: np.ndarray, epoch_day: int, null: np.ndarray | None = None) -> pa.Array:
    """Day numbers of the simulation → date32 (``null`` marks missing dates)."""
    values = (np.asarray(day, dtype=np.int64) + epoch_day).astype(np.int32)
    return pa.array(values, mask=null).view(pa.date32())


def timestamps(day: np.ndarray, seconds: np.ndarray, epoch_day: int) -> pa.Array:
    micros = ((np.asarray(day, np.int64) + epoch_day) * 86_400 + np.asarray(seconds, np.int64)) * 1_000_000
    return pa.array(micros).view(pa.timestamp("us"))


def labels(codes: np.ndarray, names: tuple[str, ...]) -> pa.DictionaryArray:
    """Small-vocabulary strings (line_type, method ...) as dictionary codes: cheap to build and to write."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int8)), pa.array(names))


def nullable(values: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(values, mask=np.asarray(null, dtype=bool))


def money(values: np.ndarray) -> np.ndarray:
    """Amounts in CNY are float64 rounded to fen."""
    return np.round(np.asarray(values, dtype=np.float64), 2)


class BackgroundSink:
    """Runs the sink's calls on one worker thread, in order, with a bounded queue (bounded memory)."""

    def __init__(self, sink, depth: int = 3):
        self.sink = sink
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="warehouse-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    item[0](*item[1:])
                except BaseException as exc:  # re-raised in the producing thread
                    self.error = exc

    def call(self, fn, *args) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((fn, *args))

    def close(self) -> None:
        """Wait for every queued write; raise the writer's error, if any."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class TableWriter:
    """Buffers Arrow pieces per table and sends batches of about ``flush_rows`` to the sink."""

    def __init__(self, sink: BackgroundSink, flush_rows: int):
        self.sink = sink
        self.flush_rows = flush_rows
        self.pending: dict[str, list[pa.Table]] = defaultdict(list)
        self.pending_rows: dict[str, int] = defaultdict(int)
        self.rows: dict[str, int] = {name: 0 for name in TABLES}

    def create_all(self) -> None:
        for spec in TABLES.values():
            self.sink.call(self.sink.sink.create, spec)

    def add(self, name: str, columns: dict[str, object]) -> None:
        """Add rows to ``name`` (``layer.table``); columns are checked against the contract."""
        spec = TABLES[name]
        table = pa.table(columns)
        if table.column_names != spec.column_names:
            raise ValueError(f"{name}: columns {table.column_names} differ from the schema {spec.column_names}")
        if table.num_rows == 0:
            return
        self.pending[name].append(table)
        self.pending_rows[name] += table.num_rows
        self.rows[name] += table.num_rows
        if self.pending_rows[name] >= self.flush_rows:
            self.flush(name)

    def flush(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.pending):
            parts = self.pending.pop(key, [])
            self.pending_rows.pop(key, None)
            if parts:
                batch = _conform(pa.concat_tables(parts, promote_options="permissive"), TABLES[key])
                self.sink.call(self.sink.sink.append, TABLES[key], batch)


def _conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast to the contract's types (dictionary strings stay dictionaries: the sinks accept them)."""
    schema = spec.arrow_schema()
    arrays = []
    for field, column in zip(schema, table.columns):
        if pa.types.is_dictionary(column.type) and pa.types.is_string(field.type):
            arrays.append(column)
        else:
            arrays.append(column.cast(field.type))
    return pa.table(arrays, names=spec.column_names)
