"""爆款预测 (hot-item prediction): which new style-colours will sell through fastest in their first 8 weeks.

A new style-colour (SKC, 款色) is *hot* (爆款) when a large share of what the
chain bought of it has sold after 8 weeks on sale. Merchandisers want to know
that early: before launch, to place the buy and the allocation; after the
first one or two weeks, to chase it with a reorder (追单) before the size run
breaks. This module ranks new SKCs by their predicted 8-week sell-through.

    import workbench as wb
    from workbench.forecasting.hot_items import train_hot_item_models, rank_new_items, evaluate_hot_items

    s = wb.session("u_analyst")
    models = train_hot_item_models(s, "2025-05-01")      # one LightGBM per stage
    rank_new_items(s, models, "2025-05-01")          # launched in the last 14 days + launching in the next 28
    evaluate_hot_items(s, "2025SS")                    # precision@k and Spearman vs the merchandisers' baseline

The outcome (``sell_through_8w``)
---------------------------------
Chain-wide sell-through after 56 days on sale, with the metrics layer's one
definition (``workbench.metrics`` ``sell_through``: sold / (sold + stock);
stock = on hand + in transit, qualities A and B, every location including the
DC), taken at the end of day 56 (``launch_date + 55``):

- *sold*: net units on every ticket line from the launch to day 56;
- *stock at day 56*: the inventory is only snapshotted on Sundays, so the
  stock of the last snapshot at or before day 56 is rolled forward to day 56
  with what changes company stock in between: supplier receipts in,
  supplier returns out, net units sold (moves between locations cancel:
  in-transit units count at their destination). Taking the Sunday stock as
  is, beside 56 days of sales, would count the units sold after that Sunday
  twice, and a launch on a Monday would get 56 days but one on a Sunday 50.
  The roll-forward is exact (the simulator tests the stock identity) and the
  unit tests check it against the *next* snapshot rolled back.

It is known from ``launch_date + 56`` on: a model trained at ``as_of`` learns
only from SKCs with ``launch_date + 56 <= as_of``, and every fact it reads is
dated before ``as_of``.

Stages and what each may know
-----------------------------
Each SKC's features are taken at its own cut-off, so that training rows look
exactly like the rows scored later (point in time, no leakage):

- ``prelaunch`` (cut-off: the launch, or ``as_of`` if earlier): the product
  attributes, full price, limited release, the range plan (locations ranging
  it on launch day, ``core.assortment``), the buy (units ordered before the
  cut-off; reorders after launch are the week stages' signal) and the 8-week
  sell-through of *similar past SKCs* (same category x price band, category,
  subcategory, brand x category), averaged over the SKCs whose outcome was
  known by the cut-off. The initial allocation is a column here (units
  shipped before the cut-off) but **not a model input at this stage**: it
  ships 1-3 days before launch, so for an item launching in 3 weeks it is
  still 0, while every training row had it.
- ``week1`` / ``week2`` (cut-off: launch + 7 / 14 days): also the initial
  allocation and the first 7 / 14 days of sales: units, selling locations,
  full-price share of units, units per ranged location, units per unit
  bought, reorder units, early sell-through (same definition, at the end of
  day 7 / 14) and, for week 2, the second week against the first.

The range plan is treated as known ahead of launch (it is a plan): its rows
starting on or before launch day count even when they start after
``as_of``; rows added after launch (range extensions, a reaction to sales)
never count.

Model, ranking, evaluation
--------------------------
One LightGBM regressor per stage (deterministic: fixed seed,
``deterministic=True``, one thread). :func:`rank_new_items` scores the SKCs
launched in the last ``lookback_days`` (default 14) with the most advanced
stage each has data for and those launching in the next ``lookahead_days``
(28) with the prelaunch model, in one ranking. :func:`evaluate_hot_items`
trains at the first launch of a test season (so only on earlier seasons)
and scores the season's SKCs against two baselines: what merchandisers do
before launch (the category x price band historical mean) and after launch
(early sell-through).

Features are ibis expressions executed by the engine; each stage's table is
fetched with one ``to_pandas()``.

Measured (demo chain, seed 42; 2026-11, 2-core machine)
-------------------------------------------------------
``evaluate_hot_items`` for 2024AW, 2025SS and 2025AW (300 SKCs each; trained
on 300 / 600 / 900 earlier SKCs; about 14 s per season). Precision@10 /
@20 / @10 % (k = 30) and Spearman, mean over the three seasons:

==========  ======================  =====  =====  =====  ========
stage       method                  @10    @20    @10%   Spearman
==========  ======================  =====  =====  =====  ========
prelaunch   model                   0.10   0.12   0.13   0.15
prelaunch   category_price_history  0.03   0.07   0.10   -0.05
week1       model                   0.33   0.55   0.66   0.88
week1       early_sell_through      0.30   0.48   0.64   0.88
week2       model                   0.40   0.58   0.69   0.93
week2       early_sell_through      0.30   0.48   0.69   0.94
==========  ======================  =====  =====  =====  ========

Before launch the outcome is mostly the hidden hot / cold factor, which no
attribute shows: the model ranks better than the category x price band
mean (which carries no signal here) but finds few of the top SKCs. After
launch, early sell-through alone ranks nearly as well as the model; the
model's gain is at the very top (top 10 / 20), within the noise of three
seasons. Against the simulator's truth (``hot_share``, base rate about
6 %): the week-1 model's top 10 holds 7-9 hot SKCs, its top 20 8-13;
early sell-through's top 10 holds 9-10. Sell-through also carries the
buyer's error (an over-bought hot SKC sells through less), so the top by
8-week sell-through and the hot SKCs are not the same set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from workbench.metrics.definitions import METRICS

STAGES: tuple[str, ...] = ("prelaunch", "week1", "week2")
STAGE_DAYS: dict[str, int] = {"prelaunch": 0, "week1": 7, "week2": 14}
"""Days of sales each stage has seen."""

OUTCOME_DAYS = 56
"""Eight weeks on sale: the horizon of the hot-item outcome."""

LOOKBACK_DAYS = 14
LOOKAHEAD_DAYS = 28
MIN_TRAINING_SKCS = 40
"""Fewer SKCs with a known outcome than this and a model would learn noise: training refuses."""

SEED = 20240601

ID_COLUMNS = ("skc_id", "skc_code", "style_name", "season", "launch_date")
CATEGORICAL = (
    "brand", "category", "subcategory", "gender", "season_type", "colour_family", "fabric",
    "thickness", "occasion", "price_band",
)
PRELAUNCH_NUMERIC = (
    "versatility", "full_price", "is_limited", "n_sizes", "launch_month", "ranged_stores", "buy_units",
    "buy_per_store", "hist_category_price_band", "hist_category_price_band_n", "hist_category",
    "hist_subcategory", "hist_brand_category",
)
EARLY_NUMERIC = (
    "initial_allocation_units", "allocation_share", "reorder_units", "early_units", "selling_stores",
    "selling_store_share", "full_price_share", "units_per_ranged_store", "units_per_buy",
    "early_sell_through",
)
WEEK2_NUMERIC = ("week1_units", "week2_over_week1")

LABEL = "sell_through_8w"
BASELINE = "hist_category_price_band"
"""What merchandisers do before launch: expect what the category x price band did in earlier seasons."""


def model_features(stage: str) -> tuple[str, ...]:
    """The model inputs of a stage (the feature table has a few more columns: ids, label, the allocation)."""
    _check_stage(stage)
    numeric = PRELAUNCH_NUMERIC
    if stage != "prelaunch":
        numeric += EARLY_NUMERIC
    if stage == "week2":
        numeric += WEEK2_NUMERIC
    return CATEGORICAL + numeric


# --- dates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataWindow:
    """The days the warehouse covers: ``first_day`` (after the opening snapshot) to ``last_day``."""

    first_day: dt.date
    last_day: dt.date

    def check(self, as_of: dt.date) -> None:
        """Refuse an ``as_of`` with no data before it, or past the day after the data ends."""
        if not (self.first_day < as_of <= self.last_day + dt.timedelta(days=1)):
            raise ValueError(
                f"as_of {as_of} is outside the data: the warehouse holds {self.first_day}..{self.last_day}; "
                f"use an as_of from {self.first_day + dt.timedelta(days=1)} to {self.last_day + dt.timedelta(days=1)} "
                "(facts dated before as_of are used)"
            )


def data_window(session: Any) -> DataWindow:
    """The window of the warehouse: from the day after the first inventory snapshot (the opening balance,
    taken the evening before) to the last day with a snapshot or a sale (snapshots are weekly)."""
    inv, sales = session.table("inventory"), session.table("sales")
    snaps = inv.aggregate(first=inv.snapshot_date.min(), last=inv.snapshot_date.max())
    row = snaps.cross_join(sales.aggregate(last_sale=sales.sale_date.max())).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        raise ValueError("the warehouse has no inventory snapshots: build it first (wb demo-data)")
    last = max(_to_date(d) for d in (row["last"], row["last_sale"]) if not pd.isna(d))
    return DataWindow(_to_date(row["first"]) + dt.timedelta(days=1), last)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return pd.Timestamp(value).date()


def _check_stage(stage: str) -> None:
    if stage not in STAGE_DAYS:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")


def _days(n: int) -> ir.IntervalScalar:
    return ibis.interval(days=n)


def _days_from(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    """``end - start`` in days.

    Date conditions between two joined tables are written with it
    (``_days_from(sale_date, cutoff) > 0`` rather than ``sale_date < cutoff``):
    a plain comparison lets DuckDB plan a range join of every fact row
    against every SKC before the key join (16 million rows and seconds for
    the 19 thousand order lines); a difference can only be checked after it.
    """
    return end.delta(start, unit="day")


# --- the engine-side building blocks ---------------------------------------------------------


def new_skcs(session: Any, window: DataWindow | None = None) -> ir.Table:
    """One row per style-colour launched inside the data window (earlier ones lack their first weeks of sales).

    Attributes are constant per SKC in ``core.products`` (SKU grain); ``season_type`` is SS, AW or BASIC.
    """
    window = window or data_window(session)
    p = session.table("products")
    skc = p.group_by("skc_id").aggregate(
        skc_code=p.skc_code.max(), style_name=p.style_name.max(), brand=p.brand.max(), category=p.category.max(),
        subcategory=p.subcategory.max(), gender=p.gender.max(), season=p.season.max(),
        colour_family=p.colour_family.max(), fabric=p.fabric.max(), thickness=p.thickness.max(),
        versatility=p.versatility.max().cast("float64"), occasion=p.occasion.max(), price_band=p.price_band.max(),
        full_price=p.full_price.max(), is_limited=p.is_limited.any().ifelse(1, 0),
        n_sizes=p.sku_id.nunique(), launch_date=p.launch_date.min(),
    )
    skc = skc.filter(skc.launch_date >= ibis.date(window.first_day))
    return skc.mutate(
        season_type=(skc.season == "BASIC").ifelse("BASIC", skc.season.right(2)),
        launch_month=skc.launch_date.month().cast("float64"),
    )


def _sku_to_skc(session: Any) -> ir.Table:
    p = session.table("products")
    return p.select(p.sku_id, _skc=p.skc_id)


def sold_and_stock(session: Any, points: ir.Table, as_of: dt.date) -> ir.Table:
    """Net units sold from the start up to the end of ``day``, and the stock then, per ``skc_id``.

    ``points`` has ``skc_id`` and ``day`` (one row per SKC, ``day < as_of``).
    Stock (on hand + in transit, A and B, all locations) is the last Sunday
    snapshot at or before ``day`` rolled forward to ``day``: + supplier
    receipts - supplier returns - net units sold after the snapshot.
    Returns ``skc_id, sold, stock``.
    """
    cut = ibis.date(as_of)
    inv = session.table("inventory")
    inv = inv.filter(inv.snapshot_date < cut)
    snaps = inv.select(snap=inv.snapshot_date).distinct()
    pts = points.select(_skc=points.skc_id, day=points.day)
    last = pts.join(snaps, snaps.snap <= pts.day).group_by("_skc", "day").aggregate(snap=snaps.snap.max())

    # Facts are summed per SKC and day before they meet the SKCs: an aggregate is a fence the join
    # planner cannot move the 8 million snapshot rows across (its estimates for ``last`` are far off).
    held = inv.join(_sku_to_skc(session), "sku_id")
    held = held.group_by("_skc", "snapshot_date").aggregate(
        units=(held.on_hand.coalesce(0) + held.in_transit.coalesce(0)).cast("int64").sum()
    )
    held = held.join(last, (held._skc == last._skc) & (held.snapshot_date == last.snap))
    held = held.select(skc_id=held._skc, at_snap=held.units)

    sales = session.table("sales")
    sales = sales.filter(sales.sale_date < cut)
    daily = sales.group_by("skc_id", "sale_date").aggregate(qty=sales.qty.cast("int64").sum())
    sold = daily.join(last, (daily.skc_id == last._skc) & (_days_from(daily.sale_date, last.day) >= 0))
    sold = sold.group_by(skc_id=sold._skc).aggregate(
        sold=sold.qty.sum(), after_snap=sold.qty.sum(where=sold.sale_date > sold.snap)
    )

    tr = session.table("transfers")
    tr = tr.filter(tr.movement_type.isin(["supplier_receipt", "supplier_return"]) & (tr.ship_date < cut))
    tr = tr.join(_sku_to_skc(session), "sku_id")
    after = (_days_from(last.snap, tr.ship_date) > 0) & (_days_from(tr.ship_date, last.day) >= 0)
    tr = tr.join(last, (tr._skc == last._skc) & after)
    signed = (tr.movement_type == "supplier_receipt").ifelse(1, -1) * tr.qty.cast("int64")
    supplied = tr.group_by(skc_id=tr._skc).aggregate(supplied=signed.sum())

    out = _attach(last.select(skc_id=last._skc), [held, sold, supplied])
    after = out.after_snap.coalesce(0)
    return out.select(
        "skc_id",
        sold=out.sold.coalesce(0),
        stock=out.at_snap.coalesce(0) + out.supplied.coalesce(0) - after,
    )


def _attach(rows: ir.Table, parts: Sequence[ir.Table]) -> ir.Table:
    """``rows`` with the columns of each part (keyed by ``skc_id``; missing: null), in one chain of left joins.

    One chain, not a join and a projection per part: ibis compiles a deep
    stack of projections much more slowly than one wide join.
    """
    out = rows
    for i, part in enumerate(parts):
        part = part.rename({f"_key{i}": "skc_id"})
        out = out.left_join(part, out.skc_id == part[f"_key{i}"])
    return out.drop(*(f"_key{i}" for i in range(len(parts))))


def sell_through(sold: ir.NumericValue, stock: ir.NumericValue) -> ir.FloatingValue:
    """The metrics layer's sell-through (one definition): sold / (sold + stock), null when both are 0."""
    return METRICS["sell_through"].formula(sold, stock)


