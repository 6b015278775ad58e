"""The report notebooks in ``apps/`` published with Voila, behind the apps' login (issue 7).

``wb serve`` runs :func:`voila_command` next to ``panel serve``. Three pieces keep a Voila page to the
logged-in user's scope:

- **Who is asking** (:class:`WorkbenchIdentityProvider`, jupyter_server 2's ``IdentityProvider``): the
  Panel login page sets Tornado's signed ``user`` cookie; cookies belong to a host, not a port, so the
  browser sends it to Voila too. It is decoded with the same secret (:func:`login.cookie_secret`) and
  expires with ``apps.session_timeout_min``. No token, no Jupyter password: without a valid cookie a page
  request is redirected to the Panel login page (jupyter_server sends it to ``/login?next=<page>`` here,
  which redirects to ``http://<host the browser used>:<apps.port>/login``); API and websocket requests get
  403 (jupyter_server refuses them instead of redirecting). The Voila page is not handed on as the login's
  ``next``: Panel's login page refuses a ``next`` on another origin (HTTP 400), so after logging in the
  person lands on the home page, whose link opens the report.
- **What they may open**: a notebook is the page named by its file stem (``finance_report.ipynb`` is the
  page ``finance_report``); a role not listed for it in ``apps.pages`` gets a 403 naming the page, and so
  does a notebook no page lists (deny by default).
- **As whom the notebook runs** (:func:`prelaunch_hook`, ``VoilaConfiguration.prelaunch_hook``): before the
  kernel starts, a cell setting ``user = "<workbench user>"`` is put after the ``parameters`` cell, as
  Papermill injects parameters, so the notebook opens the app session of every page
  (``workbench.apps.page.open_session``: read-only, on the serving snapshot, entry point ``app``) as the
  logged-in user. Query arguments never reach the notebook's variables (Voila only passes them as the
  ``QUERY_STRING`` environment variable, which no report reads), and the browser's kernel connection only
  carries widget (comm) messages, so nobody can run code in the kernel to open another session.
  Not covered: a kernel's websocket checks that a user is logged in, not that it is the user the kernel
  was started for; kernel ids are random UUIDs that only that user's page is sent.

The hook is a Python callable, which Voila's command line cannot name (traitlets' ``Callable`` takes no
string), so the server runs as ``python -m workbench.apps.voila`` (:func:`main`): Voila's own command line
with the hook set in its configuration and Voila's configuration files ignored, so that a stray
``voila.py`` cannot replace the hook.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web

from workbench.apps import login
from workbench.apps.settings import AppSettings, app_settings
from workbench.config import project_root

__all__ = ["WorkbenchIdentityProvider", "prelaunch_hook", "inject_user", "voila_command", "page_of_notebook",
           "panel_url", "main"]

INJECTED_TAG = "injected-parameters"  # Papermill's tag for the cell it adds, so the two read alike
_USER_NAME = re.compile(r"^[A-Za-z0-9_.@+-]+$")  # workbench user names; anything else is refused, not quoted


def page_of_notebook(path: str) -> str:
    """The page a notebook path stands for: its file stem (``reports/finance_report.ipynb`` -> ``finance_report``)."""
    return PurePosixPath(path).stem


def panel_url(host: str, path: str, apps: AppSettings, scheme: str = "http") -> str:
    """``path`` on the Panel server, on the host the browser used for Voila: the login cookie Panel sets is
    the host's, so it comes back to Voila only if both are reached by the same name."""
    hostname = urlsplit(f"//{host}").hostname or apps.host
    if ":" in hostname:  # an IPv6 literal keeps its brackets in a URL
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{apps.port}{path}"


class PanelLoginRedirect(web.RequestHandler):
    """``/login`` on the Voila server: people log in on the Panel server's page, never here."""

    def get(self) -> None:
        self.redirect(panel_url(self.request.host, "/login", self.settings["identity_provider"].apps,
                                self.request.protocol))


class PanelLogoutRedirect(web.RequestHandler):
    """``/logout`` on the Voila server: the Panel server's logout clears the one cookie both servers read."""

    def get(self) -> None:
        self.redirect(panel_url(self.request.host, "/logout", self.settings["identity_provider"].apps,
                                self.request.protocol))


class WorkbenchIdentityProvider(IdentityProvider):
    """The logged-in workbench user from the apps' signed ``user`` cookie, or None (then: the login page)."""

    login_handler_class = PanelLoginRedirect
    logout_handler_class = PanelLogoutRedirect

    def __init__(self, **kwargs: Any) -> None:
        kwargs["token"] = ""  # no Jupyter token: the login cookie is the only way in
        kwargs.pop("login_handler_class", None)  # Voila passes its password form; ours redirects to Panel's
        super().__init__(**kwargs)
        self.apps = app_settings()
        self._secret = login.cookie_secret(self.apps)

    @property
    def auth_enabled(self) -> bool:
        return True  # never jupyter_server's anonymous user

    @property
    def login_available(self) -> bool:
        return True  # so that /login and /logout are served (as redirects to the Panel server)

    def get_user(self, handler: web.RequestHandler) -> User | None:
        """The user, None when not logged in; a 403 naming the page when their role may not open it."""
        name = login.user_from_cookie(handler.get_cookie("user"), self._secret, self.apps.session_timeout_min)
        user = login.workbench_user(name, login.load_logins(self.apps.logins_file))
        if user is None:
            return None
        access = login.load_access_for_apps()
        if user not in access.users:  # a login left over for a user the access file no longer has
            return None
        title = access.users[user].title or user
        found = User(username=user, name=title, display_name=title)
        page = _page_requested(handler)
        if page is not None and not self.apps.may_open(access.users[user].role, page):
            handler.current_user = found  # the 403 page is rendered for a known user (jupyter_server asks who)
            check_page(self.apps, access.users[user].role, page)
        return found


