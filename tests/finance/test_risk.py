"""Risk checks (风控): on tiny hand-made tables each check finds exactly its planted case and nothing else;
parameters change the result; bad parameters are refused by name; on the simulated tiny chain the checks
recover the planted irregularities, a region manager gets only their region's cases, and the cases land in
marts.risk_cases, replaced on a re-run."""

from __future__ import annotations

import shutil
from datetime import date

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.finance.risk import DEFAULTS, load_risk_settings, risk_settings_from, run_checks, write_cases
from workbench.finance.risk.cases import CASE_SCHEMA
from workbench.finance.risk.points import points_abuse, points_above_tier, points_kept_on_returns
from workbench.finance.risk.run import CHECKS
from workbench.finance.risk.sales import (cashier_discount_outliers, discount_beyond_policy, exchange_other_style,
                                          return_outside_window, return_without_sale, unpaid_sale)
from workbench.finance.risk.score import PLANTED_KIND, keys, score
from workbench.finance.risk.stock import consignment_shortfall
from workbench.warehouse.schema import TABLES

START, END = date(2025, 1, 1), date(2025, 3, 31)
DAY = date(2025, 2, 10)
TIERS = {"silver": 1.0, "gold": 1.2, "platinum": 1.5}


def table(name: str, rows: list[dict]) -> ibis.Table:
    """An in-memory core table with the warehouse's column types; columns not given are null."""
    schema = ibis.schema({n: t.copy(nullable=True) for n, t in TABLES[f"core.{name}"].ibis_schema().items()})
    frame = pd.DataFrame([{c: r.get(c) for c in schema.names} for r in rows], columns=schema.names)
    return ibis.memtable(frame, schema=schema)


def line(ticket, sku, price, *, full=100.0, qty=1, kind="sale", day=DAY, store=1, member=None, cashier=11,
         promo=None, orig=None, line_no=1) -> dict:
    return dict(ticket_id=ticket, line_no=line_no, sale_date=day, store_id=store, sku_id=sku, skc_id=sku,
                member_id=member, cashier_id=cashier, line_type=kind, qty=qty, full_price=full, unit_price=price,
                discount_amount=(full - price) * qty, net_amount=price * qty, promo_id=promo, orig_ticket_id=orig)


def points(entry, ticket, member, pts, reason="earn", day=DAY, store=1) -> dict:
    return dict(entry_id=entry, member_id=member, ticket_id=ticket, store_id=store, entry_date=day, points=pts,
                reason=reason)


PRODUCTS = table("products", [dict(sku_id=1, sku_code="A-M", style_id=10, style_code="A", full_price=100.0),
                              dict(sku_id=2, sku_code="A-L", style_id=10, style_code="A", full_price=100.0),
                              dict(sku_id=3, sku_code="B-M", style_id=20, style_code="B", full_price=200.0)])


def found(cases: ibis.Table) -> pd.DataFrame:
    frame = cases.execute()
    assert tuple(frame.columns) == CASE_SCHEMA.names
    return frame


def test_a_promotion_line_below_the_policy_floor_is_the_only_discount_case():
    sales = table("sales", [line(1, 1, 50.0, promo=1),          # exactly the floor: 100 x (1 - 0.5)
                            line(2, 1, 40.0, promo=1),          # planted: 10 below the floor
                            line(3, 1, 30.0),                   # a markdown, no promotion
                            line(4, 1, 40.0, promo=1, qty=-1, kind="return", orig=2),
                            line(5, 1, 20.0, promo=1, day=date(2025, 4, 2))])  # outside the period
    promotions = table("promotions", [dict(promo_id=1, promo_name="618", max_discount_pct=0.5)])
    cases = found(discount_beyond_policy(sales, promotions, start=START, end=END))
    assert cases["case_key"].tolist() == ["2/1"]
    assert cases["amount_at_risk"].tolist() == [10.0]
    assert "floor of 50.0" in cases["evidence"][0]


def _cashier_lines(store: int, cashier: int, depth: float, first_ticket: int, n: int = 10) -> list[dict]:
    return [line(first_ticket + i, 1, round(100 * (1 - depth), 2), store=store, cashier=cashier) for i in range(n)]


