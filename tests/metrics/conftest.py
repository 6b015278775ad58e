"""The golden chain behind three doors: memtables, a DuckDB warehouse file, a Spark warehouse.

Every test that takes ``source`` runs on each: the numbers must not depend
on the engine (DESIGN invariant 2). The DuckDB and Spark warehouses are
written with the project's own sinks and opened with its own engine code,
as the simulator's warehouses are.
"""

from __future__ import annotations

import ibis
import pytest

from workbench.config import load_settings
from workbench.warehouse import engines

from .golden_data import BackendSource, MemorySource, golden_tables, load_into


def _duckdb(tmp_path_factory) -> BackendSource:
    path = tmp_path_factory.mktemp("golden-duckdb") / "warehouse.duckdb"
    load_into(engines.DuckDBSink(path))
    return BackendSource(engines.connect(load_settings(engine="duckdb", warehouse=path), read_only=True))


def _pyspark(tmp_path_factory) -> BackendSource:
    # ibis registers a backend's options (options.pyspark) only when the
    # backend is loaded through `ibis.pyspark`; engines.connect imports the
    # Backend class directly, and compiling then fails on options.pyspark = None.
    ibis.pyspark  # noqa: B018
    root = tmp_path_factory.mktemp("golden-spark") / "spark"
    load_into(engines.ParquetSink(root))
    settings = load_settings(engine="pyspark", warehouse=root)
    # A handful of rows: one shuffle partition instead of several empty ones.
    settings = settings.with_(engine_options={**settings.engine_options, "shuffle_partitions": "1"})
    return BackendSource(engines.connect(settings))


_ENGINES = {"memtable": lambda _: MemorySource(golden_tables()), "duckdb": _duckdb, "pyspark": _pyspark}


@pytest.fixture(scope="session", params=["memtable", "duckdb", pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.slow])])
def source(request, tmp_path_factory):
    return _ENGINES[request.param](tmp_path_factory)


@pytest.fixture
def memory_source() -> MemorySource:
    """The golden chain in memory, for tests about rules rather than engines."""
    return MemorySource(golden_tables())
