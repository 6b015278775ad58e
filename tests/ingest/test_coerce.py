"""Typing one column: what is accepted, what is refused, and the words used."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from workbench.ingest.coerce import coerce, parse_integer, parse_number, parse_timestamp
from workbench.ingest.contracts import get_contract

from .synth import TODAY

POS = get_contract("pos_sales")


def _coerce(column: str, values: list, contract=POS):
    result = coerce(contract.column(column), pa.array(values, pa.string()), contract.null_values, TODAY)
    messages = [None] * len(values)
    for found in result.issues:
        for i, m in enumerate(found.messages(pa.array(range(len(values)))).to_pylist()):
            if m:
                messages[i] = m if messages[i] is None else f"{messages[i]}; {m}"
    return result.values.to_pylist(), messages


def test_integers_in_the_spellings_exports_use():
    texts = ["3", "-1", "+4", "1,000", "12.0", "007", "abc", "1.5", "-", "1e3", "99999999999999999999"]
    assert parse_integer(pa.array(texts)).to_pylist() == [3, -1, 4, 1000, 12, 7, None, None, None, None, None]


def test_numbers_in_the_spellings_exports_use():
    texts = ["12.5", "1,299.00", "-0.25", "+3", ".5", "5.", "abc", "NaN", "inf", "12,5", "1e3", ".", "1.2.3"]
    assert parse_number(pa.array(texts)).to_pylist() == [12.5, 1299.0, -0.25, 3.0, 0.5, 5.0] + [None] * 7


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01 10:23:45", dt.datetime(2024, 3, 1, 10, 23, 45)),
        ("2024/3/1 9:05", dt.datetime(2024, 3, 1, 9, 5)),
        ("2024-03-01T10:00:00.5", dt.datetime(2024, 3, 1, 10, 0, 0, 500000)),
        ("2024年3月1日 10:00", dt.datetime(2024, 3, 1, 10, 0)),
        ("20240301 10:00:00", dt.datetime(2024, 3, 1, 10, 0)),
        ("2024-03-01", dt.datetime(2024, 3, 1)),
        ("2024-02-29 23:59:59", dt.datetime(2024, 2, 29, 23, 59, 59)),
        # Arrow's strptime would roll these over into valid-looking values:
        ("2024-02-30 10:00:00", None),
        ("2023-02-29 10:00:00", None),
        ("2024-03-01 23:59:60", None),
        ("2024/2/30 10:00", None),
        ("2024-03-01 24:00:00", None),
        ("2024-13-01 10:00:00", None),
        ("yesterday", None),
    ],
)
def test_timestamps_are_strict(text, expected):
    assert parse_timestamp(pa.array([text])).to_pylist() == [expected]


def test_dates_accept_a_midnight_time_but_no_other():
    texts = ["2024-03-01", "2024-03-01 00:00:00", "2024/3/1", "2024-03-01 10:00", "2024-02-30"]
    assert parse_timestamp(pa.array(texts), date_only=True).to_pylist() == [dt.date(2024, 3, 1)] * 3 + [None, None]


def test_messages_quote_the_value_and_say_what_is_wrong():
    values, messages = _coerce("qty", ["2", "abc", "0", "", "1000", "NULL"])
    assert values == [2, None, 0, None, 1000, None]
    assert messages == [
        None,
        "qty: 'abc' is not an integer",
        "qty: '0' is not allowed",
        "qty is missing (required)",
        "qty: '1000' is above the maximum 999",
        "qty is missing (required)",
    ]


def test_price_rules():
    _, messages = _coerce("unit_price", ["99.90", "12.345", "-1", "1,299.00"])
    assert messages == [None, "unit_price: '12.345' has more than 2 decimal places", "unit_price: '-1' is below the minimum 0", None]


def test_time_bounds_read_today_as_the_whole_day():
    _, messages = _coerce("sale_time", [f"{TODAY} 23:59:59", f"{TODAY + dt.timedelta(days=1)} 00:00:00", "1999-12-31 23:59:59"])
    assert messages == [None, f"sale_time: '{TODAY + dt.timedelta(days=1)} 00:00:00' is after today ({TODAY})", "sale_time: '1999-12-31 23:59:59' is before 2000-01-01"]


def test_codes_are_normalised_before_their_pattern_is_checked():
    values, messages = _coerce("store_code", ["s017", " S001 ", "S-17", "门店1"])
    assert values[:2] == ["S017", "S001"]
    assert messages == [None, None, "store_code: 'S-17' is not a store code such as S017", "store_code: '门店1' is not a store code such as S017"]


def test_synonyms_load_as_the_canonical_value():
    counts = get_contract("stock_counts")
    values, messages = _coerce("method", ["RFID", "手工", "扫码枪", "Manual", "magic"], counts)
    assert values == ["rfid", "manual", "scanner", "manual", None]
    assert messages[-1] == "method: 'magic' is not one of rfid, scanner, manual"


def test_long_garbage_is_cut_short_in_the_message():
    _, messages = _coerce("qty", ["x" * 500])
    assert len(messages[0]) < 80 and messages[0].startswith("qty: 'xxx") and "…" in messages[0]


def test_checking_distinct_values_once_gives_the_same_result_as_checking_every_row():
    """The few-distinct-values shortcut must not change any value or message."""
    from workbench.ingest.coerce import _coerce

    texts = pa.array(["3", "abc", "", "0", "2", "x" * 50, None] * 5000, pa.string())
    rule = POS.column("qty")
    fast = coerce(rule, texts, POS.null_values, TODAY)
    plain = _coerce(rule, texts, POS.null_values, TODAY)
    assert fast.issues[0].index is not None, "the shortcut was taken"
    assert fast.values.equals(plain.values)
    everyone = pa.array(range(len(texts)))
    assert [f.rule for f in fast.issues] == [f.rule for f in plain.issues]
    for a, b in zip(fast.issues, plain.issues):
        assert a.mask.equals(b.mask) and a.messages(everyone).equals(b.messages(everyone))
