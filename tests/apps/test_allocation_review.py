"""The allocation review page without a browser: build it on a copied tiny warehouse, tick rows, press buttons."""

from __future__ import annotations

import datetime as dt
import shutil

import panel as pn
import pandas as pd
import pytest

import workbench as wb
from workbench.allocation import approvals, daily, output
from workbench.apps import allocation_review
from workbench.apps.allocation_review import AllocationReview

from ..allocation.test_approvals import AS_OF, REPL, TRANS, make_review_warehouse


@pytest.fixture(scope="module")
def review_base(tiny_settings, tmp_path_factory):
    return make_review_warehouse(tiny_settings, tmp_path_factory.mktemp("review-page"))


@pytest.fixture()
def live(review_base, tmp_path):
    """A copy to write to, and a writing session held open first: DuckDB gives one access mode per file and
    process, so the page's read-only session then shares it (governance README, "Limits")."""
    settings = review_base.settings.with_(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(review_base.settings.warehouse, settings.warehouse)
    holder = wb.session("u_pipeline", settings=settings, read_only=False)
    opened = []

    def open_page(user: str, factory="same user"):
        s = wb.session(user, settings=settings, read_only=True, entry_point="app")
        opened.append(s)
        if factory == "same user":
            factory = lambda: wb.session(user, settings=settings, read_only=False, entry_point="app")  # noqa: E731
        return AllocationReview(s, factory)

    yield settings, holder, open_page
    for s in opened:
        s.close()
    holder.close()


def _alert(page) -> tuple[str, str]:
    (alert,) = page.message.objects
    assert isinstance(alert, pn.pane.Alert)
    return alert.alert_type, alert.object


def _log(holder, table=REPL) -> pd.DataFrame:
    log = approvals.decisions_table(table)
    return holder.table(log).to_pandas() if holder.table_exists(log) else pd.DataFrame()


@pytest.mark.slow
def test_a_region_manager_approves_edits_and_rejects(live):
    settings, holder, open_page = live
    page = open_page("u_region_east")
    east = set(page.session.scope.store_ids)
    plan = output.read_plan(holder, REPL, AS_OF)
    mine = plan[plan["to_store_id"].isin(east) | plan["from_store_id"].isin(east)]
    page.tabs.active = list(allocation_review.TABS).index(REPL)
    table = page.tables[REPL]
    assert len(table.value) == len(mine) > 3 and set(table.value["to"]) <= {"S001", "S006", "S007", "S008"}
    assert set(table.value["from"]) == {"DC"}  # the DC's row is outside the region's scope: labelled, not hidden
    assert not page.approve.disabled

    page.on_approve()
    assert _alert(page) == ("warning", "Select one or more moves first (tick their boxes).")
    table.selection = [0, 1]
    page.on_approve()
    kind, text = _alert(page)
    assert kind == "success" and "2 approved" in text
    big = int(table.value["units"].idxmax())  # a move of several units, cut by one with a comment
    cut = int(table.value.loc[big, "units"]) - 1
    table.selection = [big]
    table.patch({"approve_qty": [(big, cut)]})
    page.comment.value = "the back room is full"
    page.on_approve()
    assert _alert(page)[0] == "success" and page.comment.value == ""
    other = next(i for i in range(2, len(table.value)) if i != big)
    table.selection = [other]
    page.on_reject()
    kind, text = _alert(page)
    assert kind == "danger" and "comment is required to reject" in text
    page.comment.value = "not before the sale"
    table.selection = [other]
    page.on_reject()
    assert _alert(page)[0] == "success"

    log = _log(holder)
    assert sorted(log["decision"]) == ["approved", "approved", "edited", "rejected"]
    assert set(log["decided_by"]) == {"u_region_east"} and set(log["to_store_id"]) <= east
    assert log.loc[log["decision"] == "edited", "approved_units"].item() == cut
    shown = table.value.set_index(["to_store_id", "sku_id"])["status"]
    decided = log.set_index(["to_store_id", "sku_id"])["decision"]
    assert (shown.reindex(decided.index) == decided).all()
    cards = {c.name: c.value for c in page.cards[REPL]}
    assert (cards["Approved"], cards["Rejected"], cards["Pending"]) == (3, 1, len(mine) - 4)
    assert cards["Units"] == mine["units"].sum()
    with wb.session("u_auditor", settings=settings, read_only=True) as a:
        audit = a.table("audit_log")
        audit = audit.filter(audit.user == "u_region_east", audit.action == "write").to_pandas()
    assert list(audit["status"]) == ["ok"] * 3 and set(audit["entry_point"]) == {"app"}
    assert all("raw.replenishment_plan_decisions" in list(t) for t in audit["tables"])


def test_an_edit_beyond_the_rules_is_refused_in_the_page(live):
    settings, holder, open_page = live
    page = open_page("u_hq")
    page.tabs.active = list(allocation_review.TABS).index(TRANS)
    table = page.tables[TRANS]
    row = int(table.value.index[table.value["from"] == "S006"][0])
    table.selection = [row]
    table.patch({"approve_qty": [(row, 10_000)]})
    page.comment.value = "everything"
    page.on_approve()
    kind, text = _alert(page)
    assert kind == "danger" and text.startswith("Nothing was saved") and "the donor can spare" in text
    table.patch({"approve_qty": [(row, 1.5)]})
    table.selection = [row]
    page.on_approve()
    assert "whole number of 1 or more" in _alert(page)[1]
    assert _log(holder, TRANS).empty


@pytest.mark.slow
def test_a_plan_made_again_since_the_page_loaded_is_refused(live):
    settings, holder, open_page = live
    page = open_page("u_hq")
    page.tabs.active = list(allocation_review.TABS).index(REPL)
    holder.run_id = "rerun-of-the-day"  # the nightly run re-makes the day's plan under another run id
    daily.make_plan(holder, AS_OF).write(holder)
    page.tables[REPL].selection = [0]
    page.on_approve()
    kind, text = _alert(page)
    assert kind == "danger" and "re-made" in text and "reload" in text
    page.load()
    page.tables[REPL].selection = [0]
    page.on_approve()
    assert _alert(page)[0] == "success"
    assert set(_log(holder)["plan_run_id"]) == {"rerun-of-the-day"}


def test_a_store_manager_sees_the_stores_moves_and_cannot_decide(live):
    settings, holder, open_page = live
    page = open_page("u_store_001")
    s001 = page.session.scope.store_ids[0]
    for table in allocation_review.TABS:
        plan = output.read_plan(holder, table, AS_OF)
        mine = plan[(plan["to_store_id"] == s001) | (plan["from_store_id"] == s001)]
        assert len(page.tables[table].value) == len(mine)
    assert page.approve.disabled and page.reject.disabled
    page.tables[REPL].selection = [0]
    page.tabs.active = list(allocation_review.TABS).index(REPL)
    page.on_approve()
    kind, text = _alert(page)
    assert kind == "warning" and "does not decide" in text
    assert page.tables[REPL].editors["approve_qty"] is None
    assert _log(holder).empty


def test_the_warehouse_decides_replenishment_only(live):
    settings, holder, open_page = live
    page = open_page("u_warehouse")
    assert page.may_decide == {TRANS: False, REPL: True}
    page.tabs.active = list(allocation_review.TABS).index(TRANS)
    assert page.approve.disabled
    page.tabs.active = list(allocation_review.TABS).index(REPL)
    assert not page.approve.disabled


def test_bad_dates_and_failures_are_messages_not_stack_traces(live, tiny_settings):
    settings, holder, open_page = live

    def busy():
        raise RuntimeError("the warehouse is held by the nightly run")

    page = open_page("u_hq", factory=busy)
    page.as_of.value = dt.date(2025, 1, 1)
    kind, text = _alert(page)
    assert kind == "warning" and "No plan for 2025-01-01" in text and str(AS_OF) in text
    page.as_of.value = AS_OF
    assert not page.message.objects and len(page.tables[REPL].value) > 0
    page.tables[REPL].selection = [0]
    page.tabs.active = list(allocation_review.TABS).index(REPL)
    page.on_approve()
    kind, text = _alert(page)
    assert kind == "danger" and "held by the nightly run" in text
    with wb.session("u_hq", settings=tiny_settings, read_only=True, entry_point="app") as s:  # no plan at all yet
        empty = AllocationReview(s)
    kind, text = _alert(empty)
    assert kind == "info" and "No allocation plan yet" in text


def test_view_is_a_panel_page_that_writes_through_a_session_of_the_same_user(live):
    settings, holder, open_page = live
    with wb.session("u_region_east", settings=settings, read_only=True, entry_point="app") as s:
        layout = allocation_review.view(s)  # the default factory: the same user, the same warehouse
        assert isinstance(layout, pn.Column)
        (tabs,) = [o for o in layout.objects if isinstance(o, pn.Tabs)]
        (buttons,) = [o for o in layout.objects if isinstance(o, pn.Row) and any(isinstance(b, pn.widgets.Button) for b in o)]
        tabs.active = list(allocation_review.TABS).index(REPL)
        table = tabs[tabs.active][1]
        table.selection = [0]
        approve = next(b for b in buttons if b.label.startswith("Approve"))
        approve.clicks += 1  # as a browser click does
    log = _log(holder)
    assert len(log) == 1 and log["decided_by"].item() == "u_region_east"
