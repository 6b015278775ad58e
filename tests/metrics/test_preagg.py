"""Rollups (workbench.metrics.preagg) and aggregate awareness (workbench.metrics.awareness) on the tiny chain.

Built once per module into a copy of the tiny warehouse by the pipeline user;
read back by users of different scopes. Expected numbers come from the raw
facts (``compute(..., rollups=False)``) or from direct governed queries.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

import workbench as wb
from workbench.metrics import awareness, preagg
from workbench.metrics.facts import FACTS
from workbench.metrics.query import Query
from workbench.metrics.rollup import compute, explain
from workbench.warehouse.schema import spec

KPIS = ["net_sales", "traffic", "conversion", "units_per_ticket", "average_ticket", "sell_through", "weeks_of_cover"]


def copy_of(tiny_settings, folder):
    settings = tiny_settings.with_(warehouse=folder / "tiny.duckdb", audit_dir=folder / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    return settings


def build(settings, **kwargs):
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        return preagg.build_rollups(s, **kwargs)


@pytest.fixture(scope="module")
def rolled(tiny_settings, tmp_path_factory):
    """A copy of tiny with every rollup built (as of its last sale day)."""
    settings = copy_of(tiny_settings, tmp_path_factory.mktemp("rolled"))
    build(settings)
    return settings


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-9)


def both(s, **query) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute(s, **query).to_pandas(), compute(s, **query, rollups=False).to_pandas()


def tables(plan) -> dict[str, str]:
    return {p["fact"]: p["table"] for p in plan}


# --- the build -----------------------------------------------------------------------------------


def test_every_rollup_has_a_contract_with_its_columns():
    for rollup in preagg.ROLLUPS:
        assert spec(rollup.table).column_names == [*preagg.stored_columns(rollup), "as_of", "run_id"]
    assert spec(preagg.CATALOG).key == ("name",)


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_the_build_writes_every_rollup_and_the_catalog_tagged_with_the_run(rolled):
    with wb.session("u_hq", settings=rolled) as s:
        catalog = {r["name"]: r for r in s.table(preagg.CATALOG).to_pyarrow().to_pylist()}
        last_sale = s.table("sales").sale_date.max().to_pyarrow().as_py()
        assert set(catalog) == set(preagg.BY_NAME)
        assert {r["as_of"] for r in catalog.values()} == {last_sale}
        for rollup in preagg.ROLLUPS:
            t = s.table(rollup.table)
            assert t.count().to_pyarrow().as_py() == catalog[rollup.name]["rows"] > 0
            assert set(t.run_id.to_pyarrow().to_pylist()) == {catalog[rollup.name]["run_id"]}
            assert set(t.as_of.to_pyarrow().to_pylist()) == {last_sale}
        day = s.table("marts.rollup_sales_day").to_pandas()
        sales = s.table("sales").to_pandas()
        # a store-day rollup carries real ticket counts: every ticket has one store and one day
        assert day["tickets"].sum() == sales.loc[sales.line_type == "sale", "ticket_id"].nunique()
        assert day["net_sales"].sum() == pytest.approx(sales["net_amount"].sum())


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_rollup_that_does_not_add_up_is_refused_and_nothing_is_written(tiny_settings, tmp_path, monkeypatch):
    settings = copy_of(tiny_settings, tmp_path)
    real = preagg.rollup_expr

    def lossy(source, rollup, **kw):  # a bug that loses a store's rows
        t = real(source, rollup, **kw)
        return t.filter(t.store_id != 1) if rollup.name == "sales_day_brand" else t

    monkeypatch.setattr(preagg, "rollup_expr", lossy)
    with pytest.raises(preagg.RollupMismatch, match="sales_day_brand: net_sales adds up to"):
        build(settings)
    with wb.session("u_hq", settings=settings) as s:
        assert not s.table_exists(preagg.CATALOG) and not s.table_exists("marts.rollup_sales_day")


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_partial_build_keeps_the_other_rollups_in_the_catalog(tiny_settings, tmp_path):
    settings = copy_of(tiny_settings, tmp_path)
    build(settings, as_of="2025-06-30")
    build(settings, names=["sales_day"])
    with wb.session("u_hq", settings=settings) as s:
        catalog = {r["name"]: r["as_of"] for r in s.table(preagg.CATALOG).to_pyarrow().to_pylist()}
    assert len(catalog) == len(preagg.ROLLUPS)
    assert catalog["sales_day"] > dt.date(2025, 6, 30) and catalog["sales_week"] == dt.date(2025, 6, 30)


# --- choosing ------------------------------------------------------------------------------------


SIZES = {"sales_day": 3000, "sales_week": 450, "sales_month": 100, "sales_day_brand": 6000,
         "sales_day_category": 9000, "sales_day_product": 40000, "sales_week_product": 9000,
         "sales_month_product": 3000, "stock_snapshot": 500, "stock_snapshot_product": 5000}


def _catalog(*names: str) -> dict[str, preagg.Built]:
    return {n: preagg.Built(preagg.BY_NAME[n], dt.date(2025, 12, 31), SIZES.get(n, 100)) for n in names}


def _pick(catalog, fact: str, measures: tuple[str, ...], **query) -> str | None:
    choice = awareness.choose(catalog, FACTS[fact], Query.make(**query), measures)
    return choice.built.rollup.name if choice.built else None


def test_the_chooser_takes_the_smallest_rollup_that_covers_the_query():
    cat = _catalog(*preagg.BY_NAME)
    sales = ("net_sales", "units")
    assert _pick(cat, "sales", sales, by=["week", "region"]) == "sales_week"
    assert _pick(cat, "sales", sales, by=["month"], start="2025-03-01", end="2025-05-31") == "sales_month"
    # a month rollup cannot give weeks; a range not made of whole months needs days
    assert _pick(cat, "sales", sales, by=["week"], start="2025-03-03", end="2025-03-30") == "sales_week"
    assert _pick(cat, "sales", sales, start="2025-03-02", end="2025-03-30") == "sales_day"
    assert _pick(cat, "sales", sales, by=["category"], where={"brand": "Lumen"}) == "sales_month_product"
    assert _pick(cat, "sales", sales, by=["category"], start="2025-03-04", end="2025-03-09") == "sales_day_category"
    assert _pick(cat, "sales", sales, by=["category", "season"], start="2025-03-04") == "sales_day_product"
    assert _pick(cat, "sales", sales, by=["size"]) is None  # no rollup keeps SKUs


def test_tickets_come_only_from_a_rollup_with_exactly_the_query_product_attributes():
    cat = _catalog(*preagg.BY_NAME)
    t = ("tickets", "net_sales")
    assert _pick(cat, "sales", t, by=["region"]) == "sales_month"
    assert _pick(cat, "sales", t, where={"brand": "Lumen"}) == "sales_day_brand"
    assert _pick(cat, "sales", t, by=["brand"]) == "sales_day_brand"
    assert _pick(cat, "sales", t, where={"brand": ["Lumen", "Stride"]}) is None  # a ticket with both would count twice
    assert _pick(cat, "sales", t, by=["category"], where={"brand": "Lumen"}) is None
    assert _pick(cat, "sales", t, by=["brand", "category", "season"]) == "sales_month_product"


def test_stock_and_sales_to_date_rules():
    cat = _catalog(*preagg.BY_NAME)
    # stock is kept per snapshot, so any period and range; sales to date need days
    assert _pick(cat, "stock", ("stock_units",), by=["week"], start="2025-03-04") == "stock_snapshot"
    assert _pick(cat, "stock", ("stock_units",), where={"brand": "Lumen"}) == "stock_snapshot_product"
    assert _pick(cat, "stock", ("stock_cost",)) is None  # not rolled up: it would need a column policy
    assert _pick(cat, "sales_to_date", ("units_to_date", "units_trailing"), by=["month"]) == "sales_day"
    assert _pick(cat, "sales_to_date", ("units_to_date",), by=["month", "category"]) == "sales_day_category"
    assert _pick(cat, "traffic", ("traffic",)) is None


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_explain_shows_the_table_each_fact_is_read_from(rolled):
    with wb.session("u_region_east", settings=rolled) as s:
        plan = tables(explain(s, KPIS, start="2025-03-01", end="2025-03-31"))
        assert plan["sales"] == "marts.rollup_sales_month"
        assert plan["stock"] == "marts.rollup_stock_snapshot"
        assert plan["sales_to_date"] == "marts.rollup_sales_day"
        assert plan["traffic"].startswith("raw")
        assert tables(explain(s, "net_sales", by="sku_code"))["sales"].startswith("raw")
        assert all(p["table"].startswith("raw") for p in explain(s, KPIS, rollups=False))
        with awareness.rollups_enabled(False):
            assert all(p["table"].startswith("raw") for p in explain(s, KPIS))


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_store_manager_gets_only_their_store_from_the_rollups(rolled):
    with wb.session("u_store_001", settings=rolled) as s:
        query = dict(metrics=["net_sales", "units_per_ticket", "sell_through"], by=["store_code", "month"],
                     start="2025-01-01", end="2025-06-30")
        assert tables(explain(s, **query))["sales"] == "marts.rollup_sales_month"
        got, raw = both(s, **query)
        assert set(got["store_code"]) == {"S001"}
        same(got, raw)
        assert set(s.table("marts.rollup_sales_day").store_id.to_pandas()) == set(s.scope.store_ids)
        assert "cost_amount" not in s.table("marts.rollup_sales_day").columns  # hidden, as in core.sales
    with wb.session("u_hq", settings=rolled) as s:  # the same numbers as a direct query on the facts
        sales = s.table("sales").to_pandas()
        stores = s.table("stores").to_pandas().set_index("store_code")
    day = pd.to_datetime(sales.sale_date)
    mine = sales[(sales.store_id == stores.loc["S001", "store_id"]) & (day >= "2025-01-01") & (day <= "2025-06-30")]
    assert got["net_sales"].sum() == pytest.approx(mine["net_amount"].sum())


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_role_without_marts_reads_the_raw_facts_without_refusals(rolled):
    with wb.session("u_warehouse", settings=rolled) as s:
        got = compute(s, "stock_units", by="month").to_pandas()
        assert all(p["table"].startswith("raw") for p in explain(s, "stock_units"))
    with wb.session("u_hq", settings=rolled) as s:
        assert not got.empty and got["stock_units"].tolist() == compute(s, "stock_units", by="month").to_pandas()[
            "stock_units"].tolist()
    denied = [json.loads(line) for f in rolled.audit_dir.glob("*.jsonl") for line in f.read_text().splitlines()]
    assert not [r for r in denied if r["user"] == "u_warehouse" and r["status"] == "denied"]


def test_a_warehouse_without_rollups_answers_from_the_raw_facts(tiny_settings):
    with wb.session("u_hq", settings=tiny_settings) as s:
        plan = explain(s, KPIS, by="region")
        assert all(p["table"].startswith("raw") for p in plan)
        assert "no rollup of this fact is built" in plan[0]["reason"]
        assert not compute(s, KPIS, by="region").to_pandas().empty


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_rollup_older_than_the_data_is_completed_from_the_facts(tiny_settings, tmp_path):
    settings = copy_of(tiny_settings, tmp_path)
    build(settings, as_of="2025-06-30")
    with wb.session("u_region_east", settings=settings) as s:
        for query in (
            dict(metrics=KPIS, by=["month"], start="2025-05-01", end="2025-09-30"),
            dict(metrics=["net_sales", "stock_units", "size_break_rate"], by=["week", "brand"]),
            dict(metrics=["net_sales", "units_per_ticket"], where={"brand": "Lumen"}),
        ):
            plan = explain(s, **query)
            assert any(p["raw_tail_from"] == dt.date(2025, 7, 1) for p in plan), plan
            same(*both(s, **query))
        # a query inside what the rollup holds reads no facts
        plan = explain(s, KPIS, start="2025-03-01", end="2025-03-31")
        assert all(p["raw_tail_from"] is None for p in plan)


# --- the pipeline step -----------------------------------------------------------------------------


def test_the_notebook_is_stored_clean_and_thin():
    from workbench.config import project_root

    from ..notebook_checks import assert_clean_and_thin

    assert_clean_and_thin(project_root() / "notebooks" / "rollups.ipynb", ("as_of", "user", "run_id"))


@pytest.mark.slow  # builds the rollups of the tiny chain (about 5 s)
def test_a_staged_build_is_seen_only_once_published(tiny_settings, tmp_path):
    settings = copy_of(tiny_settings, tmp_path)
    with wb.session("u_pipeline", settings=settings, read_only=False, stage=True, run_id="daily-test") as s:
        preagg.build_rollups(s)  # as a pipeline step's kernel does (WB_STAGE_WRITES=1)
    with wb.session("u_hq", settings=settings) as s:
        assert tables(explain(s, "net_sales", by="month"))["sales"].startswith("raw")
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        published = s.publish("daily-test")
    assert set(published) == {preagg.CATALOG, *(r.table for r in preagg.ROLLUPS)}
    with wb.session("u_hq", settings=settings) as s:
        assert tables(explain(s, "net_sales", by="month"))["sales"] == "marts.rollup_sales_month"
        same(*both(s, metrics=["net_sales", "units"], by=["month", "region"]))


def test_every_declared_rollup_has_its_table_contract_with_the_same_grain():
    """The rollups are declared twice (their logic here, their table contracts in schema.py): they must agree."""
    from workbench.warehouse.schema import ROLLUP_TABLES

    contracts = {t.qualified: t for t in ROLLUP_TABLES if t.name != "rollups"}
    assert set(contracts) == {f"marts.rollup_{r.name}" for r in preagg.ROLLUPS}
    for r in preagg.ROLLUPS:
        assert contracts[f"marts.rollup_{r.name}"].key == (r.time, "store_id", *r.product), r.name
