"""Whole files, every format: good rows load, each bad row is quarantined with its planted reason."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from workbench.ingest.contracts import get_contract
from workbench.ingest.errors import IngestError
from workbench.ingest.plan import drop_existing, make_plan
from workbench.ingest.readers import read_file
from workbench.ingest.records import QUARANTINE_SCHEMA, quarantine_table, with_lineage
from workbench.ingest.validate import References

from .synth import POS_HEADERS_ZH, SKUS, STORES, TODAY, pos_export, write_csv, write_parquet, write_xlsx

POS = get_contract("pos_sales")
KNOWN = References(known={"store_code": pa.array(STORES), "sku_code": pa.array(SKUS)})
EXPORT = pos_export(600)  # 600 lines, 20 planted defects (every one of the 13 kinds), 1 repeat, 1 conflict

# name -> (writer, number of the first data row)
FORMATS = {
    "utf8.csv": (lambda p: write_csv(p, EXPORT.rows, encoding="utf-8", headers=POS_HEADERS_ZH), 2),
    "bom.csv": (lambda p: write_csv(p, EXPORT.rows, encoding="utf-8-sig", headers=POS_HEADERS_ZH), 2),
    "gb18030.csv": (lambda p: write_csv(p, EXPORT.rows, encoding="gb18030", headers=POS_HEADERS_ZH), 2),
    "english.csv": (lambda p: write_csv(p, EXPORT.rows), 2),
    "titled.xlsx": (lambda p: write_xlsx(p, EXPORT.rows, headers=POS_HEADERS_ZH, title="销售明细"), 3),
    "typed.parquet": (lambda p: write_parquet(p, EXPORT.rows), 1),
}


def _quarantine(plan) -> dict[int, str]:
    q = quarantine_table(plan.raw, plan.bad, plan.contract, "i-1", dt.datetime(2025, 1, 1))
    return dict(zip(q.column("source_row").to_pylist(), q.column("reason").to_pylist()))


def _header_test(cells):
    return "小票号" in cells or "ticket_no" in cells


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_planted_defect_is_quarantined_with_its_reason(tmp_path, name):
    writer, first_row = FORMATS[name]
    raw = read_file(writer(tmp_path / name), is_header=_header_test)
    plan = make_plan(raw, POS, KNOWN, today=TODAY)

    expected = EXPORT.reasons(first_row)
    got = _quarantine(plan)
    assert set(got) == set(expected), "exactly the planted rows are quarantined"
    for row, reason in expected.items():
        assert reason in got[row], f"row {row}: expected {reason!r}, got {got[row]!r}"
    assert (raw.rows_read, plan.loaded, plan.quarantined, plan.duplicates) == (len(EXPORT.rows), EXPORT.good, EXPORT.bad, 1)
    assert len({d for d in EXPORT.expected if d}) >= 14  # many kinds of defect, not one repeated


def test_the_same_rows_load_identically_whatever_the_format(tmp_path):
    loaded = []
    for name, (writer, _) in sorted(FORMATS.items()):
        plan = make_plan(read_file(writer(tmp_path / name), is_header=_header_test), POS, KNOWN, today=TODAY)
        loaded.append(plan.good.sort_by([("store_code", "ascending"), ("ticket_no", "ascending"), ("line_no", "ascending")]))
    for other in loaded[1:]:
        assert other.equals(loaded[0])


def test_quarantine_keeps_the_original_record_under_the_files_own_headers(tmp_path):
    raw = read_file(FORMATS["gb18030.csv"][0](tmp_path / "f.csv"))
    plan = make_plan(raw, POS, KNOWN, today=TODAY)
    q = quarantine_table(raw, plan.bad, POS, "i-1", dt.datetime(2025, 1, 1))
    assert q.schema == QUARANTINE_SCHEMA
    first = q.slice(0, 1).to_pylist()[0]
    record = json.loads(first["record"])
    assert list(record) == list(POS_HEADERS_ZH.values())
    assert record == {POS_HEADERS_ZH[c]: v for c, v in EXPORT.rows[first["source_row"] - 2].items()}
    assert first["table_name"] == "pos_sales" and first["source_file"] == "f.csv"


def test_rows_that_cannot_be_split_are_quarantined_too(tmp_path):
    path = write_csv(tmp_path / "f.csv", EXPORT.rows[:5], headers=POS_HEADERS_ZH)
    with open(path, "a", encoding="utf-8") as f:
        f.write("T1,1,2024-03-01 10:00:00,S001\n")
    raw = read_file(path)
    plan = make_plan(raw, POS, KNOWN, today=TODAY)
    assert (raw.rows_read, plan.loaded, plan.quarantined) == (6, 5, 1)
    q = quarantine_table(raw, plan.bad, POS, "i-1", dt.datetime(2025, 1, 1)).to_pylist()
    assert q[0]["source_row"] == 7 and q[0]["reason"] == "row has 4 fields, the header has 10"
    assert json.loads(q[0]["record"]) == {"line": "T1,1,2024-03-01 10:00:00,S001"}


def test_lineage_columns_follow_the_contract_columns(tmp_path):
    plan = make_plan(read_file(FORMATS["utf8.csv"][0](tmp_path / "f.csv")), POS, KNOWN, today=TODAY)
    at = dt.datetime(2025, 1, 1, 8)
    good = with_lineage(plan.good, POS, "i-1", "f.csv", plan.good_source_row, at)
    assert good.schema == POS.raw_schema()
    assert good.column_names[-4:] == ["ingest_id", "source_file", "source_row", "loaded_at"]
    first = good.slice(0, 1).to_pylist()[0]
    assert first["source_row"] == 2 and first["ticket_no"] == EXPORT.rows[0]["ticket_no"]


def test_rows_already_in_the_table_are_duplicates_or_conflicts(tmp_path):
    plan = make_plan(read_file(FORMATS["utf8.csv"][0](tmp_path / "f.csv")), POS, KNOWN, today=TODAY)
    existing = plan.good.slice(0, 10).append_column("ingest_id", pa.array(["old"] * 10))
    qty = existing.column("qty").to_pylist()
    qty[3] += 1
    existing = existing.set_column(existing.column_names.index("qty"), "qty", pa.array(qty, pa.int64()))
    after = drop_existing(plan, existing)
    assert after.loaded == plan.loaded - 10
    assert after.duplicates == plan.duplicates + 9
    assert after.quarantined == plan.quarantined + 1
    conflict = _quarantine(after)[int(plan.good_source_row[3])]
    assert conflict == "key (store_code, ticket_no, line_no) was already loaded by ingest old with a different qty"


def test_a_column_without_a_header_but_with_values_is_an_error(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("date,store,visitors,\n2024-03-01,S001,10,oops\n", encoding="utf-8")
    with pytest.raises(IngestError, match="column 4 has no header but holds values"):
        make_plan(read_file(path), get_contract("traffic"), KNOWN, today=TODAY)
    path.write_text("date,store,visitors,\n2024-03-01,S001,10,\n", encoding="utf-8")
    assert make_plan(read_file(path), get_contract("traffic"), KNOWN, today=TODAY).loaded == 1


def test_stocktake_and_traffic_contracts(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "盘点日期,门店编码,商品编码,盘点数量,盘点方式\n"
        f"2024-03-01,S001,{SKUS[0]},5,RFID\n"
        f"2024/3/1,s002,{SKUS[1]},0,手工\n"
        f"2024-03-01,S001,{SKUS[2]},-1,rfid\n"
        f"2024-03-01,S001,{SKUS[3]},2,by eye\n",
        encoding="gb18030",
    )
    plan = make_plan(read_file(counts), get_contract("stock_counts"), KNOWN, today=TODAY)
    assert plan.good.column("method").to_pylist() == ["rfid", "manual"]
    assert plan.good.column("store_code").to_pylist() == ["S001", "S002"]
    assert list(_quarantine(plan).values()) == ["counted_qty: '-1' is below the minimum 0", "method: 'by eye' is not one of rfid, scanner, manual"]

    traffic = tmp_path / "traffic.csv"
    traffic.write_text("日期,门店编码,客流\n2024-03-01,S001,120\n2024-03-01,S001,120\n2024-03-02,S001,-3\n", encoding="utf-8")
    plan = make_plan(read_file(traffic), get_contract("traffic"), KNOWN, today=TODAY)
    assert (plan.loaded, plan.duplicates, plan.quarantined) == (1, 1, 1)


def test_records_keep_every_cell_exactly_even_the_columns_not_loaded(tmp_path):
    rows = [dict(EXPORT.rows[0], qty="abc", cashier='王"五\n\\x', notes='备注 "a,b"')]
    headers = dict(POS_HEADERS_ZH, notes="备注")  # a column the contract ignores on purpose
    raw = read_file(write_csv(tmp_path / "f.csv", rows, headers=headers))
    plan = make_plan(raw, POS, KNOWN, today=TODAY)
    record = quarantine_table(raw, plan.bad, POS, "i-1", dt.datetime(2025, 1, 1)).column("record")[0].as_py()
    assert json.loads(record) == {headers[c]: v for c, v in rows[0].items()}
