"""In a real browser: a region manager approves a proposed transfer; the decision is written and audited."""

from __future__ import annotations

import pytest

import workbench as wb

from .conftest import log_in, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LOG = "raw.transfer_plan_decisions"


def test_a_region_manager_approves_a_transfer_and_the_approval_is_written_and_audited(served_apps, page):
    log_in(page, served_apps.url, "u_region_east", app="allocation_review")
    rows = page.locator(".tabulator-row:visible")
    rows.first.wait_for()
    first_to = rows.first.locator(".tabulator-cell[tabulator-field='to']").inner_text()
    rows.first.locator("input[type=checkbox]").click()
    page.get_by_role("button", name="Approve selected").click()
    page.get_by_text("1 approved").wait_for()
    screenshot(page, "allocation-review-approved")

    with wb.session("u_auditor", settings=served_apps.settings, read_only=True) as s:
        decisions = s.table(LOG).to_pandas()
        mine = decisions[decisions["decided_by"] == "u_region_east"]
        assert len(mine) == 1 and mine["decision"].iloc[0] == "approved"
        stores = s.table("core.stores").to_pandas().set_index("store_id")["store_code"]
        assert stores[int(mine["to_store_id"].iloc[0])] == first_to
        audit = s.table("audit_log").to_pandas()
    written = audit[(audit["user"] == "u_region_east") & (audit["action"] == "write") & (audit["status"] == "ok")]
    assert len(written) == 1 and LOG in list(written["tables"].iloc[0]) and written["entry_point"].iloc[0] == "app"
