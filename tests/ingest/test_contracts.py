"""Contracts: the shipped file is valid, every rule runs, headers map as the exports write them."""

from __future__ import annotations

import duckdb
import pytest

from workbench.ingest.contracts import get_contract, header_key, load_contracts, map_header, parse_contracts
from workbench.ingest.errors import IngestError

from .synth import POS_HEADERS_ZH


def test_the_shipped_contracts_cover_the_three_exports():
    contracts = load_contracts()
    assert {"pos_sales", "stock_counts", "traffic"} <= set(contracts)
    pos = contracts["pos_sales"]
    assert pos.key == ("store_code", "ticket_no", "line_no")
    assert pos.column("store_code").references.table == "stores"
    assert pos.column("sku_code").references.table == "products"
    assert pos.column("store_code").scope == "stores"
    assert [c.name for c in pos.checks] == ["amount_is_qty_times_price"]


@pytest.mark.parametrize("table", sorted(load_contracts()))
def test_every_cross_field_rule_is_valid_sql_over_the_typed_columns(table):
    """A typo in a rule must fail here, not on the first real file."""
    contract = load_contracts()[table]
    con = duckdb.connect()
    con.register("file_rows", contract.arrow_schema().empty_table())
    for check in contract.checks:
        con.execute(f"SELECT count(*) FROM file_rows WHERE NOT coalesce(({check.rule}), TRUE)").fetchall()


def test_unknown_table_lists_the_known_ones():
    with pytest.raises(IngestError, match=r"no ingest contract for table 'sales'; known: pos_sales, stock_counts, traffic"):
        get_contract("sales")
    assert get_contract("raw.traffic").table == "traffic"


def test_header_key_ignores_case_spaces_underscores_and_full_width_forms():
    assert header_key("Ticket No") == header_key("ticket_no") == header_key("ＴＩＣＫＥＴ－ＮＯ") == header_key("\ufeffticket-no ")
    assert header_key("金额（元）") == header_key("金额(元)")


def test_chinese_pos_headers_map_to_the_contract_columns():
    pos = get_contract("pos_sales")
    headers = list(POS_HEADERS_ZH.values()) + ["备注"]  # a notes column the contract ignores on purpose
    mapping = map_header(headers, pos, "f.csv")
    assert [mapping[i] for i in range(len(POS_HEADERS_ZH))] == list(POS_HEADERS_ZH)
    assert len(headers) - 1 not in mapping


def test_missing_required_columns_are_named_with_the_fix():
    pos = get_contract("pos_sales")
    with pytest.raises(IngestError) as err:
        map_header(["小票号", "行号", "门店编码"], pos, "f.csv")
    message = str(err.value)
    assert "missing required column(s) sale_time, sku_code, qty, unit_price, amount" in message
    assert "alias" in message and "\n" not in message


def test_unknown_and_doubled_columns_are_errors_not_silent_drops():
    traffic = get_contract("traffic")
    with pytest.raises(IngestError, match=r"unknown column\(s\) 'weather'"):
        map_header(["date", "store", "visitors", "weather"], traffic, "f.csv")
    with pytest.raises(IngestError, match=r"columns '门店编码' and 'store_code' both mean store_code"):
        map_header(["date", "门店编码", "store_code", "visitors"], traffic, "f.csv")


def test_optional_columns_may_be_absent():
    pos = get_contract("pos_sales")
    required = [c.name for c in pos.columns if c.required]
    assert set(map_header(required, pos, "f.csv").values()) == set(required)


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("tables: {t: {key: [a], columns: {a: {type: string, required: true, requird: true}}}}", "unknown key\\(s\\) requird"),
        ("tables: {t: {key: [a], columns: {a: {type: text, required: true}}}}", "type 'text' is not one of"),
        ("tables: {t: {key: [b], columns: {a: {type: string, required: true}}}}", "key \\['b'\\] must name columns"),
        ("tables: {t: {key: [a], columns: {a: {type: string}}}}", "every key column must be required"),
        ("tables: {t: {key: [a], columns: {a: {required: true, aliases: [x]}, b: {aliases: [X]}}}}", "alias of both a and b"),
        ("tables: {t: {key: [a], columns: {a: {type: integer, required: true, min: low}}}}", "bound 'low' must be a number"),
        ("tables: {t: {key: [a], columns: {a: {required: true, pattern: '(' }}}}", "pattern is not a regular expression"),
        ("tables: {t: {key: [a], columns: {a: {required: true, scope: region}}}}", "scope must be `stores`"),
        ("tables: {t: {key: [a], columns: {a: {required: true}}, checks: [{rule: a > 1, message: '{b}'}]}}", "message names unknown columns"),
    ],
)
def test_a_broken_contract_fails_loudly_naming_the_place(yaml_text, message):
    with pytest.raises(IngestError, match=message):
        parse_contracts(yaml_text)


def test_allowed_values_take_synonyms():
    method = get_contract("stock_counts").column("method")
    assert set(method.allowed) == {"rfid", "scanner", "manual"}
    assert "手工" in method.allowed["manual"]