def outcomes(session: Any, as_of: dt.date, skcs: ir.Table | None = None) -> ir.Table:
    """8-week sell-through of the new SKCs whose 56 days ended before ``as_of``.

    Returns ``skc_id, outcome_day`` (end of day 56), ``known_from`` (the day
    after), ``sold_8w, stock_8w, sell_through_8w``.
    """
    skcs = new_skcs(session) if skcs is None else skcs
    done = skcs.filter(skcs.launch_date + _days(OUTCOME_DAYS) <= ibis.date(as_of))
    points = done.select("skc_id", day=done.launch_date + _days(OUTCOME_DAYS - 1))
    st = sold_and_stock(session, points, as_of)
    out = points.join(st, "skc_id")
    return out.select(
        "skc_id",
        outcome_day=out.day,
        known_from=out.day + _days(1),
        sold_8w=out.sold,
        stock_8w=out.stock,
        **{LABEL: sell_through(out.sold, out.stock)},
    )


def _history(targets: ir.Table, known: ir.Table) -> ir.Table:
    """Mean 8-week sell-through of similar SKCs whose outcome was known by each target's ``hist_cutoff``.

    Similar: the same category, and within it the same price band,
    subcategory or brand. ``known`` has ``known_from``, ``_st`` and the
    attributes prefixed with ``_``.
    """
    t = targets.select("skc_id", "hist_cutoff", "category", "price_band", "subcategory", "brand")
    j = t.join(known, (t.category == known._category) & (_days_from(known.known_from, t.hist_cutoff) >= 0))
    band = j.price_band == j._price_band
    return j.group_by("skc_id").aggregate(
        hist_category_price_band=j._st.mean(where=band),
        hist_category_price_band_n=j._st.count(where=band).cast("float64"),
        hist_category=j._st.mean(),
        hist_subcategory=j._st.mean(where=j.subcategory == j._subcategory),
        hist_brand_category=j._st.mean(where=j.brand == j._brand),
    )