def test_the_one_cashier_far_deeper_than_the_store_peers_is_the_outlier():
    rows = []
    for i, (cashier, depth) in enumerate([(11, 0.10), (12, 0.11), (13, 0.09), (14, 0.10), (15, 0.40)]):
        rows += _cashier_lines(1, cashier, depth, 100 * (i + 1))
    rows += _cashier_lines(2, 21, 0.10, 1000) + _cashier_lines(2, 22, 0.50, 1100)  # two cashiers: no peer group
    rows += _cashier_lines(1, 16, 0.90, 1200, n=3)                                # too few lines to judge
    cases = found(cashier_discount_outliers(table("sales", rows), start=START, end=END, min_lines=5))
    assert cases["case_key"].tolist() == ["1/15"]
    assert cases["amount_at_risk"].iloc[0] == pytest.approx((0.40 - 0.10) * 1000)
    # robust z of cashier 15 = 0.30 / (1.4826 x 0.01) = 20.2: a threshold above it finds nobody
    assert found(cashier_discount_outliers(table("sales", rows), start=START, end=END, min_lines=5,
                                           max_robust_z=25)).empty


def test_double_credit_and_a_card_on_a_walk_in_ticket_are_the_points_abuse():
    sales = table("sales", [line(10, 1, 100.0, member=501), line(11, 1, 50.0, member=502),
                            line(12, 1, 80.0), line(13, 1, 60.0)])
    ledger = table("points_ledger", [points(1, 10, 501, 100), points(2, 10, 501, -500, "redeem"),
                                     points(3, 11, 502, 50), points(4, 11, 502, 50),     # planted: twice
                                     points(5, 12, 777, 80)])                          # planted: walk-in
    cases = found(points_abuse(ledger, sales, start=START, end=END))
    assert sorted(cases["case_key"]) == ["double/11/502", "walk_in/12/777"]
    assert sorted(cases["amount_at_risk"]) == [0.5, 0.8]


def test_a_refund_with_no_points_taken_back_is_the_only_kept_points_case():
    sales = table("sales", [line(20, 1, 100.0, member=501, line_no=1), line(20, 2, 100.0, member=501, line_no=2),
                            line(21, 1, 100.0, qty=-1, kind="return", member=501, orig=20, day=date(2025, 2, 12)),
                            line(22, 1, 100.0, member=501), line(22, 3, 200.0, member=501, line_no=2),
                            line(23, 3, 200.0, qty=-1, kind="return", member=501, orig=22, day=date(2025, 2, 12)),
                            line(24, 1, 100.0),
                            line(25, 1, 100.0, qty=-1, kind="return", orig=24, day=date(2025, 2, 12))])
    ledger = table("points_ledger", [points(1, 20, 501, 200), points(2, 21, 501, -100, "adjust"),
                                     points(3, 22, 501, 300)])                 # nothing taken back on 23
    cases = found(points_kept_on_returns(ledger, sales, start=START, end=END))
    assert cases["case_key"].tolist() == ["23"]
    assert cases["amount_at_risk"].tolist() == [2.0]  # 300 points x 200 / 300 of the ticket = 200 points


def test_a_credit_above_the_tier_rate_is_the_only_multiplier_case():
    sales = table("sales", [line(30, 1, 100.0, member=501), line(31, 1, 100.0, member=502),
                            line(32, 1, 100.0, member=501), line(33, 3, 200.0, member=502),
                            line(34, 1, 100.0, member=509)])
    members = table("members", [dict(member_id=501, tier="silver"), dict(member_id=502, tier="gold")])
    ledger = table("points_ledger", [points(1, 30, 501, 100), points(2, 31, 502, 120),
                                     points(3, 32, 501, 150),                  # planted: silver earns 100
                                     points(4, 33, 502, -1000, "redeem"), points(5, 33, 502, 228),  # 190 paid x 1.2
                                     points(6, 34, 509, 150)])                 # tier unseen: the highest rate
    cases = found(points_above_tier(ledger, sales, members, start=START, end=END, tier_points_per_cny=TIERS))
    assert cases["case_key"].tolist() == ["3"]
    assert cases["amount_at_risk"].tolist() == [0.5]


