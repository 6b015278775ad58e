"""``wb members ...`` on the tiny chain: results as CSV / JSON, bad input as one line with exit code 2."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main


@pytest.fixture()
def wb_tiny(tiny_settings, monkeypatch):
    monkeypatch.setenv("WB_WAREHOUSE", str(tiny_settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(tiny_settings.audit_dir))

    def run(*args: str):
        return CliRunner().invoke(main, ["members", *args])

    return run


def test_rfm_and_value_print_csv(wb_tiny):
    rfm = wb_tiny("rfm", "--as-of", "2025-12-31", "--user", "u_region_east", "--format", "csv")
    assert rfm.exit_code == 0, rfm.output
    segments = pd.read_csv(io.StringIO(rfm.output))
    assert len(segments) == 11 and segments["members"].is_monotonic_decreasing
    value = wb_tiny("value", "--as-of", "2025-12-31", "--top", "5", "--format", "csv")
    assert value.exit_code == 0, value.output
    assert pd.read_csv(io.StringIO(value.output))["clv"].is_monotonic_decreasing


def test_a_store_managers_call_list_as_json_is_masked(wb_tiny):
    result = wb_tiny("calls", "--as-of", "2025-12-31", "--user", "u_store_001", "--format", "json")
    assert result.exit_code == 0, result.output
    calls = json.loads(result.output)
    assert len(calls) == 30 and {c["store_code"] for c in calls} == {"S001"}
    assert all("****" in c["phone"] and c["opening_zh"] for c in calls)


def test_bad_input_is_one_line_with_exit_code_2(wb_tiny):
    unknown = wb_tiny("calls", "--as-of", "2025-12-31", "--products", "25AW-XX9999-RED")
    assert unknown.exit_code == 2 and "unknown SKC code(s) in the product list: 25AW-XX9999-RED" in unknown.output
    early = wb_tiny("rfm", "--as-of", "2019-01-01")
    assert early.exit_code == 2 and "before any member purchase" in early.output
    other = wb_tiny("calls", "--as-of", "2025-12-31", "--user", "u_store_001", "--store", "S003")
    assert other.exit_code == 2 and "no call list for store 'S003'" in other.output


def test_pairing_and_scalpers_from_the_shell(wb_tiny):
    score = wb_tiny("pairing", "--as-of", "2025-12-03", "--score", "28", "--format", "json")
    assert score.exit_code == 0, score.output
    rates = {r["method"]: r["hit_rate"] for r in json.loads(score.stdout)}
    assert set(rates) == {"workbench", "popularity", "store_best_sellers"} and rates["workbench"] > rates["popularity"]
    top = wb_tiny("pairing", "--as-of", "2025-12-31", "--skc", "25SS-JE0005-RED", "--format", "csv")
    assert top.exit_code == 0, top.output
    assert list(pd.read_csv(io.StringIO(top.output))["rank"]) == [1, 2, 3, 4, 5]
    cases = wb_tiny("scalpers", "--start", "2025-01-01", "--end", "2025-12-31", "--format", "csv")
    assert cases.exit_code == 0, cases.output
    assert {"multi_store", "repeat"} <= set(pd.read_csv(io.StringIO(cases.output))["rule"])
    unknown = wb_tiny("pairing", "--as-of", "2025-12-31", "--skc", "25AW-XX9999-RED")
    assert unknown.exit_code == 2 and "unknown SKC code(s) in the product list: 25AW-XX9999-RED" in unknown.output
    late = wb_tiny("pairing", "--as-of", "2025-12-31", "--score", "28")
    assert late.exit_code == 2 and "choose an as-of date on or before 2025-12-03" in late.output
