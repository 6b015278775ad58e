"""Governed writes on every engine; what an engine cannot do is marked."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import workbench as wb

from .conftest import column

pytestmark = pytest.mark.usefixtures("no_readers")


def _rows(n: int, day: dt.date) -> pa.Table:
    return pa.table({"as_of": [day] * n, "store_id": pa.array(range(n), pa.int32()), "value": [1.5] * n})


def _count(settings, table: str) -> int:
    with wb.session("u_oracle", settings=settings, read_only=True) as s:
        return s.table(table).count().to_pyarrow().as_py()


def test_append_and_replace_tag_rows_with_the_run_id(settings):
    with wb.session("u_pipeline", settings=settings, run_id="run-a") as s:
        s.write("marts.compliance_append", _rows(3, dt.date(2025, 1, 1)), mode="append")
        s.write("marts.compliance_append", _rows(2, dt.date(2025, 1, 2)), mode="append")
        assert set(s.table("marts.compliance_append").run_id.to_pyarrow().to_pylist()) == {"run-a"}
        s.write("marts.compliance_append", _rows(4, dt.date(2025, 1, 3)), mode="replace")
    assert _count(settings, "marts.compliance_append") == 4


def test_a_business_role_cannot_write(settings):
    with wb.session("u_hq", settings=settings, read_only=False) as s, pytest.raises(PermissionError, match="write"):
        s.write("marts.compliance_denied", _rows(1, dt.date(2025, 1, 1)))


@pytest.mark.notimpl(["pyspark"], reason="deleting rows needs a table format with deletes (Delta, Iceberg)")
def test_replace_where_reruns_never_double_count(settings):
    with wb.session("u_pipeline", settings=settings) as s:
        for _ in range(2):
            s.write("marts.compliance_rerun", _rows(3, dt.date(2025, 1, 1)), mode="replace_where", where={"as_of": dt.date(2025, 1, 1)})
        s.write("marts.compliance_rerun", _rows(2, dt.date(2025, 1, 2)), mode="replace_where", where={"as_of": dt.date(2025, 1, 2)})
    assert _count(settings, "marts.compliance_rerun") == 5


class _Boom(Exception):
    pass


@pytest.mark.notimpl(["pyspark"], reason="Spark has no multi-table transactions")
def test_a_failed_transaction_writes_nothing(settings):
    with wb.session("u_pipeline", settings=settings) as s:
        with pytest.raises(_Boom), s.transaction():
            s.write("marts.compliance_tx", _rows(3, dt.date(2025, 1, 1)))
            raise _Boom()
        assert not s.table_exists("marts.compliance_tx")


def _staged_session(settings, run_id: str):
    return wb.session("u_pipeline", settings=settings, run_id=run_id, stage=True)


def _good_then_staged(settings, table: str, run_id: str, rows: int, day: dt.date) -> None:
    """Three rows of a good run for ``day``, then ``rows`` staged by ``run_id`` to replace them."""
    with wb.session("u_pipeline", settings=settings, run_id="good") as s:
        s.write(table, _rows(3, day), mode="replace_where", where={"as_of": day})
    with _staged_session(settings, run_id) as s:
        s.write(table, _rows(rows, day), mode="replace_where", where={"as_of": day})


@pytest.mark.notimpl(["pyspark"], reason="publishing staged writes needs transactions and deletes")
def test_staged_writes_are_invisible_until_published_then_replace_in_order(settings):
    _good_then_staged(settings, "marts.compliance_staged", "step-1", 5, dt.date(2025, 1, 1))
    with _staged_session(settings, "step-1") as s:
        s.write("marts.compliance_staged", _rows(2, dt.date(2025, 1, 2)), mode="append")
        assert column(s.table("marts.compliance_staged"), "run_id") == ["good"] * 3  # nothing changed yet
    with wb.session("u_pipeline", settings=settings, run_id="step-1") as s:
        assert s.publish() == {"marts.compliance_staged": 7}
        assert s.publish() == {}  # published once, then cleared
        runs = column(s.table("marts.compliance_staged"), "run_id")
    assert sorted(runs) == ["step-1"] * 7  # the old as-of rows replaced, the other day added


@pytest.mark.notimpl(["pyspark"], reason="publishing staged writes needs transactions and deletes")
def test_a_publish_rolled_back_or_discarded_leaves_the_previous_rows(settings):
    _good_then_staged(settings, "marts.compliance_unpublished", "step-2", 4, dt.date(2025, 1, 1))
    with wb.session("u_pipeline", settings=settings, run_id="step-2") as s:
        with pytest.raises(_Boom), s.transaction():
            s.publish()
            assert s.table("marts.compliance_unpublished").count().to_pyarrow().as_py() == 4  # seen inside
            raise _Boom()  # e.g. a data check failed
        assert column(s.table("marts.compliance_unpublished"), "run_id") == ["good"] * 3
        assert s.discard_staged() == 1
        assert s.publish() == {}
    assert _count(settings, "marts.compliance_unpublished") == 3


@pytest.mark.notimpl(["pyspark"], reason="publishing staged writes needs transactions and deletes")
def test_staged_writes_are_checked_at_the_door_and_audited_as_staged_then_written(settings):
    with _staged_session(settings, "step-3") as s:
        with pytest.raises(ValueError, match="do not match where"):
            s.write("marts.compliance_audit", _rows(1, dt.date(2025, 1, 2)), mode="replace_where",
                    where={"as_of": dt.date(2025, 1, 1)})
        s.write("marts.compliance_audit", _rows(1, dt.date(2025, 1, 1)))
    with wb.session("u_pipeline", settings=settings, run_id="step-3") as s:
        s.publish()
    with wb.session("u_auditor", settings=settings, read_only=True) as s:
        log = s.table("audit_log")
        log = log.filter((log.run_id == "step-3") & (log.status == "ok")).order_by("ts").to_pandas()
    assert log["action"].tolist() == ["stage", "write"]
