"""The frame around every page: the user's own governed session, role checks, errors as messages."""

from __future__ import annotations

import panel as pn
import pytest

from workbench.apps import page
from workbench.apps.settings import app_settings


def _text(viewable) -> str:
    """Every Markdown / Alert text in a layout, depth first."""
    parts = []
    for obj in viewable.select(pn.pane.Markdown) + viewable.select(pn.pane.Alert):
        parts.append(str(obj.object))
    return "\n".join(parts)


@pytest.fixture()
def seen(monkeypatch):
    """A stand-in page that shows the stores its session sees, and remembers the session."""
    got = {}

    def view(session):
        got["session"] = session
        stores = session.table("sales").store_id.nunique().execute()
        return pn.pane.Markdown(f"stores with sales: {stores}")

    monkeypatch.setattr(page, "_view", lambda name: view)
    return got


def test_a_store_manager_gets_a_read_only_session_of_their_own_store(tiny_settings, seen):
    layout, session = page.build("operations", "u_store_001", settings=tiny_settings)
    try:
        assert seen["session"] is session and session.read_only and session.entry_point == "app"
        assert session.user.name == "u_store_001" and session.scope.store_codes == ("S001",)
        text = _text(layout)
        assert "stores with sales: 1" in text and "S001" in text
        assert "Model review" not in text  # no link to a page the role may not open
        assert "[Operations dashboard" in text
    finally:
        session.close()


def test_the_head_office_sees_the_whole_chain(tiny_settings, seen):
    layout, session = page.build("operations", "u_hq", settings=tiny_settings)
    try:
        assert "stores with sales: " in _text(layout) and "whole chain" in _text(layout)
        assert seen["session"].table("sales").store_id.nunique().execute() > 1
    finally:
        session.close()


def test_a_page_the_role_may_not_open_is_refused_before_it_runs(tiny_settings, seen):
    layout, session = page.build("model_review", "u_store_001", settings=tiny_settings)
    assert session is None and "session" not in seen
    assert "may not open Model review" in _text(layout)


@pytest.mark.parametrize(("error", "shown"), [
    (ValueError("no sales in the period you picked; pick another"), "no sales in the period you picked"),
    (ZeroDivisionError("division by zero"), "Something went wrong on the server (reference"),
])
def test_an_error_in_a_page_is_a_message_never_a_stack_trace(tiny_settings, monkeypatch, error, shown):
    def broken(session):
        raise error

    monkeypatch.setattr(page, "_view", lambda name: broken)
    layout, session = page.build("operations", "u_hq", settings=tiny_settings)
    try:
        text = _text(layout)
        assert shown in text and "Traceback" not in text and "division by zero" not in text.replace(shown, "")
    finally:
        session.close()


def test_nobody_logged_in_an_unknown_user_or_page(tiny_settings, seen):
    assert "not logged in" in _text(page.build("operations", None, settings=tiny_settings)[0])
    layout, session = page.build("operations", "u_mallory", settings=tiny_settings)
    assert session is None and "u_mallory" in _text(layout)
    assert "no app called" in _text(page.build("../etc", "u_hq", settings=tiny_settings)[0])


def test_links_follow_the_pages_setting():
    apps = app_settings()
    titles = [t for t, _ in page.links("store_manager", apps)]
    assert "Model review · 模型评审" not in titles and "Operations dashboard · 多维运营看板" in titles
    urls = dict(page.links("region_manager", apps))
    assert urls["Finance report · 财务经营汇报"].endswith(f":{apps.voila_port}/voila/render/finance_report.ipynb")
