"""Raw SQL goes through the same policies on every engine; escapes are refused."""

from __future__ import annotations

import pytest

from .conftest import column

COMMON_ESCAPES = [
    "select * from sales; select * from truth.demand",
    "select * from truth.demand",
    "select s.* from sales s join truth.demand d on s.sku_id = d.sku_id",
    "with sales as (select * from truth.demand) select * from sales",
    "select store_id from sales union all select store_id from truth.demand",
    "select * from information_schema.tables",
    "delete from sales",
    "drop table core.sales",
    "create table x as select 1",
    "insert into core.sales select * from core.sales",
]
ENGINE_ESCAPES = {
    "duckdb": [
        "select * from read_csv('/etc/passwd')",
        "select * from '/etc/passwd'",
        "select * from read_parquet('x.parquet')",
        "select * from query_table('truth.demand')",
        "select getenv('HOME')",
        "select current_setting('threads')",
        "select * from duckdb_tables()",
        "attach '/tmp/x.duckdb' as x",
        "copy core.sales to '/tmp/out.csv'",
        "install httpfs",
        "load httpfs",
        "pragma database_list",
        "set threads = 1",
        "export database '/tmp/dump'",
    ],
    "pyspark": [
        "select * from parquet.`/etc/passwd`",
        "select * from csv.`/etc/passwd`",
        "select reflect('java.lang.System', 'getenv', 'HOME')",
        "select java_method('java.lang.System', 'getenv', 'HOME')",
        "add jar /tmp/x.jar",
        "cache table core.sales",
        "set spark.sql.ansi.enabled = true",
    ],
}


def test_every_escape_is_refused_for_an_analyst(open_session, settings):
    s = open_session("u_analyst")
    let_through = []
    for query in COMMON_ESCAPES + ENGINE_ESCAPES[settings.engine]:
        try:
            s.sql(query)
        except PermissionError:
            continue
        let_through.append(query)
    assert let_through == []


def test_rewritten_query_gives_the_filtered_answer(open_session):
    query = """
        with t as (select store_id, ticket_id, sum(net_amount) as amount from sales group by store_id, ticket_id)
        select s.region, count(*) as tickets, sum(t.amount) as amount
        from t join stores s on s.store_id = t.store_id
        group by s.region order by s.region
    """
    got = open_session("u_region_east").sql(query).to_pyarrow().to_pylist()
    assert [r["region"] for r in got] == ["East"]
    full = {r["region"]: r for r in open_session("u_hq").sql(query).to_pyarrow().to_pylist()}
    assert got[0]["tickets"] == full["East"]["tickets"]
    assert got[0]["amount"] == pytest.approx(full["East"]["amount"])


def test_admin_sql_runs_as_written(open_session):
    n = column(open_session("u_admin").sql("select count(*) as n from truth.demand"), "n")[0]
    assert n > 0
