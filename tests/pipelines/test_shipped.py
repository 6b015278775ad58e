"""The pipelines shipped in pipelines/ load and validate against the real notebooks."""

from __future__ import annotations

from workbench.pipelines import list_pipelines, load_pipeline, order


def test_the_three_shipped_pipelines_validate():
    assert {"daily", "weekly", "monthly"} <= set(list_pipelines())
    for name in list_pipelines():
        assert load_pipeline(name).name == name


def test_daily_scores_the_forecast_then_plans_allocation_from_it():
    daily = load_pipeline("daily")
    assert [s.name for s in order(daily)] == ["forecast", "allocation", "rollups"]
    assert daily.step("allocation").depends_on == ("forecast",)
    assert daily.step("forecast").parameters["mode"] == "score"
    assert "marts.forecast" in daily.step("forecast").outputs
    # both notebooks declare as_of and run_id, so every run tags its rows with its own id
    assert all({"as_of", "run_id"} <= set(s.parameter_template()) for s in daily.steps)


def test_weekly_retrains_then_reviews_and_reports_the_week():
    weekly = load_pipeline("weekly")
    assert weekly.step("forecast_retrain").parameters["mode"] == "train"
    assert weekly.step("model_review").depends_on == ("forecast_retrain",)  # the gate sees the new challenger
    report = weekly.step("finance_report")
    assert report.parameters["period"] == "week" and report.exports == ("pdf",)


def test_monthly_writes_down_the_consignment_stock_before_the_report_shows_it():
    monthly = load_pipeline("monthly")
    assert [s.name for s in order(monthly)] == ["consignment_write_down", "finance_report"]
    assert monthly.step("finance_report").depends_on == ("consignment_write_down",)
    assert monthly.step("consignment_write_down").outputs == ("marts.consignment_write_down",)
    assert monthly.step("finance_report").exports == ("pdf",)
