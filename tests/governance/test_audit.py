"""The audit log: one record per execution (rows returned), refusals too, readable by the auditor."""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from workbench.governance.audit import AUDIT_SCHEMA, audited_backend_class

from .conftest import read_audit


def test_one_record_per_execution_with_rows(open_session, settings):
    s = open_session("u_store_017", run_id="r-1")
    s.table("sales").count().execute()
    s.table("sales").execute()
    records = read_audit(settings)
    assert len(records) == 2
    first, second = records
    assert (first["action"], first["status"], first["rows"], first["tables"]) == ("read", "ok", 1, ["core.sales"])
    assert second["rows"] == 2
    assert first["policies"] == ["hide:product_cost", "row:own_stores"]
    assert (first["user"], first["role"], first["entry_point"], first["run_id"], first["pid"]) == (
        "u_store_017", "store_manager", "python", "r-1", os.getpid())
    assert tuple(first) == AUDIT_SCHEMA.names


@pytest.mark.parametrize("method", ["to_pyarrow", "to_pandas", "execute", "to_pandas_batches"])
def test_every_execution_method_is_audited_once(open_session, settings, method):
    result = getattr(open_session("u_store_017").table("sales"), method)()
    if method == "to_pandas_batches":
        assert sum(len(frame) for frame in result) == 2
    records = read_audit(settings)
    assert [(r["action"], r["rows"]) for r in records] == [("read", 2)]


def test_streams_are_audited_when_consumed(open_session, settings):
    reader = open_session("u_region_east").table("sales").to_pyarrow_batches()
    assert read_audit(settings) == []
    assert reader.read_all().num_rows == 4
    assert read_audit(settings)[-1]["rows"] == 4


def test_exports_are_audited(open_session, settings, tmp_path):
    open_session("u_analyst").table("stores").to_csv(tmp_path / "stores.csv")
    rec = read_audit(settings)[-1]
    assert rec["status"] == "ok" and "to_csv" in rec["message"] and str(tmp_path) in rec["message"]


def test_sql_records_query_text(open_session, settings):
    q = "select count(*) from sales"
    open_session("u_region_north").sql(q).execute()
    rec = read_audit(settings)[-1]
    assert (rec["action"], rec["query"], rec["rows"], rec["tables"]) == ("sql", q, 1, ["core.sales"])
    assert rec["policies"] == ["row:region_stores"]


def test_engine_errors_are_audited(open_session, settings):
    t = open_session("u_analyst").table("sales")
    with pytest.raises(Exception, match="(?i)conver|cast"):
        t.select(x=t.line_type.cast("int32")).execute()  # "sale" is no number: the engine fails
    assert read_audit(settings)[-1]["status"] == "error"


def test_tables_opened_around_the_session_are_refused(open_session, settings):
    s = open_session("u_store_017")
    backend = s.table("sales")._find_backend()
    with pytest.raises(PermissionError, match="opened outside the session"):
        backend.table("demand", database="truth").execute()
    with pytest.raises(PermissionError, match="outside s.sql|not part of the governed door"):
        s.table("sales").sql("select * from truth.demand").execute()
    with pytest.raises(PermissionError, match="not part of the governed door"):
        backend.sql("select * from core.sales").execute()
    assert [r["status"] for r in read_audit(settings)] == ["denied"] * 3


@pytest.mark.parametrize("call", [
    lambda b: b.raw_sql("delete from core.sales"),
    lambda b: b.insert("sales", [{"ticket_id": 1}], database="core"),
    lambda b: b.create_table("evil", schema={"a": "int"}, database="raw"),
    lambda b: b.drop_table("sales", database="core"),
    lambda b: b.read_csv("/etc/passwd"),
    lambda b: b.attach("/tmp/other.duckdb"),
])
def test_backend_side_doors_are_refused_and_audited(writable, call):
    with wb.session("u_pipeline", settings=writable) as s:  # read-write: the door must hold anyway
        with pytest.raises(PermissionError, match="not part of the governed door"):
            call(s.table("sales")._find_backend())
        assert s.table("sales").count().execute() == 8
    assert read_audit(writable)[0]["status"] == "denied"


def test_cache_keeps_the_table_governed_and_audited(open_session, settings):
    t = open_session("u_store_017").table("sales")
    cached = t.cache()
    assert cached.count().execute() == 2
    assert cached.filter(cached.qty > 0).ticket_id.execute().tolist() == [4]
    records = read_audit(settings)
    assert [r["message"] for r in records] == ["cache", "execute", "execute"]
    assert all(r["tables"] == ["core.sales"] and "row:own_stores" in r["policies"] for r in records)


def test_builtin_udf_of_a_blocked_function_is_refused(open_session):
    import ibis

    @ibis.udf.scalar.builtin
    def getenv(name: str) -> str: ...

    t = open_session("u_analyst").table("stores")
    with pytest.raises(PermissionError, match="getenv"):
        t.select(home=getenv(t.store_code)).execute()


def test_denied_reads_writes_and_sql_are_audited(open_session, settings):
    s = open_session("u_store_001")
    for attempt in (lambda: s.table("truth.demand"), lambda: s.sql("select * from truth.demand")):
        with pytest.raises(PermissionError):
            attempt()
    records = read_audit(settings)
    assert [(r["action"], r["status"]) for r in records] == [("denied", "denied")] * 2
    assert records[0]["message"].startswith("read:") and records[1]["message"].startswith("sql:")
    assert records[1]["query"] == "select * from truth.demand"


def test_auditor_reads_every_process_file(open_session, settings):
    open_session("u_store_017").table("sales").count().execute()
    # A record from another process (same format, another file).
    other = dict.fromkeys(AUDIT_SCHEMA.names)
    other.update(ts="2024-01-01T00:00:00.000000", user="u_hq", role="hq_manager", entry_point="app",
                 action="read", status="ok", tables=["core.sales"], policies=[], rows=5, pid=1)
    (settings.audit_dir / "audit-other-host-1.jsonl").write_text(json.dumps(other) + "\n")
    log = open_session("u_auditor").table("audit_log")
    got = log.order_by("ts").execute()
    assert list(got.user) == ["u_hq", "u_store_017"]
    assert got.ts.dtype.kind == "M"  # a real timestamp
    via_sql = open_session("u_auditor").sql("select count(*) n from audit_log where entry_point = 'app'").execute()
    assert via_sql.n[0] == 1


def test_admin_reads_the_audit_log_too(open_session):
    assert "user" in open_session("u_admin").table("audit_log").columns


def test_audited_class_is_a_subclass_of_the_engine_backend():
    from ibis.backends.duckdb import Backend

    cls = audited_backend_class(Backend)
    assert issubclass(cls, Backend) and cls is audited_backend_class(Backend)
    assert cls.execute is not Backend.execute and cls.to_pyarrow_batches is not Backend.to_pyarrow_batches


def test_entry_point_is_recorded_and_checked(settings):
    with wb.session("u_analyst", settings=settings, entry_point="app") as s:
        s.table("stores").count().execute()
    assert read_audit(settings)[-1]["entry_point"] == "app"
    with pytest.raises(ValueError, match="entry_point"):
        wb.session("u_analyst", settings=settings, entry_point="browser")
