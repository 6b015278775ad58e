"""B-goods forced markdown (次品强制降价): a worked example solved by hand, the tiny chain through governed
sessions (a store manager sees no cost), an idempotent write of marts.b_goods_markdown, bad rules refused."""

from __future__ import annotations

import datetime as dt
import shutil

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.finance.b_goods import (
    MART, b_goods_report, load_rules, markdown_suggestions, rules_from, write_b_goods_markdown,
)
from workbench.finance.stock_age import fifo_ages

D = dt.date
AS_OF = D(2025, 12, 31)
RAW = {"min_age_months": 3, "depth_by_age": [{"from_months": 3, "depth": 0.5}, {"from_months": 6, "depth": 0.7},
                                              {"from_months": 12, "depth": 0.85}],
       "online_from_price": 150, "sell_through": {"outlet": 0.6, "online": 0.45}}
RULES = rules_from(RAW)
B_STOCK = ibis.memtable(pd.DataFrame({"snapshot_date": [AS_OF] * 3, "store_id": [0, 7, 1], "sku_id": [10, 20, 30],
                                      "quality": ["B"] * 3, "on_hand": [3, 2, 1]}))
FLAGS = ibis.memtable(pd.DataFrame({
    "store_id": [0, 0, 0, 7, 1], "sku_id": [10, 10, 10, 20, 30],
    "receive_date": [D(2025, 5, 1), D(2025, 8, 1), D(2025, 11, 15), D(2025, 1, 10), D(2024, 6, 1)],
    "qty": [1, 1, 2, 2, 1]}))
PRODUCTS = ibis.memtable(pd.DataFrame({"sku_id": [10, 20, 30], "full_price": [299.0, 199.0, 1000.0],
                                       "unit_cost": [100.0, 70.0, 300.0]}))


def _suggest(products=PRODUCTS) -> pd.DataFrame:
    aged = fifo_ages(B_STOCK, FLAGS, D(2024, 1, 1))
    return markdown_suggestions(aged, products, RULES).to_pandas()


def test_the_worked_example_gives_the_hand_answer():
    got = _suggest().set_index("sku_id")
    # sku 10 at the DC: 3 on hand are the latest flags: 2 of 15 Nov (46 days, 1.5 months: too young) and 1 of
    # 1 Aug (152 days = 4.99 months): 50 % off 299 = 149.5 -> 150, online (>= 150), 1 x 150 x 0.45 = 67.5.
    # sku 20 at the outlet: 2 flagged 10 Jan (355 days = 11.7 months): 70 % off 199 = 59.7 -> 60, outlet, 2 x 60 x 0.6 = 72.
    # sku 30: 1 flagged 1 Jun 2024 (578 days = 19.0 months): 85 % off 1000 = 150, online, 67.5.
    assert got.index.tolist() == [10, 30, 20]  # ordered by store: 0, 1, 7
    assert got["units"].to_dict() == {10: 1, 20: 2, 30: 1}
    assert got["age_months"].round(2).to_dict() == {10: 4.99, 20: 11.66, 30: 18.99}
    assert got["depth"].to_dict() == {10: 0.5, 20: 0.7, 30: 0.85}
    assert got["suggested_price"].to_dict() == {10: 150, 20: 60, 30: 150}
    assert got["channel"].to_dict() == {10: "online", 20: "outlet", 30: "online"}
    assert got["expected_recovery"].to_dict() == pytest.approx({10: 67.5, 20: 72.0, 30: 67.5})
    assert got["expected_recovery"].sum() == pytest.approx(207)
    assert got.loc[20, "rule"] == "flagged 6-12 months ago: 70% off"
    assert got["cost_value"].to_dict() == {10: 100, 20: 140, 30: 300}


def test_a_longer_minimum_age_leaves_the_younger_out():
    got = markdown_suggestions(fifo_ages(B_STOCK, FLAGS, D(2024, 1, 1)), PRODUCTS,
                               rules_from({**RAW, "min_age_months": 6})).to_pandas()
    assert sorted(got["sku_id"]) == [20, 30]


def test_without_unit_cost_there_is_no_cost_column():
    got = _suggest(PRODUCTS.drop("unit_cost"))
    assert "cost_value" not in got and got["expected_recovery"].sum() == pytest.approx(207)


