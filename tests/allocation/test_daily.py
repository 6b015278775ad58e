"""The daily plan on the tiny chain: stock position, the plan, its tables in the marts, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench as wb
from workbench.allocation import daily, inputs, output

from .conftest import AS_OF


def test_rolling_the_snapshot_forward_matches_the_next_snapshot(tiny_settings):
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        rolled = inputs.stock_position(s, AS_OF - dt.timedelta(days=1))  # from the snapshot a week before
        snap = s.sql(f"select store_id as location_id, sku_id, on_hand from core.inventory "
                     f"where snapshot_date = date '{AS_OF}' and quality = 'A' and on_hand > 0").to_pandas()
        sold = s.sql(f"select store_id as location_id, sku_id, sum(qty) as sold from core.sales "
                     f"where sale_date = date '{AS_OF}' group by all").to_pandas()
    rolled = rolled.merge(sold, on=["location_id", "sku_id"], how="left").fillna({"sold": 0})
    both = rolled.merge(snap, on=["location_id", "sku_id"], how="inner", suffixes=("", "_snap"))
    # the day before the snapshot, less the snapshot day's sales, is the snapshot where no transfer arrived
    assert len(both) > 100
    assert ((both["on_hand"] - both["sold"]) == both["on_hand_snap"]).mean() > 0.9


def test_the_daily_plan_is_written_and_a_rerun_replaces_it(planned):
    with wb.session("u_pipeline", settings=planned, read_only=False) as s:
        plan = daily.make_plan(s, AS_OF)
        assert len(plan.moves) > 0, plan.describe()
        assert (plan.moves["net_benefit"] > -plan.settings.threshold).all()
        assert plan.moves["reason"].str.contains("expected units").all()
        written = plan.write(s)
        again = daily.make_plan(s, AS_OF).write(s)
        assert again == written
        rows = {t: output.read_plan(s, t, AS_OF) for t in output.PLAN_TABLES}
    assert sum(len(r) for r in rows.values()) == len(plan.moves)  # replaced, not added to
    assert (rows["marts.replenishment_plan"]["relation"] == "dc").all()
    assert set(rows["marts.replenishment_plan"]["status"]) <= {"proposed"}
    binding = plan.binding()
    assert set(binding["constraint"]) <= {"max_shipments", "capacity", "dc_stock"}
    capped = binding.loc[binding["constraint"] == "max_shipments", "where"]
    ships = plan.moves.groupby("dest")["origin"].nunique()
    assert len(capped) == int((ships >= plan.settings.max_shipments).sum())
    impact = plan.impact()
    assert impact["units"].sum() == plan.moves["units"].sum()
    breaks = plan.size_breaks()
    assert breaks["after"].sum() <= breaks["before"].sum() + len(plan.moves)


def test_a_rule_strategy_plans_alone(planned):
    with wb.session("u_pipeline", settings=planned, read_only=True) as s:
        plan = daily.make_plan(s, AS_OF, strategy="sell_one_replenish_one")
    assert len(plan.moves) > 0
    assert (plan.moves["relation"] == "dc").all()
    assert plan.report.status == "rule: sell_one_replenish_one"


def test_bad_input_says_what_to_do_and_writes_nothing(planned):
    with wb.session("u_pipeline", settings=planned, read_only=False) as s:
        with pytest.raises(ValueError, match="no forecast for 2025-11-02"):
            daily.make_plan(s, AS_OF - dt.timedelta(days=7))
        with pytest.raises(ValueError, match="unknown strategy"):
            daily.make_plan(s, AS_OF, strategy="magic")
        plan = daily.make_plan(s, AS_OF)
        bad = plan.moves.copy()
        bad.loc[bad.index[0], "units"] = 0
        with pytest.raises(ValueError, match="no units"):
            output.write_plan(s, bad, AS_OF)
        assert not s.table_exists("marts.transfer_plan") and not s.table_exists("marts.replenishment_plan")
    with wb.session("u_store_001", settings=planned, read_only=False) as s:
        with pytest.raises(PermissionError, match="may not write"):
            output.write_plan(s, plan.moves, AS_OF)


def test_rules_inside_the_optimiser_narrow_the_plan(planned):
    from workbench.allocation.planning import load_planning_settings

    with wb.session("u_pipeline", settings=planned, read_only=True) as s:
        free = daily.make_plan(s, AS_OF, settings=load_planning_settings(threshold=0.0))
        ruled = daily.make_plan(s, AS_OF, settings=load_planning_settings(threshold=0.0, rules=["size_break_only"]))
        core = set(s.sql("select sku_id from core.products where is_core_size").to_pandas()["sku_id"])
    assert len(ruled.moves) > 0 and set(ruled.moves["sku_id"]) <= core
    assert len(ruled.moves) < len(free.moves)
