"""Test-wide settings: no test touches the checkout's own data/ folder.

Tests that need a warehouse build one in a temporary folder and pass
settings explicitly; these defaults catch any that forget, so the audit log
and warehouse of a developer's `make demo` stay as they were. The same goes
for the MLflow store (WB_MODELS_DIR), archived pipeline runs (WB_RUNS_DIR) and a
developer's WB_MLFLOW_URI.
"""

from __future__ import annotations

import os

import pytest

from workbench.config import Settings, load_settings

TINY_SEED = 42


@pytest.fixture(scope="session", autouse=True)
def _isolated_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("wb-default")
    saved = {k: os.environ.get(k) for k in ("WB_WAREHOUSE", "WB_AUDIT_DIR", "WB_MODELS_DIR", "WB_MLFLOW_URI", "WB_RUNS_DIR")}
    os.environ["WB_WAREHOUSE"] = str(root / "warehouse.duckdb")
    os.environ["WB_AUDIT_DIR"] = str(root / "audit")
    os.environ["WB_MODELS_DIR"] = str(root / "models")
    os.environ["WB_RUNS_DIR"] = str(root / "runs")
    os.environ.pop("WB_MLFLOW_URI", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory, _isolated_data):
    """One real MLflow server for the whole test session, on a free port over a temporary store; its URI.

    While it runs, WB_MLFLOW_URI points at it, so workbench.tracking (and any
    `wb` process a test starts) logs there. Tests that use it are `slow`
    (the server takes 13-40 s to start, once).
    """
    from workbench.config import load_settings
    from workbench.tracking.server import running_server

    settings = load_settings(models_dir=tmp_path_factory.mktemp("mlflow-store"))
    with running_server(settings, port=0) as uri:
        os.environ["WB_MLFLOW_URI"] = uri
        try:
            yield uri
        finally:
            os.environ.pop("WB_MLFLOW_URI", None)


@pytest.fixture(scope="session")
def tiny_settings(tmp_path_factory) -> Settings:
    """Settings of a tiny warehouse (2025, stores S001-S008) with its own audit folder, built once.

    Shared by every test that reads the tiny chain: tests that write take a copy first.
    """
    from workbench.simulation.build import build_warehouse

    root = tmp_path_factory.mktemp("tiny")
    settings = load_settings(engine="duckdb", warehouse=root / "tiny.duckdb", audit_dir=root / "audit")
    build_warehouse(settings, scale="tiny", seed=TINY_SEED, progress=False)
    return settings
