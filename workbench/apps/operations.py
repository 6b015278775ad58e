"""The operations dashboard page (多维运营看板): widgets on the left, figures on the right.

The page only lays out what :mod:`workbench.dashboard` computes from the
user's governed session. Every widget change calls :meth:`OperationsDashboard.refresh`,
which rebuilds the checked selection, recomputes the parts whose inputs
changed (the KPI cards do not depend on the dimension, the table not on the
time grain) and the tab in view, and shows any problem as an alert instead
of figures. ``refresh`` returns when the page is up to date, so a benchmark
can set a widget and time the whole server-side update.
"""

from __future__ import annotations

import html
import io
import logging
import secrets
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pandas as pd
import panel as pn

from workbench.dashboard import warmup
from workbench.dashboard.coverage import RATES as COVERAGE_MEASURES
from workbench.dashboard.coverage import availability
from workbench.dashboard.exports import export
from workbench.dashboard.figures import breakdown, kpi_cards, top_values, trend
from workbench.dashboard.heroes import HERO_MEASURES, hero_items
from workbench.dashboard.homes import home_for
from workbench.dashboard.options import (
    check_filter_values, check_measures_visible, data_span, filter_options, measure_availability, style_options,
)
from workbench.dashboard.periods import PRESETS, preset_period
from workbench.dashboard.sellers import MEASURES as SELLER_MEASURES
from workbench.dashboard.sellers import top_and_slow
from workbench.dashboard.settings import DashboardSettings, dashboard_settings
from workbench.dashboard.state import (
    COMPARISONS, DIMENSIONS, GRAINS, DashboardError, DashboardState, ExportTooLarge, metric_label,
)
from workbench.metrics.definitions import METRICS
from workbench.metrics.query import MetricError

log = logging.getLogger(__name__)

TOTAL = ""  # the dimension Select's value for "no dimension: the total"
CUSTOM = "custom"
TABS = ("overview", "top_and_slow", "availability", "heroes")
WARM_UP_GAP_MS = 20  # between two warm-up compiles: room for the events of every session on the server


def format_value(value: float | None, unit: str) -> str:
    """A metric value as a manager reads it: ¥1,234,567, 12.3%, 2.31, 1,234."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "CNY":
        return f"¥{value:,.0f}"
    if unit.startswith("share"):
        return f"{100 * value:.1f}%"
    if unit in ("units", "tickets", "visitors"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def kpi_row(cards: pd.DataFrame, compared: str) -> pn.FlexBox:
    """One card per KPI: the value, and the change against the comparison period."""
    out = []
    for card in cards.itertuples():
        change = "" if card.change_pct is None or pd.isna(card.change_pct) else (
            f"{'▲' if card.change_pct >= 0 else '▼'} {card.change_pct:+.1f}%")
        body = (f"<div style='font-size:0.85em;color:#555'>{html.escape(card.label)} {html.escape(card.label_zh)}</div>"
                f"<div style='font-size:1.6em;font-weight:600'>{html.escape(format_value(card.value, card.unit))}</div>"
                f"<div style='font-size:0.8em;color:#555'>{html.escape(change)} vs {html.escape(compared)} "
                f"({html.escape(format_value(card.previous, card.unit))})</div>")
        out.append(pn.pane.HTML(body, width=190, css_classes=["wb-kpi"], name=card.measure,
                                styles={"border": "1px solid #ddd", "border-radius": "6px", "padding": "6px"}))
    return pn.FlexBox(*out)


def formatters(frame: pd.DataFrame) -> dict[str, Any]:
    """Tabulator number formats from each metric's unit: shares as %, money as ¥, counts without decimals."""
    from bokeh.models.widgets.tables import NumberFormatter

    out = {}
    for column in frame.columns:
        unit = METRICS[column].unit if column in METRICS else ("share" if column.startswith("share") else None)
        if unit and unit.startswith("share"):
            out[column] = NumberFormatter(format="0.0%")
        elif unit == "CNY":
            out[column] = NumberFormatter(format="¥0,0")
        elif unit or pd.api.types.is_float_dtype(frame[column]):
            out[column] = NumberFormatter(format="0,0" if pd.api.types.is_integer_dtype(frame[column]) else "0,0.00")
    return out


