"""爆款预测 on the tiny chain: the mechanics (one row per SKC, no leakage, the label, ranking, errors).

The tiny chain has 48 new SKCs (2025SS, 2025AW), too few for a meaningful
model; quality is measured on the demo chain (see the module docstring of
``workbench.forecasting.hot_items`` and the commit message for the figures).
"""

from __future__ import annotations

import datetime as dt
import shutil

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.forecasting.hot_items import (
    LABEL,
    OUTCOME_DAYS,
    RANKING_COLUMNS,
    STAGE_DAYS,
    STAGES,
    data_window,
    evaluate_hot_items,
    hot_item_features,
    model_features,
    precision_at_k,
    rank_new_items,
    train_hot_items,
)

MIN_TRAIN = 20  # the tiny chain's 2025SS has 24 new SKCs
AS_OF = "2025-08-26"  # 2025SS outcomes known, 2025AW launching since 2025-08-12


@pytest.fixture
def session(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def models(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings, read_only=True) as s:
        return {stage: train_hot_items(s, AS_OF, stage, min_training_skcs=MIN_TRAIN) for stage in STAGES}


def _frame(session, as_of, stage) -> pd.DataFrame:
    return hot_item_features(session, as_of, stage).to_pandas()


# --- features ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_features_have_one_row_per_new_skc(session, stage):
    feats = hot_item_features(session, AS_OF, stage)
    assert isinstance(feats, ir.Table)  # built in the engine, fetched once
    f = feats.to_pandas()
    assert f.skc_id.is_unique and len(f) > 0
    assert set(model_features(stage)) <= set(f.columns)
    launch = pd.to_datetime(f.launch_date).dt.date
    as_of = dt.date.fromisoformat(AS_OF)
    assert (launch >= data_window(session).first_day).all()  # launched in the window: the 2020 basics are not new
    if stage == "prelaunch":
        assert (launch < as_of + dt.timedelta(days=28)).all() and (launch >= as_of).any()
    else:
        assert (launch + dt.timedelta(days=STAGE_DAYS[stage]) <= as_of).all()
    cutoff = pd.to_datetime(f.cutoff).dt.date
    assert (cutoff <= as_of).all()
    known = f[LABEL].notna()
    assert known.sum() == 24  # the 2025SS new SKCs; 2025AW's 8 weeks have not ended
    assert (launch[known] + dt.timedelta(days=OUTCOME_DAYS) <= as_of).all()
    assert f.loc[known, LABEL].between(0, 1).all()


def test_week_features_count_the_first_days_of_sales(session):
    w1, w2 = _frame(session, AS_OF, "week1"), _frame(session, AS_OF, "week2").set_index("skc_id")
    w1 = w1.set_index("skc_id").loc[w2.index]
    assert (w2.week1_units == w1.early_units).all()
    assert (w2.early_units >= 0).all() and (w2.selling_stores <= w2.ranged_stores + 1).all()
    assert w2.early_sell_through.between(0, 1).all()


def _truncate(settings, as_of: str, tmp_path):
    """A copy of the warehouse as it stood on the evening before ``as_of``: later facts deleted (as admin)."""
    copy = tmp_path / "truncated.duckdb"
    shutil.copy(settings.warehouse, copy)
    truncated = settings.with_(warehouse=copy)
    day = f"date '{as_of}'"
    statements = [
        f"delete from core.sales where sale_date >= {day}",
        f"delete from core.payments where pay_date >= {day}",
        f"delete from core.inventory where snapshot_date >= {day}",
        f"delete from core.transfers where ship_date >= {day}",
        f"update core.transfers set receive_date = null where receive_date >= {day}",
        f"delete from core.purchase_orders where order_date >= {day}",
        f"delete from core.out_of_stock where start_date >= {day}",
        f"update core.out_of_stock set end_date = null where end_date >= {day}",
        f"delete from core.b_goods where flagged_date >= {day}",
        f"delete from core.price_changes where effective_date >= {day}",
        # The range plan for launch day is a plan, known ahead; later range extensions are not.
        f"delete from core.assortment a where start_date >= {day} and start_date > "
        "(select min(p.launch_date) from core.products p where p.skc_id = a.skc_id)",
        f"update core.assortment set end_date = null where end_date >= {day}",
    ]
    with wb.session("u_admin", settings=truncated, read_only=False) as s:
        for sql in statements:
            s.sql(sql)
    return truncated


@pytest.mark.parametrize("as_of", [pytest.param("2025-04-02", marks=pytest.mark.slow), "2025-09-05"])
def test_features_do_not_see_after_as_of(tiny_settings, tmp_path, as_of):
    truncated = _truncate(tiny_settings, as_of, tmp_path)
    with wb.session("u_analyst", settings=tiny_settings, read_only=True) as full, \
            wb.session("u_analyst", settings=truncated, read_only=True) as cut:
        assert data_window(cut).last_day < dt.date.fromisoformat(as_of) <= data_window(full).last_day
        for stage in STAGES:
            a, b = _frame(full, as_of, stage), _frame(cut, as_of, stage)
            assert len(a) > 0
            pd.testing.assert_frame_equal(a, b, check_dtype=False)


# --- the label ----------------------------------------------------------------------------------------


def _hand_sell_through(session, skc_id: int) -> float:
    """8-week sell-through by hand: stock at day 56 rolled *back* from the next snapshot after it."""
    sql = f"""
    with p as (select min(launch_date) as launch, min(launch_date) + 55 as d from products where skc_id = {skc_id}),
    nxt as (select min(snapshot_date) as t2 from inventory, p where snapshot_date >= p.d),
    skus as (select sku_id from products where skc_id = {skc_id}),
    sold as (select sum(qty) as units from sales, p where skc_id = {skc_id} and sale_date <= p.d),
    later_sold as (select coalesce(sum(qty), 0) as units from sales, p, nxt
                   where skc_id = {skc_id} and sale_date > p.d and sale_date <= nxt.t2),
    later_in as (select coalesce(sum(case movement_type when 'supplier_receipt' then qty else -qty end), 0) as units
                 from transfers, p, nxt
                 where sku_id in (select sku_id from skus) and movement_type in ('supplier_receipt', 'supplier_return')
                   and ship_date > p.d and ship_date <= nxt.t2),
    held as (select sum(coalesce(on_hand, 0) + coalesce(in_transit, 0)) as units from inventory, nxt
             where sku_id in (select sku_id from skus) and snapshot_date = nxt.t2)
    select sold.units as sold, held.units + later_sold.units - later_in.units as stock
    from sold, held, later_sold, later_in
    """
    row = session.sql(sql).to_pandas().iloc[0]
    return float(row["sold"]) / float(row["sold"] + row["stock"])


def test_label_matches_a_hand_computation(session):
    f = _frame(session, "2026-01-01", "prelaunch")
    f = f[f[LABEL].notna()].copy()
    day56 = pd.to_datetime(f.launch_date) + pd.Timedelta(days=OUTCOME_DAYS - 1)
    on_sunday = f[day56.dt.dayofweek == 6].skc_id.iloc[0]   # day 56 is a snapshot day: no roll at all
    midweek = f[day56.dt.dayofweek == 2].skc_id.iloc[0]     # rolled forward from Sunday, checked rolled back
    for skc_id in (on_sunday, midweek):
        expected = _hand_sell_through(session, int(skc_id))
        assert f.set_index("skc_id").loc[skc_id, LABEL] == pytest.approx(expected, abs=1e-12)


# --- models and ranking -------------------------------------------------------------------------------


def test_models_are_deterministic(session, models):
    f = _frame(session, AS_OF, "week1")
    again = train_hot_items(session, AS_OF, "week1", min_training_skcs=MIN_TRAIN)
    assert np.array_equal(models["week1"].predict(f), again.predict(f))
    assert models["week1"].n_train == 24 and models["week1"].as_of == dt.date.fromisoformat(AS_OF)
    assert models["week1"].params["num_threads"] <= 2 and models["week1"].params["deterministic"]


def test_ranking_is_sorted_and_uses_the_latest_stage(session, models):
    ranked = rank_new_items(session, models, AS_OF)
    assert list(ranked.columns) == RANKING_COLUMNS
    assert len(ranked) > 0 and ranked.skc_id.is_unique
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked.predicted_sell_through.is_monotonic_decreasing
    as_of = dt.date.fromisoformat(AS_OF)
    launch = ranked.launch_date
    assert all(as_of - dt.timedelta(days=14) <= d < as_of + dt.timedelta(days=28) for d in launch)
    expected = np.where(ranked.days_on_sale >= 14, "week2", np.where(ranked.days_on_sale >= 7, "week1", "prelaunch"))
    assert list(ranked.stage) == list(expected)
    assert set(ranked.stage) == set(STAGES)  # 2025AW launches from 2025-08-12 to 2025-10-10


def test_ranking_with_one_model_scores_what_it_can(session, models):
    ranked = rank_new_items(session, models["week1"], AS_OF)
    assert set(ranked.stage) == {"week1"} and (ranked.days_on_sale >= 7).all()


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["2024-06-01", "2025-01-01", "2026-01-02"])
def test_as_of_outside_the_data_is_refused(session, as_of):
    message = r"as_of .* is outside the data.*2025-01-01\.\.2025-12-31.*from 2025-01-02 to 2026-01-01"
    with pytest.raises(ValueError, match=message):
        hot_item_features(session, as_of, "week2")
    with pytest.raises(ValueError, match=message):
        train_hot_items(session, as_of, "prelaunch", min_training_skcs=MIN_TRAIN)


