"""alerts: served by `wb serve` (panel serve); the page itself is workbench/apps/alerts.py."""
from workbench.apps.page import serve

serve("alerts")
