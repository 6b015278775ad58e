"""allocation_review: served by `wb serve` (panel serve); the page itself is workbench/apps/allocation_review.py."""
from workbench.apps.page import serve

serve("allocation_review")
