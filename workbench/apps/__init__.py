"""Published apps: what managers open in a browser (issue 7).

Managers do not open notebooks. ``wb serve`` starts ``panel serve`` over the
files in ``apps/`` (one per app), Voila for the report notebooks, and the
MLflow UI. Every app is a *page*:

- the logic and the layout live here, in ``workbench/apps/<page>.py``, as
  ``view(session) -> panel viewable``: it gets the logged-in user's governed
  session (``workbench.session(user, entry_point="app")``, read-only, on the
  published serving snapshot) and reads nothing any other way, so row
  policies and column masks apply to every widget;
- ``apps/<page>.py`` is two lines: ``from workbench.apps.page import serve;
  serve("<page>")``. ``serve`` finds the user from the login cookie, checks
  that the user's role may open the page (``apps.pages`` in
  ``workbench/conf/workbench.yaml``), opens the session, closes it when the
  browser session ends, and shows a friendly message instead of a stack trace.

Modules: :mod:`.settings` (the ``apps:`` section), :mod:`.login` (hashed
passwords, the signed login cookie shared by Panel and Voila, the
authorisation hook), :mod:`.page` (the frame around every page).
"""
