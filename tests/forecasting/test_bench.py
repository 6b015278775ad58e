"""`wb bench forecast` runs methods on the same windows and reports in the shared JSON format."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from workbench.cli import main


def _rows(report: dict, method: str, metric: str) -> dict:
    return {r["level"]: r["value"] for r in report["results"] if (r["method"], r["metric"]) == (method, metric)}


@pytest.mark.slow
def test_forecast_bench_scores_each_method_per_level_against_sales_and_true_demand(tiny_settings, tmp_path):
    out = tmp_path / "forecast.json"
    args = ["bench", "forecast", "--scale", "tiny", "--warehouse", str(tiny_settings.warehouse), "--windows", "1",
            "--method", "seasonal_naive", "--method", "workbench", "--json", str(out)]
    result = CliRunner().invoke(main, args, env={"WB_AUDIT_DIR": str(tiny_settings.audit_dir)})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["bench"] == "forecast" and len(report["machine"]["windows"]) == 1
    levels = {"total", "brand", "store", "category", "skc", "skc_store", "sku_store"}
    for method in ("seasonal_naive", "workbench"):
        assert set(_rows(report, method, "wrmsse")) == levels
        assert set(_rows(report, method, "wrmsse_true_demand")) == levels
        assert _rows(report, method, "wall_s")[None] > 0
        assert 50 < _rows(report, method, "peak_rss_mb")[None] < 12_288
    ours, naive = _rows(report, "workbench", "wrmsse"), _rows(report, "seasonal_naive", "wrmsse")
    assert ours["sku_store"] < naive["sku_store"]
    assert 0.5 < _rows(report, "workbench", "coverage_pit")["sku_store"] < 1.0
    assert "coverage_pit" not in {r["metric"] for r in report["results"] if r["method"] == "seasonal_naive"}


def test_an_unknown_method_is_refused_with_the_known_ones():
    result = CliRunner().invoke(main, ["bench", "forecast", "--method", "prophet"])
    assert result.exit_code == 2 and "autoets" in result.output


def test_the_oracles_score_the_simulators_expectations_on_the_same_windows(tiny_settings, tmp_path):
    out = tmp_path / "oracle.json"
    args = ["bench", "forecast", "--scale", "tiny", "--warehouse", str(tiny_settings.warehouse), "--windows", "1",
            "--method", "seasonal_naive", "--method", "oracle_demand", "--method", "oracle_sales", "--json", str(out)]
    result = CliRunner().invoke(main, args, env={"WB_AUDIT_DIR": str(tiny_settings.audit_dir)})
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    naive = _rows(report, "seasonal_naive", "wrmsse")
    sales, demand = _rows(report, "oracle_sales", "wrmsse"), _rows(report, "oracle_demand", "wrmsse_true_demand")
    for level in ("sku_store", "skc_store", "store", "total"):
        assert sales[level] < naive[level] and demand[level] < _rows(report, "seasonal_naive", "wrmsse_true_demand")[level]
    # knowing tomorrow's stock is what separates the best forecast of sales from the best forecast of demand
    assert sales["store"] < _rows(report, "oracle_demand", "wrmsse")["store"]
