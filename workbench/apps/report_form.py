"""The finance report (经营分析报告) as a Voila page: its parameters as ipywidgets, its sections as outputs.

``apps/finance_report.ipynb`` is thin: the Voila server injects ``user`` (workbench.apps.voila), the
notebook builds a :class:`FinanceReportForm` and shows the default report. Everything is read through a
read-only governed session of that user on the serving snapshot (``workbench.apps.page.open_session``, as
every app), opened for one report and closed again, so a region manager's page holds their region only and
no kernel keeps a snapshot open between clicks.

Why the default report is shown as plain cell output and not in the form's Output widget: Voila sends a
page's cell outputs in its HTML, while an Output widget's content reaches the browser only over the kernel
connection afterwards; a page that must carry its numbers when it loads (and its test, which reads the
HTML) needs them in a cell. A click on *Run* then shows the new report in the Output widget and hides the
default one (a CSS rule on the cell that holds :data:`DEFAULT_MARKER`), so one report is on the page.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
from typing import Any

from IPython.display import HTML, Markdown, display

log = logging.getLogger(__name__)

__all__ = ["FinanceReportForm", "report_outputs", "finance_report_outputs", "alert", "last_sales_day",
           "PERIODS", "COMPARISONS", "BREAKDOWNS"]

PERIODS = (("Month to date", "month"), ("Week to the date (7 days)", "week"))
COMPARISONS = (("Same period last year (同比)", "previous_year"), ("Previous period (环比)", "previous"))
BREAKDOWNS = (("Store", "store"), ("Region", "region"), ("Brand", "brand"), ("Channel", "channel"))
DEFAULT_MARKER = "wb-default-report"
_HIDE_DEFAULT = f"<style>div[cell-index]:has(.{DEFAULT_MARKER}) {{ display: none; }}</style>"


def alert(message: str) -> HTML:
    """A message the reader acts on, in place of the report (the Voila page's ``pn.pane.Alert``)."""
    return HTML('<div class="wb-alert" role="alert" style="border:1px solid #d9a400;background:#fff8e1;'
                f'padding:8px 12px;border-radius:4px;margin:8px 0">{html.escape(message)}</div>')


def open_session(user: str):
    """The user's governed session as every app opens it: read-only, on the serving snapshot, audited as ``app``."""
    from workbench.apps.page import open_session as app_session

    return app_session(user)


def last_sales_day(session: Any) -> dt.date | None:
    """The last day with sales the reader may see: the report's default as-of date (None: no sales at all)."""
    import pandas as pd

    day = session.table("core.sales").sale_date.max().execute()
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def report_outputs(report: Any) -> list:
    """The report's sections, each a heading and what :mod:`workbench.finance.report_views` shows for it."""
    from workbench.finance import report_views as views

    sections = (("Headline", views.headline), ("P&L by unit (经营损益)", views.units),
                ("Profit bridge (利润桥)", views.bridge),
                ("Stock by age (财务经营汇报库存视角)", views.stock),
                ("B-goods: forced markdown (次品强制降价)", views.b_goods),
                ("Consignment write-down (代销货存跌)", views.write_down), ("Risk control (风控)", views.risk),
                ("Stores: closing suggestions and new stores (开店 / 关店)", views.stores),
                ("What this report leaves out, and why", views.notes))
    first_line = report.describe().splitlines()[0]
    return [Markdown(f"**{html.escape(first_line)}**"),
            *[as_image(item) for title, view in sections for item in (Markdown(f"## {title}"), *view(report))]]


def as_image(item: Any) -> Any:
    """A chart (a holoviews object) drawn by matplotlib as a PNG image; anything else as it is.

    HoloViews shows a chart in a notebook as a Bokeh document that needs its JavaScript extension to draw,
    which a Voila page does not run for cell outputs; an image shows everywhere, and lies in the page's HTML."""
    import holoviews as hv

    if not isinstance(item, hv.core.Dimensioned):
        return item
    import matplotlib.pyplot as plt
    from IPython.display import Image

    figure = hv.render(item, backend="matplotlib")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return Image(data=buffer.getvalue(), format="png")


def finance_report_outputs(user: str, as_of: Any, period: str, compare: str, by: str) -> list:
    """The report for these parameters as ``user`` sees it, or one alert saying what to change."""
    from workbench.finance.report import build_report, report_period

    if as_of is None:
        return [alert("Choose an as-of date: the report covers the month or the week up to it.")]
    try:
        with open_session(user) as session:
            report = build_report(session, report_period(as_of, period), compare, by)
    except (ValueError, LookupError, PermissionError) as err:  # bad input, or data the role may not read
        return [alert(str(err))]
    except Exception as err:  # never a stack trace on the page: the reader gets the gist, the log the rest
        log.exception("finance report failed for %s", user)
        return [alert(f"The report could not be built ({type(err).__name__}: {err}). "
                      "The apps' log has the details.")]
    return report_outputs(report)


class FinanceReportForm:
    """The report's parameters (as-of date, period, comparison, breakdown), a Run button and its output."""

    def __init__(self, user: str | None, as_of: Any = None, period: str = "month",
                 compare: str = "previous_year", by: str = "store") -> None:
        import hvplot
        import ipywidgets as w

        hvplot.extension("matplotlib")  # plain images: they render in Voila and in the page's HTML
        self.user = user
        self.problem = None if user else "This report runs as the logged-in user: open it from the apps (`wb serve`)."
        default_day = _as_date(as_of) if as_of is not None else (self._last_day() if user else None)
        style = {"description_width": "110px"}
        self.as_of = w.DatePicker(value=default_day, description="As of", style=style)
        self.period = w.Dropdown(options=PERIODS, value=period, description="Period", style=style)
        self.compare = w.Dropdown(options=COMPARISONS, value=compare, description="Compare with", style=style)
        self.by = w.Dropdown(options=BREAKDOWNS, value=by, description="Break down by", style=style)
        self.run = w.Button(description="Run", button_style="primary", icon="play")
        self.output = w.Output()
        self.run.on_click(lambda _: self.rerun())
        self.widget = w.VBox([w.HBox([self.as_of, self.period]), w.HBox([self.compare, self.by]), self.run,
                              self.output])

    def _last_day(self) -> dt.date | None:
        try:
            with open_session(self.user) as session:
                day = last_sales_day(session)
        except Exception as err:  # an unknown user, no warehouse: said on the page instead of the form failing
            self.problem = f"The warehouse could not be read for {self.user}: {err}"
            return None
        if day is None:
            self.problem = f"There are no sales that {self.user} may read: check the user's stores or region."
        return day

    def outputs(self) -> list:
        """The report for the form's current values (or an alert)."""
        if self.problem:
            return [alert(self.problem)]
        return finance_report_outputs(self.user, self.as_of.value, self.period.value, self.compare.value,
                                      self.by.value)

    def show_default(self) -> None:
        """The report for the default values, as this cell's output (so the page's HTML carries it)."""
        display(HTML(f'<div class="{DEFAULT_MARKER}"></div>'), *self.outputs())

    def rerun(self) -> None:
        """Run: the report for the values chosen, in the form's output; the default report is hidden."""
        self.run.disabled = True
        try:
            with self.output:
                self.output.clear_output(wait=True)
                display(HTML(_HIDE_DEFAULT), *self.outputs())
        finally:
            self.run.disabled = False


def _as_date(value: Any) -> dt.date:
    from workbench.dates import parse_day

    return parse_day(value)
