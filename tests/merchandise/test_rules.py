"""The alert rules on a hand-made table: exactly the planted rows alert, with the action, value and severity
worked out by hand; the settings refuse what they cannot use."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from workbench.merchandise.rules import AlertRules, classify, load_rules, rules_from

NAN = math.nan
RULES = AlertRules(high_cny=5000, medium_cny=1000)
COLS = ["store_code", "category", "net_sales", "plan_net_sales", "units", "plan_units", "stock_units",
        "weeks_of_cover"]
PLANTED = pd.DataFrame([
    ("S001", "tops", 1300.0, 1000.0, 13, 10, 20, 2.0),        # A +30 %, 2 weeks: understock; S002 tops over
    ("S002", "tops", 500.0, 1000.0, 5, 10, 300, 30.0),        # B -50 %, 30 weeks: overstock; S001 tops short
    ("S001", "dresses", 1500.0, 1000.0, 15, 10, 100, 10.0),   # C ahead but 10 weeks of cover: no alert
    ("S002", "dresses", 800.0, 1000.0, 0, 10, 50, NAN),       # D behind, stock, no recent sales: overstock
    ("S003", "tops", 1200.0, 1000.0, 12, 10, 0, 0.0),         # E ahead, no stock: understock
    ("S003", "dresses", 900.0, NAN, 9, NAN, 10, 1.0),         # F no plan: cannot be judged
    ("S003", "bottoms", 900.0, 1000.0, 9, 10, 200, 20.0),     # G -10 %: within the deviation allowed
    ("S004", "bottoms", 1150.0, 1000.0, 10, 10, 40, 4.0),     # H exactly on both thresholds: understock
    ("S001", "bottoms", 700.0, 1000.0, 7, 10, NAN, NAN),      # I no stock figure: cannot be judged
], columns=COLS)


def _classified(rules: AlertRules = RULES) -> pd.DataFrame:
    rows = PLANTED.assign(deviation=(PLANTED.net_sales - PLANTED.plan_net_sales) / PLANTED.plan_net_sales,
                          weeks=1.0)
    return classify(rows, ["category"], "store_code", rules).set_index(["store_code", "category"])


def test_exactly_the_planted_rows_alert():
    got = _classified()["alert"].dropna().to_dict()
    assert got == {("S001", "tops"): "understock", ("S002", "tops"): "overstock",
                   ("S002", "dresses"): "overstock", ("S003", "tops"): "understock",
                   ("S004", "bottoms"): "understock"}


def test_the_action_pairs_a_shortage_with_a_surplus_of_the_same_products():
    got = _classified()["action"]
    assert got[("S001", "tops")] == "transfer in"     # S002 holds too many tops
    assert got[("S003", "tops")] == "transfer in"
    assert got[("S002", "tops")] == "transfer out"    # S001 and S003 are short of tops
    assert got[("S002", "dresses")] == "promote"      # nobody is short of dresses: mark them down
    assert got[("S004", "bottoms")] == "replenish"    # nobody has bottoms to spare: from the DC
    assert pd.isna(got[("S001", "dresses")])


def test_value_at_stake_and_severity_by_hand():
    got = _classified()
    # A: 10 a week (20 / 2 weeks of cover), 4 weeks need 40, 20 short, at 1300 / 13 = 100: 2000 -> medium
    # B: 10 a week, 12 weeks need 120, 180 over, at 100: 18000 -> high
    # D: no recent sales: all 50 over, no units sold so at the plan's price 1000 / 10: 5000 -> high
    # E: no stock: the period's 12 a week, 48 short, at 100: 4800 -> medium
    # H: 40 in stock at 10 a week is just 4 weeks: nothing short -> low
    want = {("S001", "tops"): (2000, "medium"), ("S002", "tops"): (18000, "high"),
            ("S002", "dresses"): (5000, "high"), ("S003", "tops"): (4800, "medium"),
            ("S004", "bottoms"): (0, "low")}
    for key, (value, severity) in want.items():
        assert got.loc[key, "value_at_stake"] == pytest.approx(value)
        assert got.loc[key, "severity"] == severity
    assert got.loc[("S003", "bottoms"), ["value_at_stake", "severity"]].isna().all()


def test_the_reason_says_how_far_off_and_which_threshold():
    got = _classified()
    assert got.loc[("S001", "tops"), "reason"] == "sales 30% ahead of plan, 2.0 weeks of cover (understock at ≤ 4 weeks)"
    assert got.loc[("S002", "dresses"), "reason"] == \
        "sales 20% behind plan, 50 in stock, no sales in the last weeks (overstock at ≥ 12 weeks)"
    assert got.loc[("S003", "tops"), "reason"].startswith("sales 20% ahead of plan, 0.0 weeks")


def test_thresholds_come_from_the_rules():
    strict = AlertRules(understock_deviation=0.5, overstock_deviation=0.6)
    got = _classified(strict)["alert"].dropna().to_dict()
    assert got == {}  # A +30 %, E +20 %, B -50 %, D -20 %: none passes the stricter deviations
    loose = AlertRules(overstock_cover_weeks=9)
    assert pd.isna(_classified(loose).loc[("S003", "bottoms"), "alert"])  # -10 % stays inside the deviation


def test_without_product_columns_any_location_pairs():
    rows = PLANTED.iloc[[0, 1]].drop(columns="category").assign(deviation=[0.3, -0.5], weeks=1.0)
    got = classify(rows, [], "store_code", RULES)
    assert got["action"].tolist() == ["transfer in", "transfer out"]


def test_settings_file_section_is_read_and_checked(tmp_path):
    import yaml

    from workbench.config import CONF_DIR

    shipped = yaml.safe_load((CONF_DIR / "workbench.yaml").read_text(encoding="utf-8"))["merchandise"]["alerts"]
    assert load_rules(CONF_DIR / "workbench.yaml").overstock_cover_weeks == shipped["overstock_cover_weeks"]
    path = tmp_path / "wb.yaml"
    path.write_text("merchandise:\n  alerts:\n    overstock_cover_weeks: 20\n    pending_statuses: [approved]\n")
    rules = load_rules(path)
    assert (rules.overstock_cover_weeks, rules.pending_statuses, rules.understock_cover_weeks) == (20, ("approved",), 4)
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['cover_weeks'\] in merchandise.alerts"):
        rules_from({"cover_weeks": 3})
    with pytest.raises(ValueError, match="understock_cover_weeks must be below overstock_cover_weeks"):
        rules_from({"understock_cover_weeks": 12, "overstock_cover_weeks": 8})
    with pytest.raises(ValueError, match="must be a number >= 0"):
        rules_from({"high_cny": "lots"})
