"""Every read, query and refusal reaches the audit log, on every engine."""

from __future__ import annotations

import pytest

import workbench as wb


def test_reads_sql_and_refusals_are_audited_with_rows(settings, open_session):
    with wb.session("u_store_001", settings=settings, read_only=True, run_id="compliance-audit") as s:
        rows = s.sql("select distinct store_id from sales").to_pyarrow().num_rows
        s.table("stores").to_pyarrow()
        with pytest.raises(PermissionError):
            s.sql("select * from truth.demand")
    log = open_session("u_auditor").table("audit_log")
    mine = log.filter(log.run_id == "compliance-audit").to_pyarrow().to_pylist()
    by_action = {}
    for record in mine:
        by_action.setdefault(record["action"], []).append(record)
    assert {"sql", "read", "denied"} <= set(by_action)
    assert [r["rows"] for r in by_action["sql"] if r["status"] == "ok"] == [rows]
    assert all(r["user"] == "u_store_001" for r in mine)
    assert by_action["denied"][0]["status"] == "denied"


def test_only_auditor_and_admin_read_the_audit_log(open_session):
    with pytest.raises(PermissionError):
        open_session("u_hq").table("audit_log")
    assert open_session("u_admin").table("audit_log").count().to_pyarrow().as_py() > 0
