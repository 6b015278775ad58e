"""Fixtures: the tiny simulated chain, built once per test session, for forecasting tests."""

from __future__ import annotations

import pytest

from workbench.config import Settings, load_settings
from workbench.simulation.build import build_warehouse

SEED = 42


@pytest.fixture(scope="session")
def tiny_settings(tmp_path_factory) -> Settings:
    """Settings of a tiny warehouse (2025, stores S001-S008) with its own audit folder."""
    root = tmp_path_factory.mktemp("forecasting")
    settings = load_settings(engine="duckdb", warehouse=root / "tiny.duckdb", audit_dir=root / "audit")
    build_warehouse(settings, scale="tiny", seed=SEED, progress=False)
    return settings
