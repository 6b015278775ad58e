"""The finance report (经营分析报告): one call gathers what ``notebooks/finance_report.ipynb`` shows.

Everything is read through the reader's governed session, so the report holds only what that user may
see: a region manager's report has their region's stores only, and a role that may not see unit costs
(store managers) gets no cost of goods, margin, contribution, profit bridge or write-down; ``notes``
says what was left out and why, so nobody reads an absence as a zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from workbench.dates import parse_day
from workbench.finance import b_goods, stock_age, store_closing, store_model, write_down
from workbench.finance import pnl as pnl_module
from workbench.finance.risk import run_checks, write_cases
from workbench.finance.bridge import profit_bridge
from workbench.finance.period import Period, by_columns, check_periods, checked_by, comparison_period, read_period

__all__ = ["FinanceReport", "build_report", "bridge_sales", "headline", "report_period", "BRIDGE_BY"]

BRIDGE_BY = ("store", "region", "brand", "channel")  # not month: the two periods' months differ
NO_REGION = "(no region)"  # the online shop and the DC belong to no sales region
HEADLINE = ("net_sales", "markdown_cost", "gross_margin", "margin_rate", "commission", "store_costs", "contribution",
            "plan_net_sales", "plan_attainment")
COSTS_HIDDEN = ("unit costs are hidden for your role: cost of goods, margin, contribution, the profit bridge, "
                "the write-down and the store review are left out")


@dataclass
class FinanceReport:
    """The report's tables for one reader, period and comparison (pandas frames, ready to show)."""

    user: str
    role: str
    period: Period
    comparison: Period
    by: list[str]
    headline: pd.DataFrame  # one row per measure: current, comparison, change, change %
    pnl: pd.DataFrame  # the period's P&L by ``by``
    pnl_by_month: pd.DataFrame  # the P&L by month over the twelve months to the period's end (the trend)
    bridge: pd.DataFrame | None  # the profit bridge by ``by``; None when costs are hidden
    stock: pd.DataFrame  # stock at the period's end by ``by``: values, slow stock, B-goods, consignment, cover
    stock_by_age: pd.DataFrame  # the same stock by season, age bucket, quality and consignment
    b_goods: pd.DataFrame  # forced markdown suggestions for aged B-goods at the period's end
    risk: dict[str, pd.DataFrame]  # risk control cases found in the period, per check, largest first
    write_down: write_down.WriteDownResult | None = None  # consignment write-down of the period's last month
    closing: pd.DataFrame | None = None  # stores with a run of negative contribution, and the suggestion
    new_stores: pd.DataFrame | None = None  # stores opened in the data: actual against the model's prediction
    notes: list[str] = field(default_factory=list)

    @property
    def shows_costs(self) -> bool:
        return self.bridge is not None

    def save(self, session: Any) -> dict[str, int]:
        """Keep the report's lists for the apps: the period's risk cases (``marts.risk_cases``) and the B-goods
        markdown suggestions (``marts.b_goods_markdown``), each replacing its own period's rows; rows written."""
        return {"marts.risk_cases": write_cases(session, self.risk, self.period.start, self.period.end),
                "marts.b_goods_markdown": b_goods.write_b_goods_markdown(session, self.period.end)}

    def describe(self) -> str:
        lines = [f"Finance report for {self.user} ({self.role}): {self.period} against {self.comparison}, "
                 f"by {', '.join(self.by)}."]
        row = self.headline.set_index("measure")
        for measure in ("net_sales", "gross_margin", "contribution"):
            if measure in row.index:
                r = row.loc[measure]
                lines.append(f"  {measure.replace('_', ' ')}: {r['current']:,.0f} CNY "
                             f"({_signed_pct(r['change_pct'])} on {self.comparison})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def report_period(as_of: Any = None, period: str | Period | None = "month") -> Period:
    """The period a run reports on: ``month`` (the month of ``as_of`` up to that day), ``week`` (the seven
    days ending on ``as_of``), or a period as :func:`read_period` reads it."""
    if period not in ("month", "week", None):
        return read_period(period)
    if as_of is None:
        raise ValueError("give the report an as_of date (e.g. 2025-11-30) for period 'month' or 'week', "
                         "or a period such as 2025-11")
    day = parse_day(as_of)
    if period == "week":
        return read_period(f"{day - dt.timedelta(days=6)}..{day}")
    month = read_period(f"{day.year}-{day.month:02d}")
    return month if day == month.end else read_period(f"{month.start}..{day}")


def build_report(session: Any, period: str | Period, compare: str | Period | None = "previous_year",
                 by: str | list[str] = "region") -> FinanceReport:
    """Gather the report for ``session``'s user; ValueError (nothing read further) for a bad period."""
    now = read_period(period)
    base = comparison_period(now, compare)
    check_periods(now, base)
    by = checked_by(by, BRIDGE_BY)
    rules = pnl_module.load_rules()
    current = pnl_module.pnl_report(session, now.start, now.end, by, rules).to_pandas()
    previous = _pnl_or_empty(session, base, by, rules)
    costs = "cogs" in current.columns
    notes = [] if costs else [COSTS_HIDDEN]
    if previous is None:
        notes.append(f"no sales in the comparison period {base} that you may read: changes are left blank")
    report = FinanceReport(
        user=_name(session.user), role=_name(session.role), period=now, comparison=base, by=by,
        headline=headline(current, previous), pnl=_named(current),
        pnl_by_month=_trend(session, now, rules),
        bridge=_named(_bridge(session, now, base, by, current, previous)) if costs and previous is not None else None,
        stock=_named(stock_age.stock_summary_report(session, now.end, by).to_pandas()),
        stock_by_age=stock_age.stock_age_report(session, now.end, ["season"]).to_pandas(),
        b_goods=b_goods.b_goods_report(session, now.end).to_pandas(),
        risk=run_checks(session, now.start, now.end), notes=notes)
    if costs:
        _add_cost_sections(report, session, now)
    return report


def _add_cost_sections(report: FinanceReport, session: Any, now: Period) -> None:
    """The sections built on unit costs: each one the data cannot support is left out with a note."""
    try:
        report.write_down = write_down.monthly_write_down(session, now.end.replace(day=1))
    except ValueError as err:
        report.notes.append(f"consignment write-down left out: {err}")
    try:
        panel = store_model.store_month_panel(session, end=now.end)
        stores = store_model.store_attributes(session)
        report.closing = store_closing.closing_suggestions(panel, store_model.load_settings(), stores)
        model = store_model.fit_store_model(panel, stores, store_model.load_settings())
        report.new_stores = store_model.actual_vs_predicted(model, panel, stores)
    except ValueError as err:
        report.notes.append(f"store opening / closing review left out: {err}")


def headline(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Chain totals of the measures both P&Ls have: current, comparison, change and change % (pure)."""
    measures = [m for m in HEADLINE if m in current.columns]
    now = _totals(current, measures)
    before = _totals(previous, measures) if previous is not None else pd.Series(float("nan"), index=measures)
    out = pd.DataFrame({"measure": measures, "current": now.values, "comparison": before.values})
    out["change"] = out["current"] - out["comparison"]
    out["change_pct"] = out["change"] / out["comparison"].abs().where(out["comparison"] != 0)
    return out


def bridge_sales(sales: ir.Table, stores: ir.Table, products: ir.Table, first: dt.date, last: dt.date,
                 by: list[str], item: str = "skc_id") -> ir.Table:
    """One period's sales per ``by`` × ``item`` in the bridge's terms: units, full_sales (tag price × units),
    markdown (full − net) and cogs (pure: ibis in, ibis out)."""
    s = sales.filter(sales.sale_date.between(first, last))
    s = s.join(stores.select("store_id", "store_code", "region", channel=stores.store_type), "store_id")
    s = s.join(products.select("sku_id", "brand"), "sku_id")
    keys = [*by_columns(by), item]
    return s.group_by(keys).aggregate(units=s.qty.cast("int64").sum(), full_sales=(s.full_price * s.qty).sum(),
                                      markdown=s.discount_amount.sum(), cogs=s.cost_amount.sum())


def _bridge(session: Any, now: Period, base: Period, by: list[str], current_pnl: pd.DataFrame,
            base_pnl: pd.DataFrame) -> pd.DataFrame:
    """The profit bridge from ``base`` to ``now``: margin effects, plus the change in store costs and
    commission taken from the two periods' P&L (what turns margin into contribution)."""
    tables = [session.table(t) for t in ("core.sales", "core.stores", "core.products")]
    current, before = (bridge_sales(*tables, p.start, p.end, by).to_pandas() for p in (now, base))
    cols = by_columns(by)
    if "store_code" in cols:  # the bridge keys on the store id alone; the code comes back after
        current, before = current.drop(columns="store_code"), before.drop(columns="store_code")
        cols = [c for c in cols if c != "store_code"]
    expenses = _expenses(current_pnl, "current_expense", cols).join(_expenses(base_pnl, "base_expense", cols),
                                                                     how="outer")
    out = profit_bridge(before, current, cols, "skc_id", expenses.fillna(0.0).reset_index())
    if "store" in by:
        codes = session.table("core.stores").select("store_id", "store_code").to_pandas()
        out = out.merge(codes, on="store_id", how="left")
        out = out[["store_id", "store_code", *[c for c in out.columns if c not in ("store_id", "store_code")]]]
    return out


def _expenses(pnl: pd.DataFrame, name: str, cols: list[str]) -> pd.DataFrame:
    """A P&L's store costs plus consignment commission per group, indexed by ``cols``."""
    spent = pnl.get("store_costs", 0.0) + pnl.get("commission", 0.0)
    return pnl[cols].assign(**{name: spent}).set_index(cols)


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without a region (online, DC) labelled so, not shown as None."""
    return frame.fillna({"region": NO_REGION}) if "region" in frame.columns else frame


def _trend(session: Any, now: Period, rules) -> pd.DataFrame:
    """The P&L by month over the twelve months to the period's end, or from the first day with sales."""
    year_back = (pd.Timestamp(now.end) - pd.DateOffset(months=11)).date().replace(day=1)
    data_start = parse_day(session.table("core.sales").sale_date.min().execute())
    first = max(min(now.start, year_back), data_start)
    return pnl_module.pnl_report(session, first, now.end, ["month"], rules).to_pandas()


def _pnl_or_empty(session: Any, period: Period, by: list[str], rules) -> pd.DataFrame | None:
    try:
        return pnl_module.pnl_report(session, period.start, period.end, by, rules).to_pandas()
    except ValueError:  # no sales then (before the data starts): the report still shows the period
        return None


def _totals(frame: pd.DataFrame, measures: list[str]) -> pd.Series:
    sums = frame.reindex(columns=measures).sum(numeric_only=True, min_count=1)
    if "margin_rate" in measures and "gross_margin" in sums:
        sums["margin_rate"] = sums["gross_margin"] / sums["net_sales"] if sums["net_sales"] else float("nan")
    if "plan_attainment" in measures and "plan_net_sales" in sums:
        plan = sums["plan_net_sales"]
        sums["plan_attainment"] = sums["net_sales"] / plan if plan else float("nan")
    return sums.reindex(measures)


def _name(who: Any) -> str:
    return str(getattr(who, "name", who))


def _signed_pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:+.1%}"
