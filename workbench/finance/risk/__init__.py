"""Risk control (风控): checks that each find cases with evidence, ranked by the money at risk.

- :mod:`.sales`: discounts beyond policy, cashiers' discount outliers, exchanges to another style,
  returns without a sale or outside the window, sales whose money never reached the company;
- :mod:`.points`: points abuse (double credit, a card on walk-in tickets), points kept on returned goods,
  points above the tier's rate;
- :mod:`.stock`: consignment counters' stocktake shortfalls;
- :mod:`.params`: the checks' parameters (``finance.risk`` in workbench.yaml);
- :mod:`.run`: :func:`run_checks` through the governed session, :func:`write_cases` to ``marts.risk_cases``;
- :mod:`.score`: precision and recall against the simulator's planted cases (``wb bench risk``).
"""

from workbench.finance.risk.cases import CASE_SCHEMA
from workbench.finance.risk.params import DEFAULTS, RiskSettings, load_risk_settings, risk_settings_from
from workbench.finance.risk.run import CHECKS, all_cases, run_checks, write_cases

__all__ = ["CASE_SCHEMA", "CHECKS", "DEFAULTS", "RiskSettings", "all_cases", "load_risk_settings",
           "risk_settings_from", "run_checks", "write_cases"]
