"""Merchandise alerts (商品预警): plan vs actual with overstock / understock alerts, the action, the linked plan.

    import workbench as wb
    from workbench.merchandise.alerts import merchandise_alerts
    with wb.session("u_region_east", entry_point="app") as s:
        report = merchandise_alerts(s, "2025-10-01", "2025-10-31", grain="store × category")
        report.alerts          # the alert rows, largest value at stake first
        report.rows            # every group: plan vs actual, stock, cover, alert or not

One pass, every number through the governed session of the reader (so a store manager's report holds
their store only) and every metric from its one definition:

1. actual net sales and units of the period, and stock, weeks of cover and sell-through at the last
   stock snapshot on or before its last day: the metrics layer (:func:`workbench.metrics.compute`);
2. the sales plan at the same grain (:mod:`.plan`: prorated like the P&L, split below brand by mix);
3. the alert rules on the small joined frame (:mod:`.rules`), then the link to the latest allocation
   plan's pending moves (:mod:`.moves`);
4. where a demand forecast was made at the period's end (``marts.forecast``), the weeks the stock
   lasts at the forecast demand (``forecast_cover_weeks``), shown beside the trailing cover.

Grains: a location level (``store`` or ``region``) and product levels among ``brand``, ``category``,
``season``. Bad input (an unknown grain, a period without sales) raises :class:`AlertInputError`
with what to do, which the page shows as a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.allocation import approvals
from workbench.allocation.output import PLAN_TABLES, read_plan
from workbench.finance.period import parse_period
from workbench.merchandise.moves import link_moves
from workbench.merchandise.plan import SPLIT_DIMS, plan_by_store, plan_mix
from workbench.merchandise.rules import AlertRules, classify, load_rules
from workbench.metrics import compute

__all__ = ["GRAINS", "AlertInputError", "AlertReport", "parse_grain", "merchandise_alerts", "plan_vs_actual",
           "data_span", "COLUMNS"]

LOCATIONS = {"store": "store_code", "region": "region"}  # grain word -> the column that shows it
PRODUCTS = ("brand", "category", "season")
GRAINS: dict[str, tuple[str, ...]] = {
    "store × category": ("store", "category"),
    "store × brand": ("store", "brand"),
    "store × season": ("store", "season"),
    "store × brand × category": ("store", "brand", "category"),
    "store": ("store",),
    "region × category": ("region", "category"),
    "region × brand": ("region", "brand"),
    "region × season": ("region", "season"),
}
SELLING = {"channel": ["store", "online"]}  # the DC holds stock but has no plan and sells nothing
STOCK_DAYS = 7  # snapshots are weekly: any 7 days hold one, so stock is "as of the last snapshot <= end"
COLUMNS = ("net_sales", "plan_net_sales", "deviation", "units", "plan_units", "deviation_units", "stock_units",
           "weeks_of_cover", "sell_through", "forecast_cover_weeks", "alert", "severity", "action",
           "value_at_stake", "reason", "linked_plan", "moves", "move_units", "moves_as_of", "moves_run_id",
           "plan_basis")


class AlertInputError(ValueError):
    """Input the report cannot use (unknown grain, empty period); the message says what to choose instead."""


@dataclass(frozen=True)
class AlertReport:
    first: dt.date
    last: dt.date
    grain: tuple[str, ...]
    rows: pd.DataFrame                  # every group of the grain
    stock_as_of: dt.date | None         # the snapshot stock and cover are taken at
    moves_as_of: dict[str, str | None] = field(default_factory=dict)  # plan table -> its latest as_of

    @property
    def key_columns(self) -> list[str]:
        return grain_columns(self.grain)

    @property
    def alerts(self) -> pd.DataFrame:
        return self.rows[self.rows["alert"].notna()]

    def counts(self) -> dict[str, int]:
        """Alerts by type (both types always present)."""
        got = self.alerts["alert"].value_counts()
        return {a: int(got.get(a, 0)) for a in ("understock", "overstock")}


def parse_grain(grain: str | Iterable[str]) -> tuple[str, ...]:
    """A grain as its levels, from a label of :data:`GRAINS` or levels such as ``("region", "brand")``."""
    if isinstance(grain, str):
        if grain in GRAINS:
            return GRAINS[grain]
        levels = tuple(p.strip() for p in grain.replace("×", ",").replace("x", ",").split(",") if p.strip())
    else:
        levels = tuple(grain)
    locations = [g for g in levels if g in LOCATIONS]
    unknown = [g for g in levels if g not in LOCATIONS and g not in PRODUCTS]
    if unknown or len(locations) != 1 or len(set(levels)) != len(levels):
        raise AlertInputError(
            f"grain {grain!r} is not one the alerts can use: choose one of {', '.join(GRAINS)} "
            f"(one of {', '.join(LOCATIONS)} and any of {', '.join(PRODUCTS)})")
    return (locations[0], *[g for g in levels if g in PRODUCTS])


def grain_columns(grain: tuple[str, ...]) -> list[str]:
    return [LOCATIONS[grain[0]], *grain[1:]]


def data_span(session: Any) -> tuple[dt.date, dt.date] | None:
    """First and last sale day the reader may see (None without any): the periods worth offering."""
    sales = session.table("core.sales")
    span = sales.aggregate(lo=sales.sale_date.min(), hi=sales.sale_date.max()).to_pandas().iloc[0]
    if pd.isna(span["lo"]):
        return None
    return pd.Timestamp(span["lo"]).date(), pd.Timestamp(span["hi"]).date()


def merchandise_alerts(session: Any, start: Any, end: Any, grain: str | Iterable[str] = "store × category",
                       rules: AlertRules | None = None) -> AlertReport:
    """The alert report for ``start..end`` (days included) at ``grain``, on what ``session`` may read.

    The period is cut to the days the reader's sales cover (a week running past the last day of data
    compares the days traded with their share of the plan); :attr:`AlertReport.first` / ``last`` say
    which days were compared.
    """
    rules = rules or load_rules()
    try:
        first, last = parse_period(start, end)
    except ValueError as err:
        raise AlertInputError(str(err)) from None
    levels = parse_grain(grain)
    _require_sales(session, first, last)
    # Cut the period to the days with sales: the plan of days not traded yet is not "behind".
    lo, hi = data_span(session)
    first, last = max(first, lo), min(last, hi)
    rows, stock_as_of = plan_vs_actual(session, first, last, levels, rules)
    keys = grain_columns(levels)
    rows = classify(rows, keys[1:], keys[0], rules)
    moves, plan_days = _latest_moves(session)
    rows = link_moves(rows, moves, _locations(session, keys[0]), _products(session, moves, keys[1:]),
                      keys[0], keys[1:], rules.pending_statuses)
    return AlertReport(first, last, levels, _ordered(rows, keys), stock_as_of, plan_days)


def plan_vs_actual(session: Any, first: dt.date, last: dt.date, grain: tuple[str, ...],
                   rules: AlertRules) -> tuple[pd.DataFrame, dt.date | None]:
    """Per group: actual vs plan (value, units, deviations), stock, cover, sell-through; and the stock date."""
    keys = grain_columns(grain)
    stock_from = max(first, last - dt.timedelta(days=STOCK_DAYS - 1))
    actual = compute(session, ["net_sales", "units"], by=keys, start=first, end=last, where=SELLING).to_pandas()
    stock = compute(session, ["stock_units", "weeks_of_cover", "sell_through"], by=keys, start=stock_from,
                    end=last, where=SELLING).to_pandas()
    plan = _plan_at_grain(session, first, last, grain, rules).to_pandas()
    rows = actual.merge(plan, on=keys, how="outer").merge(stock, on=keys, how="left")
    rows = rows.merge(_forecast_cover(session, stock_from, last, keys, stock), on=keys, how="left")
    rows[["net_sales", "units"]] = rows[["net_sales", "units"]].fillna(0)
    rows["deviation"] = _deviation(rows["net_sales"], rows["plan_net_sales"])
    rows["deviation_units"] = _deviation(rows["units"], rows["plan_units"])
    rows["weeks"] = ((last - first).days + 1) / 7
    return rows, _stock_as_of(session, stock_from, last)


def _deviation(actual: pd.Series, plan: pd.Series) -> pd.Series:
    """(actual − plan) / plan; null without a positive plan (nothing to deviate from)."""
    return (actual - plan) / plan.where(plan > 0)


def _plan_at_grain(session: Any, first: dt.date, last: dt.date, grain: tuple[str, ...],
                   rules: AlertRules) -> ir.Table:
    products = list(grain[1:])
    split = [d for d in products if d in SPLIT_DIMS]
    mix = None
    if split:
        ref_last = first - dt.timedelta(days=1)
        ref_first = first - dt.timedelta(weeks=rules.plan_mix_weeks)
        by = ["store_id", "brand", *split]
        mix = plan_mix(compute(session, "net_sales", by=by, start=ref_first, end=ref_last, where=SELLING),
                       compute(session, "net_sales", by=by, start=first, end=last, where=SELLING))
    plan = plan_by_store(session.table("core.sales_plan"), first, last, products, mix)
    stores = session.table("core.stores").select("store_id", *{LOCATIONS[grain[0]], "store_code"})
    j = plan.join(stores, "store_id")  # inner: the reader's stores only (the plan table is filtered too)
    keys = grain_columns(grain)
    return j.group_by(keys).aggregate(plan_net_sales=j.plan_net_sales.sum(), plan_units=j.plan_units.sum(),
                                      plan_basis=j.plan_basis.max())


def _forecast_cover(session: Any, first: dt.date, last: dt.date, keys: list[str],
                    stock: pd.DataFrame) -> pd.DataFrame:
    """Weeks the stock lasts at the forecast demand, from a forecast made in the period's last week."""
    empty = pd.DataFrame(columns=[*keys, "forecast_cover_weeks"])
    if not session.table_exists("marts.forecast"):
        return empty
    f = session.table("marts.forecast")
    made = f.filter(f.as_of.between(first, last)).as_of.max().to_pandas()
    if made is None or pd.isna(made):
        return empty
    f = f.filter(f.as_of == pd.Timestamp(made).date())
    f = f.join(session.table("core.stores").select("store_id", "store_code", "region"), "store_id")
    if keys[1:]:
        f = f.join(session.table("core.products").select("sku_id", *keys[1:]), "sku_id")
    weekly = f.group_by(keys).aggregate(demand=f["mean"].sum(), days=f.date.nunique()).to_pandas()
    weekly["weekly"] = weekly["demand"] / (weekly["days"] / 7)
    out = stock[keys + ["stock_units"]].merge(weekly[keys + ["weekly"]], on=keys, how="inner")
    out["forecast_cover_weeks"] = out["stock_units"] / out["weekly"].where(out["weekly"] > 0)
    return out[[*keys, "forecast_cover_weeks"]]


