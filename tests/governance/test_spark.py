"""The same door on Spark (DESIGN invariant 2): filters, masks, SQL, audit, writes.

The compliance suite runs the policy tests on every engine; this is the
governance package's own check that nothing in it is DuckDB-only.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pyarrow as pa
import pytest

import workbench as wb
from workbench.config import load_settings
from workbench.warehouse.engines import ParquetSink

from .conftest import SHIPPED_ACCESS, read_audit
from .warehouse import build

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (make system-deps)"),
]


@pytest.fixture(scope="module")
def spark_settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-gov")
    build(ParquetSink(root / "warehouse"))
    return load_settings(engine="pyspark", warehouse=root / "warehouse", audit_dir=root / "audit", access_file=SHIPPED_ACCESS)


def test_filters_masks_and_hidden_columns(spark_settings):
    with wb.session("u_store_017", settings=spark_settings) as s:
        assert sorted(s.table("sales").store_id.execute()) == [17, 17]
        assert "cost_amount" not in s.table("sales").columns
        members = s.table("members").execute()
        assert list(members.member_name) == ["李*"] and list(members.phone) == ["137****2222"]
        assert sorted(s.table("transfers").transfer_id.execute()) == [2]
    with wb.session("u_region_east", settings=spark_settings) as s:
        assert sorted(set(s.table("sales").store_id.execute())) == [1, 2]


def test_sql_door_on_spark(spark_settings):
    with wb.session("u_region_north", settings=spark_settings) as s:
        got = s.sql("select store_id, sum(qty) as q from sales group by store_id order by store_id").execute()
        assert list(got.store_id) == [17, 42] and list(got.q) == [2, 4]
        for query in ("select * from truth.demand", "select * from parquet.`/etc/passwd`",
                      "select reflect('java.lang.System', 'getenv', 'HOME')", "select 1; select 2"):
            with pytest.raises(PermissionError):
                s.sql(query)
    with wb.session("u_store_017", settings=spark_settings) as s:
        with pytest.raises(PermissionError, match="product_cost"):
            s.sql("select unit_cost from products")


def test_audit_log_on_spark(spark_settings):
    with wb.session("u_analyst", settings=spark_settings) as s:
        s.table("stores").count().execute()
    with wb.session("u_auditor", settings=spark_settings) as s:
        log = s.table("audit_log")
        assert log.filter(log.user == "u_analyst").count().execute() >= 1
    assert read_audit(spark_settings)[-1]["user"] == "u_auditor"


def test_writes_on_spark(spark_settings):
    day = pa.array([dt.date(2024, 1, 1)], pa.date32())
    with wb.session("u_pipeline", settings=spark_settings, run_id="spark-run") as s:
        assert s.write("raw.pos_sales", pa.table({"sale_date": day, "qty": [1]})) == 1
        assert s.write("raw.pos_sales", pa.table({"sale_date": day, "qty": [2]})) == 1
        assert sorted(s.table("raw.pos_sales").qty.execute()) == [1, 2]
        assert s.write("raw.pos_sales", pa.table({"sale_date": day, "qty": [3]}), mode="replace") == 1
        got = s.table("raw.pos_sales").execute()
        assert list(got.qty) == [3] and list(got.run_id) == ["spark-run"]
        with pytest.raises(NotImplementedError, match="replace_where"):
            s.write("raw.pos_sales", pa.table({"sale_date": day, "qty": [4]}), mode="replace_where", where={"qty": 4})
        with pytest.raises(NotImplementedError, match="transactions"):
            with s.transaction():
                pass