def check_page(apps: AppSettings, role: str, page: str) -> None:
    """Refuse (403, with the reason on the page) a role that ``apps.pages`` does not let open ``page``."""
    if not apps.may_open(role, page):
        raise web.HTTPError(403, reason=f"Your role ({role}) may not open the page {page}: "
                                        "apps.pages in workbench.yaml says who may")


def _page_requested(handler: web.RequestHandler) -> str | None:
    """The page a notebook request opens; None for the tree, static files and the kernel API."""
    from voila.handler import VoilaHandler

    if not isinstance(handler, VoilaHandler):
        return None
    path = getattr(handler, "notebook_path", None) or (handler.path_args[0] if handler.path_args else "")
    return page_of_notebook(path or "")


def inject_user(notebook: Any, user: str) -> Any:
    """A copy of ``notebook`` with ``user = "<user>"`` right after its ``parameters`` cell (replacing an
    injected cell already there). ValueError for a notebook without one, or a user name that is not a name."""
    import nbformat

    if not _USER_NAME.match(user or ""):
        raise ValueError(f"not a workbench user name: {user!r}")
    nb = copy.deepcopy(notebook)
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    tagged = [i for i, c in enumerate(cells)
              if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError("the notebook has no cell tagged `parameters`: a published report needs one "
                         "with `user = None`")
    cell = nbformat.v4.new_code_cell(
        f"# Injected by the Voila server: the logged-in user (workbench.apps.voila)\nuser = {user!r}\n",
        metadata={"tags": [INJECTED_TAG]})
    nb.cells = cells[:tagged[0] + 1] + [cell] + cells[tagged[0] + 1:]
    return nb


def prelaunch_hook(req_handler: web.RequestHandler, notebook: Any, cwd: str) -> Any:
    """Voila's ``prelaunch_hook``: the notebook with the logged-in user injected, before its kernel starts.

    The page is checked again here on the notebook Voila actually loads (the identity provider checked it on
    the request), so that no path spelling slips a notebook past the page check."""
    user = req_handler.current_user
    if user is None:
        raise web.HTTPError(403, reason="Not logged in: log in on the apps' login page")
    provider = req_handler.settings["identity_provider"]
    role = login.load_access_for_apps().users[user.username].role
    check_page(provider.apps, role, _page_requested(req_handler) or "")
    try:
        return inject_user(notebook, user.username)
    except ValueError as err:
        raise web.HTTPError(500, reason=f"This report cannot be published: {err}") from None


def voila_command(apps: AppSettings, notebooks: Path | None = None, python: str | None = None) -> list[str]:
    """The command ``wb serve`` runs for the Voila server over ``apps/`` (``notebooks``), on ``apps.host``
    and ``apps.voila_port``. Kernels a closed tab leaves behind are culled after ``apps.idle_session_min``."""
    idle_s = max(60, int(apps.idle_session_min * 60))
    return [
        python or sys.executable, "-m", "workbench.apps.voila", str(notebooks or project_root() / "apps"),
        f"--Voila.ip={apps.host}", f"--Voila.port={apps.voila_port}", "--no-browser",
        f"--Voila.identity_provider_class={WorkbenchIdentityProvider.__module__}.WorkbenchIdentityProvider",
        "--VoilaConfiguration.strip_sources=True",  # readers see outputs, not code
        "--VoilaConfiguration.theme=light",
        "--VoilaConfiguration.allow_template_override=NO",  # ?template= / ?theme= in a URL change nothing
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.show_tracebacks=False",  # a failed cell says so, without the stack
        f"--MappingKernelManager.cull_idle_timeout={idle_s}",
        "--MappingKernelManager.cull_interval=60",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m workbench.apps.voila APPS_DIR [voila options]``: Voila with :func:`prelaunch_hook` set."""
    from traitlets.config import Config
    from voila.app import Voila

    config = Config()
    config.VoilaConfiguration.prelaunch_hook = prelaunch_hook
    config.Voila.config_file_paths = []  # only this configuration: no voila.py / voila.json found on the way
    Voila.launch_instance(argv=list(argv) if argv is not None else None, config=config)


if __name__ == "__main__":
    from workbench.apps.voila import main as _main  # the module's own copy, not __main__'s

    _main()
