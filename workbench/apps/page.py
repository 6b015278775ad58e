"""The frame around every app: who is logged in, their governed session, a header, friendly errors.

``apps/<page>.py`` calls :func:`serve`; tests call :func:`build` with a user
directly. Both go through the same steps:

1. the login (the signed cookie, :mod:`workbench.apps.login`) gives the workbench user;
2. the page must be open to the user's role (``apps.pages``): Panel's
   authorisation hook refuses it before the page runs; this checks again;
3. a read-only governed session is opened for that user on the serving
   snapshot (:mod:`workbench.warehouse.snapshot`) and closed when the browser
   session ends, so an idle tab does not keep a warehouse connection;
4. ``workbench.apps.<page>.view(session)`` builds the page; an error becomes a
   message in the page (what to do next), never a stack trace, and is logged
   in full on the server.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import panel as pn

from workbench.apps import login
from workbench.apps.settings import AppSettings, app_settings
from workbench.config import Settings, load_settings
from workbench.warehouse.snapshot import serving_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageInfo:
    title: str
    voila: bool = False  # a notebook served by Voila, not a Panel app


PAGES = {
    "home": PageInfo("Home"),
    "operations": PageInfo("Operations dashboard · 多维运营看板"),
    "alerts": PageInfo("Merchandise alerts · 商品预警"),
    "allocation_review": PageInfo("Allocation review · 调拨审批"),
    "model_review": PageInfo("Model review · 模型评审"),
    "finance_report": PageInfo("Finance report · 财务经营汇报", voila=True),
}

# Errors whose message is written for the person in front of the page; anything else is a bug to log.
EXPLAINED = (ValueError, LookupError, PermissionError, FileNotFoundError, ConnectionError)


def page_url(page: str, apps: AppSettings) -> str:
    if PAGES[page].voila:
        return f"http://{apps.host}:{apps.voila_port}/voila/render/{page}.ipynb"
    return f"/{page}"


def links(role: str, apps: AppSettings) -> list[tuple[str, str]]:
    """(title, url) of every page ``role`` may open, in the order of ``PAGES``."""
    return [(PAGES[p].title, page_url(p, apps)) for p in PAGES if apps.may_open(role, p)]


def open_session(user: str, settings: Settings | None = None):
    """The user's read-only governed session on the serving snapshot."""
    from workbench.governance.session import session

    return session(user, settings=serving_settings(settings or load_settings()), read_only=True, entry_point="app")


def open_write_session(user: str, settings: Settings | None = None):
    """A session on the live warehouse for the user's own decisions (approvals); close it right after."""
    from workbench.governance.session import session

    return session(user, settings=settings or load_settings(), read_only=False, entry_point="app")


def message(err: BaseException) -> pn.pane.Alert:
    """What the person sees when a page fails: the explanation, or a reference to the server log."""
    if isinstance(err, EXPLAINED):
        return pn.pane.Alert(str(err).split("\n")[0], alert_type="warning")
    ref = secrets.token_hex(4)
    log.error("page error %s", ref, exc_info=err)
    return pn.pane.Alert(f"Something went wrong on the server (reference {ref}); the details are in its log. "
                         "Try again, or tell IT the reference.", alert_type="danger")


def header(page: str, session, apps: AppSettings) -> pn.Row:
    user = session.user
    scope = "whole chain" if session.scope.unrestricted else (", ".join(session.scope.store_codes) or "no stores")
    nav = " · ".join(f"[{title}]({url})" for title, url in links(session.role.name, apps))
    return pn.Row(
        pn.pane.Markdown(f"## {PAGES[page].title}\n{nav}", sizing_mode="stretch_width"),
        pn.pane.Markdown(f"**{user.title or user.name}** ({session.role.name}; {scope})  \n[Log out](/logout)",
                         styles={"text-align": "right"}, width=320, css_classes=["wb-user"]),
        sizing_mode="stretch_width",
    )


def _view(page: str) -> Callable:
    return importlib.import_module(f"workbench.apps.{page}").view


def _call_view(view: Callable, page: str, session, apps: AppSettings):
    params = inspect.signature(view).parameters
    kwargs = {}
    if "links" in params:
        kwargs["links"] = links(session.role.name, apps)
    if "decide_session_factory" in params:
        kwargs["decide_session_factory"] = lambda: open_write_session(session.user.name)
    return view(session, **kwargs)


def build(page: str, user: str | None, settings: Settings | None = None, apps: AppSettings | None = None):
    """The page for ``user`` (a workbench user id), framed; and the session to close when it ends (or None)."""
    apps = apps or app_settings(settings)
    if page not in PAGES:
        return pn.pane.Alert(f"no app called {page!r}", alert_type="danger"), None
    if user is None:
        return pn.pane.Alert("You are not logged in: open /login.", alert_type="warning"), None
    try:
        session = open_session(user, settings)
    except Exception as err:
        return message(err), None
    if not apps.may_open(session.role.name, page):
        session.close()
        return pn.pane.Alert(f"{user} ({session.role.name}) may not open {PAGES[page].title}.", alert_type="danger"), None
    try:
        body = _call_view(_view(page), page, session, apps)
    except Exception as err:
        body = message(err)
    return pn.Column(header(page, session, apps), body, sizing_mode="stretch_width"), session


def current_user(apps: AppSettings) -> str | None:
    """The workbench user of this browser session's login (password or mapped OAuth identity)."""
    return login.workbench_user(pn.state.user, login.load_logins(apps.logins_file))


def server_logging() -> None:
    """The server's log (``apps.dir/panel.log``) gets the workbench's INFO lines: sessions opening and closing."""
    logger = logging.getLogger("workbench")
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Bokeh's root handler would print every line twice
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


_GC_TUNED = []
GC_THRESHOLD = (10_000, 10, 10)


def tune_gc() -> None:
    """Once per server process: keep what is loaded at start out of the collector's full passes.

    A full pass of Python's garbage collector walks every object, and a
    dashboard server holds millions (Panel, Bokeh, ibis, pandas): passes of
    100 to 250 ms landed in the middle of clicks (``wb bench dashboard``).
    ``gc.freeze()`` moves what exists now to a generation the collector
    skips, and a larger first threshold makes passes rarer; what sessions
    leave behind is still collected.
    """
    if not _GC_TUNED:
        _freeze()
        _GC_TUNED.append(True)


@contextmanager
def gc_as_served() -> Iterator[None]:
    """The server's collector settings (:func:`tune_gc`) for a block, then the collector as it was.

    The benchmark runs the pages in its own process, and a test suite runs
    the benchmark: frozen objects are never freed, so they must thaw after.
    """
    threshold = gc.get_threshold()
    _freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _freeze() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _release_memory() -> None:
    """Give a closed session's memory back to the OS: glibc keeps freed arenas otherwise, and RSS only grows."""
    import ctypes

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _closed(session, page: str) -> None:
    session.close()
    _release_memory()
    log.info("app session closed: %s on %s", session.user.name, page)  # the bench counts these


def serve(page: str) -> None:
    """Make ``page`` this Panel server session's document (called by ``apps/<page>.py``)."""
    tune_gc()
    apps = app_settings()
    layout, session = build(page, current_user(apps), apps=apps)
    if session is not None:
        log.info("app session opened: %s on %s", session.user.name, page)
        pn.state.on_session_destroyed(lambda _ctx: _closed(session, page))
    layout.servable(title=f"{PAGES.get(page, PageInfo(page)).title} · Retail Workbench")
