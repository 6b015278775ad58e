"""Consignment write-down (代销货存跌): a worked example computed by hand, the same answer on a re-run,
rules that do not make sense refused by name, and the monthly run on a copy of the tiny chain."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

import workbench as wb
from workbench.finance.write_down import (TABLE, journal_total, load_rules, monthly_write_down, rules_from, write,
                                          write_down)

RULES = rules_from({"age_rates": [{"from_months": 0, "rate": 0.0}, {"from_months": 6, "rate": 0.2},
                                  {"from_months": 12, "rate": 0.5}, {"from_months": 24, "rate": 1.0}],
                    "lower_of_cost_and_nrv": True, "cost_to_sell": 0.2})

# sku, store, units, unit cost, season age (months), expected price
STOCK = pd.DataFrame([(1, 7, 10, 100.0, 3, 300.0),   # 1000 at cost, no write-down; NRV 2400 is higher
                      (2, 7, 5, 100.0, 8, 300.0),    # 500 - 20 % = 400; NRV 1200: 100 written down
                      (3, 7, 4, 200.0, 14, 150.0),   # 800 - 50 % = 400; NRV 4 x 150 x 0.8 = 480: 400
                      (4, 8, 2, 200.0, 7, 100.0),    # 400 - 20 % = 320; NRV 2 x 100 x 0.8 = 160: 240
                      (5, 8, 3, 50.0, 30, 80.0)],    # 150 - 100 % = 0: 150
                     columns=["sku_id", "store_id", "units", "unit_cost", "age_months", "expected_price"])


def test_the_worked_example_gives_the_hand_answer():
    lines = write_down(STOCK, RULES).set_index("sku_id")
    assert lines["value_before"].tolist() == [1000, 500, 800, 400, 150]
    assert lines["value_after"].tolist() == pytest.approx([1000, 400, 400, 160, 0])
    assert lines["write_down"].tolist() == pytest.approx([0, 100, 400, 240, 150])
    assert lines["rule"].tolist() == ["season age 0-6 months: 0%", "season age 6-12 months: 20%",
                                      "season age 12-24 months: 50%", "net realisable value",
                                      "season age 24+ months: 100%"]
    assert journal_total(write_down(STOCK, RULES)) == pytest.approx(890)


def test_the_same_month_again_gives_the_same_lines_and_total():
    first, again = write_down(STOCK, RULES), write_down(STOCK.sample(frac=1, random_state=3), RULES)
    pd.testing.assert_frame_equal(first, again)


def test_without_the_nrv_cap_only_the_age_rule_applies():
    lines = write_down(STOCK.drop(columns="expected_price"), rules_from({**_raw(), "lower_of_cost_and_nrv": False}))
    assert journal_total(lines) == pytest.approx(0 + 100 + 400 + 80 + 150)


def test_the_shipped_rules_load():
    rules = load_rules()
    assert rules.age_rates[0] == (0.0, 0.0) and rules.lower_of_cost_and_nrv


def _raw() -> dict:
    return {"age_rates": [{"from_months": 0, "rate": 0.0}, {"from_months": 6, "rate": 0.2},
                          {"from_months": 12, "rate": 0.5}, {"from_months": 24, "rate": 1.0}]}


@pytest.mark.parametrize("raw, message", [
    ({**_raw(), "rate_by_age": []}, r"unknown field\(s\) \['rate_by_age'\] in finance.consignment_write_down"),
    ({"age_rates": [{"from_months": 6, "rate": 0.2}]}, "must start at from_months 0 and rise"),
    ({"age_rates": [{"from_months": 0, "rate": 0.0}, {"from_months": 0, "rate": 0.5}]}, "must start at from_months 0 and rise"),
    ({"age_rates": [{"from_months": 0, "rate": 1.5}]}, "a rate is a share of cost between 0 and 1"),
    ({"age_rates": [{"months": 0, "rate": 0.0}]}, r"give a list of \{from_months: M, rate: R\}"),
    ({**_raw(), "cost_to_sell": 1.0}, "cost_to_sell is a share of the selling price"),
    ({**_raw(), "year_round_seasons": "BASIC"}, r"year_round_seasons: give a list of season names"),
])
def test_rules_that_do_not_make_sense_are_refused_by_name(raw, message):
    with pytest.raises(ValueError, match=message):
        rules_from(raw)


def test_bad_stock_is_refused_before_anything_is_computed():
    with pytest.raises(ValueError, match=r"lacks the columns \['age_months'\]"):
        write_down(STOCK.drop(columns="age_months"), RULES)
    with pytest.raises(ValueError, match="1 stock line\\(s\\) have negative or missing values"):
        write_down(STOCK.assign(units=[10, -1, 4, 2, 3]), RULES)
    with pytest.raises(ValueError, match="repeats a SKU × location"):
        write_down(pd.concat([STOCK, STOCK.head(1)]), RULES)


# --- the monthly run on a copy of the tiny chain (S008 is its consignment counter) -------------------------

# steep enough that tiny's young counter stock is written down (the shipped rules start at 6 months)
STEEP = rules_from({"age_rates": [{"from_months": 0, "rate": 0.0}, {"from_months": 2, "rate": 0.3},
                                  {"from_months": 4, "rate": 0.6}],
                    "cost_to_sell": 0.8, "year_round_seasons": ["BASIC"]})


@pytest.fixture()
def counter_chain(tiny_settings, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    return settings


def _mart(settings) -> pd.DataFrame:
    with wb.session("u_finance", settings=settings) as s:
        if not s.table_exists(TABLE):
            return pd.DataFrame()
        return s.table(TABLE).order_by(["month", "store_id", "sku_id"]).to_pandas()


def test_the_month_reads_the_counters_stock_and_rewrites_only_its_own_lines(counter_chain):
    with wb.session("u_pipeline", settings=counter_chain, read_only=False) as s:
        july = monthly_write_down(s, "2025-07", STEEP)
        write(s, july)
        november = monthly_write_down(s, dt.date(2025, 11, 15), STEEP)
        write(s, november)
        products = s.table("core.products").select("sku_id", "season", "launch_date", "unit_cost").to_pandas()
    assert july.snapshot_date == dt.date(2025, 7, 27) and november.snapshot_date == dt.date(2025, 11, 30)
    assert set(november.lines["store_code"]) == {"S008"} and november.journal_total > 0
    lines = november.lines.merge(products, on="sku_id", suffixes=("", "_p"))
    assert (lines["unit_cost"] == lines["unit_cost_p"]).all()
    assert (lines.loc[lines["season"] == "BASIC", "age_months"] == 0).all()  # year-round: NRV only
    aged = lines[lines["season"] != "BASIC"].iloc[0]
    launch = pd.Timestamp(aged["launch_date"])
    assert aged["age_months"] == (2025 - launch.year) * 12 + 11 - launch.month - (30 < launch.day)
    assert november.summary["write_down"].sum() == pytest.approx(november.journal_total)
    before = _mart(counter_chain)
    with wb.session("u_pipeline", settings=counter_chain, read_only=False) as s:
        again = monthly_write_down(s, "2025-11", STEEP)
        write(s, again)
    after = _mart(counter_chain)
    pd.testing.assert_frame_equal(november.lines, again.lines)
    assert again.journal_total == november.journal_total
    assert len(after) == len(before) == len(july.lines) + len(november.lines)
    nov = after[after["month"] == pd.Timestamp("2025-11-01")]
    assert nov["write_down"].sum() == pytest.approx(november.journal_total)
    old_july = before[before["month"] == pd.Timestamp("2025-07-01")].drop(columns="run_id")
    pd.testing.assert_frame_equal(old_july, after[after["month"] == pd.Timestamp("2025-07-01")].drop(columns="run_id"))


def test_a_month_outside_the_data_or_a_bad_rule_file_writes_nothing(counter_chain, tmp_path, monkeypatch):
    with wb.session("u_pipeline", settings=counter_chain, read_only=False) as s:
        write(s, monthly_write_down(s, "2025-11", STEEP))
    before = _mart(counter_chain)
    bad = tmp_path / "workbench.yaml"
    bad.write_text("finance:\n  consignment_write_down:\n    age_rates: [{from_months: 0, rate: 0.0}]\n"
                   "    rate_by_age: 0.5\n", encoding="utf-8")
    monkeypatch.setenv("WB_CONFIG", str(bad))
    with wb.session("u_pipeline", settings=counter_chain, read_only=False) as s:
        with pytest.raises(ValueError, match=r"ends outside the stock data \(2024-12-31 \.\. 2025-12-31\)"):
            write(s, monthly_write_down(s, "2026-01", STEEP))
        with pytest.raises(ValueError, match=r"unknown field\(s\) \['rate_by_age'\]"):
            write(s, monthly_write_down(s, "2025-11"))
        with pytest.raises(ValueError, match="give a month such as '2025-11'"):
            monthly_write_down(s, "November", STEEP)
    pd.testing.assert_frame_equal(before, _mart(counter_chain))


def test_b_units_are_left_to_the_b_goods_rules_and_store_managers_cannot_run_it(counter_chain):
    with wb.session("u_finance", settings=counter_chain) as s:
        plain = monthly_write_down(s, "2025-11", STEEP)
    sku = int(plain.lines["sku_id"].iloc[0])
    with wb.session("u_admin", settings=counter_chain, read_only=False) as s:  # two defective units on S008
        s.sql(f"insert into core.inventory values (date '2025-11-30', 8, {sku}, 'B', 2, 0)")
    with wb.session("u_finance", settings=counter_chain) as s:
        result = monthly_write_down(s, "2025-11", STEEP)
    assert result.b_units[["store_id", "sku_id", "units"]].values.tolist() == [[8, sku, 2]]
    pd.testing.assert_frame_equal(plain.lines, result.lines)  # the A line of that SKU is unchanged
    with wb.session("u_store_001", settings=counter_chain) as s, pytest.raises(PermissionError, match="unit_cost"):
        monthly_write_down(s, "2025-11", STEEP)
    with wb.session("u_finance", settings=counter_chain) as s, pytest.raises(PermissionError, match="may not write"):
        write(s, result)
