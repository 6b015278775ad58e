"""The login of ``panel serve --auth-module workbench/apps/auth_module.py`` (what ``wb serve`` runs).

Bokeh loads this file and reads ``get_user``, ``login_url``, ``LoginHandler``,
``logout_url`` and ``LogoutHandler`` from it. They are Panel's own basic-auth
pieces (login page, the signed ``user`` cookie Panel's ``pn.state.user``
reads) with two changes: passwords are checked against the argon2 hashes of
the logins file, and every login attempt is written to the audit log. It also
installs the authorisation hook (:func:`workbench.apps.login.authorize`) and
the login's lifetime (``apps.session_timeout_min``).
"""

from __future__ import annotations

import panel as pn
from panel.auth import BasicAuthProvider, BasicLoginHandler

from workbench.apps import login
from workbench.apps.page import server_logging
from workbench.apps.settings import app_settings
from workbench.config import load_settings
from workbench.governance.audit import AuditRecord, writer_for

_APPS = app_settings()


def _audit(username: str, ok: bool) -> None:
    """One audit line per login attempt: who tried, and whether it was let in."""
    settings = load_settings()
    writer_for(settings.audit_dir).write(AuditRecord(
        username[:64], "", "app", "login" if ok else "denied", "ok" if ok else "denied", "apps-login",
        message="logged in to the apps" if ok else "login refused: unknown user or wrong password"))


class WorkbenchLoginHandler(BasicLoginHandler):
    """Panel's login page and cookie; the password is checked against the logins file's argon2 hash."""

    def _validate(self, username: str, password: str) -> bool:
        ok = login.check_password(login.load_logins(_APPS.logins_file), username, password)
        _audit(username, ok)
        return ok


class WorkbenchAuthProvider(BasicAuthProvider):
    @property
    def login_handler(self):
        WorkbenchLoginHandler._login_endpoint = self._login_endpoint
        WorkbenchLoginHandler._login_template = self._login_template
        return WorkbenchLoginHandler


server_logging()
pn.config.oauth_expiry = _APPS.session_timeout_min / 1440  # days: the cookie's and get_user's max age
pn.config.authorize_callback = login.authorize

_provider = WorkbenchAuthProvider()
get_user = _provider.get_user
login_url = _provider.login_url
LoginHandler = _provider.login_handler
logout_url = _provider.logout_url
LogoutHandler = _provider.logout_handler
