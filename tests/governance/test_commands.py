"""``wb users | tables | query | audit`` through click, and one real ``wb query`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main

from .conftest import read_audit


@pytest.fixture
def wb(settings, monkeypatch):
    """Run ``wb ARGS`` in-process against the test warehouse; returns the click result."""
    for key, value in {"WB_ENGINE": "duckdb", "WB_WAREHOUSE": settings.warehouse, "WB_AUDIT_DIR": settings.audit_dir,
                       "WB_ACCESS": settings.access_file}.items():
        monkeypatch.setenv(key, str(value))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_users_lists_roles_and_scope(wb):
    result = wb("users", "--json")
    assert result.exit_code == 0, result.output
    users = {u["user"]: u for u in json.loads(result.output)}
    assert users["u_store_017"]["role"] == "store_manager" and users["u_store_017"]["scope"] == "stores: S017"
    assert users["u_region_east"]["scope"] == "region: East" and users["u_hq"]["scope"] == "all rows"
    assert "u_region_north" in wb("users").output


def test_tables_shows_visible_columns_and_masks(wb):
    result = wb("tables", "--user", "u_store_001", "--json")
    assert result.exit_code == 0, result.output
    tables = {t["table"]: t for t in json.loads(result.output)}
    assert "truth.demand" not in tables and "core.purchase_orders" not in tables
    phone = next(c for c in tables["core.members"]["columns"] if c["name"] == "phone")
    assert phone["masked"] is True
    assert "unit_cost" not in {c["name"] for c in tables["core.products"]["columns"]}
    assert "phone*" in wb("tables", "--user", "u_store_001").output


def test_query_formats_and_limit(wb, settings):
    result = wb("query", "--user", "u_store_017", "select ticket_id, net_amount from sales order by 1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["ticket_id"] for r in json.loads(result.output)] == [4, 5]
    csv = wb("query", "-u", "u_region_east", "select store_id from sales order by 1", "--format", "csv", "--limit", "2")
    assert csv.output.splitlines() == ["store_id", "1", "1"]
    assert "S001" in wb("query", "-u", "u_store_001", "select store_code from stores").output
    assert read_audit(settings)[-1]["entry_point"] == "cli"


@pytest.mark.parametrize("args, fragment", [
    (["query", "-u", "u_store_001", "select * from truth.demand"], "may not read truth.demand"),
    (["query", "-u", "u_store_001", "select * from read_csv('/etc/passwd')"], "read_csv"),
    (["query", "-u", "u_store_001", "select * from"], "cannot parse"),
    (["query", "-u", "u_store_001", "select nope from sales"], "engine rejected"),
    (["query", "-u", "u_store_001", "select cast(line_type as int) from sales"], "query failed"),
    (["query", "-u", "u_admin", "selec nonsense"], "engine rejected"),
    (["query", "-u", "u_nobody", "select 1"], "wb users"),
    (["audit", "-u", "u_store_001"], "audit_log"),
    (["tables", "-u", "u_nobody"], "wb users"),
])
def test_errors_are_one_line_with_exit_code_2(wb, args, fragment):
    result = wb(*args)
    assert result.exit_code == 2
    assert fragment in result.output and "Traceback" not in result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_audit_shows_recent_entries(wb):
    wb("query", "-u", "u_store_017", "select count(*) from sales")
    wb("query", "-u", "u_store_017", "select * from truth.demand")
    result = wb("audit", "-u", "u_auditor", "--json", "--of", "u_store_017")
    entries = json.loads(result.output)
    assert [e["status"] for e in entries] == ["denied", "ok"]  # newest first
    denied = wb("audit", "-u", "u_auditor", "--status", "denied", "--json")
    assert len(json.loads(denied.output)) == 1
    assert "u_store_017" in wb("audit", "-u", "u_admin").output


@pytest.mark.parametrize("command", ["users", "tables", "query", "audit"])
def test_help_has_an_example(wb, command):
    result = wb(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and f"wb {command}" in result.output


def test_wb_query_in_a_real_process(settings):
    wb_exe = Path(sys.executable).with_name("wb")
    env = {**os.environ, "WB_ENGINE": "duckdb", "WB_WAREHOUSE": str(settings.warehouse),
           "WB_AUDIT_DIR": str(settings.audit_dir), "WB_ACCESS": str(settings.access_file)}
    ok = subprocess.run([str(wb_exe), "query", "--user", "u_region_north", "select count(*) as n from sales", "--format", "csv"],
                        env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == ["n", "3"]
    refused = subprocess.run([str(wb_exe), "query", "--user", "u_region_north", "select * from truth.demand"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    records = read_audit(settings)
    assert {r["pid"] for r in records} != {os.getpid()}  # written by the child process, into its own file
    assert [r["status"] for r in records] == ["ok", "denied"]
