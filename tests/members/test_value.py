"""Lifetime values on the tiny chain: one row per member, consistent with the two fitted models."""

from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.members.lifetime import WEEKS_PER_MONTH
from workbench.members.summary import MembersError, member_summary
from workbench.members.value import member_values


def test_member_values_combine_both_models(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        values = member_values(s, "2025-12-31", months=12, monthly_discount=0.0)
        summary = member_summary(s, "2025-12-31").to_pandas()
    m = values.members
    assert m["member_id"].is_unique and len(m) == len(summary) and m["clv"].is_monotonic_decreasing
    assert values.spend.customers == int((summary["frequency"] > 0).sum())
    np.testing.assert_allclose(m["clv"], m["expected_purchases"] * m["expected_spend"], rtol=1e-9)  # undiscounted
    np.testing.assert_allclose(m["expected_purchases"],
                               values.purchases.conditional_expected_purchases(m, 12 * WEEKS_PER_MONTH))
    # a member who has not bought again is valued at the population's mean spend, shrunk by nothing
    once = m[m["frequency"] == 0]
    pop = values.spend.p * values.spend.gamma / (values.spend.q - 1)
    np.testing.assert_allclose(once["expected_spend"], pop)
    assert abs(values.spend_frequency_correlation) < 0.3


def test_member_values_refuse_an_as_of_before_any_purchase(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        with pytest.raises(MembersError, match="before any member purchase"):
            member_values(s, "2024-01-01")