def test_an_exchange_for_another_style_is_the_only_exchange_case():
    sales = table("sales", [line(39, 1, 80.0),
                            line(40, 1, 80.0, qty=-1, kind="exchange_out", orig=39),
                            line(40, 2, 80.0, kind="exchange_in", orig=39, line_no=2),     # same style: fine
                            line(41, 1, 80.0, qty=-1, kind="exchange_out", orig=39),
                            line(41, 3, 80.0, full=200.0, kind="exchange_in", orig=39, line_no=2)])  # planted
    cases = found(exchange_other_style(sales, PRODUCTS, start=START, end=END))
    assert cases["case_key"].tolist() == ["41/2"]
    assert cases["amount_at_risk"].tolist() == [120.0]  # handed out at tag 200 for an item bought at 80


def test_a_refund_citing_a_ticket_that_never_sold_the_item_is_the_only_return_without_sale():
    sales = table("sales", [line(50, 1, 90.0),
                            line(51, 1, 90.0, qty=-1, kind="return", orig=50, line_no=1),
                            line(52, 2, 90.0, qty=-1, kind="return", orig=999)])  # planted: no ticket 999
    cases = found(return_without_sale(sales, start=START, end=END))
    assert cases["case_key"].tolist() == ["52/1"]
    assert cases["amount_at_risk"].tolist() == [90.0]


RETURNS = [line(60, 1, 90.0, day=date(2025, 1, 1)),
           line(61, 1, 90.0, qty=-1, kind="return", orig=60, day=date(2025, 1, 20)),   # 19 days
           line(62, 2, 70.0, day=date(2025, 1, 1)),
           line(63, 2, 70.0, qty=-1, kind="return", orig=62, day=date(2025, 2, 15))]   # planted: 45 days


def test_a_refund_after_the_window_is_the_only_late_return_and_the_window_is_a_parameter():
    cases = found(return_outside_window(table("sales", RETURNS), start=START, end=END, window_days=30))
    assert cases["case_key"].tolist() == ["63/1"]
    assert "45 days earlier" in cases["evidence"][0]
    assert found(return_outside_window(table("sales", RETURNS), start=START, end=END, window_days=60)).empty
    assert len(found(return_outside_window(table("sales", RETURNS), start=START, end=END, window_days=10))) == 2


def test_a_ticket_short_in_payments_is_the_only_unpaid_sale_and_the_tolerance_is_a_parameter():
    sales = table("sales", [line(70, 1, 100.0), line(71, 1, 100.0), line(72, 1, 50.0),
                            line(73, 1, 80.0, qty=-1, kind="exchange_out", orig=70),
                            line(73, 2, 80.0, kind="exchange_in", orig=70, line_no=2),
                            line(74, 1, 80.0, qty=-1, kind="return", orig=70)])
    payments = table("payments", [dict(ticket_id=70, store_id=1, pay_date=DAY, method="cash", amount=100.0),
                                  dict(ticket_id=71, store_id=1, pay_date=DAY, method="wechat", amount=60.0),
                                  dict(ticket_id=72, store_id=1, pay_date=DAY, method="cash", amount=30.0),
                                  dict(ticket_id=72, store_id=1, pay_date=DAY, method="points", amount=20.0),
                                  dict(ticket_id=74, store_id=1, pay_date=DAY, method="cash", amount=-80.0)])
    cases = found(unpaid_sale(sales, payments, start=START, end=END))
    assert cases["case_key"].tolist() == ["71"]
    assert cases["amount_at_risk"].tolist() == [40.0]
    assert found(unpaid_sale(sales, payments, start=START, end=END, tolerance_cny=50)).empty


def test_a_short_count_at_a_counter_is_the_only_shortfall_and_min_units_is_a_parameter():
    stores = table("stores", [dict(store_id=1, store_code="S001", store_type="own"),
                              dict(store_id=2, store_code="S002", store_type="consignment")])
    counts = table("stock_counts", [
        dict(count_id=1, count_date=DAY, store_id=2, sku_id=1, system_qty=3, counted_qty=3, method="rfid"),
        dict(count_id=2, count_date=DAY, store_id=2, sku_id=2, system_qty=5, counted_qty=3, method="rfid"),  # planted
        dict(count_id=3, count_date=DAY, store_id=2, sku_id=3, system_qty=1, counted_qty=2, method="manual"),
        dict(count_id=4, count_date=DAY, store_id=1, sku_id=1, system_qty=3, counted_qty=2, method="manual")])
    cases = found(consignment_shortfall(counts, stores, PRODUCTS, start=START, end=END))
    assert cases["case_key"].tolist() == [f"{DAY}/2/2"]
    assert cases["amount_at_risk"].tolist() == [200.0]
    assert found(consignment_shortfall(counts, stores, PRODUCTS, start=START, end=END, min_units=3)).empty
    both = found(consignment_shortfall(counts, stores, PRODUCTS, start=START, end=END, store_types=["own", "consignment"]))
    assert sorted(both["case_key"]) == [f"{DAY}/1/1", f"{DAY}/2/2"]


