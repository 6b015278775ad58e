"""The alert report on the tiny chain: a store manager's report holds their store only, with the numbers of a
direct governed query; a region manager's their region; bad input gets a message saying what to do; and
alerts link to the moves of a plan written through the door."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

import workbench as wb
from workbench.allocation import approvals
from workbench.allocation.output import write_plan
from workbench.merchandise.alerts import GRAINS, AlertInputError, merchandise_alerts, parse_grain
from workbench.merchandise.moves import NO_MOVE
from workbench.merchandise.rules import AlertRules

OCT = (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
RULES = AlertRules()


@pytest.fixture(scope="module")
def hq_report(tiny_settings):
    with wb.session("u_hq", settings=tiny_settings, entry_point="app") as s:
        return merchandise_alerts(s, *OCT, rules=RULES)


def _direct_s001(s) -> pd.DataFrame:
    """S001's October by category straight from the governed tables, without the metrics layer."""
    products = s.table("core.products").select("sku_id", "category")
    sales = s.table("core.sales")
    sales = sales.filter(sales.sale_date.between(*OCT)).join(products, "sku_id")
    sold = sales.group_by("category").aggregate(net_sales=sales.net_amount.sum(), units=sales.qty.sum()).to_pandas()
    inv = s.table("core.inventory")
    inv = inv.filter(inv.snapshot_date == dt.date(2025, 10, 26)).join(products, "sku_id")
    held = inv.group_by("category").aggregate(
        stock_units=(inv.on_hand.fill_null(0) + inv.in_transit.fill_null(0)).sum()).to_pandas()
    return sold.merge(held, on="category", how="outer").fillna(0).set_index("category").sort_index()


def test_a_store_manager_sees_their_store_with_the_numbers_of_a_direct_query(tiny_settings, hq_report):
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        report = merchandise_alerts(s, *OCT, rules=RULES)
        direct = _direct_s001(s)
        plan = s.table("core.sales_plan")
        plan_total = plan.filter(plan.month == OCT[0]).plan_net_sales.sum().to_pandas()
    assert set(report.rows["store_code"]) == {"S001"}
    assert report.stock_as_of == dt.date(2025, 10, 26)
    got = report.rows.set_index("category").sort_index()
    got = got.loc[got.index.notna()]
    both = direct.join(got[["net_sales", "units", "stock_units"]], rsuffix="_report", how="outer").fillna(0)
    assert both["net_sales_report"].tolist() == pytest.approx(both["net_sales"].tolist())
    assert both["units_report"].tolist() == both["units"].tolist()
    assert both["stock_units_report"].tolist() == both["stock_units"].tolist()
    assert report.rows["plan_net_sales"].sum() == pytest.approx(plan_total)  # split by category, none lost
    # the head office sees the same numbers for S001
    hq = hq_report.rows[hq_report.rows["store_code"] == "S001"].set_index("category").sort_index()
    for col in ("net_sales", "plan_net_sales", "stock_units", "weeks_of_cover", "deviation"):
        assert hq[col].tolist() == pytest.approx(report.rows.set_index("category").sort_index()[col].tolist(),
                                                 nan_ok=True)


def test_a_region_manager_sees_their_region(tiny_settings):
    with wb.session("u_hq", settings=tiny_settings) as s:
        stores = s.table("core.stores").to_pandas()
    east = set(stores.loc[stores["region"] == "East", "store_code"])
    with wb.session("u_region_east", settings=tiny_settings, entry_point="app") as s:
        report = merchandise_alerts(s, *OCT, grain="store × brand", rules=RULES)
        by_region = merchandise_alerts(s, *OCT, grain="region × brand", rules=RULES)
    assert set(report.rows["store_code"]) <= east and len(set(report.rows["store_code"])) > 1
    assert set(by_region.rows["region"]) == {"East"}
    for brand, part in report.rows.groupby("brand"):  # the region's row is its stores' total
        region_row = by_region.rows.set_index("brand").loc[brand]
        assert region_row["net_sales"] == pytest.approx(part["net_sales"].sum())
        assert region_row["plan_net_sales"] == pytest.approx(part["plan_net_sales"].sum())