def test_ranking_after_the_data_is_refused(session, models):
    with pytest.raises(ValueError, match="outside the data"):
        rank_new_items(session, models, "2026-01-02")


def test_too_few_outcomes_says_when_there_are_enough(session):
    launches = sorted(pd.to_datetime(_frame(session, "2026-01-01", "prelaunch").launch_date).dt.date)
    earliest = launches[MIN_TRAIN - 1] + dt.timedelta(days=OUTCOME_DAYS)  # the 20th outcome is known from then
    with pytest.raises(ValueError, match=rf"too few .* before as_of 2025-04-01: 0, need {MIN_TRAIN}.*from {earliest}"):
        train_hot_items(session, "2025-04-01", "prelaunch", min_training_skcs=MIN_TRAIN)
    the_day_before = earliest - dt.timedelta(days=1)
    known = sum(d + dt.timedelta(days=OUTCOME_DAYS) <= the_day_before for d in launches)
    assert known < MIN_TRAIN
    with pytest.raises(ValueError, match=rf": {known}, need"):
        train_hot_items(session, the_day_before, "prelaunch", min_training_skcs=MIN_TRAIN)
    assert train_hot_items(session, earliest, "prelaunch", min_training_skcs=MIN_TRAIN).n_train >= MIN_TRAIN
    with pytest.raises(ValueError, match="only 48 new SKCs"):
        train_hot_items(session, "2026-01-01", "prelaunch", min_training_skcs=100)


