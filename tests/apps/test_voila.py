"""The report notebooks under Voila, behind the apps' login (workbench/apps/voila.py).

Unit tests of the user injection, the page check and the command; then the real Voila server started with
``voila_command`` on a free port over a copy of the tiny warehouse, asked over HTTP with signed login
cookies as the Panel login page would set them.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import nbformat
import psutil
import pytest
from jupyter_server.auth.identity import User
from tornado.web import HTTPError, create_signed_value

import workbench as wb
from workbench.apps import voila as wb_voila
from workbench.apps.settings import app_settings
from workbench.config import project_root

from workbench.tracking.server import free_port

from ..notebook_checks import assert_clean_and_thin

SECRET = "voila-test-secret-0123456789"
PAGE = "/voila/render/finance_report.ipynb"
NOTEBOOK = project_root() / "apps" / "finance_report.ipynb"


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _parameters(source: str = "user = None\nas_of = None") -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})


def _run_sources(nb: nbformat.NotebookNode) -> dict:
    """The code cells executed in order (they only assign): the variables the notebook ends with."""
    namespace: dict = {}
    exec("\n".join(c.source for c in nb.cells if c.cell_type == "code"), namespace)  # noqa: S102 (test data)
    return namespace


# --- the injection -------------------------------------------------------------------------------------------

def test_the_user_is_injected_after_the_parameters_cell_and_wins():
    nb = _notebook(nbformat.v4.new_markdown_cell("# report"), _parameters(), nbformat.v4.new_code_cell("x = user"))
    injected = wb_voila.inject_user(nb, "u_region_east")
    assert [c.cell_type for c in injected.cells] == ["markdown", "code", "code", "code"]
    assert wb_voila.INJECTED_TAG in injected.cells[2].metadata["tags"]
    assert _run_sources(injected)["x"] == "u_region_east"
    assert len(nb.cells) == 3  # the notebook Voila loaded is not changed in place


def test_a_second_injection_replaces_the_first():
    once = wb_voila.inject_user(_notebook(_parameters()), "u_admin")
    twice = wb_voila.inject_user(once, "u_region_east")
    assert sum(wb_voila.INJECTED_TAG in c.metadata.get("tags", []) for c in twice.cells) == 1
    assert _run_sources(twice)["user"] == "u_region_east"


@pytest.mark.parametrize("user", ["u_admin'\nimport os", "", "a b", "u_x\"; user = 'u_admin"])
def test_a_user_name_that_is_not_a_name_is_refused(user):
    with pytest.raises(ValueError, match="not a workbench user name"):
        wb_voila.inject_user(_notebook(_parameters()), user)


def test_a_notebook_without_parameters_cell_is_refused():
    with pytest.raises(ValueError, match="parameters"):
        wb_voila.inject_user(_notebook(nbformat.v4.new_code_cell("user = None")), "u_region_east")


def test_the_published_notebook_is_clean_thin_and_takes_the_user():
    assert_clean_and_thin(NOTEBOOK, ("user", "as_of", "period", "compare", "by"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r"^user = None\b", params.source, re.M)
    injected = wb_voila.inject_user(nb, "u_region_east")
    position = injected.cells.index(next(c for c in injected.cells if "parameters" in c.metadata.get("tags", [])))
    assert injected.cells[position + 1].source.endswith("user = 'u_region_east'\n")


# --- the prelaunch hook and the page check ----------------------------------------------------------------------

def _voila_request(user: str | None, notebook: str = "finance_report.ipynb"):
    """A Voila page handler as the hook receives it, without a server behind it."""
    from voila.handler import VoilaHandler

    handler = VoilaHandler.__new__(VoilaHandler)
    handler.application = SimpleNamespace(settings={"identity_provider": SimpleNamespace(apps=app_settings())})
    handler.path_args, handler.path_kwargs = [notebook], {}
    handler.current_user = User(user) if user else None
    return handler


def test_the_hook_injects_the_logged_in_user():
    nb = wb_voila.prelaunch_hook(_voila_request("u_region_east"), _notebook(_parameters()), "/tmp")
    assert _run_sources(nb)["user"] == "u_region_east"


@pytest.mark.parametrize("user, notebook", [("u_store_001", "finance_report.ipynb"),  # role not listed
                                            ("u_admin", "not_a_page.ipynb"),  # no page: deny by default
                                            (None, "finance_report.ipynb")])  # nobody logged in
def test_the_hook_refuses_what_the_page_check_refuses(user, notebook):
    with pytest.raises(HTTPError) as refused:
        wb_voila.prelaunch_hook(_voila_request(user, notebook), _notebook(_parameters()), "/tmp")
    assert refused.value.status_code == 403


def test_the_page_of_a_notebook_is_its_stem():
    assert wb_voila.page_of_notebook("finance_report.ipynb") == "finance_report"
    assert wb_voila.page_of_notebook("reports/x/../finance_report.ipynb") == "finance_report"


def test_the_panel_login_is_on_the_host_name_the_browser_used():
    apps = dataclasses.replace(app_settings(), port=5006, host="127.0.0.1")
    assert wb_voila.panel_url("127.0.0.1:8866", "/login", apps) == "http://127.0.0.1:5006/login"
    assert wb_voila.panel_url("localhost:8866", "/login", apps) == "http://localhost:5006/login"
    assert wb_voila.panel_url("[::1]:8866", "/logout", apps) == "http://[::1]:5006/logout"


def test_the_command_uses_options_the_installed_voila_knows():
    from voila.app import Voila

    apps = dataclasses.replace(app_settings(), host="127.0.0.1", voila_port=18866)
    command = wb_voila.voila_command(apps, Path("/srv/apps"))
    assert command[1:4] == ["-m", "workbench.apps.voila", "/srv/apps"]
    app = Voila()
    app.parse_command_line(command[3:])
    assert app.extra_args == ["/srv/apps"]
    assert (app.ip, app.port, app.open_browser) == ("127.0.0.1", 18866, False)
    assert app.identity_provider_class is wb_voila.WorkbenchIdentityProvider
    voila_conf = app.config.VoilaConfiguration
    assert voila_conf.strip_sources is True and voila_conf.show_tracebacks is False
    assert voila_conf.allow_template_override == voila_conf.allow_theme_override == "NO"
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    kernels = AsyncMappingKernelManager(config=app.config)  # Voila's default kernel manager reads the culling
    assert (kernels.cull_idle_timeout, kernels.cull_interval) == (apps.idle_session_min * 60, 60)


# --- the real server ---------------------------------------------------------------------------------------------

def _cookie(user: str, secret: str = SECRET, age_s: float = 0.0) -> str:
    return create_signed_value(secret, "user", user, clock=lambda: time.time() - age_s).decode()


def _get(port: int, path: str, cookie: str | None = None, timeout_s: float = 300) -> tuple[int, str | None, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"Cookie": f"user={cookie}"} if cookie else {})
        answer = conn.getresponse()
        return answer.status, answer.getheader("Location"), answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _wait_for_http(port: int, process: subprocess.Popen, timeout_s: float = 180.0) -> None:
    """Poll the server until it answers at all (a redirect counts; it is not followed), or fail when it exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, f"the Voila server exited with {process.returncode}"
        try:
            _get(port, "/login", timeout_s=5)
            return
        except OSError:
            assert time.monotonic() < deadline, f"Voila did not answer on port {port} within {timeout_s:.0f} s"
            time.sleep(0.2)  # the pace of polling; the loop ends on the first answer