@pytest.mark.parametrize("change, message", [
    ({"depth_by_age": [{"from_months": 3, "depth": 1.2}]}, "a depth is a share of the tag price"),
    ({"depth_by_age": [{"from_months": 6, "depth": 0.5}]}, "first from_months be at most min_age_months"),
    ({"depth_by_age": [{"months": 3}]}, r"give a list of \{from_months: M, depth: D\}"),
    ({"sell_through": {"outlet": 0.6}}, "give a share from 0 to 1 for each of outlet, online"),
    ({"min_age_months": "three"}, "min_age_months is a number"),
    ({"channel": "outlet"}, r"unknown field\(s\) \['channel'\] in finance.b_goods"),
])
def test_bad_rules_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        rules_from({**RAW, **change})


def test_the_shipped_rules_load():
    rules = load_rules()
    assert rules.min_age_months == 3 and rules.share("outlet") > 0


# --- the tiny chain, through governed sessions ------------------------------------------------------------

def test_tiny_suggestions_are_for_old_b_goods_on_hand(tiny_settings):
    with wb.session("u_finance", settings=tiny_settings) as s:
        got = b_goods_report(s, AS_OF).to_pandas()
        on_hand = s.sql(f"select store_id, sku_id, on_hand from core.inventory where quality = 'B' "
                        f"and snapshot_date = '{AS_OF}'").to_pandas().set_index(["store_id", "sku_id"])
    assert len(got) > 0 and (got["age_months"] >= 3).all() and (got["units"] > 0).all()
    per_item = got.groupby(["store_id", "sku_id"])["units"].sum()
    assert (per_item <= on_hand["on_hand"].reindex(per_item.index)).all()
    assert set(got["channel"]) <= {"outlet", "online"}
    assert (got["suggested_price"] < got["full_price"]).all()
    with wb.session("u_store_001", settings=tiny_settings) as s:
        mine = b_goods_report(s, AS_OF).to_pandas()
    assert "cost_value" not in mine and set(mine["store_id"]) <= {1}


def test_the_mart_is_replaced_per_as_of(tiny_settings, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_pipeline", settings=settings) as s:
        first = write_b_goods_markdown(s, AS_OF)
        again = write_b_goods_markdown(s, "2026-01-05")  # after the last snapshot: the same snapshot's rows again
        stored = s.table(MART).to_pandas()
    assert first == again > 0 and len(stored) == first  # replaced, not doubled
    assert "cost_value" not in stored and (stored["as_of"] == pd.Timestamp(AS_OF)).all()


def test_a_return_machine_vision_made_b_goods_dates_its_unit(tiny_settings, tmp_path):
    """An inspection (raw.return_inspections) is a flag event: the unit it flagged is young, so not marked down yet."""
    from workbench.vision.output import write_inspections

    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_finance", settings=settings) as s:
        before = b_goods_report(s, AS_OF).to_pandas()
    item = before.groupby(["store_id", "sku_id"])["units"].sum().idxmax()  # an item with old B-goods on hand
    row = {"inspected_at": dt.datetime(2025, 12, 20, 15, 0), "store_id": int(item[0]), "sku_id": int(item[1]),
           "decision": "b_goods", "defect_type": "stain", "defects": "stain", "stain_score": 0.004, "hole_score": 0.0,
           "missing_accessory_score": 0.0, "reason": "B-goods: stain", "photo_ref": None, "alignment": "orb"}
    with wb.session("u_admin", settings=settings, read_only=False) as s:
        assert write_inspections(s, [row, row | {"decision": "accept", "defect_type": None, "defects": None}]) == 2
    with wb.session("u_finance", settings=settings) as s:
        after = b_goods_report(s, AS_OF).to_pandas()
    units = lambda frame: frame.set_index(["store_id", "sku_id"])["units"].groupby(level=[0, 1]).sum()  # noqa: E731
    assert units(after)[item] == units(before)[item] - 1  # the newest unit is ten days old: too young to mark down
    others = units(before).drop(item)
    assert units(after).drop(item).reindex(others.index).equals(others)  # the accepted return flags nothing
