"""End to end through the governed session: what lands in raw, quarantine and the log, and what never does."""

from __future__ import annotations

import hashlib

import pytest

import workbench as wb
from workbench.ingest.contracts import get_contract
from workbench.ingest.errors import IngestError
from workbench.ingest.load import ingest

from .synth import POS_HEADERS_ZH, TODAY, count_rows, fetch, pos_export, write_csv, write_parquet, write_xlsx

POS = get_contract("pos_sales")


def _load(settings, path, user="u_admin", **kwargs):
    with wb.session(user, settings=settings) as s:
        return ingest(s, path, POS, today=TODAY, **kwargs), s.run_id


def test_a_file_loads_good_rows_quarantines_bad_ones_and_logs_the_load(settings, tmp_path):
    export = pos_export(600)
    path = write_csv(tmp_path / "pos_0301.csv", export.rows, encoding="gb18030", headers=POS_HEADERS_ZH)
    result, run_id = _load(settings, path)

    assert (result.rows_read, result.loaded, result.quarantined, result.duplicates) == (len(export.rows), export.good, export.bad, 1)
    assert count_rows(settings) == {"raw.pos_sales": export.good, "raw.stock_counts": 0, "raw.traffic": 0, "raw.quarantine": export.bad, "raw.ingest_log": 1}

    reasons = dict(fetch(settings, "select source_row, reason from raw.quarantine"))
    for row, reason in export.reasons(2).items():
        assert reason in reasons[row]
    log = fetch(settings, "select ingest_id, file_sha256, rows_read, rows_loaded, rows_quarantined, rows_duplicate, user_name, status, run_id, encoding from raw.ingest_log")
    assert log == [(result.ingest_id, hashlib.sha256(path.read_bytes()).hexdigest(), len(export.rows), export.good, export.bad, 1, "u_admin", "partial", run_id, "gb18030")]
    lineage = fetch(settings, "select distinct ingest_id, source_file, run_id from raw.pos_sales union select distinct ingest_id, source_file, run_id from raw.quarantine")
    assert lineage == [(result.ingest_id, "pos_0301.csv", run_id)]
    assert fetch(settings, "select min(source_row), count(distinct source_row) from raw.pos_sales") == [(2, export.good)]


def test_loading_the_same_file_again_adds_nothing(settings, tmp_path):
    path = write_csv(tmp_path / "pos.csv", pos_export(100).rows, headers=POS_HEADERS_ZH)
    first, _ = _load(settings, path)
    before = count_rows(settings)
    again, _ = _load(settings, path)
    assert again.previous is not None and again.previous.ingest_id == first.ingest_id
    assert again.loaded == again.quarantined == 0
    assert count_rows(settings) == before


def test_overlapping_exports_do_not_duplicate_rows(settings, tmp_path):
    first = pos_export(600, start=0)
    second = pos_export(600, start=300)  # lines 300..899: half of them were in the first file
    _load(settings, write_csv(tmp_path / "a.csv", first.rows, headers=POS_HEADERS_ZH))
    result, _ = _load(settings, write_csv(tmp_path / "b.csv", second.rows, encoding="utf-8-sig", headers=POS_HEADERS_ZH))

    overlap_good = sum(e is None for e in second.expected[:300])
    assert result.duplicates == overlap_good + 1  # + the file's own repeated line
    assert result.loaded == second.good - overlap_good
    repeated = fetch(settings, "select count(*) from (select store_code, ticket_no, line_no from raw.pos_sales group by all having count(*) > 1)")
    assert repeated == [(0,)]
    assert count_rows(settings)["raw.pos_sales"] == first.good + result.loaded


def test_excel_and_parquet_files_of_the_same_lines_add_nothing_new(settings, tmp_path):
    export = pos_export(200)
    _load(settings, write_csv(tmp_path / "a.csv", export.rows, headers=POS_HEADERS_ZH))
    for path in (write_xlsx(tmp_path / "a.xlsx", export.rows, headers=POS_HEADERS_ZH), write_parquet(tmp_path / "a.parquet", export.rows)):
        result, _ = _load(settings, path)
        assert result.loaded == 0 and result.duplicates == export.good + 1
    assert count_rows(settings)["raw.pos_sales"] == export.good


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary,b\n", "looks binary"),
        (b"a,b\n1,\xff\xfe\xff\n", "unknown text encoding"),
        ("小票号,行号,门店编码\nT1,1,S001\n".encode("gb18030"), "missing required column"),
        (("小票号,行号,销售时间,门店编码,商品编码,数量,单价,金额,天气\n").encode("utf-8") + b"T1,1,2024-03-01 10:00:00,S001,X,1,1,1,sunny\n", "unknown column"),
        ("小票号,行号\n".encode("utf-8"), "no data rows"),
    ],
)
def test_a_bad_file_changes_nothing_and_says_why_in_one_line(settings, tmp_path, content, message):
    _load(settings, write_csv(tmp_path / "ok.csv", pos_export(30).rows, headers=POS_HEADERS_ZH))
    before = count_rows(settings)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as err:
        _load(settings, path)
    assert "\n" not in str(err.value)
    assert count_rows(settings) == before


