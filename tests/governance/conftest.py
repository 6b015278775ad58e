"""Fixtures: a small hand-made warehouse, settings pointing at it, sessions that close themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import workbench as wb
from workbench.config import CONF_DIR, load_settings
from workbench.warehouse.engines import DuckDBSink

from .warehouse import build

SHIPPED_ACCESS = CONF_DIR / "access.yaml"


@pytest.fixture(scope="session")
def duckdb_file(tmp_path_factory) -> Path:
    """Built once; tests that write get their own copy (``writable``)."""
    return build(DuckDBSink(tmp_path_factory.mktemp("wh") / "warehouse.duckdb"))


@pytest.fixture
def settings(duckdb_file, tmp_path):
    """The shipped access file, the shared warehouse, a fresh audit folder per test."""
    return load_settings(engine="duckdb", warehouse=duckdb_file, audit_dir=tmp_path / "audit", access_file=SHIPPED_ACCESS)


@pytest.fixture
def writable(settings, duckdb_file, tmp_path):
    """Settings on a private copy of the warehouse, for tests that write."""
    copy = tmp_path / "writable.duckdb"
    shutil.copy(duckdb_file, copy)
    return settings.with_(warehouse=copy)


@pytest.fixture
def open_session(settings):
    """``open_session(user, **kw)``: a session closed at the end of the test.

    Read-only unless asked otherwise: the shared warehouse is never written, and
    DuckDB allows one access mode per file and process.
    """
    opened = []

    def _open(user: str, **kwargs):
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("read_only", True)
        s = wb.session(user, **kwargs)
        opened.append(s)
        return s

    yield _open
    for s in reversed(opened):
        s.close()


def read_audit(settings) -> list[dict]:
    """Every audit record under the settings' audit folder, oldest first."""
    records = []
    for path in sorted(Path(settings.audit_dir).glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(records, key=lambda r: r["ts"])
