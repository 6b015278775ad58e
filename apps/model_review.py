"""model_review: served by `wb serve` (panel serve); the page itself is workbench/apps/model_review.py."""
from workbench.apps.page import serve

serve("model_review")
