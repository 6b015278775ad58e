"""Governed writes: grants, schema checks, modes, transactions, run_id, audit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

import workbench as wb
from workbench.governance.session import ReadOnlySession, TransactionFailed
from workbench.governance.writes import SchemaMismatch

from .conftest import read_audit

DAY1, DAY2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def pos(day: dt.date, store_id: int = 1, n: int = 2, qty: int = 1) -> pa.Table:
    return pa.table({
        "sale_date": pa.array([day] * n, pa.date32()),
        "store_id": pa.array([store_id] * n, pa.int32()),
        "sku_id": pa.array(range(100, 100 + n), pa.int32()),
        "qty": pa.array([qty] * n, pa.int16()),
    })


@pytest.fixture
def pipeline(writable):
    with wb.session("u_pipeline", settings=writable, run_id="nightly-2024-03-02") as s:
        yield s


def rows(s, table="raw.pos_sales"):
    return s.table(table).order_by(["sale_date", "sku_id"]).execute()


def test_first_write_creates_the_table_with_run_id(pipeline):
    assert not pipeline.table_exists("raw.pos_sales")
    assert pipeline.write("raw.pos_sales", pos(DAY1)) == 2
    got = rows(pipeline)
    assert list(got.columns) == ["sale_date", "store_id", "sku_id", "qty", "run_id"]
    assert set(got.run_id) == {"nightly-2024-03-02"}


def test_append_replace_and_replace_where(pipeline):
    pipeline.write("raw.pos_sales", pos(DAY1))
    pipeline.write("raw.pos_sales", pos(DAY2, n=3))
    assert len(rows(pipeline)) == 5
    # a re-run for DAY2 replaces its own rows and nothing else: no double counting
    assert pipeline.write("raw.pos_sales", pos(DAY2, n=1, qty=9), mode="replace_where", where={"sale_date": DAY2}) == 1
    got = rows(pipeline)
    days = got.sale_date.dt.date
    assert (days == DAY1).sum() == 2 and list(got[days == DAY2].qty) == [9]
    pipeline.write("raw.pos_sales", pos(DAY1, n=1), mode="replace")
    assert len(rows(pipeline)) == 1


def test_replace_where_refuses_rows_it_would_not_replace(pipeline):
    pipeline.write("raw.pos_sales", pos(DAY1))
    with pytest.raises(ValueError, match="do not match"):
        pipeline.write("raw.pos_sales", pos(DAY1), mode="replace_where", where={"sale_date": DAY2})
    assert len(rows(pipeline)) == 2


def test_pandas_frames_are_accepted_and_cast(pipeline):
    pipeline.write("raw.pos_sales", pos(DAY1))
    frame = pd.DataFrame({"sale_date": [DAY2], "store_id": [1], "sku_id": [7], "qty": [3]})  # int64 -> int32/int16
    assert pipeline.write("raw.pos_sales", frame) == 1
    assert rows(pipeline).qty.tolist()[-1] == 3


def test_schema_mismatch_lists_every_problem_and_writes_nothing(pipeline, writable):
    pipeline.write("raw.pos_sales", pos(DAY1))
    bad = pa.table({"sale_date": ["2024-03-01"], "store_id": pa.array([1], pa.int32()), "colour": ["red"]})
    with pytest.raises(SchemaMismatch) as err:
        pipeline.write("raw.pos_sales", bad)
    msg = str(err.value)
    assert "missing columns: sku_id, qty" in msg
    assert "columns the table does not have: colour" in msg
    assert "sale_date: data is string, table wants date" in msg
    assert len(rows(pipeline)) == 2
    assert [r["status"] for r in read_audit(writable) if r["action"] == "write"] == ["ok", "error"]


def test_lossy_cast_is_refused(pipeline):
    pipeline.write("raw.pos_sales", pos(DAY1))
    frame = pd.DataFrame({"sale_date": [DAY2], "store_id": [1], "sku_id": [7], "qty": [1.5]})
    with pytest.raises(SchemaMismatch, match="qty"):
        pipeline.write("raw.pos_sales", frame)


def test_non_nullable_columns_need_values(writable):
    with wb.session("u_admin", settings=writable) as s:
        frame = s.table("stores").limit(2).execute()
        frame.loc[1, "store_code"] = None
        with pytest.raises(SchemaMismatch, match="store_code: 1 null"):
            s.write("core.stores", frame)


def test_transaction_commits_together_or_not_at_all(pipeline, writable):
    with pytest.raises(RuntimeError, match="boom"):
        with pipeline.transaction():
            pipeline.write("raw.pos_sales", pos(DAY1))
            pipeline.write("marts.daily", pa.table({"day": [DAY1], "units": [2]}))
            raise RuntimeError("boom")
    assert not pipeline.table_exists("raw.pos_sales") and not pipeline.table_exists("marts.daily")
    rolled_back = [r for r in read_audit(writable) if r["action"] == "write"]
    assert len(rolled_back) == 2 and all(r["status"] == "error" and "rolled back" in r["message"] for r in rolled_back)

    with pipeline.transaction():
        pipeline.write("raw.pos_sales", pos(DAY1))
        with pipeline.transaction():  # nested: joins the outer one
            pipeline.write("marts.daily", pa.table({"day": [DAY1], "units": [2]}))
    assert pipeline.table("marts.daily").count().execute() == 1 and len(rows(pipeline)) == 2


def test_a_failed_write_inside_a_transaction_fails_the_transaction(pipeline):
    with pytest.raises(TransactionFailed):
        with pipeline.transaction():
            pipeline.write("raw.pos_sales", pos(DAY1))
            with pytest.raises(SchemaMismatch):
                pipeline.write("raw.pos_sales", pa.table({"nope": [1]}))
    assert not pipeline.table_exists("raw.pos_sales")


def test_write_needs_a_grant(writable, open_session):
    with wb.session("u_analyst", settings=writable, read_only=False) as s:
        with pytest.raises(PermissionError, match="may not write raw.pos_sales"):
            s.write("raw.pos_sales", pos(DAY1))
    with wb.session("u_pipeline", settings=writable) as s:
        with pytest.raises(PermissionError, match="may not write core.sales"):
            s.write("core.sales", pos(DAY1))
        with pytest.raises(PermissionError, match="may not write truth.demand"):
            s.write("truth.demand", pos(DAY1))
    denied = [r for r in read_audit(writable) if r["status"] == "denied"]
    assert [r["tables"] for r in denied] == [["raw.pos_sales"], ["core.sales"], ["truth.demand"]]


def test_read_only_session_cannot_write(writable):
    with wb.session("u_pipeline", settings=writable, read_only=True) as s:
        with pytest.raises(ReadOnlySession, match="read_only=False"):
            s.write("raw.pos_sales", pos(DAY1))


def test_device_writes_only_its_store(writable):
    counts = lambda store: pa.table({"count_date": [DAY1], "store_id": pa.array([store], pa.int32()), "sku_id": [100], "counted_qty": [4]})  # noqa: E731
    with wb.session("u_device_s001", settings=writable, entry_point="device") as s:
        assert s.write("raw.stock_counts", counts(1)) == 1
        with pytest.raises(PermissionError, match="outside the scope"):
            s.write("raw.stock_counts", counts(17))
        with pytest.raises(PermissionError):
            s.write("raw.pos_sales", counts(1))
    with wb.session("u_admin", settings=writable) as s:
        assert s.table("raw.stock_counts").store_id.execute().tolist() == [1]


def test_writes_are_audited_with_rows(pipeline, writable):
    pipeline.write("raw.pos_sales", pos(DAY1, n=3))
    rec = [r for r in read_audit(writable) if r["action"] == "write"][-1]
    assert (rec["user"], rec["status"], rec["rows"], rec["tables"], rec["run_id"]) == (
        "u_pipeline", "ok", 3, ["raw.pos_sales"], "nightly-2024-03-02")


def test_bad_modes_are_explained(pipeline):
    with pytest.raises(ValueError, match="mode must be"):
        pipeline.write("raw.pos_sales", pos(DAY1), mode="upsert")
    with pytest.raises(ValueError, match="replace_where needs where"):
        pipeline.write("raw.pos_sales", pos(DAY1), mode="replace_where")
    with pytest.raises(TypeError, match="pyarrow.Table or a pandas.DataFrame"):
        pipeline.write("raw.pos_sales", [{"a": 1}])
