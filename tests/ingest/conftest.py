"""Fixtures for the ingest tests: a tiny warehouse, settings pointing at it, governed sessions.

The access file is the shipped one plus a store-scoped loader role: no shipped
scoped role may both write raw tables and read back ``raw.ingest_log``
(see workbench/ingest/__init__.py, "Access"), and the scope rule must be
tested through the real session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.config import CONF_DIR, load_settings

from .synth import build_warehouse


def _access_file(folder: Path) -> Path:
    access = yaml.safe_load((CONF_DIR / "access.yaml").read_text(encoding="utf-8"))
    loads = ["raw.pos_sales", "raw.stock_counts", "raw.traffic", "raw.quarantine", "raw.ingest_log"]
    access["roles"]["store_loader"] = {
        "description": "test role: a store that loads its own exports",
        "read": ["core.*", *loads],
        "write": loads,
        "scope": "own_stores",
    }
    access["users"]["u_loader_s001"] = {"role": "store_loader", "name": "loader S001", "attributes": {"stores": ["S001"]}}
    path = folder / "access.yaml"
    path.write_text(yaml.safe_dump(access, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def _pristine_warehouse(tmp_path_factory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("ingest-wh") / "pristine.duckdb")


@pytest.fixture
def settings(tmp_path, _pristine_warehouse):
    """A fresh copy of the tiny warehouse per test, with its own audit folder and access file."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(_pristine_warehouse.read_bytes())
    return load_settings(warehouse=warehouse, audit_dir=tmp_path / "audit", access_file=_access_file(tmp_path))


@pytest.fixture
def cli_env(settings) -> dict[str, str]:
    """The same settings for `wb` run through click's test runner."""
    return {"WB_WAREHOUSE": str(settings.warehouse), "WB_AUDIT_DIR": str(settings.audit_dir), "WB_ACCESS": str(settings.access_file)}
