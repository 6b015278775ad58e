"""Test-wide settings: no test touches the checkout's own data/ folder.

Tests that need a warehouse build one in a temporary folder and pass
settings explicitly; these defaults catch any that forget, so the audit log
and warehouse of a developer's `make demo` stay as they were.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("wb-default")
    saved = {k: os.environ.get(k) for k in ("WB_WAREHOUSE", "WB_AUDIT_DIR")}
    os.environ["WB_WAREHOUSE"] = str(root / "warehouse.duckdb")
    os.environ["WB_AUDIT_DIR"] = str(root / "audit")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
