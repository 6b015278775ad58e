"""Engines: open the warehouse on the configured ibis backend, and bulk-load it.

The engine is configuration (DESIGN invariant 2). Two profiles ship:

- ``duckdb``: one DuckDB file. One process may hold it for writing; readers
  in other processes open it read-only only while no writer holds it.
- ``pyspark``: Spark in local mode over a folder of Parquet tables
  (``<warehouse>/<layer>/<table>/*.parquet``), registered as external tables
  on connect. The same layout is what a cluster would read from object storage.

Everything above this module speaks ibis; nothing else knows which engine runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.config import Settings
from workbench.warehouse.schema import LAYERS, TableSpec


class WarehouseMissing(FileNotFoundError):
    """The configured warehouse has not been built yet."""


def backend_class(engine: str) -> type:
    """The ibis backend class for an engine profile name."""
    if engine not in ("duckdb", "pyspark"):
        raise ValueError(f"unknown engine {engine!r}: expected duckdb or pyspark")
    import importlib

    import ibis

    # ibis.<engine> registers the backend's options (ibis.options.pyspark ...),
    # which importing the backend class alone does not; Spark compiles need them.
    getattr(ibis, engine)
    return importlib.import_module(f"ibis.backends.{engine}").Backend


def connect(settings: Settings, *, read_only: bool = False, cls: type | None = None):
    """Open the warehouse and return a connected ibis backend.

    ``cls`` lets the governed session pass its audited subclass of the
    engine's backend, so every execution is audited.
    """
    cls = cls or backend_class(settings.engine)
    if settings.engine == "duckdb":
        return _connect_duckdb(settings, read_only=read_only, cls=cls)
    return _connect_pyspark(settings, cls=cls)


def _connect_duckdb(settings: Settings, *, read_only: bool, cls: type):
    path = settings.warehouse
    if not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: build it with `wb demo-data` (or set WB_WAREHOUSE)")
    opts = settings.engine_options
    config = {k: v for k, v in (("threads", opts.get("threads")), ("memory_limit", opts.get("memory_limit"))) if v}
    return cls().connect(database=str(path), read_only=read_only, **config)


def spark_session(settings: Settings):
    """One local Spark session per process (Spark allows no more)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    from pyspark.sql import SparkSession

    opts = settings.engine_options
    # A private warehouse dir per process avoids LOCATION_ALREADY_EXISTS clashes.
    scratch = tempfile.mkdtemp(prefix="wb-spark-")
    return (
        SparkSession.builder.master(opts.get("master", "local[2]"))
        .appName("retail-workbench")
        .config("spark.sql.warehouse.dir", scratch)
        .config("spark.driver.memory", opts.get("driver_memory", "4g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", opts.get("shuffle_partitions", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def _connect_pyspark(settings: Settings, *, cls: type):
    root = settings.warehouse
    if not root.exists():
        raise WarehouseMissing(f"no warehouse at {root}: build it with `wb demo-data --engine pyspark`")
    spark = spark_session(settings)
    for layer_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name in LAYERS):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer_dir.name}")
        for table_dir in sorted(p for p in layer_dir.iterdir() if p.is_dir()):
            name = f"{layer_dir.name}.{table_dir.name}"
            spark.sql(f"DROP TABLE IF EXISTS {name}")
            spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{table_dir.as_posix()}'")
    return cls().connect(session=spark)


# --- bulk loading (the simulator and restores) ---------------------------------


class WarehouseSink(Protocol):
    """Receives whole tables in Arrow batches; ``finish`` publishes atomically."""

    def create(self, spec: TableSpec) -> None: ...

    def append(self, spec: TableSpec, data: pa.Table | pa.RecordBatch) -> None: ...

    def finish(self) -> Path: ...

    def abort(self) -> None: ...


def _swap_into_place(building: Path, target: Path) -> None:
    """Replace ``target`` with ``building`` so readers see the old or the new, never half."""
    if target.is_dir():
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        building.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(building, target)


class DuckDBSink:
    """Builds a new DuckDB file next to the target and swaps it in at the end."""

    def __init__(self, target: Path, *, threads: int = 2, memory_limit: str = "6GB"):
        import duckdb

        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.building = self.target.with_name(self.target.name + ".building")
        self.building.unlink(missing_ok=True)
        self.con = duckdb.connect(str(self.building), config={"threads": threads, "memory_limit": memory_limit})
        for layer in LAYERS:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")

    def create(self, spec: TableSpec) -> None:
        import ibis

        ddl_cols = ", ".join(
            f'"{c.name}" {ibis.backends.sql.datatypes.DuckDBType.to_string(ibis.dtype(c.dtype))}'
            + ("" if c.nullable else " NOT NULL")
            for c in spec.columns
        )
        self.con.execute(f"CREATE OR REPLACE TABLE {spec.qualified} ({ddl_cols})")

    def append(self, spec: TableSpec, data: pa.Table | pa.RecordBatch) -> None:
        if data.num_rows == 0:
            return
        self.con.register("_wb_batch", data)
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        self.con.execute(f"INSERT INTO {spec.qualified} ({cols}) SELECT {cols} FROM _wb_batch")
        self.con.unregister("_wb_batch")

    def finish(self) -> Path:
        self.con.execute("CHECKPOINT")
        self.con.close()
        _swap_into_place(self.building, self.target)
        return self.target

    def abort(self) -> None:
        self.con.close()
        self.building.unlink(missing_ok=True)


class ParquetSink:
    """Writes ``<root>/<layer>/<table>/part-*.parquet`` into a new folder, then swaps it in."""

    def __init__(self, target: Path, *, rows_per_file: int = 5_000_000):
        self.target = Path(target)
        self.building = self.target.with_name(self.target.name + ".building")
        shutil.rmtree(self.building, ignore_errors=True)
        self.building.mkdir(parents=True)
        self.rows_per_file = rows_per_file
        self._writers: dict[str, tuple[pq.ParquetWriter, int, int]] = {}

    def _dir(self, spec: TableSpec) -> Path:
        return self.building / spec.layer / spec.name

    def create(self, spec: TableSpec) -> None:
        self._dir(spec).mkdir(parents=True, exist_ok=True)
        # An empty table still needs one file so that engines see its schema.
        pq.write_table(spec.arrow_schema().empty_table(), self._dir(spec) / "part-empty.parquet")

    def append(self, spec: TableSpec, data: pa.Table | pa.RecordBatch) -> None:
        if data.num_rows == 0:
            return
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        table = table.select(spec.column_names).cast(spec.arrow_schema())
        writer, rows, part = self._writers.get(spec.qualified, (None, 0, 0))
        if writer is None or rows >= self.rows_per_file:
            if writer is not None:
                writer.close()
            part += 1
            path = self._dir(spec) / f"part-{part:05d}.parquet"
            writer, rows = pq.ParquetWriter(path, spec.arrow_schema(), compression="zstd"), 0
        writer.write_table(table)
        self._writers[spec.qualified] = (writer, rows + table.num_rows, part)

    def finish(self) -> Path:
        for writer, _, _ in self._writers.values():
            writer.close()
        _swap_into_place(self.building, self.target)
        return self.target

    def abort(self) -> None:
        for writer, _, _ in self._writers.values():
            writer.close()
        shutil.rmtree(self.building, ignore_errors=True)


def open_sink(settings: Settings) -> WarehouseSink:
    """The bulk-load sink for the configured engine."""
    if settings.engine == "duckdb":
        opts = settings.engine_options
        return DuckDBSink(settings.warehouse, threads=opts.get("threads", 2), memory_limit=opts.get("memory_limit", "6GB"))
    return ParquetSink(settings.warehouse)
