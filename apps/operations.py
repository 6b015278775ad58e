"""operations: served by `wb serve` (panel serve); the page itself is workbench/apps/operations.py."""
from workbench.apps.page import serve

serve("operations")
