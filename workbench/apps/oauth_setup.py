"""``panel serve --oauth-provider NAME --setup workbench/apps/oauth_setup.py``: OAuth / OIDC logins.

Panel does the OAuth dance (its documented providers: generic OIDC, Azure AD,
Okta, Google, GitHub ...; key, secret and endpoints from ``PANEL_OAUTH_*``
environment variables). This script, run once before the server starts, adds
the workbench's authorisation hook: the identity the provider returns must be
mapped to a workbench user in the logins file (``oauth:``), and that user's
role must be allowed the page (``apps.pages``).
"""

import panel as pn

from workbench.apps import login
from workbench.apps.page import server_logging
from workbench.apps.settings import app_settings

pn.config.authorize_callback = login.authorize
pn.config.oauth_expiry = app_settings().session_timeout_min / 1440
server_logging()
