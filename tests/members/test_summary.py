"""The members' summary rebuilds the published CDNOW summary from its transactions, in the engine; on the tiny
chain it agrees with a direct count, follows the reader's scope, and refuses bad dates with a message."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.members import cdnow
from workbench.members.summary import (MembersError, holdout_purchases, member_summary, purchase_summary,
                                       score_days, score_holdout)

AS_OF = dt.date(2025, 9, 30)


@pytest.fixture(scope="module")
def cdnow_days() -> ibis.Table:
    tx = cdnow.transactions()
    t = ibis.memtable(tx)
    return t.group_by("member_id", "day").aggregate(amount=t.amount.sum())


def test_the_cdnow_summary_is_rebuilt_from_its_transactions(cdnow_days):
    got = purchase_summary(cdnow_days, cdnow.CALIBRATION_END.date()).to_pandas()
    got = got.sort_values("member_id", ignore_index=True)
    published = cdnow.summary()
    assert got["member_id"].tolist() == published["ID"].tolist()
    assert got["frequency"].tolist() == published["frequency"].tolist()
    np.testing.assert_allclose(got["recency"], published["recency"], atol=0.005)  # published to 2 decimals
    np.testing.assert_allclose(got["T"], published["T"], atol=0.005)
    np.testing.assert_allclose(got["monetary"], published["monetary"], atol=0.0101)


def test_the_cdnow_holdout_is_scored_on_the_39_weeks_after(cdnow_days):
    score = score_days(cdnow_days, cdnow.CALIBRATION_END.date(), cdnow.HOLDOUT_END.date())
    assert round(score.params.r, 3) == 0.243 and round(score.params.b, 3) == 2.426  # the published fit again
    tx = cdnow.transactions()
    tx = tx[(tx["day"] > cdnow.CALIBRATION_END.date()) & (tx["day"] <= cdnow.HOLDOUT_END.date())]
    assert score.actual == tx.drop_duplicates(["member_id", "day"]).shape[0]  # purchase days, not lines
    assert score.weeks == pytest.approx(39.0)
    assert score.error_pct == pytest.approx(100 * (score.predicted / score.actual - 1))
    assert abs(score.error_pct) < 25  # BG/NBD tracks CDNOW's holdout (measured −12 %)
    by_x = score.by_frequency()
    assert by_x["members"].sum() == 2357 and by_x["predicted"].is_monotonic_increasing


def test_holdout_purchases_count_days_after_the_as_of_date():
    days = ibis.memtable({"member_id": [1, 1, 1, 2], "amount": [10.0, 20.0, 30.0, 5.0],
                          "day": [dt.date(2025, 1, 1), dt.date(2025, 1, 5), dt.date(2025, 1, 9), dt.date(2025, 1, 5)]})
    got = holdout_purchases(days, dt.date(2025, 1, 5), dt.date(2025, 1, 31)).to_pandas()
    assert got.to_dict("records") == [{"member_id": 1, "actual": 1}]
    s = purchase_summary(days, dt.date(2025, 1, 9)).to_pandas().set_index("member_id")
    assert s.loc[1, "frequency"] == 2 and s.loc[1, "monetary"] == 25.0 and s.loc[1, "recency"] == pytest.approx(8 / 7)
    # a member with one purchase is fine: no repeat purchase, no repeat spend
    assert s.loc[2, "frequency"] == 0 and s.loc[2, "recency"] == 0 and s.loc[2, "monetary"] == 0
    assert s.loc[2, "T"] == pytest.approx(4 / 7)


def _direct_purchase_days(s) -> pd.DataFrame:
    sales = s.table("core.sales")
    lines = sales.filter(sales.member_id.notnull(), sales.line_type == "sale", sales.sale_date <= AS_OF)
    return lines.select("member_id", "sale_date", "store_id").to_pandas()


def test_the_chain_summary_agrees_with_a_direct_count(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        summary = member_summary(s, AS_OF).to_pandas().set_index("member_id")
        direct = _direct_purchase_days(s)
    days = direct.groupby("member_id")["sale_date"].agg(["nunique", "min", "max"])
    assert set(summary.index) == set(days.index)
    assert (summary["frequency"] == days.loc[summary.index, "nunique"] - 1).all()
    first = pd.to_datetime(days.loc[summary.index, "min"])
    np.testing.assert_allclose(summary["T"], (pd.Timestamp(AS_OF) - first).dt.days / 7)
    assert (summary["recency"] <= summary["T"]).all()
    assert (summary.loc[summary["frequency"] == 0, ["recency", "monetary"]] == 0).all().all()
    assert (summary["frequency"] == 0).any() and (summary["frequency"] >= 5).any()


def test_a_store_manager_summarises_the_purchases_made_in_their_store(tiny_settings):
    with wb.session("u_store_001", settings=tiny_settings) as s:
        summary = member_summary(s, AS_OF).to_pandas()
    with wb.session("u_analyst", settings=tiny_settings) as s:
        direct = _direct_purchase_days(s)
    s001 = direct[direct["store_id"] == 1]
    assert set(summary["member_id"]) == set(s001["member_id"])
    assert summary["purchases"].sum() == s001.drop_duplicates(["member_id", "sale_date"]).shape[0]


def test_bad_dates_get_a_clear_message(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        with pytest.raises(MembersError, match=r"before any member purchase .* choose a date on or after 2025-01-0"):
            member_summary(s, "2020-01-01")
        with pytest.raises(MembersError, match="write it as YYYY-MM-DD"):
            member_summary(s, "30/09/2025")
        with pytest.raises(MembersError, match="must end after the as-of date"):
            score_holdout(s, AS_OF, AS_OF)
        with pytest.raises(MembersError, match="after the last member purchase"):
            score_holdout(s, AS_OF, "2026-03-31")


def test_the_chain_holdout_score(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        score = score_holdout(s, AS_OF, "2025-12-31")
        summary = member_summary(s, AS_OF).to_pandas()
    assert len(score.members) == len(summary)  # every calibrated member is scored, buyers in the holdout or not
    assert score.actual > 0 and np.isfinite(score.error_pct) and score.mae > 0
    assert ((score.members["p_alive"] > 0) & (score.members["p_alive"] <= 1)).all()
    # who bought more before is expected to buy more after, and does on average
    by_x = score.by_frequency()
    assert by_x["predicted"].is_monotonic_increasing and by_x["actual"].iloc[-1] > by_x["actual"].iloc[0]
