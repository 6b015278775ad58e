"""Servers and a real browser for the app tests.

``served_apps`` starts the real ``panel serve`` of ``wb serve`` (the workbench
login, every app) on a free 127.0.0.1 port over a copy of the tiny warehouse
and a day's allocation plan, with a published serving snapshot; ``browser`` is Debian's Chromium driven by
Playwright (no browser download). Screenshots go to ``test-artifacts/`` (or
``WB_TEST_ARTIFACTS``), which CI keeps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "retail-demo"  # the demo logins' password (workbench/conf/logins.yaml)


@dataclass
class Served:
    url: str
    settings: Settings  # the live warehouse the apps' writes go to
    env: dict[str, str]


def artifacts_dir() -> Path:
    path = Path(os.environ.get("WB_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def served_apps(tiny_settings, tmp_path_factory):
    from workbench.apps import serve as srv
    from workbench.apps.settings import app_settings
    from workbench.tracking.server import free_port
    from workbench.warehouse import snapshot

    from ..allocation.test_approvals import make_review_warehouse

    root = tmp_path_factory.mktemp("served")
    settings = make_review_warehouse(tiny_settings, root).settings  # tiny, with a day's allocation plan
    snapshot.publish(settings)
    env = {"WB_WAREHOUSE": str(settings.warehouse), "WB_AUDIT_DIR": str(settings.audit_dir),
           "WB_APPS_DIR": str(root / "apps"), "WB_APPS_COOKIE_SECRET": "browser-test-secret",
           "WB_MODELS_DIR": str(root / "models")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # app_settings() below and the server read the same places
    try:
        apps = app_settings()
        port = free_port()
        server = srv.launch("panel", srv.panel_command(apps, port=port), f"http://127.0.0.1:{port}/login", apps, env=env)
        try:
            yield Served(f"http://127.0.0.1:{port}", settings, env)
        finally:
            srv._terminate(server.pid)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def log_in(tab, base: str, user: str, password: str = PASSWORD, app: str = "home") -> None:
    tab.goto(f"{base}/{app}")
    tab.fill("input[name=username]", user)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit], input[type=submit]")
    tab.wait_for_load_state()


def screenshot(tab, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def served_voila(served_apps):
    """The Voila server of ``wb serve`` over the same warehouse, login cookie secret and settings; its URL."""
    import dataclasses

    from workbench.apps import serve as srv
    from workbench.apps.settings import app_settings
    from workbench.apps.voila import voila_command
    from workbench.tracking.server import free_port

    apps = dataclasses.replace(app_settings(), voila_port=free_port())
    url = f"http://127.0.0.1:{apps.voila_port}"
    server = srv.launch("voila", voila_command(apps), f"{url}/", apps, env=served_apps.env)
    try:
        yield url
    finally:
        srv._terminate(server.pid)