# --- features ----------------------------------------------------------------------------------


def hot_item_features(
    session: Any, as_of: Any, stage: str, *, lookahead_days: int = LOOKAHEAD_DAYS, window: DataWindow | None = None
) -> ir.Table:
    """The 爆款 feature table of one stage at ``as_of``: one row per new SKC, as an ibis expression.

    Rows: ``prelaunch``: SKCs launched before ``as_of + lookahead_days``;
    ``week1`` / ``week2``: SKCs with 7 / 14 days of sales before ``as_of``.
    Columns: ids (``skc_id, skc_code, style_name, season, launch_date``), the
    stage's model inputs (:func:`model_features`), ``initial_allocation_units``,
    ``cutoff`` (facts dated before it were used), ``outcome_day`` and the
    label ``sell_through_8w`` (null until known, i.e. until
    ``launch_date + 56 <= as_of``). Nothing dated on or after ``as_of`` is read.
    """
    _check_stage(stage)
    as_of = _to_date(as_of)
    window = window or data_window(session)
    window.check(as_of)
    cut = ibis.date(as_of)
    days = STAGE_DAYS[stage]

    skcs = new_skcs(session, window)
    if stage == "prelaunch":
        rows = skcs.filter(skcs.launch_date < ibis.date(as_of + dt.timedelta(days=lookahead_days)))
        rows = rows.mutate(cutoff=ibis.least(rows.launch_date, cut))
    else:
        rows = skcs.filter(skcs.launch_date + _days(days) <= cut)
        rows = rows.mutate(cutoff=rows.launch_date + _days(days))
    rows = rows.mutate(hist_cutoff=ibis.least(rows.launch_date, cut))
    keys = rows.select("skc_id", "launch_date", "cutoff")

    # The range plan on launch day (an end date after as_of is not known yet: open).
    a = session.table("assortment")
    ranged = a.join(keys, (a.skc_id == keys.skc_id) & (_days_from(a.start_date, keys.launch_date) >= 0))
    ranged = ranged.filter(ranged.end_date.isnull() | (ranged.end_date >= ranged.launch_date) | (ranged.end_date >= cut))
    ranged = ranged.group_by("skc_id").aggregate(ranged_stores=ranged.store_id.nunique().cast("float64"))

    # The buy: ordered before launch (the season buy) and between launch and the cut-off (reorders, 追单).
    po = session.table("purchase_orders")
    po = po.filter(po.order_date < cut).join(_sku_to_skc(session), "sku_id")
    po = po.join(keys, (po._skc == keys.skc_id) & (_days_from(po.order_date, keys.cutoff) > 0))
    units = po.qty_ordered.cast("int64")
    buys = po.group_by("skc_id").aggregate(
        buy_units=units.sum(where=po.order_date < po.launch_date).cast("float64"),
        reorder_units=units.sum(where=po.order_date >= po.launch_date).cast("float64"),
    )

    tr = session.table("transfers")
    tr = tr.filter((tr.movement_type == "initial_allocation") & (tr.ship_date < cut)).join(_sku_to_skc(session), "sku_id")
    tr = tr.join(keys, (tr._skc == keys.skc_id) & (_days_from(tr.ship_date, keys.cutoff) > 0))
    alloc = tr.group_by("skc_id").aggregate(initial_allocation_units=tr.qty.cast("int64").sum().cast("float64"))

    # History: outcomes known by each SKC's own cut-off (point in time).
    outcome = outcomes(session, as_of, skcs)
    known = skcs.join(outcome, "skc_id")  # outcome on the right: ibis would fold it into a join chain on the left
    known = known.select(
        "known_from", _st=known[LABEL], _category=known.category, _price_band=known.price_band,
        _subcategory=known.subcategory, _brand=known.brand,
    )
    parts = [
        ranged, buys, alloc,
        _history(rows, known),
        outcome,  # whole, not a projection of it: one roll-forward shared with the history (a CTE)
    ]
    if stage != "prelaunch":
        parts += _early_sales(session, keys, as_of, days)

    out = _attach(rows, parts)
    zero = {c: out[c].coalesce(0) for c in ("ranged_stores", "buy_units", "reorder_units", "initial_allocation_units")}
    out = out.mutate(**zero)
    out = out.mutate(
        buy_per_store=out.buy_units / out.ranged_stores.nullif(0),
        allocation_share=out.initial_allocation_units / out.buy_units.nullif(0),
    )
    if stage != "prelaunch":
        early = {c: out[c].coalesce(0) for c in ("early_units", "selling_stores", "week1_units")}
        out = out.mutate(**early)
        out = out.mutate(
            selling_store_share=out.selling_stores / out.ranged_stores.nullif(0),
            units_per_ranged_store=out.early_units / out.ranged_stores.nullif(0),
            units_per_buy=out.early_units / out.buy_units.nullif(0),
            week2_over_week1=(out.early_units - out.week1_units) / out.week1_units.nullif(0),
        )
    columns = [*ID_COLUMNS, *model_features(stage), "cutoff", "outcome_day", LABEL]
    if stage == "prelaunch":
        columns.insert(len(ID_COLUMNS), "initial_allocation_units")
    return out.select(*columns).order_by("skc_id")


