"""Bulk loads (the simulator) answer to the policy file and leave an audit record."""

from __future__ import annotations

import json

import pytest

from workbench.config import load_settings
from workbench.simulation.build import build_warehouse


def _audit(settings) -> list[dict]:
    return [json.loads(line) for f in sorted(settings.audit_dir.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_a_business_user_may_not_replace_the_warehouse(tmp_path):
    settings = load_settings(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    with pytest.raises(PermissionError, match="u_hq.*bulk load needs write grants on every table"):
        build_warehouse(settings, scale="tiny", seed=1, progress=False, user="u_hq")
    assert not settings.warehouse.exists()
    (record,) = _audit(settings)
    assert (record["user"], record["action"], record["status"]) == ("u_hq", "denied", "denied")


@pytest.mark.slow
def test_a_build_is_audited_with_its_rows(tmp_path):
    settings = load_settings(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    report = build_warehouse(settings, scale="tiny", seed=1, progress=False)
    (record,) = _audit(settings)
    assert (record["user"], record["action"], record["status"]) == ("u_admin", "write", "ok")
    assert record["rows"] == sum(report.rows.values()) > 0
    assert "core.sales" in record["tables"] and "truth.demand" in record["tables"]
