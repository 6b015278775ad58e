"""Members and marketing (会员营销): lifetime value, RFM segments, reactivation call lists.

| module | what |
|---|---|
| `lifetime.py` | BG/NBD and Gamma-Gamma (pure numpy / scipy on a summary table) |
| `summary.py` | members' purchase summary at an as-of date, in the engine; fit and holdout scoring |
| `rfm.py` | RFM quintile scores and named segments, in the engine |
| `reactivation.py` | sleeping members, their tags, call lists per store with an opening line and products |
"""
