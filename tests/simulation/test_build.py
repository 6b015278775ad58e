"""Determinism, chunking independence, atomic replacement, and the ``wb demo-data`` command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import load_settings
from workbench.simulation.build import build_warehouse
from workbench.simulation.scales import SCALES
from workbench.warehouse.schema import TABLES

from .conftest import SEED


def _fingerprints(con: duckdb.DuckDBPyConnection, source) -> dict[str, tuple]:
    """Row count and an order-independent hash of every row, per table."""
    return {name: con.execute(f"select count(*), sum(hash(t)::hugeint) from {source(name)} t").fetchone() for name in TABLES}


@pytest.mark.slow
def test_same_seed_gives_identical_tables_whatever_the_sink_and_batch_size(tiny_build, tmp_path):
    """Rebuild tiny into Parquet (the Spark layout) in much smaller batches: every table is identical."""
    small_batches = dataclasses.replace(SCALES["tiny"], flush_rows=3_000)
    folder = tmp_path / "spark"
    build_warehouse(load_settings(engine="pyspark", warehouse=folder), scale=small_batches, seed=SEED, progress=False)
    con = duckdb.connect()
    parquet = _fingerprints(con, lambda n: f"read_parquet('{folder}/{n.replace('.', '/')}/*.parquet')")
    con.execute(f"attach '{tiny_build[0]}' as tiny (read_only)")
    duck = _fingerprints(con, lambda n: f"tiny.{n}")
    assert parquet == duck


def test_a_failed_build_leaves_the_previous_warehouse_in_place(tmp_path, monkeypatch):
    target = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(target))
    con.execute("create table marker as select 1 as x")
    con.close()

    from workbench.simulation import build as build_module

    def explode(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(build_module.Simulation, "run", explode)
    with pytest.raises(RuntimeError, match="boom"):
        build_warehouse(load_settings(engine="duckdb", warehouse=target), scale="tiny", progress=False)
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("select x from marker").fetchone() == (1,)
    con.close()
    assert not Path(str(target) + ".building").exists()


def test_demo_data_help_has_an_example():
    result = CliRunner().invoke(main, ["demo-data", "--help"])
    assert result.exit_code == 0
    assert "wb demo-data --scale tiny" in result.output
    assert "tiny" in result.output and "large" in result.output


def test_demo_data_rejects_an_unknown_scale():
    result = CliRunner().invoke(main, ["demo-data", "--scale", "huge"])
    assert result.exit_code != 0
    assert "tiny" in result.output and "demo" in result.output

