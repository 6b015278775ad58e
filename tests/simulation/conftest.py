"""Fixtures: the tiny simulated chain, built once per test session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from workbench.config import load_settings
from workbench.simulation.build import BuildReport, build_warehouse

SEED = 42


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> tuple[Path, BuildReport]:
    path = tmp_path_factory.mktemp("sim") / "tiny.duckdb"
    settings = load_settings(engine="duckdb", warehouse=path)
    report = build_warehouse(settings, scale="tiny", seed=SEED, progress=False)
    return path, report


@pytest.fixture(scope="session")
def con(tiny_build) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the tiny warehouse (tests only read)."""
    connection = duckdb.connect(str(tiny_build[0]), read_only=True)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()[0]