@pytest.fixture(scope="module")
def voila(tiny_settings, tmp_path_factory):
    """The Voila server of ``voila_command`` over a copy of the tiny warehouse with a published serving
    snapshot (what app sessions read); logins for three users."""
    from workbench.apps.login import hash_password
    from workbench.warehouse import snapshot

    folder = tmp_path_factory.mktemp("voila")
    shutil.copyfile(tiny_settings.warehouse, folder / "tiny.duckdb")
    settings = tiny_settings.with_(warehouse=folder / "tiny.duckdb", audit_dir=folder / "audit-test")
    snapshot.publish(settings)
    password = hash_password("a-test-password")
    (folder / "logins.yaml").write_text(json.dumps(  # JSON is YAML
        {"passwords": {u: password for u in ("u_region_east", "u_store_001", "u_admin")}}))
    apps = dataclasses.replace(app_settings(), host="127.0.0.1", voila_port=free_port())
    path = os.pathsep.join(filter(None, [str(project_root()), os.environ.get("PYTHONPATH")]))  # this checkout
    env = dict(os.environ, PYTHONPATH=path,
               WB_WAREHOUSE=str(settings.warehouse), WB_AUDIT_DIR=str(folder / "audit-server"),
               WB_LOGINS=str(folder / "logins.yaml"), WB_APPS_COOKIE_SECRET=SECRET, OMP_WAIT_POLICY="PASSIVE")
    with open(folder / "voila.log", "wb") as log:
        server = subprocess.Popen(wb_voila.voila_command(apps), env=env, cwd=folder, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_http(apps.voila_port, server)
        yield SimpleNamespace(port=apps.voila_port, settings=settings, audit=folder / "audit-server",
                              log=folder / "voila.log")
    finally:
        _stop(server)


def _stop(server: subprocess.Popen) -> None:
    """The server, then the kernels it started (by their ids: they run in sessions of their own)."""
    kernels = psutil.Process(server.pid).children(recursive=True) if server.poll() is None else []
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for kernel in kernels:
        if kernel.is_running():
            kernel.terminate()
    _, alive = psutil.wait_procs(kernels, timeout=30)
    for kernel in alive:
        kernel.kill()


@pytest.fixture(scope="module")
def east_page(voila) -> str:
    status, _, html = _get(voila.port, PAGE, _cookie("u_region_east"))
    assert status == 200, voila.log.read_text()[-3000:]
    return html


def _east_expectations(settings) -> tuple[float, set[str], set[str]]:
    """Net sales of the default period (the month to the last day with sales) as u_region_east reads them,
    the East store codes, and every store code, by direct governed queries."""
    with wb.session("u_region_east", settings=settings, read_only=True) as s:
        sales = s.table("core.sales")
        last = sales.sale_date.max().execute().date()
        in_period = sales.filter(sales.sale_date.between(last.replace(day=1), last))
        net_sales = float(in_period.net_amount.sum().execute())
        east = set(s.table("core.stores").store_code.execute())
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        every = set(s.table("core.stores").store_code.execute())
    return net_sales, east, every


def _text(page: str) -> str:
    """What the page's cells show as text (HTML, Markdown, plain), decoded from the JSON Voila sends them in;
    images left out (base64 could spell anything)."""
    blocks = re.findall(r'<script type="application/vnd.voila.cell-output\+json">\s*(.*?)\s*</script>', page, re.S)
    data = [json.loads(block).get("data", {}) for block in blocks]
    return "\n".join(value for bundle in data for kind, value in bundle.items() if kind.startswith("text/"))


@pytest.mark.slow
def test_a_region_manager_sees_their_region_numbers(voila, east_page):
    net_sales, east, every = _east_expectations(voila.settings)
    text = _text(east_page)
    assert "Finance report for u_region_east (region_manager)" in text
    assert f"{net_sales:,.0f}" in text  # the headline's net sales, as the same user's governed query counts them
    codes = set(re.findall(r"\bS\d{3}\b", text))
    assert codes and codes <= east, f"store codes outside East on the page: {sorted(codes - east)}"
    assert every - east and not (codes & (every - east))
    assert '"image/png"' in east_page  # the charts are drawn into the page as images
    assert "Traceback" not in text and "wb-alert" not in text


@pytest.mark.slow
def test_a_url_argument_does_not_change_who_the_kernel_runs_as(voila, east_page):
    status, _, html = _get(voila.port, PAGE + "?user=u_admin&scope=u_admin", _cookie("u_region_east"))
    assert status == 200
    text = _text(html)
    assert "Finance report for u_region_east (region_manager)" in text and "u_admin" not in text
    records = [json.loads(line) for path in voila.audit.glob("*.jsonl") for line in path.read_text().splitlines()]
    app_users = {r["user"] for r in records if r["entry_point"] == "app"}
    assert app_users == {"u_region_east"}  # every read of both pages' kernels, and nobody else's


@pytest.mark.slow
def test_a_store_manager_is_refused_with_the_page_named(voila):
    status, _, html = _get(voila.port, PAGE, _cookie("u_store_001"))
    assert status == 403
    assert "store_manager" in html and "finance_report" in html


@pytest.mark.slow
def test_without_a_login_the_browser_is_sent_to_the_panel_login_page(voila):
    status, location, _ = _get(voila.port, PAGE)
    assert status == 302 and location == "/login?next=" + quote(PAGE, safe="")
    status, location, _ = _get(voila.port, location)
    panel_port = app_settings().port  # the server reads the same settings file
    assert (status, location) == (302, f"http://127.0.0.1:{panel_port}/login")


@pytest.mark.slow
@pytest.mark.parametrize("cookie", [
    _cookie("u_region_east", secret="not-the-apps-secret"),  # forged: signed with another secret
    _cookie("u_admin")[:-4] + "AAAA",  # tampered signature
    _cookie("u_region_east", age_s=(app_settings().session_timeout_min + 5) * 60),  # expired login
    _cookie("u_hq"),  # a real user without a login in the logins file
    _cookie("nobody"),
], ids=["forged", "tampered", "expired", "no-login", "unknown"])
def test_a_cookie_that_is_not_a_valid_login_is_refused(voila, cookie):
    status, location, _ = _get(voila.port, PAGE, cookie)
    assert status == 302 and location.startswith("/login?next=")


@pytest.mark.slow
def test_the_kernel_api_answers_no_one_without_a_login(voila):
    status, _, _ = _get(voila.port, "/api/kernels/00000000-0000-0000-0000-000000000000")
    assert status == 403
