"""Consignment write-down (代销货存跌): a worked example computed by hand, the same answer on a re-run,
and rules that do not make sense refused by name."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.finance.write_down import journal_total, load_rules, rules_from, write_down

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
