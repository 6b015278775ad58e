"""``wb metrics``: listing, computing through a source, clear refusals, and the real governed door."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import CONF_DIR
from workbench.metrics import METRICS, commands
from workbench.warehouse.engines import DuckDBSink

from .golden_data import MemorySource, golden_tables, load_into


@pytest.fixture
def stand_in(monkeypatch):
    """`compute` reads the golden chain instead of opening a governed session; records the user."""
    users = []

    def fake_open(user):
        users.append(user)
        return contextlib.nullcontext(MemorySource(golden_tables()))

    monkeypatch.setattr(commands, "open_source", fake_open)
    return users


def wb(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


def test_list_shows_every_metric_with_label_and_unit():
    result = wb("metrics")
    assert result.exit_code == 0, result.output
    for m in METRICS.values():
        assert m.name in result.output and m.label_zh in result.output
    assert "售罄率" in result.output and "连带率" in result.output


def test_list_as_json_has_definitions_and_dimensions():
    result = wb("metrics", "--json")
    got = {m["name"]: m for m in json.loads(result.output)}
    assert set(got) == set(METRICS)
    assert got["conversion"]["label_zh"] == "转化率"
    assert "region" in got["conversion"]["dimensions"] and "category" not in got["conversion"]["dimensions"]
    assert got["sell_through"]["definition"].startswith("Units sold to date /")


def test_help_shows_examples():
    result = wb("metrics", "compute", "--help")
    assert "Examples:" in result.output and "--by region,month" in result.output


def test_compute_csv(stand_in):
    result = wb("metrics", "compute", "--user", "u_hq", "-m", "net_sales", "--metric", "conversion",
                "--by", "region,month", "--format", "csv")
    assert result.exit_code == 0, result.output
    got = {(r["region"], r["month"]): r for r in csv.DictReader(io.StringIO(result.output))}
    # East March: T1 360 + T2 80 + T4 -80; 2 tickets / 80 visitors
    assert float(got[("East", "2024-03-01")]["net_sales"]) == 360.0
    assert float(got[("East", "2024-03-01")]["conversion"]) == pytest.approx(0.025)
    assert stand_in == ["u_hq"]


def test_compute_json_with_typed_filters_and_dates(stand_in):
    result = wb("metrics", "compute", "-u", "u_hq", "-m", "net_sales,stock_units", "-w", "store_id=1",
                "--start", "2024-04-01", "--format", "json")
    assert result.exit_code == 0, result.output
    # S1 from 04-01: T7 160; stock at 04-07: 6
    assert json.loads(result.output) == [{"net_sales": 160.0, "stock_units": 6}]


def test_compute_table(stand_in):
    result = wb("metrics", "compute", "-u", "u_hq", "-m", "average_ticket", "-b", "store_code")
    assert result.exit_code == 0, result.output
    assert "S002" in result.output and "295.00" in result.output  # 590 / 2


@pytest.mark.parametrize("args, message", [
    (["-m", "conversion", "-b", "category"], "cannot be split or filtered by ['category']"),
    (["-m", "no_such_metric"], "unknown metric"),
    (["-m", "net_sales", "-w", "region"], "DIMENSION=VALUE"),
    (["-m", "net_sales", "-w", "store_id=S001"], "int32"),
])
def test_compute_refusals_are_one_line_and_exit_2(stand_in, args, message):
    result = wb("metrics", "compute", "-u", "u_hq", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


# --- through the real governed session --------------------------------------------------


@pytest.fixture(scope="module")
def golden_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden-wb")
    load_into(DuckDBSink(root / "warehouse.duckdb"))
    return {"WB_ENGINE": "duckdb", "WB_WAREHOUSE": str(root / "warehouse.duckdb"), "WB_AUDIT_DIR": str(root / "audit"),
            "WB_ACCESS": str(CONF_DIR / "access.yaml")}


def test_governed_compute_sees_only_the_users_rows(golden_env):
    # u_store_001 manages S001 only: net sales 520, not 1110
    result = wb("metrics", "compute", "-u", "u_store_001", "-m", "net_sales,tickets", "--format", "json", env=golden_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"net_sales": 520.0, "tickets": 3}]


def test_governed_compute_refuses_costs_to_a_store_manager(golden_env):
    result = wb("metrics", "compute", "-u", "u_store_001", "-m", "gmroi", env=golden_env)
    assert result.exit_code == 2
    assert "cost_amount" in result.output