def test_other_mistakes_are_clear(session, models):
    with pytest.raises(ValueError, match="stage must be one of prelaunch, week1, week2"):
        hot_item_features(session, AS_OF, "week3")
    with pytest.raises(ValueError, match="have seen what followed it"):
        rank_new_items(session, models, "2025-08-01")
    with pytest.raises(ValueError, match="no new SKCs of season '2023SS'.*2025AW, 2025SS"):
        evaluate_hot_items(session, "2023SS", min_training_skcs=MIN_TRAIN)


# --- evaluation ---------------------------------------------------------------------------------------


def test_precision_at_k():
    actual = pd.Series([0.9, 0.8, 0.1, 0.2, 0.3], index=[1, 2, 3, 4, 5])
    assert precision_at_k(actual, actual, 2) == 1.0
    assert precision_at_k(pd.Series([0.0, 0, 1, 1, 0], index=actual.index), actual, 2) == 0.0
    assert precision_at_k(pd.Series([1.0, 0, 1, 0, 0], index=actual.index), actual, 2) == 0.5
    assert precision_at_k(actual, actual, 10) == 1.0  # k larger than the cohort: the whole cohort


@pytest.mark.slow
def test_evaluation_trains_before_the_season(tiny_settings):
    with wb.session("u_analyst", settings=tiny_settings, read_only=True) as s, \
            wb.session("u_oracle", settings=tiny_settings, read_only=True) as oracle:
        r = evaluate_hot_items(s, "2025AW", ks=(5,), shares=(0.25,), min_training_skcs=MIN_TRAIN, oracle=oracle)
    assert set(r.stage) == set(STAGES)
    assert set(r.method) == {"model", "category_price_history", "early_sell_through"}
    assert set(r[r.stage == "prelaunch"].method) == {"model", "category_price_history"}
    assert (r.train_as_of == dt.date(2025, 8, 12)).all() and (r.n_train == 24).all() and (r.cohort == 24).all()
    assert set(zip(r.top, r.k)) == {("5", 5), ("25%", 6)}
    assert r.precision_at_k.between(0, 1).all() and r.spearman.between(-1, 1).all() and r.hot_share.between(0, 1).all()
