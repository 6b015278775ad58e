"""Merchandise management (商品管理): plan vs actual and the alerts that tell a merchandiser where to act.

- :mod:`.alerts`: the report: plan vs actual by store or region × category / brand / season, with
  overstock / understock alerts, the suggested action and the allocation plan moves linked to it;
- :mod:`.rules`: the alert rules and their settings (``merchandise.alerts`` in workbench.yaml);
- :mod:`.plan`: the brand-level sales plan brought to the alert grain;
- :mod:`.moves`: the link from an alert to the pending moves of the latest allocation plan.

See README.md in this folder for where each number comes from and the rules. The page is
``workbench/apps/alerts.py``.
"""
