"""Device tests run the drivers against the simulators over real socat pty pairs (no mock of the line).

Without socat those tests skip, saying so; CI installs it (.ci/system-deps).
"""

from __future__ import annotations

import shutil

import pytest

needs_socat = pytest.mark.skipif(shutil.which("socat") is None,
                                 reason="socat is not installed: apt-get install -y socat (.ci/system-deps does it)")


@pytest.fixture
def warehouse(tiny_settings, tmp_path, monkeypatch):
    """A copy of the tiny chain the test may write, also for the commands it runs (WB_WAREHOUSE, WB_AUDIT_DIR)."""
    settings = tiny_settings.with_(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    monkeypatch.setenv("WB_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(settings.audit_dir))
    return settings
