"""In a real browser: the login, the session timeout's cookie, and the authorisation hook."""

from __future__ import annotations

import json

import pytest

from .conftest import log_in, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _audit_lines(settings) -> list[dict]:
    return [json.loads(line) for f in sorted(settings.audit_dir.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_a_wrong_password_is_refused_and_audited(served_apps, page):
    log_in(page, served_apps.url, "u_store_001", password="not-the-password")
    assert "/login" in page.url
    page.get_by_text("Invalid username or password").wait_for()
    screenshot(page, "login-refused")
    page.goto(f"{served_apps.url}/operations")
    assert "/login" in page.url  # still nobody: every app sends to the login page
    refused = [r for r in _audit_lines(served_apps.settings) if r["user"] == "u_store_001" and r["status"] == "denied"]
    assert refused and "login refused" in refused[-1]["message"] and refused[-1]["entry_point"] == "app"


def test_a_store_manager_logs_in_sees_their_scope_and_cannot_open_model_review(served_apps, page):
    log_in(page, served_apps.url, "u_store_001")
    page.get_by_text("Store manager S001").wait_for()
    page.get_by_text("store_manager; S001").wait_for()
    screenshot(page, "home-store-manager")
    cookie = {c["name"]: c for c in page.context.cookies()}["user"]
    assert cookie["httpOnly"] and cookie["expires"] > 0  # a login that ends (apps.session_timeout_min)
    response = page.goto(f"{served_apps.url}/model_review")
    assert response.status == 403
    page.get_by_text("not authorized").first.wait_for()
    screenshot(page, "model-review-refused")
    logins = [r for r in _audit_lines(served_apps.settings) if r["user"] == "u_store_001" and r["action"] == "login"]
    assert logins, "a successful login is audited"
    reads = [r for r in _audit_lines(served_apps.settings) if r["user"] == "u_store_001" and r["entry_point"] == "app"
             and r["action"] in ("read", "sql")]
    assert reads, "the page read through the user's own governed session"


def test_a_forged_cookie_opens_nothing(served_apps, page):
    page.context.add_cookies([{"name": "user", "value": "u_admin", "url": served_apps.url}])
    page.goto(f"{served_apps.url}/home")
    assert "/login" in page.url


def _login_redirect(base: str, next_url: str) -> tuple[int, str]:
    """POST the login form as a browser would after GET /login?next=...; the status and where it sends us."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    host = urlsplit(base)
    con = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    con.request("GET", "/login?" + urlencode({"next": next_url}))
    got = con.getresponse()
    got.read()
    if got.status != 200:
        return got.status, ""
    cookie = got.getheader("Set-Cookie", "").split(";")[0]
    con.request("POST", "/login", body=urlencode({"username": "u_region_east", "password": "retail-demo"}),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    sent = con.getresponse()
    sent.read()
    return sent.status, sent.getheader("Location", "")


def test_after_the_login_the_browser_goes_back_to_a_report_but_never_elsewhere(served_apps):
    from workbench.apps.settings import app_settings

    report = f"http://127.0.0.1:{app_settings().voila_port}/voila/render/finance_report.ipynb"
    assert _login_redirect(served_apps.url, report) == (302, report)
    assert _login_redirect(served_apps.url, "/alerts") == (302, "/alerts")
    assert _login_redirect(served_apps.url, "http://evil.example/phish")[0] == 400
    assert _login_redirect(served_apps.url, "http://127.0.0.1:1/elsewhere")[0] == 400
