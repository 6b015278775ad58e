"""``wb forecast train | score | show`` in-process (click's runner): refusals in one line that write nothing, and a real run."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import main
from workbench.forecasting import output

from .forecast_env import AS_OF, synthetic_forecast, table_state, use_env, warehouse_copy

EVALUATOR = "workbench.forecasting.review:evaluate"


def wb_cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def settings(tiny_settings, tmp_path, monkeypatch):
    """A private warehouse whose marts.forecast already holds a good run (refusals must leave it as it is)."""
    settings = warehouse_copy(tiny_settings, tmp_path)
    use_env(monkeypatch, settings)
    with wb.session("u_pipeline", settings=settings, run_id="previous-good-run") as s:
        output.write_forecast(s, synthetic_forecast(settings), AS_OF, 1)
    return settings


def refused(result, *patterns: str) -> str:
    """The refusal's one line (after any warnings), checked for exit code 2 and each pattern."""
    assert result.exit_code == 2, result.output
    line = [l for l in result.output.strip().splitlines() if l.startswith("error: ")]
    assert len(line) == 1, result.output
    for pattern in patterns:
        assert re.search(pattern, line[0]), line[0]
    return line[0]


def test_every_forecast_command_has_examples():
    for args in (["forecast"], ["forecast", "train"], ["forecast", "score"], ["forecast", "show"]):
        result = wb_cli(*args, "--help")
        assert result.exit_code == 0 and "Example" in result.output, args
    assert "forecast" in wb_cli("--help").output


def test_an_as_of_date_outside_the_data_is_refused_and_nothing_is_written(settings):
    before = table_state(settings)
    refused(wb_cli("forecast", "score", "--as-of", "2026-03-01"),
            r"as-of date 2026-03-01 is outside what the data supports: sales run 2025-01-01\.\.2025-12-31",
            r"choose an as-of date between 2025-02-25 and 2025-12-31")
    refused(wb_cli("forecast", "train", "--as-of", "2025-02-01"),
            r"choose an as-of date between 2025-\d\d-\d\d and 2025-12-31")
    refused(wb_cli("forecast", "score", "--as-of", "30.11.2025"), r"is not a date: write it as YYYY-MM-DD")
    assert table_state(settings) == before


def test_a_user_who_sees_no_stores_is_refused_and_nothing_is_written(settings):
    before = table_state(settings)
    for command in ("score", "train"):
        result = wb_cli("forecast", command, "--as-of", "2025-11-30", "--user", "u_store_042")  # S042: not in tiny
        refused(result, "no sales visible in this scope: nothing to forecast")
        assert "warning:" in result.output and "S042" in result.output  # the scope warning, in one line
    assert table_state(settings) == before


def test_a_user_without_a_write_grant_is_refused_before_any_work(settings):
    before = table_state(settings)
    refused(wb_cli("forecast", "score", "--as-of", "2025-11-30", "--user", "u_analyst"),
            "may not write marts.forecast; run the scoring as a pipeline user")
    assert table_state(settings) == before


def test_show_reads_through_the_users_row_policy(settings):
    result = wb_cli("forecast", "show", "--format", "csv", "--limit", "0")
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()
    assert rows[0] == "as_of,store_code,sku_code,date,p10,p50,p90,mean,model_version" and len(rows) == 1 + 36
    mine = wb_cli("forecast", "show", "--user", "u_store_001", "--format", "json")
    assert mine.exit_code == 0 and set(re.findall(r'"store_code": "(S\d+)"', mine.output)) == {"S001"}
    refused(wb_cli("forecast", "show", "--as-of", "2025-10-01"), "no forecast for as-of 2025-10-01")
    refused(wb_cli("forecast", "show", "--store", "S007"), "no forecast rows match")


@pytest.mark.slow
def test_without_a_champion_score_says_what_to_do_and_writes_nothing(settings, mlflow_server):
    before = table_state(settings)
    refused(wb_cli("forecast", "score", "--as-of", "2025-11-30"),
            r"no champion of 'forecast_test_\w+' to forecast with: train one with `wb forecast train --as-of DATE`",
            r"then promote it with `wb models review forecast_test_\w+`")
    assert table_state(settings) == before


@pytest.mark.slow
def test_train_review_score_twice_replaces_the_as_of_rows(tiny_settings, tmp_path, monkeypatch, mlflow_server):
    settings = warehouse_copy(tiny_settings, tmp_path)
    name = use_env(monkeypatch, settings)
    monkeypatch.setenv("WB_FORECAST_REVIEW_WINDOWS", "1")
    trained = wb_cli("forecast", "train", "--as-of", "2025-11-30", "--n-origins", "4")
    assert trained.exit_code == 0, trained.output
    assert f"{name} version 1 registered as challenger" in trained.output
    assert "sku_store" in trained.output and "backtest: trained 2025-11-02" in trained.output
    refused(wb_cli("forecast", "score", "--as-of", "2025-11-30", "--alias", "challenger"),
            f"{name} version 1 has not passed the review gate, so it may not write marts.forecast")
    assert table_state(settings) is None
    reviewed = wb_cli("models", "review", name, "--evaluator", EVALUATOR)
    assert reviewed.exit_code == 0 and "promoted to champion" in reviewed.output, reviewed.output

    first = wb_cli("forecast", "score", "--as-of", "2025-11-30")
    assert first.exit_code == 0, first.output
    written = int(re.search(r"wrote (\d+) rows to marts.forecast for as-of 2025-11-30", first.output).group(1))
    rows, runs, days = table_state(settings)
    assert rows == written > 10_000 and days == {AS_OF} and len(runs) == 1
    assert "East" in first.output  # the summary by region

    second = wb_cli("forecast", "score", "--as-of", "2025-11-30", "--by", "brand")
    assert second.exit_code == 0, second.output
    rows_again, runs_again, _ = table_state(settings)
    assert rows_again == rows and len(runs_again) == 1 and runs_again != runs  # replaced, not added
    shown = wb_cli("forecast", "show", "--store", "S001", "--limit", "5")
    assert shown.exit_code == 0 and "5 of" in shown.output and "S001" in shown.output
