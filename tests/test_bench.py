"""`wb bench` prints a table and writes JSON in the shared format of DESIGN.md."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from workbench.cli import main

KEYS = {"bench", "scale", "seed", "started", "machine", "results"}


def _run(args: list[str], tmp_path) -> dict:
    out = tmp_path / "result.json"
    result = CliRunner().invoke(main, ["bench", *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def _value(report: dict, method: str, metric: str, level=None):
    (value,) = [r["value"] for r in report["results"] if (r["method"], r["metric"], r["level"]) == (method, metric, level)]
    return value


@pytest.mark.slow
def test_demo_data_bench_measures_a_tiny_build(tmp_path):
    report = _run(["demo-data", "--scale", "tiny", "--seed", "3"], tmp_path)
    assert set(report) == KEYS and (report["bench"], report["scale"], report["seed"]) == ("demo-data", "tiny", 3)
    assert report["machine"]["cores"] >= 1
    method = "wb demo-data (duckdb)"
    assert _value(report, method, "wall_s") > 0
    assert 50 < _value(report, method, "peak_rss_mb") < 8192
    assert _value(report, method, "sales_lines") > 1000


def test_ingest_bench_reports_each_step_per_encoding(tmp_path):
    report = _run(["ingest", "--rows", "3000", "--encoding", "gb18030"], tmp_path)
    assert set(report) == KEYS
    assert {r["level"] for r in report["results"]} == {"gb18030"}
    assert _value(report, "total", "rows_read", "gb18030") == 3000
    assert 0 < _value(report, "total", "rows_quarantined", "gb18030") < 3000