def test_a_week_holds_its_days_share_of_the_month_plan(tiny_settings):
    week = (dt.date(2025, 10, 6), dt.date(2025, 10, 12))
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        report = merchandise_alerts(s, *week, grain="store", rules=RULES)
        plan = s.table("core.sales_plan")
        month_plan = plan.filter(plan.month == OCT[0]).plan_net_sales.sum().to_pandas()
    assert report.rows["plan_net_sales"].sum() == pytest.approx(month_plan * 7 / 31)
    assert report.stock_as_of == dt.date(2025, 10, 12)


def test_a_period_past_the_data_compares_the_days_traded(tiny_settings):
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        report = merchandise_alerts(s, "2025-12-29", "2026-01-04", grain="store", rules=RULES)  # data ends 12-31
        plan = s.table("core.sales_plan")
        december = plan.filter(plan.month == dt.date(2025, 12, 1)).plan_net_sales.sum().to_pandas()
    assert (report.first, report.last) == (dt.date(2025, 12, 29), dt.date(2025, 12, 31))
    assert report.rows["plan_net_sales"].sum() == pytest.approx(december * 3 / 31)


def test_the_report_is_ranked_and_its_alerts_follow_the_rules(hq_report):
    rows = hq_report.rows
    alerts = hq_report.alerts
    assert len(alerts) > 0 and set(alerts["alert"]) <= {"understock", "overstock"}
    assert rows.index[: len(alerts)].tolist() == alerts.index.tolist()  # alerts first ...
    assert alerts["value_at_stake"].is_monotonic_decreasing             # ... largest at stake first
    under = alerts[alerts["alert"] == "understock"]
    assert (under["deviation"] >= RULES.understock_deviation).all()
    over = alerts[alerts["alert"] == "overstock"]
    assert (over["deviation"] <= -RULES.overstock_deviation).all()
    assert hq_report.counts() == {"understock": len(under), "overstock": len(over)}
    assert "DC01" not in set(rows["store_code"])  # the DC has stock but no plan and no sales


@pytest.mark.parametrize("grain", list(GRAINS))
def test_every_offered_grain_runs(tiny_settings, grain):
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        report = merchandise_alerts(s, "2025-11-01", "2025-11-30", grain=grain, rules=RULES)
    assert list(report.rows.columns[: len(report.key_columns)]) == report.key_columns
    assert report.rows["net_sales"].sum() > 0


def test_an_unknown_grain_is_refused_with_the_choices(tiny_settings):
    with pytest.raises(AlertInputError, match="grain 'store × colour' is not one the alerts can use: choose one of"):
        parse_grain("store × colour")
    with pytest.raises(AlertInputError, match="one of store, region"):
        parse_grain(("category",))
    assert parse_grain(["region", "brand"]) == ("region", "brand")
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        with pytest.raises(AlertInputError, match="choose one of store × category"):
            merchandise_alerts(s, *OCT, grain="city", rules=RULES)


def test_an_empty_period_says_which_dates_hold_sales(tiny_settings):
    with wb.session("u_store_001", settings=tiny_settings, entry_point="app") as s:
        with pytest.raises(AlertInputError, match="no sales between 2026-01-01 and 2026-01-31: the sales you may "
                                                  "read run from 2025-01-01 to 2025-12-31"):
            merchandise_alerts(s, "2026-01-01", "2026-01-31", rules=RULES)
        with pytest.raises(AlertInputError, match="ends .* before it starts"):
            merchandise_alerts(s, "2025-10-31", "2025-10-01", rules=RULES)
        with pytest.raises(AlertInputError, match="is not a date"):
            merchandise_alerts(s, "October", "2025-10-31", rules=RULES)


