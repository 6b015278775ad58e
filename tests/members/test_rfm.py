"""RFM scores and segments: exact on a hand-made table, consistent on the tiny chain, at any as-of date."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.members.conf import settings_from
from workbench.members.rfm import (GRID, SEGMENT_ZH, SEGMENTS, RfmSettings, member_rfm, rfm_scores,
                                   segment_counts, segment_of)
from workbench.members.summary import MembersError

AS_OF = dt.date(2025, 6, 30)


def _days(rows: list[tuple[int, str, float]]) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=["member_id", "day", "amount"])
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return ibis.memtable(frame)


def test_scores_and_segments_on_a_hand_made_table():
    rows = [
        # member 1: bought yesterday, often, a lot -> Champion
        *[(1, f"2025-06-{d:02d}", 500.0) for d in (1, 8, 15, 22, 29)],
        # member 2: bought often and a lot, but months ago -> At risk
        *[(2, f"2024-{m:02d}-10", 600.0) for m in (8, 9, 10, 11)],
        # member 3: one small purchase last week (R 4 among five, FM 2) -> Potential loyalist
        (3, "2025-06-25", 50.0),
        # member 4: one small purchase long ago -> Lost
        (4, "2024-07-15", 40.0),
        # member 5: middling
        (5, "2025-03-01", 200.0), (5, "2025-04-01", 150.0),
        # member 6: outside the year window: not scored
        (6, "2024-06-01", 999.0),
    ]
    got = rfm_scores(_days(rows), AS_OF).to_pandas().set_index("member_id").sort_index()
    assert list(got.index) == [1, 2, 3, 4, 5]
    assert got.loc[1, "recency_days"] == 1 and got.loc[1, "frequency"] == 5 and got.loc[1, "monetary"] == 2500
    assert got["r_score"].to_dict() == {1: 5, 2: 2, 3: 4, 4: 1, 5: 3}   # percent rank of last purchase
    assert got["f_score"].to_dict() == {1: 5, 2: 4, 3: 1, 4: 1, 5: 3}   # ties (one purchase) share the score
    assert got["m_score"].to_dict() == {1: 5, 2: 4, 3: 2, 4: 1, 5: 3}
    assert got["segment"].to_dict() == {1: "Champions", 2: "At risk", 3: "Potential loyalist", 4: "Lost",
                                        5: "Need attention"}
    assert got.loc[1, "segment_zh"] == "重要价值客户" and got.loc[1, "value_class"] == "重要价值客户"
    assert got.loc[2, "value_class"] == "重要保持客户"  # F and M high, R low
    assert got.loc[4, "value_class"] == "一般挽留客户" and got.loc[1, "rfm"] == "555"


def test_the_grid_names_every_cell_with_the_eleven_segments():
    cells = [segment_of(r, fm) for r in range(1, 6) for fm in range(1, 6)]
    assert len(cells) == 25 and set(cells) == set(SEGMENTS) and len(SEGMENTS) == 11
    assert segment_of(5, 5) == "Champions" and segment_of(1, 5) == "Can't lose them" and segment_of(5, 1) == "New"
    assert all(SEGMENT_ZH[s] for s in SEGMENTS) and set(GRID) == {1, 2, 3, 4, 5}


def test_the_chain_segments_every_member_once_at_any_as_of(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        june = member_rfm(s, AS_OF).to_pandas()
        december = member_rfm(s, "2025-12-31").to_pandas()
        counts = segment_counts(member_rfm(s, "2025-12-31")).to_pandas()
        sales = s.table("core.sales")
        buyers = sales.filter(sales.member_id.notnull(), sales.line_type == "sale",
                              sales.sale_date <= AS_OF).member_id.nunique().to_pandas()
    assert june["member_id"].is_unique and len(june) == buyers  # the tiny chain starts within the year window
    assert june["segment"].isin(SEGMENTS).all() and june["segment"].notna().all()
    assert counts["members"].sum() == len(december) and counts["segment"].is_unique
    assert set(counts["segment"]) == set(SEGMENTS)  # the tiny chain has every kind of member
    by_r = june.groupby("r_score")["recency_days"].agg(["min", "max"])
    assert (by_r["max"].shift(-1).dropna() <= by_r["min"].iloc[:-1]).all()  # a higher R score is more recent
    assert len(december) > len(june)


def test_a_store_manager_segments_the_members_who_buy_in_their_store(tiny_settings):
    with wb.session("u_store_001", settings=tiny_settings) as s:
        mine = member_rfm(s, AS_OF).to_pandas()
    with wb.session("u_analyst", settings=tiny_settings) as s:
        sales = s.table("core.sales")
        s001 = sales.filter(sales.store_id == 1, sales.member_id.notnull(), sales.line_type == "sale",
                            sales.sale_date <= AS_OF).member_id.nunique().to_pandas()
    assert len(mine) == s001 and mine["segment"].notna().all()


def test_bad_input_gets_a_message(tiny_settings, tmp_path, monkeypatch):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        with pytest.raises(MembersError, match="before any member purchase"):
            member_rfm(s, "2024-12-31")
    config = tmp_path / "wb.yaml"
    config.write_text("members:\n  rfm:\n    window_dayz: 90\n")
    monkeypatch.setenv("WB_CONFIG", str(config))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['window_dayz'\] in members.rfm"):
        settings_from(RfmSettings, "rfm")
