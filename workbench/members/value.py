"""Members' lifetime value (客户终身价值) at an as-of date: BG/NBD for how often, Gamma-Gamma for how much.

    from workbench.members.value import member_values
    values = member_values(session, "2025-12-31", months=12)   # one row per member, highest CLV first

Both models are fitted on the reader's members at the as-of date (:mod:`.summary`, :mod:`.lifetime`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.members.lifetime import (WEEKS_PER_MONTH, BgNbdParams, GammaGammaParams, LifetimeFitError, clv,
                                        fit_bgnbd, fit_gamma_gamma, spend_frequency_correlation)
from workbench.members.summary import MembersError, member_summary

__all__ = ["MemberValues", "lifetime_values", "member_values"]


@dataclass(frozen=True)
class MemberValues:
    purchases: BgNbdParams
    spend: GammaGammaParams
    spend_frequency_correlation: float  # Gamma-Gamma assumes about 0
    members: pd.DataFrame  # member_id, frequency, recency, T, monetary, p_alive, expected_purchases, expected_spend, clv


def lifetime_values(summary: pd.DataFrame, months: int = 12, monthly_discount: float = 0.01) -> MemberValues:
    """Fit both models on a summary (:func:`workbench.members.summary.purchase_summary`) and value each member."""
    bg, gg = fit_bgnbd(summary), fit_gamma_gamma(summary)
    out = summary[["member_id", "frequency", "recency", "T", "monetary"]].copy()
    out["p_alive"] = bg.p_alive(summary)
    out["expected_purchases"] = bg.conditional_expected_purchases(summary, months * WEEKS_PER_MONTH)
    out["expected_spend"] = gg.expected_spend(summary)
    out["clv"] = clv(bg, gg, summary, months=months, monthly_discount=monthly_discount)
    out = out.sort_values(["clv", "member_id"], ascending=[False, True], ignore_index=True)
    return MemberValues(bg, gg, spend_frequency_correlation(summary), out)


def member_values(session: Any, as_of: Any, months: int = 12, monthly_discount: float = 0.01) -> MemberValues:
    """Lifetime values of the members the session's user may read, at ``as_of``."""
    summary = member_summary(session, as_of).to_pandas()
    try:
        return lifetime_values(summary, months, monthly_discount)
    except LifetimeFitError as err:
        raise MembersError(f"lifetime value cannot be estimated on the members you may read: {err}") from None
