"""Prepared metric requests (workbench.metrics.prepared): compiled once per shape, same answers as compute.

On a copy of the tiny chain with every rollup built. Each answer is compared
with ``compute(...).to_pandas()`` of the same request, for users of
different scopes; the shapes a session compiled are counted, so the tests
cannot pass by never reusing one; the door's checks and audit still apply.
"""

from __future__ import annotations

import datetime as dt
import random

import ibis
import pandas as pd
import pytest

import workbench as wb
from workbench.governance.backends import DuckDBOps
from workbench.governance.session import PreparedQuery
from workbench.metrics import prepared
from workbench.metrics.query import MetricError
from workbench.metrics.rollup import compute

from ..governance.conftest import read_audit
from .test_preagg import KPIS, build, copy_of
from .test_preagg_equivalence import FILTERS, random_queries


@pytest.fixture(scope="module")
def rolled(tiny_settings, tmp_path_factory):
    settings = copy_of(tiny_settings, tmp_path_factory.mktemp("prepared"))
    build(settings)
    return settings


def _answer(run, s, query: dict) -> pd.DataFrame | str:
    try:
        return run(s, **query)
    except MetricError as err:  # refused (conversion by brand, costs for a store manager ...)
        return f"refused: {err}"


def _computed(s, **query) -> pd.DataFrame:
    return compute(s, **query).to_pandas()


def sibling(query: dict, rng: random.Random) -> dict:
    """The same shape of request with other values: dates four weeks later, other filter values as many."""
    shift = dt.timedelta(weeks=4)
    where = {}
    for dim, value in query["where"].items():
        if isinstance(value, list):
            where[dim] = rng.sample(FILTERS[dim], len(value))
        else:
            where[dim] = value if value is None else rng.choice(FILTERS[dim])
    return query | {"start": query["start"] and query["start"] + shift, "end": query["end"] and query["end"] + shift,
                    "where": where}


@pytest.mark.slow  # about 60 requests per user, each answered twice
@pytest.mark.parametrize("user, seed", [("u_hq", 11), ("u_region_east", 12), ("u_store_001", 13)])
def test_prepared_requests_give_the_same_answers_as_compute(rolled, user, seed):
    rng = random.Random(seed)
    asked = 0
    with wb.session(user, settings=rolled) as s:
        for query in random_queries(seed, 30):
            for request in (query, sibling(query, rng)):
                fast, plain = _answer(prepared.run, s, request), _answer(_computed, s, request)
                asked += 1
                if isinstance(plain, str):
                    assert fast == plain, request
                    continue
                pd.testing.assert_frame_equal(fast, plain, obj=str(request))
        compiled = prepared.known_shapes(s)
    assert 0 < compiled <= asked - 20, f"{compiled} shapes compiled for {asked} requests: too few were reused"


def test_the_same_shape_with_other_values_is_compiled_once(rolled):
    with wb.session("u_region_east", settings=rolled) as s:
        periods = [("2025-12-01", "2025-12-28"), ("2025-11-03", "2025-11-30"), ("2025-06-02", "2025-06-29")]
        for start, end in periods:
            request = dict(metrics=KPIS, by=["store_code"], start=start, end=end, where={"channel": ["store"]})
            pd.testing.assert_frame_equal(prepared.run(s, **request), _computed(s, **request))
        assert prepared.known_shapes(s) == 1
        by_brand = dict(metrics=["net_sales", "units"], by=["category"], start="2025-03-03", end="2025-03-30")
        for brands in (["Lumen"], ["Stride"], ["Meadow"], ["Lumen", "Stride"], ["Meadow", None]):
            request = by_brand | {"where": {"brand": brands}}
            pd.testing.assert_frame_equal(prepared.run(s, **request), _computed(s, **request))
        # values are bound as one list, whatever their number; asking for nulls too is another shape
        assert prepared.known_shapes(s) == 1 + 2


