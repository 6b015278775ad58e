"""In a real browser: every app opens for a role that may open it; a screenshot of each is kept."""

from __future__ import annotations

import pytest

from .conftest import log_in, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize(("user", "app", "shows"), [
    ("u_hq", "home", "Net sales"),
    ("u_warehouse", "home", "DC supervisor"),
    ("u_region_east", "alerts", "understock"),
    ("u_analyst", "model_review", "MLflow"),  # no tracking server in this test: the page says what to do
])
def test_each_app_opens_for_its_roles(served_apps, page, user, app, shows):
    log_in(page, served_apps.url, user, app=app)
    page.get_by_text(shows).first.wait_for()
    assert not page.get_by_text("Traceback").count()
    screenshot(page, f"{app}-{user}")


def test_the_finance_report_opens_in_voila_with_the_same_login(served_apps, served_voila, page):
    log_in(page, served_apps.url, "u_region_east")
    page.goto(f"{served_voila}/voila/render/finance_report.ipynb", timeout=240_000)
    page.get_by_text("East").first.wait_for(timeout=240_000)
    assert "S002" not in page.content()  # North's store is not in East's report
    screenshot(page, "finance_report-u_region_east")
