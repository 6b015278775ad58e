"""What each section of the finance report shows: a list of charts, tables and notes for ``display(*...)``.

The notebook stays thin (one call per section); a section the reader's role or the data cannot support
shows one line saying why instead of an empty table.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from workbench.finance import charts, stock_age
from workbench.finance.report import FinanceReport
from workbench.finance.write_down import WriteDownResult

__all__ = ["headline", "units", "bridge", "stock", "b_goods", "write_down", "risk", "stores", "saved", "notes",
           "write_down_of", "table"]

TOP = 20  # rows of a long list a reader sees; the whole list is in the report object and the marts


def table(frame: pd.DataFrame, percent: tuple[str, ...] = (), signed: tuple[str, ...] = ()):
    """A readable table: thousands separators, whole CNY, shares as percentages (changes signed), no index."""
    numbers = [c for c in frame.select_dtypes("number").columns if c not in (*percent, *signed)]
    frame = frame.assign(**{c: frame[c].round(0) + 0.0 for c in numbers},  # + 0.0: no "-0" for a tiny negative
                         **{c: frame[c].dt.strftime("%Y-%m-%d") for c in frame.select_dtypes("datetime").columns})
    styled = frame.style.hide(axis="index").format("{:,.0f}", subset=numbers, na_rep="")
    styled = styled.format("{:.1%}", subset=[c for c in percent if c in frame.columns], na_rep="")
    return styled.format("{:+.1%}", subset=[c for c in signed if c in frame.columns], na_rep="")


def headline(report: FinanceReport) -> list:
    shown = report.headline.copy()
    rates = shown["measure"].isin(["margin_rate", "plan_attainment"])
    text = shown[["current", "comparison", "change"]].astype(object)
    text[rates] = shown.loc[rates, ["current", "comparison", "change"]].map(lambda v: f"{v:.1%}" if pd.notna(v) else "")
    text[~rates] = shown.loc[~rates, ["current", "comparison", "change"]].map(lambda v: f"{v:,.0f}" if pd.notna(v) else "")
    out = pd.concat([shown[["measure"]], text, shown[["change_pct"]]], axis=1)
    return [Markdown(f"**{report.period}** against **{report.comparison}**, CNY"), table(out, signed=("change_pct",))]


def units(report: FinanceReport) -> list:
    return [charts.units_chart(report.pnl, report.by), charts.trend_chart(report.pnl_by_month),
            table(report.pnl, ("margin_rate", "plan_attainment"))]


def bridge(report: FinanceReport) -> list:
    if report.bridge is None:
        return [Markdown("_The profit bridge needs unit costs and sales in both periods: " +
                         ("; ".join(report.notes) or "not available") + "._")]
    return [charts.bridge_chart(report.bridge), table(report.bridge)]


def stock(report: FinanceReport) -> list:
    seasons = stock_age.by_age_bucket(report.stock_by_age, "season")
    seasons = seasons.assign(total=seasons.drop(columns="season").sum(axis=1)).sort_values("total", ascending=False)
    return [charts.stock_age_chart(report.stock_by_age), table(report.stock, ("slow_share",)),
            Markdown("By season and age since receipt (CNY):"), table(seasons)]


def b_goods(report: FinanceReport) -> list:
    frame = report.b_goods
    if frame.empty:
        return [Markdown("_No B-goods old enough for a forced markdown in your stores._")]
    said = (f"{int(frame['units'].sum()):,} B-goods units at {frame['store_id'].nunique()} location(s) are due a "
            f"forced markdown; expected recovery {frame['expected_recovery'].sum():,.0f} CNY.")
    shown = ["store_id", "sku_id", "units", "flagged_from", "age_months", "full_price", "depth", "suggested_price",
             "channel", "expected_recovery", "rule"]
    top = frame.sort_values("expected_recovery", ascending=False).head(TOP)[shown]
    return [Markdown(said), table(top, ("depth",))]


def write_down(report: FinanceReport) -> list:
    if report.write_down is None:
        return [Markdown("_The consignment write-down needs unit costs; see the notes below._")]
    return write_down_of(report.write_down)


def write_down_of(result: WriteDownResult) -> list:
    """A month's write-down: what was valued, the journal total, and the summary per counter and season."""
    said = (f"Consignment stock at the snapshot of {result.snapshot_date}: {int(result.lines['units'].sum()):,} "
            f"units, {result.lines['value_before'].sum():,.0f} CNY at cost; journal total "
            f"**{result.journal_total:,.2f} CNY** for {result.month:%Y-%m}.")
    return [Markdown(said), table(result.summary)]


def risk(report: FinanceReport) -> list:
    counts = pd.DataFrame([(name, len(f), f["amount_at_risk"].sum()) for name, f in report.risk.items()],
                          columns=["check", "cases", "amount_at_risk"])
    cases = pd.concat([f for f in report.risk.values() if len(f)] or [pd.DataFrame()], ignore_index=True)
    if cases.empty:
        return [table(counts), Markdown("_No cases in the period._")]
    top = cases.sort_values("amount_at_risk", ascending=False).head(TOP)
    return [table(counts.sort_values("amount_at_risk", ascending=False)), table(top)]


def stores(report: FinanceReport) -> list:
    if report.closing is None:
        return [Markdown("_The store review needs unit costs and enough stores; see the notes below._")]
    shown: list = [Markdown(f"{int(report.closing['suggest_close'].sum())} store(s) suggested for closing, "
                            f"{len(report.closing)} with a run of negative contribution.")]
    if len(report.closing):
        shown.append(table(report.closing.drop(columns="forecast")))
    if report.new_stores is not None and len(report.new_stores):
        shown.append(table(report.new_stores, ("ramp_up", "share_of_month_open")))
    return shown


def saved(report: FinanceReport, session, write: bool) -> list:
    """Write the report's lists to their marts when ``write`` (a pipeline run), and say what was written."""
    if not write:
        return [Markdown("_Not written (write = False): the risk cases and B-goods suggestions stay in this notebook._")]
    rows = report.save(session)
    return [Markdown("\n".join(f"- {table}: {n:,} rows for {report.period}" for table, n in rows.items()))]


def notes(report: FinanceReport) -> list:
    return [Markdown("\n".join(f"- {n}" for n in report.notes) or "_Nothing was left out._")]
