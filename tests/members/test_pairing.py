"""Outfit pairing (搭配): co-purchase measures on hand-made tickets, suggestions and their hit rate on the tiny
chain, unknown SKC codes refused; hero items over time on the dashboard's definition."""

from __future__ import annotations

import dataclasses
import datetime as dt

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.members.heroes import hero_tracking, periods
from workbench.members.pairing import PairingSettings, co_purchase, pairing_suggestions
from workbench.members.pairing_eval import look_recall, score_pairing
from workbench.members.summary import MembersError

AS_OF = "2025-11-30"
SETTINGS = PairingSettings()


def test_support_confidence_and_lift_follow_their_definitions():
    # 4 tickets: {1,2}, {1,2}, {1,3}, {3}; a ticket holding two sizes of SKC 1 holds it once
    items = ibis.memtable(pd.DataFrame({"ticket_id": [10, 10, 11, 11, 12, 12, 13],
                                        "skc_id": [1, 2, 1, 2, 1, 3, 3]}))
    pairs = co_purchase(items).to_pandas().set_index(["skc_a", "skc_b"])
    one_two = pairs.loc[(1, 2)]
    assert one_two["together"] == 2 and one_two["tickets_a"] == 3 and one_two["tickets_b"] == 2
    assert one_two["support"] == pytest.approx(2 / 4)
    assert one_two["confidence"] == pytest.approx(2 / 3)
    assert one_two["lift"] == pytest.approx((2 / 3) / (2 / 4))
    assert pairs.loc[(2, 1), "confidence"] == pytest.approx(1.0)  # confidence is directed
    assert pairs.loc[(3, 1), "lift"] == pytest.approx((1 / 2) / (3 / 4))
    assert (2, 3) not in pairs.index and len(pairs) == 4
    assert len(co_purchase(items, min_together=2).to_pandas()) == 2


def test_look_recall_counts_the_designed_partners_found_among_the_suggestions():
    # look 1: SKCs 1, 2, 3; look 2: SKCs 1, 4. SKC 1 has partners 2, 3, 4; SKC 5 is in no look
    looks = pd.DataFrame({"look_id": [1, 1, 1, 2, 2], "skc_id": [1, 2, 3, 1, 4]})
    suggested = pd.DataFrame({"skc_id": [1, 1, 1, 5], "suggested_skc_id": [2, 4, 9, 1]})
    recall, precision = look_recall(suggested, looks)
    assert recall == pytest.approx(2 / 3)  # of SKC 1's three partners, 2 and 4 were suggested
    assert precision == pytest.approx(2 / 4)  # 1 -> 9 and 5 -> 1 are not look partners


@pytest.fixture(scope="module")
def suggestions(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        top = pairing_suggestions(s, AS_OF, settings=SETTINGS).to_pandas()
        styles = s.table("core.products").select("skc_id", "style_id").distinct().to_pandas()
    return top, styles.set_index("skc_id")["style_id"]


def test_every_skc_gets_top_k_suggestions_of_other_styles(suggestions):
    top, style = suggestions
    assert top.groupby("skc_id")["rank"].apply(lambda r: list(r) == list(range(1, SETTINGS.top_k + 1))).all()
    assert (style.loc[top["skc_id"]].to_numpy() != style.loc[top["suggested_skc_id"]].to_numpy()).all()
    assert not top.duplicated(["skc_id", "suggested_skc_id"]).any()
    assert top["skc_id"].nunique() == len(style)  # new or unsold SKCs are filled from the best sellers
    co = top[top["source"] == "co-purchase"]
    assert len(co) > len(top) / 2 and (co["together"] >= SETTINGS.min_together).all()
    assert ((co["confidence"] > 0) & (co["confidence"] <= 1) & (co["lift"] > 0)).all()
    for _, group in top.groupby("skc_id"):  # co-purchase first, each tier by score
        tiers = (group["source"] != "co-purchase").astype(int)
        assert tiers.is_monotonic_increasing
        for _, tier in group.groupby(tiers):
            assert tier["score"].is_monotonic_decreasing


def test_a_product_list_restricts_the_queries_and_unknown_codes_are_named(tiny_settings, suggestions):
    top, _ = suggestions
    codes = sorted(top["skc_code"].unique())[:2]
    with wb.session("u_analyst", settings=tiny_settings) as s:
        some = pairing_suggestions(s, AS_OF, codes, settings=SETTINGS).to_pandas()
        assert sorted(some["skc_code"].unique()) == codes
        pd.testing.assert_frame_equal(some.reset_index(drop=True),
                                      top[top["skc_code"].isin(codes)].reset_index(drop=True), check_dtype=False)
        with pytest.raises(MembersError, match="unknown SKC code.*NOPE-SKC-1"):
            pairing_suggestions(s, AS_OF, [codes[0], "NOPE-SKC-1"], settings=SETTINGS)
        with pytest.raises(MembersError, match="the product list is empty"):
            pairing_suggestions(s, AS_OF, [" "], settings=SETTINGS)
        with pytest.raises(MembersError, match="no tickets between"):
            pairing_suggestions(s, "2020-01-01", settings=SETTINGS)


def test_pairing_beats_the_best_sellers_on_held_out_tickets(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings) as s:
        score = score_pairing(s, AS_OF, holdout_days=28, settings=SETTINGS)
        with pytest.raises(MembersError, match="choose an as-of date on or before 2025-12-03"):
            score_pairing(s, "2025-12-20", holdout_days=28, settings=SETTINGS)
    assert score.end == dt.date(2025, 12, 28) and score.tickets > 300
    # measured 2026-11-24 on generator version 3: workbench 0.595, popularity 0.456, the store's own best sellers
    # 0.710 (it knows the store); version 2 gave 0.628, 0.448 and 0.765
    assert 0 < score.hit_rate["popularity"] < score.hit_rate["workbench"] < score.hit_rate["store_best_sellers"] < 1
    assert score.lift_over_popularity >= 1.25
    assert score.co_purchase_share > 0.9


def test_hero_items_over_time_rest_on_the_dashboards_definition(tiny_settings):
    from workbench.dashboard.heroes import hero_items

    with wb.session("u_analyst", settings=tiny_settings) as s:
        ranked = s.table("core.products").style_code.value_counts().to_pandas()
        styles = ranked.sort_values(["style_code_count", "style_code"], ascending=[False, True]).style_code[:2].tolist()
        h = hero_tracking(s, styles, "2025-10-01", "2025-12-31", every="month")
        october = hero_items(s, styles, (dt.date(2025, 10, 1), dt.date(2025, 10, 31))).attach
        with pytest.raises(MembersError, match="NOPE-1"):
            hero_tracking(s, ["NOPE-1"], "2025-10-01", "2025-12-31")
        chosen = hero_tracking(s, None, "2025-10-01", "2025-12-31")
    assert chosen.chosen_by in ("configuration", "top sellers") and set(chosen.attach["hero_style"]) <= set(chosen.styles)
    assert h.chosen_by == "request" and len(chosen.styles) > 0
    assert set(h.attach["period"]) == {dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)}
    assert set(h.attach["hero_style"]) <= set(styles) and not h.sales.empty
    mine = h.attach[h.attach["period"] == dt.date(2025, 10, 1)].drop(columns="period").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, october.reset_index(drop=True))
    assert periods(dt.date(2025, 10, 15), dt.date(2025, 11, 2), "week")[0] == (dt.date(2025, 10, 15),
                                                                                dt.date(2025, 10, 19))
