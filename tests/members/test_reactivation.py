"""Reactivation call lists on the tiny chain: who is on them and why, masked personal data for the store's staff,
products really in stock in the member's size, opening lines from the template library, bad input refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pandas as pd
import pytest

import workbench as wb
from workbench.members.openers import OpenerLibrary, opening_line
from workbench.members.reactivation import ReactivationSettings, call_lists, sleeping_members
from workbench.members.summary import MembersError
from workbench.members.tags import member_tags

AS_OF = "2025-12-31"
SETTINGS = ReactivationSettings()


@pytest.fixture(scope="module")
def store_calls(tiny_settings):
    with wb.session("u_store_001", settings=tiny_settings) as s:
        return call_lists(s, AS_OF, settings=SETTINGS)


def test_a_store_manager_gets_their_store_list_with_masked_personal_data(store_calls, tiny_settings):
    calls = store_calls.calls
    assert set(calls["store_code"]) == {"S001"} and len(calls) == SETTINGS.per_store
    assert calls["phone"].str.fullmatch(r"\d{3}\*{4}\d{4}").all()
    assert calls["member_name"].str.contains(r"\*").all()
    assert calls["value"].is_monotonic_decreasing
    with wb.session("u_admin", settings=tiny_settings) as s:
        clear = call_lists(s, AS_OF, settings=SETTINGS).for_store("S001")
        phones = s.table("core.members").select("member_id", "phone").to_pandas().set_index("member_id")["phone"]
    assert clear["phone"].str.fullmatch(r"\d{11}").all()  # admin sees them in clear: the door masks, not the list
    assert (clear["phone"] == phones.loc[clear["member_id"]].to_numpy()).all()
    for row in calls.head(5).to_dict("records"):  # the masked phone keeps the clear one's first three digits
        assert row["phone"][:3] == phones.loc[row["member_id"]][:3]


def test_everyone_on_the_list_is_sleeping_by_the_configured_thresholds(store_calls):
    calls = store_calls.calls
    by_recency = calls["recency_days"] >= SETTINGS.recency_days
    by_model = calls["p_alive"] < SETTINGS.p_alive_below
    assert (by_recency | by_model).all() and (calls["p_alive"] >= SETTINGS.p_alive_floor).all()
    assert calls["reason"].str.len().gt(0).all()
    assert calls.loc[by_recency & ~by_model, "reason"].eq(f"no purchase for {SETTINGS.recency_days}+ days").all()
    alerts = store_calls.alerts.set_index("store_code").loc["S001"]
    assert alerts["on_list"] == len(calls) and alerts["sleeping"] >= len(calls)
    assert 0 < alerts["new_alerts"] <= alerts["sleeping"] < alerts["members"]


def test_suggested_products_are_in_stock_in_the_members_size_and_not_owned(store_calls, tiny_settings):
    calls = store_calls.calls
    assert store_calls.stock_as_of == dt.date(2025, 12, 31)
    with wb.session("u_store_001", settings=tiny_settings) as s:
        inv = s.table("core.inventory")
        stock = inv.filter(inv.snapshot_date == store_calls.stock_as_of, inv.quality == "A", inv.on_hand > 0)
        products = s.table("core.products")
        in_stock = stock.join(products, "sku_id").select("skc_code", "size", "size_rank", "gender").to_pandas()
        tags = member_tags(s.table("core.sales"), products, dt.date(2025, 12, 31)).to_pandas().set_index("member_id")
        sales = s.table("core.sales").join(products.select("sku_id", "skc_code"), "sku_id")
        owned = sales.filter(sales.member_id.isin([int(i) for i in calls["member_id"]]))
        owned = set(map(tuple, owned.select("member_id", "skc_code").to_pandas().to_numpy()))
    shelf = in_stock.set_index(["skc_code", "size"])
    suggested = 0
    for row in calls.to_dict("records"):
        codes = [row[f"product_{i}_code"] for i in (1, 2, 3) if pd.notna(row[f"product_{i}_code"])]
        assert len(set(codes)) == len(codes)
        for i, code in enumerate(codes, start=1):
            item = shelf.loc[(code, row[f"product_{i}_size"])]
            item = item.iloc[0] if isinstance(item, pd.DataFrame) else item
            assert item["size_rank"] in (0, tags.loc[row["member_id"], "size_rank"])  # their size or free size
            assert item["gender"] in ("unisex", tags.loc[row["member_id"], "wears"])
            assert (row["member_id"], code) not in owned
            suggested += 1
    assert suggested >= 2 * len(calls)  # most calls have products to offer


def test_opening_lines_follow_the_segment_and_carry_the_tags(store_calls):
    library = OpenerLibrary(templates=(
        {"segments": ["Champions", "Loyal"], "zh": "{name}{honorific}，{product}", "en": "VIP {name} {size}"},
        {"zh": "{name}{honorific}您好，{days}天", "en": "Hello {honorific} {name}, {category}"}),
        category_names={"en": {"tops": "TOPS"}})
    for row in store_calls.calls.to_dict("records"):
        assert row["member_name"] in row["opening_zh"] and row["member_name"] in row["opening_en"]
        zh, en = opening_line(row, library, "zh"), opening_line(row, library, "en")
        honorific = {"F": "女士", "M": "先生"}[row["gender"]]
        if row["segment"] in ("Champions", "Loyal"):
            assert zh == f"{row['member_name']}{honorific}，{row['product_1_name']}"
            assert en == f"VIP {row['member_name']} {row['sizes']}"
        else:
            assert zh == f"{row['member_name']}{honorific}您好，{row['recency_days']}天"
            category = "TOPS" if row["product_1_category"] == "tops" else row["product_1_category"]
            assert en.endswith(category)


def test_a_bad_template_library_is_refused():
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \['nmae'\]"):
        OpenerLibrary(templates=({"zh": "{nmae}", "en": "{name}"},))
    with pytest.raises(ValueError, match="needs a default template"):
        OpenerLibrary(templates=({"segments": ["Lost"], "zh": "x", "en": "y"},))
    with pytest.raises(ValueError, match="has no `en` text"):
        OpenerLibrary(templates=({"zh": "x"},))


def test_a_product_list_restricts_the_suggestions_and_unknown_skcs_are_refused(store_calls, tiny_settings):
    offered = pd.concat([store_calls.calls[f"product_{i}_code"] for i in (1, 2, 3)]).dropna()
    pushed = offered.value_counts().index[:2].tolist()
    with wb.session("u_store_001", settings=tiny_settings) as s:
        narrow = call_lists(s, AS_OF, products=pushed, settings=SETTINGS)
        with pytest.raises(MembersError, match=r"unknown SKC code\(s\) in the product list: NOPE-XX0000-RED"):
            call_lists(s, AS_OF, products=[pushed[0], "NOPE-XX0000-RED"], settings=SETTINGS)
        with pytest.raises(MembersError, match="product list is empty"):
            call_lists(s, AS_OF, products=[" "], settings=SETTINGS)
        with pytest.raises(MembersError, match="before any member purchase"):
            call_lists(s, "2024-06-30", settings=SETTINGS)
    got = pd.concat([narrow.calls[f"product_{i}_code"] for i in (1, 2, 3)]).dropna()
    assert len(got) > 0 and set(got) <= set(pushed)
    assert narrow.calls["member_id"].tolist() == store_calls.calls["member_id"].tolist()  # same people, other offer


def test_stricter_thresholds_put_fewer_members_to_sleep(store_calls, tiny_settings):
    strict = dataclasses.replace(SETTINGS, recency_days=180, p_alive_below=0.2)
    with wb.session("u_store_001", settings=tiny_settings) as s:
        fewer = call_lists(s, AS_OF, settings=strict)
    assert fewer.alerts["sleeping"].sum() < store_calls.alerts["sleeping"].sum()
    assert ((fewer.calls["recency_days"] >= 180) | (fewer.calls["p_alive"] < 0.2)).all()


def test_a_new_alert_is_a_member_who_crossed_a_threshold_within_the_alert_days():
    members = pd.DataFrame({
        "recency_days":   [95, 120, 30, 30, 95, 200],
        "p_alive":        [0.9, 0.9, 0.4, 0.4, 0.9, 0.01],
        "p_alive_before": [0.9, 0.9, 0.6, 0.45, 0.9, 0.01],
    })
    got = sleeping_members(members, ReactivationSettings(recency_days=90, p_alive_below=0.5, p_alive_floor=0.02,
                                                         alert_days=7))
    assert got["sleeping"].tolist() == [True, True, True, True, True, False]  # the last one is taken as gone
    assert got["new_alert"].tolist() == [True, False, True, False, True, False]
    assert got["reason"].iloc[2] == "P(alive) < 0.5"
