"""铺货 and AI订货 from the warehouse (season.py) on a writable copy of the tiny chain."""

from __future__ import annotations

import datetime as dt
import math
import shutil

import pandas as pd
import pytest

import workbench as wb
from workbench.allocation import inputs, season
from workbench.allocation.initial import InitialSettings

BUY_AS_OF = dt.date(2025, 3, 2)  # before the 2025AW orders are placed: the buy starts from nothing owned
ORDERED_AS_OF = dt.date(2025, 7, 6)  # 2025AW orders placed, goods not all at the DC yet


@pytest.fixture(scope="module")
def chain(tiny_settings, tmp_path_factory):
    """A copy of tiny, an as-of date a week before a launch, and its 铺货 (computed once: the tests only read it)."""
    root = tmp_path_factory.mktemp("season")
    settings = tiny_settings.with_(warehouse=root / "tiny.duckdb", audit_dir=root / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        launch = s.sql("select min(launch_date) as d from core.products "
                       "where launch_date >= date '2025-09-01'").to_pandas()["d"].iloc[0]
        assert launch is not None and not pd.isna(launch), "tiny should launch SKCs in September 2025"
        as_of = pd.Timestamp(launch).date() - dt.timedelta(days=7)
        allocation = season.season_allocation(s, as_of)
        stock = inputs.stock_position(s, as_of)
        products = s.sql("select sku_id, skc_id, launch_date, is_core_size from core.products").to_pandas()
    return settings, as_of, allocation, stock, products


def test_moves_only_new_skus_from_the_dc_within_its_stock_and_reserve(chain):
    _, as_of, allocation, stock, products = chain
    moves, dc = allocation.moves, allocation.settings.dc_id
    assert len(moves) and (moves["origin"] == dc).all() and (moves["units"] > 0).all()
    launch = pd.to_datetime(products.set_index("sku_id")["launch_date"]).dt.date
    days = moves["sku_id"].map(launch)
    assert ((days > as_of) & (days <= as_of + dt.timedelta(days=14))).all()
    held_by_shops = set(stock.loc[(stock["location_id"] != dc) & (stock["stock"] > 0), "sku_id"])
    assert not set(moves["sku_id"]) & held_by_shops
    at_dc = stock[stock["location_id"] == dc].set_index("sku_id")["on_hand"]
    sent = moves.groupby("sku_id")["units"].sum()
    for sku, units in sent.items():
        reserve = math.ceil(0.30 * at_dc[sku] - 1e-9)
        assert units <= at_dc[sku] - reserve, f"SKU {sku}: {units} sent of {at_dc[sku]} at the DC"
    assert "铺货" in allocation.describe()


def test_every_receiving_store_gets_a_whole_core_size_run(chain):
    _, _, allocation, _, products = chain
    moves, stores = allocation.moves, allocation.stores.set_index("store_id")
    skus = products.set_index("sku_id")
    new = products[products["skc_id"].isin(allocation.buy["skc_id"])].copy()
    no_core = ~new.groupby("skc_id")["is_core_size"].transform("any")
    core = new[new["is_core_size"].fillna(False).astype(bool) | no_core]
    minimum = InitialSettings().min_display
    shown = moves.assign(skc_id=moves["sku_id"].map(skus["skc_id"]))
    for (store, skc), got in shown.groupby(["dest", "skc_id"]):
        need = minimum.get(stores.loc[store, "grade"], 1)
        runs = got.set_index("sku_id")["units"].reindex(core.loc[core["skc_id"] == skc, "sku_id"]).fillna(0)
        assert (runs >= need).all(), f"store {store}, SKC {skc}: broken size run {runs.to_dict()}"


def test_inputs_are_ranged_shops_with_curves_summing_to_one(chain):
    settings, _, allocation, _, _ = chain
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        types = inputs.planning_stores(s).set_index("store_id")["store_type"]
    assert set(allocation.demand["store_id"].map(types)) <= {"own", "consignment"}
    assert (allocation.demand["mean"] >= 0).all() and (allocation.demand["nb_size"] > 0).all()
    sums = allocation.size_curves.groupby(["store_id", "skc_id"])["size_share"].sum()
    assert ((sums - 1).abs() < 1e-9).all()


def test_writing_twice_leaves_one_plan_and_store_managers_may_not_write(chain):
    settings, as_of, allocation, _, _ = chain
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        allocation.write(s)
        allocation.write(s)
        rows = s.sql(f"select count(*) as n, sum(units) as units from marts.initial_allocation "
                     f"where as_of = date '{as_of}'").to_pandas().iloc[0]
    assert int(rows["n"]) == len(allocation.moves) and int(rows["units"]) == int(allocation.moves["units"].sum())
    with wb.session("u_store_001", settings=settings, read_only=False) as s:
        with pytest.raises(PermissionError, match="may not write"):
            allocation.write(s)


def test_season_buy_orders_whole_units_and_checks_the_structure(chain):
    settings = chain[0]
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        suggestions, structure = season.season_buy(s, "2025AW", 2025, BUY_AS_OF)
        later, _ = season.season_buy(s, "AW", 2025, ORDERED_AS_OF)
    assert (suggestions["order_units"] >= 0).all() and suggestions["order_units"].sum() > 0
    assert abs(structure["buy_share"].sum() - 1) < 1e-9 and abs(structure["reference_share"].sum() - 1) < 1e-9
    assert set(structure["flag"]) <= {"over", "under", "ok"}
    # the orders placed by July count as owned: the suggestion shrinks
    assert later["owned_units"].sum() > 0 and later["order_units"].sum() < suggestions["order_units"].sum()


def test_bad_input_says_what_to_do(chain):
    settings, as_of, *_ = chain
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        with pytest.raises(ValueError, match="no new SKUs launch between .*: widen days_ahead"):
            season.season_allocation(s, dt.date(2025, 11, 30))
        with pytest.raises(ValueError, match="no DC stock"):  # August's launches, before their goods arrive
            season.season_allocation(s, dt.date(2025, 6, 1), days_ahead=75)
        with pytest.raises(ValueError, match="days_ahead and weeks"):
            season.season_allocation(s, as_of, days_ahead=0)
        with pytest.raises(ValueError, match="no SKCs planned for season 2031AW"):
            season.season_buy(s, "2031AW", 2031, BUY_AS_OF)
        with pytest.raises(ValueError, match="reference season 1999SS"):
            season.season_buy(s, "2025AW", 2025, BUY_AS_OF, reference="1999SS")
