"""The foundation's acceptance checks, run as a user would: real `wb` processes on a simulated chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WB = str(Path(sys.executable).with_name("wb"))
OWN_STORE = "select distinct store_id from sales"
COST = "select sku_id, unit_cost from products"
ESCAPES = [
    "select * from read_csv('/etc/passwd')",
    "attach '/tmp/evil.duckdb' as evil",
    "copy sales to '/tmp/sales.csv'",
    "install httpfs",
    "load httpfs",
    "pragma database_list",
    "set threads = 1",
]


def wb(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([WB, *args], env=env, capture_output=True, text=True)


def query(env, user: str, sql: str) -> list[dict]:
    done = wb(env, "query", "--user", user, sql, "--format", "json", "--limit", "0")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("acceptance")
    env = {**os.environ, "WB_WAREHOUSE": str(root / "warehouse.duckdb"), "WB_AUDIT_DIR": str(root / "audit")}
    subprocess.run([WB, "demo-data", "--scale", "tiny", "--seed", "2", "--quiet"], env=env, check=True, capture_output=True)
    return env


@pytest.fixture(scope="module")
def refused(env) -> dict[str, subprocess.CompletedProcess]:
    """Each refused call, run once: the store manager's cost query and the analyst's escapes."""
    calls = {COST: wb(env, "query", "--user", "u_store_001", COST)}
    calls.update({sql: wb(env, "query", "--user", "u_analyst", sql) for sql in ESCAPES})
    return calls


def test_a_store_manager_sees_only_their_store(env):
    (store,) = query(env, "u_admin", "select store_id from stores where store_code = 'S001'")
    assert query(env, "u_store_001", OWN_STORE) == [store]


def test_a_region_manager_sees_only_their_region(env):
    east = {r["store_id"] for r in query(env, "u_admin", "select store_id from stores where region = 'East'")}
    seen = {r["store_id"] for r in query(env, "u_region_east", OWN_STORE)}
    assert seen and seen <= east
    everywhere = {r["store_id"] for r in query(env, "u_hq", OWN_STORE)}
    assert everywhere - east, "the chain sells outside East too, so the filter did something"


def test_unit_cost_is_not_visible_to_a_store_manager(env, refused):
    done = refused[COST]
    assert done.returncode == 2 and "product_cost" in done.stderr and "Traceback" not in done.stderr
    (row,) = query(env, "u_store_001", "select * from products limit 1")
    assert "unit_cost" not in row


@pytest.mark.parametrize("escape", ESCAPES)
def test_each_escape_is_refused(refused, escape):
    done = refused[escape]
    assert done.returncode == 2 and done.stderr.strip() and "Traceback" not in done.stderr


def test_the_audit_table_shows_each_call(env, refused):
    query(env, "u_store_001", OWN_STORE)
    done = wb(env, "audit", "--user", "u_auditor", "--limit", "1000", "--json")
    assert done.returncode == 0, done.stderr
    cli = [r for r in json.loads(done.stdout) if r["entry_point"] == "cli"]
    store = [r for r in cli if r["user"] == "u_store_001"]
    assert any(r["query"] == OWN_STORE and r["status"] == "ok" and r["rows"] == 1 for r in store)
    assert any(r["query"] == COST and r["status"] == "denied" for r in store)
    assert {r["query"] for r in cli if r["user"] == "u_analyst" and r["status"] == "denied"} >= set(ESCAPES)
