"""Members and marketing (会员营销): lifetime value, RFM segments, reactivation call lists, pairing, scalpers.

| module | what |
|---|---|
| `lifetime.py` | BG/NBD and Gamma-Gamma (pure numpy / scipy on a summary table) |
| `summary.py` | members' purchase summary at an as-of date, in the engine; fit and holdout scoring |
| `rfm.py` | RFM quintile scores and named segments, in the engine |
| `reactivation.py` | sleeping members, their tags, call lists per store with an opening line and products |
| `pairing.py`, `pairing_eval.py` | outfit pairing (搭配) from co-purchase and tags; its hit rate on held-out tickets |
| `heroes.py` | hero items (主推款) over time, on the dashboard's definition |
| `scalpers.py`, `scalper_score.py` | scalper rules on limited releases (黄牛), eligibility; scored against the planted cases |
| `output.py` | the members' outputs as marts tables through the governed door |
"""
