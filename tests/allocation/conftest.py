"""Allocation fixtures: a writable copy of the tiny chain with a forecast to plan from."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

import workbench as wb
from workbench.allocation import inputs
from workbench.forecasting.output import write_forecast

AS_OF = dt.date(2025, 11, 9)  # a stock snapshot day (Sunday)


@pytest.fixture()
def planned(tiny_settings, tmp_path):
    """A writable copy of tiny with a forecast for AS_OF in marts.forecast (a 28-day sales rate: no model)."""
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        forecast = inputs.sales_rate_forecast(s, AS_OF)
        forecast = forecast[forecast["store_id"].isin(inputs.planning_stores(s)["store_id"])]
        write_forecast(s, forecast.assign(p10=0.0, p50=forecast["mean"], p90=forecast["mean"] * 2), AS_OF, None)
    return settings
