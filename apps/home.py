"""home: served by `wb serve` (panel serve); the page itself is workbench/apps/home.py."""
from workbench.apps.page import serve

serve("home")
