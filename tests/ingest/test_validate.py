"""Row checks, scope, foreign keys, cross-field rules and repeated keys, without a warehouse."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from workbench.ingest.contracts import get_contract
from workbench.ingest.validate import References, check_rows, differing_columns, first_occurrences, join_messages, match_keys

from .synth import SKUS, STORES, TODAY, pos_row

POS = get_contract("pos_sales")
KNOWN = References(known={"store_code": pa.array(STORES), "sku_code": pa.array(SKUS)})


def _text(rows: list[dict]) -> pa.Table:
    return pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in rows[0]})


def _rows(n: int = 4, **changes) -> list[dict]:
    rows = [pos_row(i, store="S001") for i in range(n)]
    for i, change in changes.items():
        rows[int(i[1:])].update(change)
    return rows


def _reasons(checked) -> dict[int, str]:
    return dict(zip(np.flatnonzero(checked.bad).tolist(), checked.reasons.to_pylist()))


def test_good_rows_pass_and_come_out_typed():
    checked = check_rows(_text(_rows()), POS, KNOWN, TODAY)
    assert not checked.bad.any()
    assert checked.typed.schema == POS.arrow_schema()
    assert checked.typed.column("qty").type == pa.int64()


def test_foreign_keys_and_cross_field_rules():
    rows = _rows(5, r0={"store_code": "S999"}, r1={"sku_code": "NOPE"}, r2={"amount": "1.00"}, r3={"qty": "x", "store_code": "S998"})
    checked = check_rows(_text(rows), POS, KNOWN, TODAY)
    r2 = rows[2]
    assert _reasons(checked) == {
        0: "store_code: 'S999' is not a known store",
        1: "sku_code: 'NOPE' is not a known product",
        2: f"amount 1.0 is not qty × unit_price ({r2['qty']} × {float(r2['unit_price'])})",
        # every reason of a row, its own rules first
        3: "qty: 'x' is not an integer; store_code: 'S998' is not a known store",
    }
    assert checked.counts["store_code: is not a known store"] == 2


def test_a_value_that_breaks_its_own_rule_is_not_also_looked_up():
    checked = check_rows(_text(_rows(1, r0={"store_code": "S-1"})), POS, KNOWN, TODAY)
    assert _reasons(checked) == {0: "store_code: 'S-1' is not a store code such as S017"}


def test_out_of_scope_rows_say_so_rather_than_unknown():
    refs = References(known={"store_code": pa.array(["S001"]), "sku_code": pa.array(SKUS)}, scope={"store_code": ["S001"]}, scope_note="your stores: S001")
    rows = _rows(3, r1={"store_code": "S002"}, r2={"store_code": "S999"})
    checked = check_rows(_text(rows), POS, refs, TODAY)
    assert _reasons(checked) == {
        1: "store_code: 'S002' is outside your scope (your stores: S001)",
        2: "store_code: 'S999' is outside your scope (your stores: S001)",
    }


def test_cross_field_rules_skip_values_that_are_missing():
    rows = _rows(1, r0={"member_card": "", "cashier": ""})
    assert not check_rows(_text(rows), POS, KNOWN, TODAY).bad.any()
    rows = _rows(1, r0={"unit_price": "abc"})
    assert _reasons(check_rows(_text(rows), POS, KNOWN, TODAY)) == {0: "unit_price: 'abc' is not a number"}


def test_optional_columns_may_be_missing_from_the_file():
    text = _text(_rows()).drop_columns(["member_card", "cashier"])
    checked = check_rows(text, POS, KNOWN, TODAY)
    assert not checked.bad.any()
    assert checked.typed.column("member_card").null_count == 4


def test_join_messages_keeps_rows_whose_messages_are_all_null():
    """Regression: pyarrow's join with null_handling='skip' drops such rows and shifts the rest."""
    a = pa.array([None, "x", "a"], pa.string())
    b = pa.array([None, None, "b"], pa.string())
    assert join_messages([a, b]).to_pylist() == ["", "x", "a; b"]


def test_first_occurrence_of_each_key_in_file_order():
    t = pa.table({"k": ["a", "b", "a", "c", "b"], "v": [1, 2, 3, 4, 5]})
    assert first_occurrences(t, ["k"]).tolist() == [0, 1, 0, 3, 1]


def test_match_keys_tells_identical_from_conflicting_rows():
    earlier = pa.table({"k": ["a", "b", "c"], "v": [1, 2, None], "w": ["x", "y", "z"]})
    rows = pa.table({"k": ["b", "z", "a", "c"], "v": [2, 9, 7, None], "w": ["y", "q", "x", "Z"]})
    found = match_keys(rows, earlier, ["k"], ["k", "v", "w"])
    assert found.rows.tolist() == [0, 2, 3]
    assert found.earlier.tolist() == [1, 0, 2]
    assert found.differ.to_pylist() == [None, "v", "w"]
    assert found.identical.tolist() == [0] and found.conflicting.tolist() == [2, 3]


def test_differing_columns_treats_null_as_equal_to_null():
    a = pa.table({"x": [None, 1, None], "y": ["a", "b", "c"]})
    b = pa.table({"x": [None, 1, 5], "y": ["a", "B", "c"]})
    assert differing_columns(a, b, ["x", "y"]).to_pylist() == [None, "y", "x"]