def line_chart(frame: pd.DataFrame, x: str, y: str, by: str | None, title: str) -> Any:
    """An hvplot line chart, one line per value of ``by``."""
    import hvplot.pandas  # noqa: F401  (registers .hvplot)

    return frame.hvplot.line(x=x, y=y, by=by, title=title, responsive=True, height=320, legend="right")


class ExportableTable:
    """A Tabulator with CSV / Excel downloads that refuse beyond the export limit, with a message."""

    def __init__(self, name: str, max_rows: int):
        self.name, self.max_rows = name, max_rows
        self.frame = pd.DataFrame()
        self.table = pn.widgets.Tabulator(self.frame, disabled=True, show_index=False, pagination="remote",
                                          page_size=20, sizing_mode="stretch_width")
        self.csv = pn.widgets.FileDownload(callback=lambda: self.file("csv"), filename=f"{name}.csv",
                                           label="CSV", width=90)
        self.xlsx = pn.widgets.FileDownload(callback=lambda: self.file("xlsx"), filename=f"{name}.xlsx",
                                            label="Excel", width=90)
        self.note = pn.pane.Alert("", alert_type="warning", visible=False)

    def show(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.table.formatters = formatters(frame)
        self.table.value = frame
        too_big = len(frame) > self.max_rows
        self.csv.disabled = self.xlsx.disabled = too_big
        self.note.visible = too_big
        if too_big:
            self.note.object = (f"{len(frame):,} rows: too many to export (the limit is {self.max_rows:,}). "
                                "Narrow the selection to export.")

    def file(self, fmt: str) -> io.BytesIO:
        """The download's content; over the limit, the message itself (the button is disabled then anyway)."""
        try:
            return io.BytesIO(export(self.frame, fmt, self.max_rows, sheet=self.name))
        except ExportTooLarge as err:
            self.note.object, self.note.visible = str(err), True
            return io.BytesIO(str(err).encode("utf-8"))

    def panel(self) -> pn.Column:
        return pn.Column(pn.Row(self.csv, self.xlsx), self.note, self.table, sizing_mode="stretch_width")


class OperationsDashboard:
    """The dashboard of one governed session: widgets, outputs, and :meth:`refresh`."""

    def __init__(self, session: Any, settings: DashboardSettings | None = None):
        self.session = session
        self.settings = settings or dashboard_settings()
        self.options = filter_options(session)
        self.hidden = {m: why for m, why in measure_availability(session).items() if why}
        self.first_day, self.last_day = data_span(session)
        self.refreshes, self.last_refresh_s, self.error = 0, 0.0, None
        self._shown: dict[str, Any] = {}  # part -> the inputs it was last computed from
        self._trend = pd.DataFrame()
        self._busy = False
        self._warm_queue: Iterator[dict[str, Any]] | None = None  # requests one click away, not yet compiled
        self._warming = False  # a chain of warm-up ticks is scheduled on the server
        self._warmed = 0  # shapes the current chain compiled
        self._widgets()
        self._outputs()
        self.refresh()

    # --- building ---------------------------------------------------------------------

    def _widgets(self) -> None:
        s = self.settings
        visible = [m for m in METRICS if m not in self.hidden]
        # The configured KPIs this user can see; else their role's home KPIs (the warehouse reads no sales).
        chosen = ([m for m in s.default_measures if m in visible]
                  or [m for m in home_for(self.session.role.name).kpis if m in visible] or visible[:1])
        self.measures = pn.widgets.MultiChoice(label="Measures 指标", options={metric_label(m): m for m in visible},
                                               value=chosen)
        dims = {"(total) 合计": TOTAL} | {label: d for d, label in DIMENSIONS.items()}
        self.dimension = pn.widgets.Select(label="Dimension 维度", options=dims,
                                           value=s.default_dimension if s.default_dimension in DIMENSIONS else TOTAL)
        self.grain = pn.widgets.RadioButtonGroup(label="Time grain 时间粒度", options={v: k for k, v in GRAINS.items()},
                                                 value=s.default_grain)
        self.preset = pn.widgets.Select(label="Period 期间", value=s.default_period,
                                        options={v: k for k, v in PRESETS.items()} | {"Custom 自定义": CUSTOM})
        self.period = pn.widgets.DateRangePicker(label="From – to 起止日期", start=self.first_day, end=self.last_day,
                                                 value=preset_period(s.default_period, self.last_day))
        self.comparison = pn.widgets.RadioButtonGroup(label="Compare with 对比",
                                                      options={v: k for k, v in COMPARISONS.items()}, value=s.comparison)
        self.filters = {d: pn.widgets.MultiChoice(label=f"{label} filter", options=self.options[d], value=[])
                        for d, label in DIMENSIONS.items()}
        self.chart_measure = pn.widgets.Select(label="Chart measure 图表指标", options=self._measure_options(chosen),
                                               value=chosen[0] if chosen else None)
        self.hero_styles = pn.widgets.MultiChoice(label="Hero styles 主推款 (empty: configured, else top sellers)",
                                                  options=style_options(self.session), value=[])
        for widget in [self.measures, self.dimension, self.grain, self.period, self.comparison, self.hero_styles,
                       *self.filters.values()]:
            widget.param.watch(self._changed, "value")
        self.preset.param.watch(self._preset_changed, "value")
        self.period.param.watch(self._period_picked, "value")
        self.chart_measure.param.watch(lambda _e: None if self._busy else self._draw_trend(), "value")

    def _outputs(self) -> None:
        limit = self.settings.export_max_rows
        self.alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.kpis = pn.FlexBox()
        self.chart = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=320)
        self.chart_note = pn.pane.Markdown("", visible=False)
        self.table = ExportableTable("operations", limit)
        self.sellers = ExportableTable("top_and_slow", limit)
        self.coverage = ExportableTable("availability", limit)
        self.hero_chart = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=320)
        self.hero_note = pn.pane.Markdown("")
        self.hero_table = ExportableTable("hero_attach", limit)
        self.tabs = pn.Tabs(
            ("Overview 总览", pn.Column(self.chart_measure, self.chart, self.chart_note, self.table.panel(),
                                        sizing_mode="stretch_width")),
            ("Top & slow sellers 畅销/滞销", self.sellers.panel()),
            ("Availability 缺货/断码", self.coverage.panel()),
            ("Hero items 主推款", pn.Column(self.hero_styles, self.hero_note, self.hero_chart, self.hero_table.panel(),
                                           sizing_mode="stretch_width")),
            dynamic=False, sizing_mode="stretch_width",
        )
        self.tabs.param.watch(lambda _e: self.refresh(), "active")

    def panel(self) -> pn.Row:
        """The page: the sidebar of widgets and the figures."""
        sidebar = pn.Column(self.measures, self.dimension, self.grain, self.preset, self.period, self.comparison,
                            pn.pane.Markdown("**Filters 筛选**"), *self.filters.values(), width=300)
        main = pn.Column(self.alert, self.kpis, self.tabs, sizing_mode="stretch_width")
        return pn.Row(sidebar, main, sizing_mode="stretch_width")

    def _measure_options(self, measures: list[str]) -> dict[str, str]:
        return {metric_label(m): m for m in measures}

    # --- callbacks --------------------------------------------------------------------

    def _changed(self, _event: Any = None) -> None:
        if not self._busy:
            self.refresh()

    def _preset_changed(self, event: Any) -> None:
        if event.new != CUSTOM:
            self.period.value = preset_period(event.new, self.last_day)  # its watcher refreshes

    def _period_picked(self, event: Any) -> None:
        # Days picked by hand are no longer the preset: say so (the preset's watcher ignores "custom").
        if self.preset.value != CUSTOM and tuple(event.new or ()) != preset_period(self.preset.value, self.last_day):
            self.preset.value = CUSTOM

    def state(self) -> DashboardState:
        """The checked selection the widgets show."""
        start, end = self.period.value or (None, None)
        state = DashboardState.make(
            self.measures.value, start, end, dimension=self.dimension.value or None, grain=self.grain.value,
            comparison=self.comparison.value, filters={d: w.value for d, w in self.filters.items()})
        check_measures_visible(state.measures, self.hidden)
        check_filter_values(state, self.options)
        return state

    def refresh(self) -> float:
        """Bring every visible figure up to date with the widgets; the seconds it took."""
        started = time.perf_counter()
        self._busy = True
        try:
            state = self.state()
            self._sync_chart_measure(state)
            self._overview(state)
            self._active_tab(state)
            self.error = None
            self.alert.visible = False
            self._warm_queue = warmup.next_requests(state, self.options, self.last_day)
            self._schedule_warm_up()
        except (DashboardError, MetricError, PermissionError) as err:  # written for the user: show it
            self._fail(str(err).split("\n")[0], "warning")
        except Exception as err:  # a bug: the person gets a reference, the log gets the trace
            ref = secrets.token_hex(4)
            log.error("operations dashboard error %s", ref, exc_info=err)
            self._fail(f"Something went wrong computing this view (reference {ref}); the details are in the "
                       "server log. Try another selection, or tell IT the reference.", "danger")
        finally:
            self._busy = False
        self.refreshes += 1
        self.last_refresh_s = time.perf_counter() - started
        return self.last_refresh_s

    # --- warming up (workbench/dashboard/warmup.py) ----------------------------------------

    def warm_step(self) -> bool:
        """Compile one request one click away that the session has not compiled; False when none is left."""
        if self._warm_queue is None or warmup.warm(self.session, self._warm_queue, budget=1) == 0:
            self._warm_queue = None
            return False
        return True

    def warm_up(self) -> int:
        """Compile every request one click away now (the benchmark's reading time); how many."""
        count = 0
        while self.warm_step():
            count += 1
        return count

    def _schedule_warm_up(self) -> None:
        # On the server, one compile per callback, with a gap before the next: every session shares the
        # event loop, and a click (this user's or another's) then waits for one compile at most.
        doc = server_doc()
        if self.settings.warm_up and not self._warming and doc is not None:
            self._warming = True
            doc.add_timeout_callback(partial(self._warm_tick, doc), WARM_UP_GAP_MS)

    def _warm_tick(self, doc: Any) -> None:
        try:
            more = self.warm_step()
        except Exception as err:  # the page works without it: a closed session, a dropped connection
            log.debug("warm-up stopped: %s", err)
            more = False
        self._warmed += more
        self._warming = more
        if more:
            doc.add_timeout_callback(partial(self._warm_tick, doc), WARM_UP_GAP_MS)
        else:
            log.info("dashboard warm-up done for %s: %d shapes compiled", self.session.user.name, self._warmed)
            self._warmed = 0

    def _fail(self, text: str, kind: str) -> None:
        self.error = text
        self.alert.object, self.alert.alert_type, self.alert.visible = text, kind, True
        self._shown.clear()  # whatever the figures showed no longer matches the widgets
        self.kpis.objects = []
        self.chart.object = None
        for table in (self.table, self.sellers, self.coverage, self.hero_table):
            table.show(pd.DataFrame())

    def _due(self, part: str, key: Any) -> bool:
        """Whether ``part`` must be recomputed for inputs ``key`` (and remember them)."""
        if self._shown.get(part) == key:
            return False
        self._shown[part] = key
        return True

    def _sync_chart_measure(self, state: DashboardState) -> None:
        self.chart_measure.options = self._measure_options(list(state.measures))
        if self.chart_measure.value not in state.measures:
            self.chart_measure.value = state.measures[0]

    # --- the parts ----------------------------------------------------------------------

    def _overview(self, state: DashboardState) -> None:
        base = (state.measures, state.start, state.end, tuple(sorted(state.filters.items())))
        if self._due("kpis", base + (state.comparison,)):
            before = state.compared_period
            self.kpis.objects = list(kpi_row(kpi_cards(self.session, state), f"{before[0]} – {before[1]}"))
        if self._due("table", base + (state.dimension,)):
            self.table.show(breakdown(self.session, state))
            if self.table.frame.empty or self.table.frame[list(state.measures)].isna().all().all():
                raise DashboardError("No data for this selection: widen the period or remove a filter.")
        if self._due("trend", base + (state.dimension, state.grain)):
            values = top_values(self.table.frame, state, self.settings.trend_lines)
            self._trend = trend(self.session, state, values)
            self._draw_trend(state)

    def _draw_trend(self, state: DashboardState | None = None) -> None:
        state = state or self._last_state()
        measure = self.chart_measure.value
        if state is None or self._trend.empty or measure not in self._trend.columns:
            self.chart.object = None
            return
        dim, lines = state.dimension, self.settings.trend_lines
        title = f"{metric_label(measure)} by {GRAINS[state.grain]}" + (f" and {DIMENSIONS[dim]}" if dim else "")
        self.chart.object = line_chart(self._trend, state.grain, measure, dim, title)
        self.chart_note.object = f"The {lines} largest by {metric_label(state.measures[0])} are drawn." if dim else ""
        self.chart_note.visible = bool(dim) and len(self.options.get(dim, ())) > lines

    def _last_state(self) -> DashboardState | None:
        try:
            return self.state()
        except (DashboardError, MetricError):
            return None

    def _active_tab(self, state: DashboardState) -> None:
        tab = TABS[self.tabs.active]
        base = (state.start, state.end, tuple(sorted(state.filters.items())))
        if tab == "top_and_slow" and self._due(tab, base):
            check_measures_visible(SELLER_MEASURES, self.hidden)
            self.sellers.show(top_and_slow(self.session, state, self.settings.top_n))
        elif tab == "availability" and self._due(tab, base):
            check_measures_visible(COVERAGE_MEASURES, self.hidden)
            self.coverage.show(availability(self.session, state))
        elif tab == "heroes" and self._due(tab, base + (tuple(self.hero_styles.value), state.grain)):
            check_measures_visible(HERO_MEASURES, self.hidden)
            self._heroes(state)

    def _heroes(self, state: DashboardState) -> None:
        heroes = hero_items(self.session, self.hero_styles.value or None, (state.start, state.end), where=state.where,
                            grain=state.grain, top=self.settings.top_n, settings=self.settings)
        how = {"request": "as picked", "configuration": "from the settings (dashboard.hero_styles)",
               "top sellers": "none configured: the period's top sellers"}[heroes.chosen_by]
        self.hero_note.object = f"Hero styles {how}: {', '.join(heroes.styles) or 'none'}"
        sales = heroes.sales.assign(**{state.grain: pd.to_datetime(heroes.sales[state.grain])})
        self.hero_chart.object = (line_chart(sales, state.grain, "net_sales", "style_code",
                                             "Hero styles: net sales 主推款销售额") if not sales.empty else None)
        self.hero_table.show(heroes.attach)


def server_doc() -> Any:
    """This server session's Bokeh document, or None outside a server (tests, the benchmark)."""
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def view(session: Any) -> pn.Row:
    """The operations dashboard for the governed ``session`` (the page contract of :mod:`workbench.apps`)."""
    dashboard = OperationsDashboard(session)
    layout = dashboard.panel()
    layout.dashboard = dashboard  # so a test or benchmark that gets the page can drive it
    return layout