def test_a_prepared_run_is_checked_and_audited_as_its_expression(rolled):
    with wb.session("u_store_001", settings=rolled) as s:
        request = dict(metrics=["net_sales", "units"], by=["store_code"], start="2025-05-01", end="2025-05-31")
        before = len(read_audit(rolled))
        first = prepared.run(s, **request)
        again = prepared.run(s, **request | {"start": "2025-06-01", "end": "2025-06-30"})
        records = read_audit(rolled)[before:]
    assert list(first.store_code) == ["S001"] and list(again.store_code) == ["S001"]
    # the session's first request also reads the rollup catalog (marts.rollups) once
    reads = [r for r in records if r["action"] == "read" and "marts.rollups" not in r["tables"]]
    assert len(reads) == 2
    assert all(r["user"] == "u_store_001" and r["status"] == "ok" and r["rows"] == 1 and r["policies"] for r in reads)
    assert all(any(t.startswith("marts.rollup_sales") for t in r["tables"]) for r in reads)


def test_sql_the_session_did_not_prepare_is_refused(rolled):
    with wb.session("u_store_001", settings=rolled) as s, wb.session("u_hq", settings=rolled) as other:
        stores = s.table("stores")
        forged = PreparedQuery(stores, "SELECT * FROM core.members", ())
        with pytest.raises(PermissionError, match="not prepared by this session"):
            s.run_prepared(forged, {})
        code = ibis.param("string")
        theirs = other.prepare(other.table("stores").filter(lambda t: t.store_code == code), {"p_code": code})
        assert list(other.run_prepared(theirs, {"p_code": "S002"}).store_code) == ["S002"]
        with pytest.raises(PermissionError, match="not prepared by this session"):
            s.run_prepared(theirs, {"p_code": "S002"})


def test_a_stand_in_left_in_the_sql_means_no_template(rolled):
    with wb.session("u_hq", settings=rolled) as s:
        sales = s.table("sales")
        day = ibis.param("date")
        # a literal that looks like a stand-in: the SQL cannot be templated safely
        expr = sales.filter((sales.sale_date >= day) | (sales.sale_date == dt.date(1111, 1, 2))).limit(1)
        assert DuckDBOps(rolled).template(s._backend, expr, {"p_start": day}) is None
        ok = sales.filter(sales.sale_date >= day).limit(1)
        assert "$p_start" in DuckDBOps(rolled).template(s._backend, ok, {"p_start": day})


def test_without_a_template_the_request_is_computed(rolled, monkeypatch):
    with wb.session("u_region_east", settings=rolled) as s:
        monkeypatch.setattr(s, "prepare", lambda expr, params: None)
        request = dict(metrics=["net_sales", "conversion"], by=["week"], start="2025-09-01", end="2025-09-28")
        pd.testing.assert_frame_equal(prepared.run(s, **request), _computed(s, **request))
        pd.testing.assert_frame_equal(prepared.run(s, **request), _computed(s, **request))
        assert prepared.known_shapes(s) == 1


def test_a_source_that_cannot_bind_gets_compute(rolled):
    class Plain:  # a source with tables only, as the tests' memtable sources
        def __init__(self, session):
            self.table = session.table

    with wb.session("u_hq", settings=rolled) as s:
        request = dict(metrics=["net_sales"], by=["region"], start="2025-04-01", end="2025-04-30")
        pd.testing.assert_frame_equal(prepared.run(Plain(s), **request), _computed(s, **request))


def test_a_closed_session_and_its_compiled_shapes_are_freed(rolled):
    import gc
    import weakref

    s = wb.session("u_region_east", settings=rolled)
    prepared.run(s, ["net_sales", "traffic"], ["region"], "2025-05-01", "2025-05-31")
    assert prepared.known_shapes(s) == 1
    gone = weakref.ref(s)
    s.close()
    assert prepared.known_shapes(s) == 0
    del s
    gc.collect()
    assert gone() is None, "something still holds the closed session (a compiled expression refers back to it)"