def _early_sales(session: Any, keys: ir.Table, as_of: dt.date, days: int) -> list[ir.Table]:
    """The first ``days`` days of sales: units, selling locations, full-price share, early sell-through."""
    sales = session.table("sales")
    sales = sales.filter(sales.sale_date < ibis.date(as_of))
    j = sales.join(keys, (sales.skc_id == keys.skc_id) & (_days_from(sales.sale_date, keys.cutoff) > 0))
    qty = j.qty.cast("int64")
    is_sale = j.line_type == "sale"
    first_week = j.sale_date < j.launch_date + _days(7)
    early = j.group_by("skc_id").aggregate(
        early_units=qty.sum().cast("float64"),
        selling_stores=j.store_id.nunique(where=is_sale).cast("float64"),
        _sale_units=qty.sum(where=is_sale),
        _full_price_units=qty.sum(where=is_sale & (j.unit_price >= j.full_price)),
        week1_units=qty.sum(where=first_week).cast("float64"),
    )
    early = early.select(
        "skc_id", "early_units", "selling_stores", "week1_units",
        full_price_share=early._full_price_units.cast("float64") / early._sale_units.nullif(0).cast("float64"),
    )
    st = sold_and_stock(session, keys.select("skc_id", day=keys.cutoff - _days(1)), as_of)
    st = st.select("skc_id", early_sell_through=sell_through(st.sold, st.stock))
    return [early, st]