def _stock_as_of(session: Any, first: dt.date, last: dt.date) -> dt.date | None:
    inv = session.table("core.inventory")
    day = inv.filter(inv.snapshot_date.between(first, last)).snapshot_date.max().to_pandas()
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def _require_sales(session: Any, first: dt.date, last: dt.date) -> None:
    sales = session.table("core.sales")
    if sales.filter(sales.sale_date.between(first, last)).count().to_pandas() > 0:
        return
    span = data_span(session)
    if span is None:
        raise AlertInputError("there are no sales you may read: check the user's stores or region (`wb users`) "
                              "and that the warehouse is loaded")
    raise AlertInputError(f"no sales between {first} and {last}: the sales you may read run from {span[0]} to "
                          f"{span[1]}; choose a period inside it")


def _latest_moves(session: Any) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Each plan table's latest day the reader may see, with the review's decision in force on each move.

    The plan's own ``status`` column stays ``proposed`` (a re-run would wipe a decision kept there); the
    allocation review logs decisions apart (:mod:`workbench.allocation.approvals`), so ``status`` here is
    the decision in force (pending | approved | edited | rejected) and ``units`` what it ships (an edit's
    quantity; the proposal while pending).
    """
    frames, days = [], {}
    for table in PLAN_TABLES:
        # read_plan's own fallback for a missing table fails (OUTPUTS[...].column_names is a list): ask first
        rows = read_plan(session, table) if session.table_exists(table) else pd.DataFrame()
        days[table] = str(pd.Timestamp(rows["as_of"].iloc[0]).date()) if len(rows) else None
        if len(rows):
            as_of = pd.Timestamp(rows["as_of"].iloc[0]).date()
            try:
                decisions = approvals.read_decisions(session, table, as_of)
            except PermissionError:  # a role without the review's logs: every move counts as still pending
                decisions = pd.DataFrame()
            reviewed = approvals.review(rows, decisions)
            decided = reviewed["status"].isin(approvals.SHIPPING)
            reviewed["units"] = reviewed["approved_units"].where(decided, reviewed["units"])
            frames.append(reviewed.assign(plan=table))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["from_store_id", "to_store_id", "sku_id", "units", "status", "as_of", "run_id", "plan"])), days


def _locations(session: Any, location_col: str) -> pd.DataFrame:
    return session.table("core.stores").select("store_id", *{location_col, "store_code"}).to_pandas()


def _products(session: Any, moves: pd.DataFrame, product_cols: list[str]) -> pd.DataFrame:
    ids = sorted({int(i) for i in moves["sku_id"].dropna()}) if len(moves) else []
    products = session.table("core.products")
    if not ids:
        return pd.DataFrame(columns=["sku_id", *product_cols])
    return products.filter(products.sku_id.isin(ids)).select("sku_id", *product_cols).to_pandas()


def _ordered(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Alerts first, largest value at stake first; then the other groups by how far they are off plan."""
    rank = rows.assign(_alert=rows["alert"].isna(), _value=-rows["value_at_stake"].fillna(0),
                       _off=-rows["deviation"].abs().fillna(0))
    rank = rank.sort_values(["_alert", "_value", "_off", *keys], kind="stable")
    return rank[[*keys, *COLUMNS]].reset_index(drop=True)