def test_alerts_link_to_the_moves_of_a_plan_written_through_the_door(tiny_settings, hq_report, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    alerts = hq_report.alerts
    with wb.session("u_hq", settings=settings) as s:
        stores = s.table("core.stores").select("store_id", "store_code").to_pandas()
        products = s.table("core.products").select("sku_id", "category").to_pandas()
        inv = s.table("core.inventory")
        inv = inv.filter(inv.snapshot_date == dt.date(2025, 11, 9))
        held = inv.group_by("store_id", "sku_id").aggregate(units=inv.on_hand.sum()).to_pandas()
    held = held.merge(products, on="sku_id")
    store_id = stores.set_index("store_code")["store_id"]
    flagged = set(zip(alerts["store_code"], alerts["category"]))
    moves = []
    for row in alerts.itertuples():  # one move the fixing way per alert: 2 units of the donor's fullest SKU
        here = int(store_id[row.store_code])
        donor = held[(held["store_id"] == (0 if row.alert == "understock" else here))
                     & (held["category"] == row.category)]
        sku = int(donor.sort_values(["units", "sku_id"], ascending=[False, True])["sku_id"].iloc[0])
        # overstock: out to a store without an alert on the category, so that no other alert sees it come in
        calm = next(c for c in sorted(store_id.index) if c != "DC01" and (c, row.category) not in flagged)
        origin, dest, relation = (0, here, "dc") if row.alert == "understock" else \
            (here, int(store_id[calm]), "same_region")
        moves.append({"origin": origin, "dest": dest, "sku_id": sku, "units": 2, "reason": "test",
                      "relation": relation})
    as_of = dt.date(2025, 11, 9)
    with wb.session("u_pipeline", settings=settings, read_only=False, run_id="plan-test-1") as s:
        write_plan(s, pd.DataFrame(moves).drop_duplicates(["origin", "dest", "sku_id"]), as_of)
    with wb.session("u_hq", settings=settings, entry_point="app") as s:
        linked = merchandise_alerts(s, *OCT, rules=RULES).alerts
    assert linked[["store_code", "category", "alert"]].values.tolist() == \
        alerts[["store_code", "category", "alert"]].values.tolist()
    assert (linked["moves"] == 1).all() and (linked["move_units"] == 2).all()
    assert set(linked["moves_as_of"]) == {"2025-11-09"} and set(linked["moves_run_id"]) == {"plan-test-1"}
    assert linked["linked_plan"].str.contains("units (?:in|out) \\(plan of 2025-11-09, run plan-test-1\\)").all()

    # the allocation review rejects the first alert's move and cuts the first understock's (from the DC,
    # which can spare it) to 1 unit
    cut = next(i for i in range(1, len(moves)) if moves[i]["relation"] == "dc")
    first, second = moves[0], moves[cut]
    table = {"dc": "marts.replenishment_plan"}
    with wb.session("u_hq", settings=settings, read_only=False) as s:
        approvals.decide(s, [
            approvals.Decision(table.get(first["relation"], "marts.transfer_plan"), as_of, first["origin"],
                               first["dest"], first["sku_id"], "rejected", comment="not now"),
            approvals.Decision(table.get(second["relation"], "marts.transfer_plan"), as_of, second["origin"],
                               second["dest"], second["sku_id"], "edited", units=1, comment="half")])
    with wb.session("u_hq", settings=settings, entry_point="app") as s:
        reviewed = merchandise_alerts(s, *OCT, rules=RULES).alerts
    assert reviewed.iloc[0][["moves", "linked_plan"]].tolist() == [0, NO_MOVE]
    assert reviewed.iloc[cut][["moves", "move_units"]].tolist() == [1, 1]
    assert (reviewed.drop(index=[0, cut])["move_units"] == 2).all()


def test_cover_at_the_forecast_uses_a_forecast_made_in_the_periods_last_week(tiny_settings, tmp_path):
    from workbench.forecasting.output import write_forecast

    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_hq", settings=settings) as s:
        products = s.table("core.products")
        tops = products.filter(products.category == "tops").sku_id.to_pandas().tolist()

    def forecast(as_of, mean):  # every top at S001 (store 1), 14 days
        days = [as_of + dt.timedelta(days=d) for d in range(1, 15)]
        frame = pd.DataFrame([(sku, 1, day) for sku in tops for day in days], columns=["sku_id", "store_id", "date"])
        return frame.assign(p10=0.0, p50=mean, p90=mean, mean=mean, nb_size=float("inf"))

    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        write_forecast(s, forecast(dt.date(2025, 10, 26), 0.5), dt.date(2025, 10, 26), None)
        write_forecast(s, forecast(dt.date(2025, 11, 9), 9.0), dt.date(2025, 11, 9), None)  # after October: unused
    with wb.session("u_store_001", settings=settings, entry_point="app") as s:
        rows = merchandise_alerts(s, *OCT, rules=RULES).rows.set_index("category")
    weekly = 0.5 * 7 * len(tops)
    assert rows.loc["tops", "forecast_cover_weeks"] == pytest.approx(rows.loc["tops", "stock_units"] / weekly)
    assert rows.drop(index="tops")["forecast_cover_weeks"].isna().all()  # no forecast for the others
