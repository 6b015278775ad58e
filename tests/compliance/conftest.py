"""The compliance suite: the same tests on every engine (DESIGN invariant 2).

Each test receives ``settings`` for a tiny simulated chain built for one
engine, and ``open_session(user)`` for governed sessions on it. What an
engine cannot do is marked explicitly, as ibis does for its backends::

    @pytest.mark.notimpl(["pyspark"], reason="Spark has no multi-table transactions")

On a listed engine the test must raise ``NotImplementedError``; if it starts
passing there, the strict xfail fails the run and the marker comes off.
"""

from __future__ import annotations

import shutil

import pytest

import workbench as wb
from workbench.config import load_settings
from workbench.governance.session import Session
from workbench.simulation.build import build_warehouse

SEED = 11
_NEEDS_JAVA = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (make system-deps)")
ENGINES = ["duckdb", pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.slow, _NEEDS_JAVA])]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "notimpl(engines, reason): the engine cannot do this; there the test must raise NotImplementedError"
    )


@pytest.fixture(scope="package", params=ENGINES)
def settings(request, tmp_path_factory):
    engine = request.param
    root = tmp_path_factory.mktemp(f"compliance-{engine}")
    warehouse = root / ("warehouse.duckdb" if engine == "duckdb" else "spark")
    settings = load_settings(engine=engine, warehouse=warehouse, audit_dir=root / "audit")
    build_warehouse(settings, scale="tiny", seed=SEED, progress=False)
    return settings


class SessionCache:
    """Read-only sessions, one per user: Spark sessions are slow to open.

    DuckDB allows one access mode per file and process, so tests that write
    call ``close_all()`` first; the next read reopens what it needs.
    """

    def __init__(self, settings):
        self.settings = settings
        self.opened: dict[str, Session] = {}

    def __call__(self, user: str) -> Session:
        if user not in self.opened:
            self.opened[user] = wb.session(user, settings=self.settings, read_only=True)
        return self.opened[user]

    def close_all(self) -> None:
        for s in self.opened.values():
            s.close()
        self.opened.clear()


@pytest.fixture(scope="package")
def open_session(settings):
    cache = SessionCache(settings)
    yield cache
    cache.close_all()


@pytest.fixture
def no_readers(open_session):
    """For tests that open a writing session."""
    open_session.close_all()


@pytest.fixture(autouse=True)
def _notimpl(request):
    marker = request.node.get_closest_marker("notimpl")
    if marker is None:
        return
    engine = request.getfixturevalue("settings").engine
    if engine in marker.args[0]:
        request.applymarker(pytest.mark.xfail(raises=NotImplementedError, strict=True, reason=marker.kwargs.get("reason", "")))


def column(table, name: str) -> list:
    """One column of an ibis table as a Python list (executed, audited)."""
    return table.to_pyarrow().column(name).to_pylist()


def store_ids(open_session, **where) -> set[int]:
    """Location ids matching ``where`` on core.stores, read as the unrestricted oracle."""
    stores = open_session("u_oracle").table("stores")
    for col, value in where.items():
        stores = stores.filter(stores[col] == value)
    return set(column(stores.select("store_id"), "store_id"))