# --- the model ----------------------------------------------------------------------------------


LGBM_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "random_state": SEED,
    "deterministic": True,
    "force_row_wise": True,
    # One thread: a fit on a few hundred SKCs takes 0.3 s, and on a busy 2-core machine two OpenMP
    # threads spin against each other (measured: 25 s for the same fit).
    "num_threads": 1,
    "verbose": -1,
}
"""Small trees and a slow rate: a season has a few hundred new SKCs, not millions of rows."""


@dataclass
class HotItemModel:
    """One stage's LightGBM regressor of 8-week sell-through, with the data window it learned from."""

    stage: str
    as_of: dt.date
    features: tuple[str, ...]
    categories: dict[str, list[str]]
    regressor: Any
    n_train: int
    train_launches: tuple[dt.date, dt.date]
    params: dict[str, Any] = field(default_factory=dict)

    def design(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input matrix: its features, categories as in training (unseen levels become missing)."""
        return _design(frame, self.features, self.categories)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted 8-week sell-through for the rows of a feature frame of this stage."""
        if len(frame) == 0:
            return np.zeros(0)
        return np.clip(self.regressor.predict(self.design(frame)), 0.0, 1.0)

    def __repr__(self) -> str:
        return (f"HotItemModel(stage={self.stage!r}, as_of={self.as_of}, n_train={self.n_train}, "
                f"launches {self.train_launches[0]}..{self.train_launches[1]})")


def _design(frame: pd.DataFrame, features: Sequence[str], categories: Mapping[str, list[str]]) -> pd.DataFrame:
    x = pd.DataFrame(index=frame.index)
    for name in features:
        if name in categories:
            x[name] = pd.Categorical(frame[name], categories=categories[name])
        else:
            x[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return x


def observed_count(session: Any, as_of: dt.date, window: DataWindow) -> tuple[int, list[dt.date]]:
    """How many new SKCs have a known 8-week outcome at ``as_of``, and the day each outcome becomes known (sorted)."""
    skcs = new_skcs(session, window)
    known = skcs.select(known_from=skcs.launch_date + _days(OUTCOME_DAYS))
    last = window.last_day + dt.timedelta(days=1)
    days = sorted(_to_date(d) for d in known.filter(known.known_from <= ibis.date(last)).to_pandas()["known_from"])
    return sum(d <= as_of for d in days), days


def _too_few(as_of: dt.date, n: int, need: int, days: list[dt.date], window: DataWindow) -> ValueError:
    if len(days) >= need:
        hint = (f"an as_of from {days[need - 1]} to {window.last_day + dt.timedelta(days=1)} works "
                f"({len(days)} SKCs have a known outcome by the end of the data)")
    else:
        hint = (f"this warehouse has only {len(days)} new SKCs with a known 8-week outcome at all "
                f"({window.first_day}..{window.last_day}); lower min_training_skcs or use a longer history")
    return ValueError(
        f"too few new SKCs with a known 8-week outcome before as_of {as_of}: {n}, need {need} "
        f"(an SKC's outcome is known from launch_date + {OUTCOME_DAYS}); {hint}"
    )


def train_hot_items(
    session: Any,
    as_of: Any,
    stage: str,
    *,
    min_training_skcs: int = MIN_TRAINING_SKCS,
    params: Mapping[str, Any] | None = None,
) -> HotItemModel:
    """Train the 爆款 model of one stage on the new SKCs whose 8 weeks ended before ``as_of``.

    Raises ``ValueError`` when ``as_of`` is outside the data or fewer than
    ``min_training_skcs`` SKCs have a known outcome (the message says from
    which as_of on there would be enough).
    """
    import lightgbm as lgb

    _check_stage(stage)
    as_of = _to_date(as_of)
    window = data_window(session)
    window.check(as_of)
    n, days = observed_count(session, as_of, window)
    if n < min_training_skcs:
        raise _too_few(as_of, n, min_training_skcs, days, window)

    feats = hot_item_features(session, as_of, stage, window=window)
    train = feats.filter(feats[LABEL].notnull()).to_pandas()
    features = model_features(stage)
    categories = {c: sorted(train[c].dropna().unique().tolist()) for c in CATEGORICAL}
    chosen = {**LGBM_PARAMS, **(params or {})}
    # A leaf needs enough SKCs to mean something, but a small chain has few.
    chosen.setdefault("min_child_samples", max(5, min(20, len(train) // 15)))
    regressor = lgb.LGBMRegressor(**chosen)
    regressor.fit(_design(train, features, categories), train[LABEL].to_numpy(dtype="float64"))
    launches = (_to_date(train["launch_date"].min()), _to_date(train["launch_date"].max()))
    return HotItemModel(stage, as_of, features, categories, regressor, len(train), launches, chosen)


def train_hot_item_models(session: Any, as_of: Any, stages: Iterable[str] = STAGES, **kwargs: Any) -> dict[str, HotItemModel]:
    """One model per stage, all at the same ``as_of``."""
    return {stage: train_hot_items(session, as_of, stage, **kwargs) for stage in stages}


# --- ranking ------------------------------------------------------------------------------------


RANKING_COLUMNS = [
    "skc_id", "skc_code", "style_name", "brand", "category", "stage", "predicted_sell_through", "rank",
    "launch_date", "days_on_sale",
]


def _as_models(model_or_models: HotItemModel | Mapping[str, HotItemModel] | Iterable[HotItemModel]) -> dict[str, HotItemModel]:
    if isinstance(model_or_models, HotItemModel):
        return {model_or_models.stage: model_or_models}
    items = model_or_models.values() if isinstance(model_or_models, Mapping) else model_or_models
    models = {m.stage: m for m in items}
    if not models:
        raise ValueError("no models given: train one with train_hot_items(session, as_of, stage)")
    return models


def rank_new_items(
    session: Any,
    model_or_models: HotItemModel | Mapping[str, HotItemModel] | Iterable[HotItemModel],
    as_of: Any,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    lookahead_days: int = LOOKAHEAD_DAYS,
) -> pd.DataFrame:
    """Rank the new SKCs around ``as_of`` by predicted 8-week sell-through (rank 1: the likeliest 爆款).

    The SKCs launched in the ``lookback_days`` before ``as_of`` and those
    launching in the next ``lookahead_days``; each is scored by the most
    advanced stage among the given models that it has the sales for
    (``week2`` needs 14 days on sale, ``week1`` 7, ``prelaunch`` none), so an
    SKC with 10 days on sale and models for all stages is scored by ``week1``.
    Models trained after ``as_of`` are refused (they have seen its future).
    """
    as_of = _to_date(as_of)
    models = _as_models(model_or_models)
    late = [f"{m.stage} ({m.as_of})" for m in models.values() if m.as_of > as_of]
    if late:
        raise ValueError(f"models trained after as_of {as_of} have seen what followed it: {', '.join(late)}; "
                         f"train them at or before {as_of}")
    window = data_window(session)
    window.check(as_of)
    first = ibis.date(as_of - dt.timedelta(days=lookback_days))
    scored = []
    for stage, model in models.items():
        feats = hot_item_features(session, as_of, stage, lookahead_days=lookahead_days, window=window)
        frame = feats.filter(feats.launch_date >= first).to_pandas()
        frame = frame.assign(stage=stage, predicted_sell_through=model.predict(frame), _order=STAGES.index(stage))
        scored.append(frame[["skc_id", "skc_code", "style_name", "brand", "category", "launch_date", "stage",
                             "predicted_sell_through", "_order"]])
    out = pd.concat(scored, ignore_index=True)
    # The most advanced stage an SKC has data for.
    out = out.sort_values(["skc_id", "_order"]).drop_duplicates("skc_id", keep="last")
    launch = pd.to_datetime(out["launch_date"])
    out["launch_date"] = launch.dt.date
    out["days_on_sale"] = (pd.Timestamp(as_of) - launch).dt.days.clip(lower=0)
    out = out.sort_values(["predicted_sell_through", "skc_id"], ascending=[False, True], kind="mergesort")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[RANKING_COLUMNS].reset_index(drop=True)


# --- evaluation ----------------------------------------------------------------------------------


def precision_at_k(predicted: pd.Series, actual: pd.Series, k: int) -> float:
    """Share of the predicted top ``k`` that are in the actual top ``k`` (ties broken by index, stably)."""
    k = min(k, len(actual))
    if k <= 0:
        return float("nan")
    top = lambda s: set(s.sort_index().sort_values(ascending=False, kind="mergesort").index[:k])  # noqa: E731
    return len(top(predicted) & top(actual)) / k


def _spearman(predicted: pd.Series, actual: pd.Series) -> float:
    ok = predicted.notna() & actual.notna()
    if ok.sum() < 3:
        return float("nan")
    return float(predicted[ok].rank().corr(actual[ok].rank()))


def evaluate_hot_items(
    session: Any,
    test_season: str,
    ks: Sequence[int] = (10, 20),
    *,
    shares: Sequence[float] = (0.1,),
    stages: Sequence[str] = STAGES,
    min_training_skcs: int = MIN_TRAINING_SKCS,
    oracle: Any | None = None,
) -> pd.DataFrame:
    """Time-split evaluation of the 爆款 models on one season's new SKCs.

    Models are trained at the season's first launch (so only on earlier
    seasons' outcomes) and score every SKC of the season at its own stage
    cut-off; the cohort is the season's SKCs whose 8-week outcome is in the
    data. Methods per stage: ``model``; ``category_price_history`` (the
    category x price band mean of earlier seasons, what merchandisers do
    before launch; SKCs without history rank last); after launch also
    ``early_sell_through`` (rank by the sell-through so far). For each
    ``k`` and each share of the cohort (0.1: top 10 %): precision@k, and
    Spearman's rank correlation over the whole cohort.

    ``oracle``: a session that may read ``truth.products`` (u_oracle); then
    ``hot_share`` is the share of the predicted top k the simulator made hot.
    Evaluation only: the truth never reaches a feature.
    """
    window = data_window(session)
    skcs = new_skcs(session, window)
    season = skcs.filter(skcs.season == test_season)
    launches = season.aggregate(first=season.launch_date.min(), n=season.count()).to_pandas().iloc[0]
    if launches["n"] == 0:
        seasons = sorted(skcs.select("season").distinct().to_pandas()["season"])
        raise ValueError(f"no new SKCs of season {test_season!r} in the data window "
                         f"{window.first_day}..{window.last_day}; seasons launched in it: {', '.join(seasons)}")
    train_as_of = _to_date(launches["first"])
    end = window.last_day + dt.timedelta(days=1)
    models = {stage: train_hot_items(session, train_as_of, stage, min_training_skcs=min_training_skcs) for stage in stages}

    hot = None
    if oracle is not None:
        truth = oracle.table("truth.products")
        hot = truth.select("skc_id", "hotness").to_pandas().set_index("skc_id")["hotness"].eq("hot")

    rows = []
    for stage, model in models.items():
        feats = hot_item_features(session, end, stage, window=window)
        frame = feats.filter((feats.season == test_season) & feats[LABEL].notnull()).to_pandas().set_index("skc_id")
        if frame.empty:
            raise ValueError(f"no SKC of season {test_season} has a known 8-week outcome by {window.last_day}")
        actual = frame[LABEL]
        methods = {
            "model": pd.Series(model.predict(frame), index=frame.index),
            "category_price_history": frame[BASELINE].fillna(-1.0),
        }
        if stage != "prelaunch":
            methods["early_sell_through"] = frame["early_sell_through"].fillna(-1.0)
        levels = [(int(k), str(k)) for k in ks] + [(max(1, round(s * len(frame))), f"{s:.0%}") for s in shares]
        for method, predicted in methods.items():
            rho = _spearman(predicted, actual)
            for k, label in levels:
                row = {"stage": stage, "method": method, "top": label, "k": k,
                       "precision_at_k": precision_at_k(predicted, actual, k), "spearman": rho,
                       "cohort": len(frame), "n_train": model.n_train, "train_as_of": train_as_of}
                if hot is not None:
                    top = predicted.sort_index().sort_values(ascending=False, kind="mergesort").index[:k]
                    row["hot_share"] = float(hot.reindex(top, fill_value=False).mean())
                rows.append(row)
    return pd.DataFrame(rows)
