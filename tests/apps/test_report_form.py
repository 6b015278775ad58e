"""The finance report's Voila form (workbench/apps/report_form.py) without a server: bad input gives one clear
message, the default as-of date is the reader's last day with sales, charts become images."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from IPython.display import HTML, Image

import workbench as wb
from workbench.apps import report_form


@pytest.fixture
def tiny_env(tiny_settings, monkeypatch):
    """The form opens its own sessions from the environment, as the Voila kernel does: point it at tiny."""
    monkeypatch.setenv("WB_WAREHOUSE", str(tiny_settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(tiny_settings.audit_dir))
    return tiny_settings


def _alert_text(outputs: list) -> str:
    assert len(outputs) == 1 and isinstance(outputs[0], HTML) and 'role="alert"' in outputs[0].data
    return outputs[0].data


def test_no_as_of_date_asks_for_one():
    assert "Choose an as-of date" in _alert_text(report_form.finance_report_outputs("u_region_east", None, "month",
                                                                                    "previous_year", "store"))


def test_an_alert_escapes_what_it_quotes():
    assert "<script>" not in report_form.alert("no sales for <script>x</script>").data


def test_a_period_without_sales_says_which_dates_hold_some(tiny_env):
    text = _alert_text(report_form.finance_report_outputs("u_region_east", dt.date(2030, 1, 31), "month",
                                                          "previous_year", "store"))
    assert "no sales between 2030-01-01 and 2030-01-31" in text and "2025-01-01" in text


def test_a_breakdown_the_report_cannot_cut_by_is_refused_by_name(tiny_env):
    text = _alert_text(report_form.finance_report_outputs("u_region_east", dt.date(2025, 11, 30), "month",
                                                          "previous", "colour"))
    assert "colour" in text


def test_the_form_outside_voila_says_how_to_open_it():
    form = report_form.FinanceReportForm(None)
    assert "logged-in user" in _alert_text(form.outputs())
    assert form.as_of.value is None


def test_the_default_as_of_is_the_readers_last_day_with_sales(tiny_env):
    with wb.session("u_region_east", settings=tiny_env, read_only=True) as s:
        last = pd.Timestamp(s.table("core.sales").sale_date.max().execute()).date()
    form = report_form.FinanceReportForm("u_region_east")
    assert form.as_of.value == last
    assert (form.period.value, form.compare.value, form.by.value) == ("month", "previous_year", "store")


def test_an_unknown_user_gets_a_message_not_a_stack_trace(tiny_env):
    form = report_form.FinanceReportForm("u_nobody")
    assert "u_nobody" in _alert_text(form.outputs())


def test_a_chart_becomes_a_png_image():
    import hvplot.pandas  # noqa: F401

    chart = pd.DataFrame({"store": ["S001", "S006"], "net_sales": [3.0, 4.0]}).hvplot.bar(x="store", y="net_sales")
    image = report_form.as_image(chart)
    assert isinstance(image, Image) and image.data.startswith(b"\x89PNG")
    table = pd.DataFrame({"a": [1]})
    assert report_form.as_image(table) is table