def test_a_store_scoped_loader_gets_other_stores_rows_quarantined(settings, tmp_path):
    export = pos_export(300)  # lines of stores S001..S005
    result, _ = _load(settings, write_csv(tmp_path / "pos.csv", export.rows, headers=POS_HEADERS_ZH), user="u_loader_s001")

    assert fetch(settings, "select distinct store_code from raw.pos_sales") == [("S001",)]
    others = [i for i, r in enumerate(export.rows) if r["store_code"] not in ("S001", "S999", "17") and export.expected[i] is None]
    reasons = dict(fetch(settings, "select source_row, reason from raw.quarantine"))
    for i in others[:-1]:  # the last one is the file's own repeated line: a duplicate, not quarantined
        assert reasons[i + 2].startswith(f"store_code: '{export.rows[i]['store_code']}' is outside your scope (your stores: S001)")
    assert result.loaded == count_rows(settings)["raw.pos_sales"] > 0
    assert result.rows_read == result.loaded + result.quarantined + result.duplicates


def test_a_user_who_may_not_write_is_refused_before_anything_is_read(settings, tmp_path):
    path = write_csv(tmp_path / "pos.csv", pos_export(30).rows, headers=POS_HEADERS_ZH)
    for user in ("u_analyst", "u_store_017"):
        with pytest.raises(PermissionError, match="no write grant for raw.pos_sales"):
            _load(settings, path, user=user)
    # The shipped device role writes raw.stock_counts but not the quarantine or the log.
    with wb.session("u_device_s001", settings=settings) as s, pytest.raises(PermissionError, match="raw.quarantine, raw.ingest_log"):
        ingest(s, path, get_contract("stock_counts"), today=TODAY)
    assert count_rows(settings) == dict.fromkeys(count_rows(settings), 0)


class _FailingQuarantine:
    """A session whose quarantine write fails, after the good rows were written."""

    def __init__(self, session):
        self._s = session

    def __getattr__(self, name):
        return getattr(self._s, name)

    def write(self, table, data, mode="append"):
        if table == "raw.quarantine":
            raise RuntimeError("disk full")
        return self._s.write(table, data, mode=mode)


def test_good_rows_quarantine_and_log_commit_together_or_not_at_all(settings, tmp_path):
    path = write_csv(tmp_path / "pos.csv", pos_export(100).rows, headers=POS_HEADERS_ZH)
    with wb.session("u_admin", settings=settings) as s, pytest.raises(RuntimeError, match="disk full"):
        ingest(_FailingQuarantine(s), path, POS, today=TODAY)
    assert count_rows(settings) == dict.fromkeys(count_rows(settings), 0)
    result, _ = _load(settings, path)  # and the file can be loaded once the problem is fixed
    assert result.previous is None and result.loaded > 0


def test_a_dry_run_writes_nothing_but_gives_the_counts(settings, tmp_path):
    export = pos_export(100)
    path = write_csv(tmp_path / "pos.csv", export.rows, headers=POS_HEADERS_ZH)
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        result = ingest(s, path, POS, today=TODAY, dry_run=True)
    assert (result.loaded, result.quarantined, result.duplicates, result.ingest_id) == (export.good, export.bad, 1, None)
    assert count_rows(settings) == dict.fromkeys(count_rows(settings), 0)


def test_progress_is_reported_in_bytes_read_and_rows_checked(settings, tmp_path):
    export = pos_export(3000)
    path = write_csv(tmp_path / "pos.csv", export.rows, encoding="gb18030", headers=POS_HEADERS_ZH)
    seen: dict[str, list] = {}

    def progress(label, total, unit):
        seen[label] = [total, 0, unit]

        def update(n):
            seen[label][1] += n

        return update

    _load(settings, path, progress=progress)
    size = path.stat().st_size
    n, written = len(export.rows), export.good + export.bad + 1  # + the log entry
    assert seen == {"reading pos.csv": [size, size, "B"], "checking rows": [n, n, "row"], "writing": [written, written, "row"]}


def test_stocktakes_and_traffic_share_the_quarantine_and_the_log(settings, tmp_path):
    from openpyxl import Workbook

    counts = tmp_path / "盘点_0301.csv"
    counts.write_text("盘点日期,门店编码,商品编码,盘点数量,盘点方式\n2024-03-01,S001,24SS-TS0001-BLK-S,5,RFID\n2024-03-01,S001,NOPE,1,手工\n", encoding="gb18030")
    book = Workbook()
    book.active.append(["客流日报"])
    book.active.append(["日期", "门店编码", "客流"])
    book.active.append(["2024-03-01", "S001", 120])
    book.active.append(["2024-03-01", "S002", "n/a"])
    book.save(tmp_path / "客流.xlsx")

    with wb.session("u_pipeline", settings=settings) as s:
        c = ingest(s, counts, get_contract("stock_counts"), today=TODAY)
        t = ingest(s, tmp_path / "客流.xlsx", get_contract("traffic"), today=TODAY)
    assert (c.loaded, c.quarantined, t.loaded, t.quarantined) == (1, 1, 1, 1)
    assert fetch(settings, "select table_name, source_row, reason from raw.quarantine order by table_name") == [
        ("stock_counts", 3, "sku_code: 'NOPE' is not a known product"),
        ("traffic", 4, "visitors is missing (required)"),
    ]
    assert fetch(settings, "select method from raw.stock_counts") == [("rfid",)]
    assert fetch(settings, "select table_name, status from raw.ingest_log order by table_name") == [("stock_counts", "partial"), ("traffic", "partial")]


def test_the_warehouse_role_ingests_stocktakes(settings, tmp_path):
    counts = tmp_path / "dc_count.csv"
    counts.write_text("count_date,store_code,sku_code,counted_qty,method\n2024-03-01,S001,24SS-TS0001-BLK-S,4,rfid\n", encoding="utf-8")
    with wb.session("u_warehouse", settings=settings) as s:
        result = ingest(s, counts, get_contract("stock_counts"), today=TODAY)
    assert (result.loaded, result.quarantined) == (1, 0)
    assert fetch(settings, "select counted_qty from raw.stock_counts") == [(4,)]