# --- configuration ---------------------------------------------------------------------------------------


def test_the_shipped_settings_enable_every_check_with_its_defaults():
    settings = load_risk_settings()
    assert settings.enabled == tuple(CHECKS)
    assert settings.of("return_outside_window") == {"window_days": 30}
    assert settings.of("points_above_tier")["tier_points_per_cny"] == TIERS


def test_a_check_can_be_switched_off_and_a_parameter_changed():
    settings = risk_settings_from({"unpaid_sale": {"enabled": False}, "return_outside_window": {"window_days": 14}})
    assert "unpaid_sale" not in settings.enabled and len(settings.enabled) == len(DEFAULTS) - 1
    assert settings.of("return_outside_window") == {"window_days": 14}


@pytest.mark.parametrize("raw, named", [
    ({"discount_beyond_polcy": {}}, "discount_beyond_polcy"),
    ({"return_outside_window": {"window": 30}}, "finance.risk.return_outside_window"),
    ({"unpaid_sale": {"enabled": "yes"}}, "finance.risk.unpaid_sale.enabled"),
    ({"unpaid_sale": {"tolerance_cny": -1}}, "finance.risk.unpaid_sale.tolerance_cny"),
    ({"cashier_discount_outliers": {"min_lines": 2.5}}, "finance.risk.cashier_discount_outliers.min_lines"),
    ({"points_above_tier": {"tier_points_per_cny": {"gold": 1.2}}}, "finance.risk.points_above_tier.tier_points_per_cny"),
    ({"consignment_shortfall": {"store_types": "consignment"}}, "finance.risk.consignment_shortfall.store_types"),
    (["unpaid_sale"], "finance.risk"),
])
def test_bad_settings_are_refused_by_name(raw, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        risk_settings_from(raw)


def test_a_settings_file_with_a_bad_key_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "workbench.yaml"
    path.write_text("finance:\n  risk:\n    unpaid_sale: {tolerance: 1}\n", encoding="utf-8")
    monkeypatch.setenv("WB_CONFIG", str(path))
    with pytest.raises(ValueError, match="tolerance"):
        load_risk_settings()


# --- on the simulated chain ------------------------------------------------------------------------------

TINY_START, TINY_END = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture(scope="module")
def tiny_cases(tiny_settings):
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        return run_checks(s, TINY_START, TINY_END)


@pytest.fixture(scope="module")
def tiny_truth(tiny_settings):
    with wb.session("u_oracle", settings=tiny_settings, read_only=True) as o:
        return o.table("truth.irregularities").execute()


def test_the_checks_recover_the_planted_irregularities_of_the_tiny_chain(tiny_cases, tiny_truth):
    for check, kind in PLANTED_KIND.items():
        planted = keys(tiny_truth[tiny_truth["kind"] == kind], kind)
        assert planted, kind
        assert keys(tiny_cases[check], kind) == planted, check
    scores = score(tiny_cases, tiny_truth).set_index("check")
    assert scores.loc["all", "precision"] == 1.0 and scores.loc["all", "recall"] == 1.0


def test_case_lists_are_ranked_by_amount_at_risk(tiny_cases):
    for check, frame in tiny_cases.items():
        assert frame["rank"].tolist() == list(range(1, len(frame) + 1)), check
        assert frame["amount_at_risk"].is_monotonic_decreasing, check
        assert (frame["check_name"] == check).all()


def test_a_region_manager_gets_the_cases_of_their_region_only(tiny_settings, tiny_cases):
    with wb.session("u_region_east", settings=tiny_settings, read_only=True) as s:
        east = set(s.scope.store_ids)
        mine = run_checks(s, TINY_START, TINY_END, checks=list(PLANTED_KIND))
    assert 0 < len(east) < 8
    for check in PLANTED_KIND:
        whole = tiny_cases[check]
        expected = set(whole.loc[whole["store_id"].isin(east), "case_key"])
        assert set(mine[check]["case_key"]) == expected, check
        assert mine[check]["store_id"].isin(east).all(), check
    assert sum(len(f) for f in mine.values()) < sum(len(tiny_cases[c]) for c in PLANTED_KIND)


def test_an_unknown_check_is_refused(tiny_settings):
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        with pytest.raises(ValueError, match="unknown risk check"):
            run_checks(s, TINY_START, TINY_END, checks=["points_abuse", "shoplifting"])


def test_the_cases_are_written_to_the_mart_and_a_rerun_replaces_them(tiny_settings, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    month = (date(2025, 3, 1), date(2025, 3, 31))
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        results = run_checks(s, *month)
        written = write_cases(s, results, *month)
        assert written == sum(len(f) for f in results.values()) > 0
        write_cases(s, run_checks(s, *month), *month)
        write_cases(s, run_checks(s, date(2025, 4, 1), date(2025, 4, 30)), date(2025, 4, 1), date(2025, 4, 30))
        mart = s.table("marts.risk_cases").execute()
    march = mart[pd.to_datetime(mart["period_start"]).dt.date == month[0]]
    assert len(march) == written
    assert not march.duplicated(["check_name", "case_key"]).any()
    assert pd.to_datetime(march["event_date"]).dt.month.eq(3).all()


def test_a_first_write_whose_cases_name_no_member_still_creates_the_mart(tiny_settings, tmp_path):
    """A period's cases may all be walk-in tickets: the columns still get the contract's types."""
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    month = (date(2025, 3, 1), date(2025, 3, 31))
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        results = {name: frame.assign(member_id=None, cashier_id=None) for name, frame in run_checks(s, *month).items()}
        written = write_cases(s, results, *month)
        types = s.table("marts.risk_cases").schema()
    assert written > 0 and types["member_id"].is_int64() and types["cashier_id"].is_int32()


def test_wb_bench_risk_scores_every_check_in_the_shared_json_format(tiny_settings, tmp_path):
    import json

    from click.testing import CliRunner

    from workbench.cli import main

    shutil.copyfile(tiny_settings.warehouse, tmp_path / "chain-tiny-42.duckdb")  # reused, not generated again
    out = tmp_path / "risk.json"
    result = CliRunner().invoke(main, ["bench", "risk", "--scale", "tiny", "--seeds", "42", "--warehouse",
                                       str(tmp_path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Generating" not in result.output and "no planted cases" in result.output
    report = json.loads(out.read_text())
    assert set(report) == {"bench", "scale", "seed", "started", "machine", "results"}
    values = {(r["method"], r["metric"], r["level"]): r["value"] for r in report["results"]}
    for method in [*PLANTED_KIND, "all"]:
        assert values[(method, "precision", "seed 42")] == 1.0 and values[(method, "recall", "seed 42")] == 1.0
        assert values[(method, "wall_s", "seed 42")] > 0
    assert ("points_above_tier", "precision", "seed 42") not in values
    assert ("points_above_tier", "cases", "seed 42") in values


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (make system-deps)")
def test_the_checks_find_the_same_cases_on_spark(tiny_cases, tmp_path):
    import ibis as _ibis

    from workbench.config import load_settings
    from workbench.simulation.build import build_warehouse
    from tests.conftest import TINY_SEED

    _ibis.pyspark  # noqa: B018  (registers the backend's options; see tests/metrics/conftest.py)
    settings = load_settings(engine="pyspark", warehouse=tmp_path / "spark", audit_dir=tmp_path / "audit")
    build_warehouse(settings, scale="tiny", seed=TINY_SEED, progress=False)
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        on_spark = run_checks(s, TINY_START, TINY_END)
    for check, frame in tiny_cases.items():
        assert sorted(on_spark[check]["case_key"]) == sorted(frame["case_key"]), check
        assert on_spark[check]["amount_at_risk"].sum() == pytest.approx(frame["amount_at_risk"].sum()), check
