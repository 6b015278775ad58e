"""Merchandise alerts app (商品预警): plan vs actual, overstock / understock, the action and the plan that fixes it.

Layout only: every number comes from :func:`workbench.merchandise.alerts.merchandise_alerts` on the
logged-in user's governed session (so a store manager's page holds their store), and its rules
from ``merchandise.alerts`` in workbench.yaml. The widgets pick a period (a month, an ISO week or
any days), a grain (store or region × category / brand / season) and which severities to list;
the page shows counts by alert type, the alert table (largest value at stake first) with the
suggested action and the pending moves of the latest allocation plan, and plan vs actual bars for
the rows listed (or those selected in the table). Input the report cannot use is answered with a
message in the page, never a stack trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import hvplot.pandas  # noqa: F401  (registers .hvplot on DataFrames)
import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from workbench.merchandise.alerts import GRAINS, AlertInputError, AlertReport, data_span, merchandise_alerts
from workbench.merchandise.rules import SEVERITIES, AlertRules, load_rules

__all__ = ["view", "AlertsPage", "month_options", "week_options", "TABLE_COLUMNS"]

PERIOD_KINDS = ("month", "week", "custom")
TABLE_COLUMNS = ("alert", "severity", "action", "linked_plan", "value_at_stake", "net_sales", "plan_net_sales",
                 "deviation", "units", "plan_units", "stock_units", "weeks_of_cover", "forecast_cover_weeks",
                 "sell_through", "reason")  # what to do and whether the plan does it first: the rest explains
TITLES = {"alert": "Alert", "severity": "Severity", "action": "Suggested action", "value_at_stake": "At stake (CNY)",
          "net_sales": "Net sales", "plan_net_sales": "Plan", "deviation": "vs plan", "units": "Units",
          "plan_units": "Plan units", "stock_units": "Stock", "weeks_of_cover": "Weeks of cover",
          "forecast_cover_weeks": "Cover at forecast", "sell_through": "Sell-through",
          "linked_plan": "Allocation plan", "reason": "Why", "store_code": "Store", "region": "Region",
          "brand": "Brand", "category": "Category", "season": "Season"}
_MONEY, _UNITS = NumberFormatter(format="0,0"), NumberFormatter(format="0,0")
FORMATS = {"value_at_stake": _MONEY, "net_sales": _MONEY, "plan_net_sales": _MONEY, "units": _UNITS,
           "plan_units": _UNITS, "stock_units": _UNITS, "deviation": NumberFormatter(format="+0%"),
           "sell_through": NumberFormatter(format="0%"), "weeks_of_cover": NumberFormatter(format="0.0"),
           "forecast_cover_weeks": NumberFormatter(format="0.0")}
CHART_ROWS = 15  # bars beyond this are unreadable; the table has them all
NO_ALERTS = "No alerts for this period and grain: every group is near its plan, or its cover is normal."


def view(session: Any, links: list[tuple[str, str]] | None = None) -> pn.viewable.Viewable:
    """The page for the logged-in user's governed ``session`` (the page contract of :mod:`workbench.apps`).

    ``links`` (title, url) of the pages the user may open: the summary points at the allocation
    review, where the linked moves are approved, when the user may open it.
    """
    review = next((url for _title, url in links or () if url.rstrip("/").endswith("/allocation_review")), None)
    return AlertsPage(session, review_url=review).layout


def month_options(first: dt.date, last: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """``2025-11`` → (first day, last day) for each month the data touches, newest first."""
    out, month = {}, first.replace(day=1)
    while month <= last:
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        out[f"{month:%Y-%m}"] = (month, nxt - dt.timedelta(days=1))
        month = nxt
    return dict(reversed(list(out.items())))


def week_options(first: dt.date, last: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """``2025-W45 (11-03..11-09)`` → (Monday, Sunday) for each ISO week the data touches, newest first."""
    out, monday = {}, first - dt.timedelta(days=first.weekday())
    while monday <= last:
        sunday = monday + dt.timedelta(days=6)
        year, week, _ = monday.isocalendar()
        out[f"{year}-W{week:02d} ({monday:%m-%d}..{sunday:%m-%d})"] = (monday, sunday)
        monday += dt.timedelta(days=7)
    return dict(reversed(list(out.items())))


def _alert(text: str, kind: str = "warning") -> pn.pane.Alert:
    return pn.pane.Alert(text, alert_type=kind, sizing_mode="stretch_width")


class AlertsPage:
    """The widgets, their callbacks and what they show; :attr:`layout` is what :func:`view` returns."""

    def __init__(self, session: Any, rules: AlertRules | None = None, review_url: str | None = None):
        self.session = session
        self.rules = rules or load_rules()
        self.review_url = review_url
        self.report: AlertReport | None = None
        self.error: pn.pane.Alert | None = None  # what the last refresh could not do
        self.layout = pn.Column(sizing_mode="stretch_width")
        span = data_span(session)
        if span is None:
            self.layout.append(_alert("There are no sales you may read, so there is nothing to compare with a plan. "
                                      "Check your stores or region with IT."))
            return
        months, weeks = month_options(*span), week_options(*span)
        self.period_kind = pn.widgets.RadioButtonGroup(label="Period", options=list(PERIOD_KINDS), value="month")
        self.month = pn.widgets.Select(label="Month", options=months, value=next(iter(months.values())), width=160)
        whole = [w for w in weeks.values() if w[1] <= span[1]]  # the newest week the data covers entirely
        self.week = pn.widgets.Select(label="Week", options=weeks, value=(whole or list(weeks.values()))[0],
                                      width=220, visible=False)
        self.days = pn.widgets.DateRangePicker(label="Days", start=span[0], end=span[1], visible=False, width=240,
                                               value=(max(span[0], span[1] - dt.timedelta(days=27)), span[1]))
        self.grain = pn.widgets.Select(label="Grain", options=list(GRAINS), value="store × category", width=220)
        self.severity = pn.widgets.CheckButtonGroup(label="Severity", options=list(SEVERITIES),
                                                    value=list(SEVERITIES))
        self.message = pn.Column(sizing_mode="stretch_width")
        self.summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.cards = pn.Row(sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, show_index=False, pagination="remote",
                                          page_size=20, selectable="checkbox", titles=TITLES, formatters=FORMATS,
                                          sizing_mode="stretch_width")
        self.chart = pn.pane.HoloViews(None, sizing_mode="stretch_width", height=360)
        for widget in (self.period_kind, self.month, self.week, self.days, self.grain):
            widget.param.watch(self.refresh, "value")
        self.severity.param.watch(self.show, "value")
        self.table.param.watch(self.draw_chart, "selection")
        controls = pn.Row(self.period_kind, self.month, self.week, self.days, self.grain, self.severity,
                          sizing_mode="stretch_width")
        self.layout.extend([controls, self.message, self.summary, self.cards, self.table, self.chart])
        self.refresh()

    # --- reading ---------------------------------------------------------------------------------------------
    def period(self) -> tuple[dt.date, dt.date]:
        """The period the widgets name (only the picker of the chosen kind is shown)."""
        kind = self.period_kind.value
        for picker, name in ((self.month, "month"), (self.week, "week"), (self.days, "custom")):
            picker.visible = kind == name
        if kind == "month":
            return self.month.value
        if kind == "week":
            return self.week.value
        if not self.days.value or None in self.days.value:
            raise AlertInputError("pick the first and last day of the period")
        return self.days.value

    def refresh(self, *_: Any) -> None:
        """Recompute the report for the period and grain, then show it."""
        self.error = None
        try:
            self.report = merchandise_alerts(self.session, *self.period(), grain=self.grain.value, rules=self.rules)
        except AlertInputError as err:
            self.report, self.error = None, _alert(str(err))
        except Exception as err:  # a bug, or the warehouse went away: a message, never a stack trace
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            self.report, self.error = None, _alert(f"The alerts could not be computed: {first}", "danger")
        self.show()

    # --- showing ---------------------------------------------------------------------------------------------
    def listed(self) -> pd.DataFrame:
        """The alert rows of the chosen severities, in the report's order (largest value at stake first)."""
        if self.report is None:
            return pd.DataFrame(columns=list(TABLE_COLUMNS))
        alerts = self.report.alerts
        alerts = alerts[alerts["severity"].isin(self.severity.value)]
        return alerts[[*self.report.key_columns, *TABLE_COLUMNS]].reset_index(drop=True)

    def show(self, *_: Any) -> None:
        rows = self.listed()
        self.table.selection = []
        self.table.frozen_columns = [c for c in rows.columns if c not in TABLE_COLUMNS]  # the group stays in view
        self.table.value = rows
        self.cards.objects = self._cards()
        self.summary.object = self._summary()
        if self.error is not None:
            self.message.objects = [self.error]
        elif rows.empty:
            self.message.objects = [_alert(NO_ALERTS if self.report.alerts.empty
                                           else "No alerts of the chosen severities: tick more of them.", "info")]
        else:
            self.message.objects = []
        self.draw_chart()

    def _summary(self) -> str:
        r = self.report
        if r is None:
            return ""
        plans = ", ".join(f"{t.split('.')[-1].replace('_', ' ')} of {d}" for t, d in r.moves_as_of.items() if d)
        review = f" ([approve its moves]({self.review_url}))" if self.review_url and plans else ""
        return (f"**{r.first} .. {r.last}**, by {' × '.join(r.grain)} · stock and cover at the snapshot of "
                f"{r.stock_as_of or 'no snapshot'} · allocation plan: {plans or 'none written yet'}{review}")

    def _cards(self) -> list:
        if self.report is None:
            return []
        counts = self.report.counts()
        alerts = self.report.alerts
        covered = int((alerts["moves"].fillna(0) > 0).sum())
        card = dict(font_size="28pt", title_size="11pt", width=190)
        return [pn.indicators.Number(label="Understock (缺货风险)", value=counts["understock"], format="{value}",
                                     colors=[(1, "green"), (10**9, "firebrick")], **card),
                pn.indicators.Number(label="Overstock (积压)", value=counts["overstock"], format="{value}",
                                     colors=[(1, "green"), (10**9, "darkorange")], **card),
                pn.indicators.Number(label="Already in the plan", value=covered, format="{value}", **card),
                pn.indicators.Number(label="At stake (CNY)", value=float(alerts["value_at_stake"].sum()),
                                     format="{value:,.0f}", **card)]

    def chart_rows(self) -> pd.DataFrame:
        """Plan vs actual of the selected table rows, else the listed ones, else the groups furthest off plan."""
        if self.report is None:
            return pd.DataFrame()
        keys = self.report.key_columns
        listed = self.table.value
        if self.table.selection and len(listed):
            rows = listed.iloc[self.table.selection]
        elif len(listed):
            rows = listed
        else:
            everything = self.report.rows.dropna(subset=["deviation"])
            rows = everything.reindex(everything["deviation"].abs().sort_values(ascending=False).index)
        rows = rows.head(CHART_ROWS)
        blank = "(no region)" if keys[0] == "region" else "—"
        label = rows[keys].astype("string").fillna(blank).agg(" · ".join, axis=1)
        return pd.DataFrame({"group": label, "Actual": rows["net_sales"].to_numpy(),
                             "Plan": rows["plan_net_sales"].to_numpy()})

    def draw_chart(self, *_: Any) -> None:
        data = self.chart_rows()
        if data.empty:
            self.chart.object = None
            return
        long = data.melt(id_vars="group", var_name="measure", value_name="net_sales")
        self.chart.object = long.hvplot.bar(x="group", y="net_sales", by="measure", rot=45, height=360,
                                            responsive=True, ylabel="Net sales (CNY)", xlabel="",
                                            title="Plan vs actual net sales", yformatter="%.0f")
