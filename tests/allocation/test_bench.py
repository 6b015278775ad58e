"""`wb bench allocation` replays each policy on the same days of the tiny chain and reports in the shared format."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from workbench.cli import main

pytestmark = pytest.mark.slow

METRICS = {"net_margin", "sales_value", "lost_sales_units", "sell_through", "size_break_days", "units_moved",
           "shipments", "logistics_cost"}


def test_every_policy_is_replayed_against_the_same_demand(tiny_settings, tmp_path):
    out = tmp_path / "allocation.json"
    args = ["bench", "allocation", "--scale", "tiny", "--warehouse", str(tiny_settings.warehouse), "--days", "14",
            "--forecast", "moving_average", "--json", str(out)]
    result = CliRunner().invoke(main, args, env={"WB_AUDIT_DIR": str(tiny_settings.audit_dir)})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["bench"] == "allocation" and report["machine"]["days"] == 14
    value = {(r["method"], r["metric"]): r["value"] for r in report["results"]}
    for method in ("no_transfer", "weekly_rule", "proportional", "workbench"):
        assert METRICS <= {m for (p, m) in value if p == method}, method
        assert 0 < value[(method, "sell_through")] <= 1
    # the same customers for everyone: units wanted = sold + lost
    wanted = {value[(m, "units_sold")] + value[(m, "lost_sales_units")] for m in ("no_transfer", "workbench")}
    assert len(wanted) == 1
    assert value[("no_transfer", "units_moved")] > 0
    assert value[("workbench", "solve_s_max")] >= value[("workbench", "solve_s_median")] > 0
    assert 0 <= value[("workbench", "gap")] <= 0.05
    assert "vs_best_rule_%" in result.output


def test_an_unknown_policy_is_refused_with_the_known_ones():
    result = CliRunner().invoke(main, ["bench", "allocation", "--method", "magic"])
    assert result.exit_code == 2 and "weekly_rule" in result.output
