"""The role home page: what a user sees first after logging in (:func:`workbench.dashboard.home_for`).

KPI cards for the last four weeks against the four before, the one or two
figures that matter to the role, and links to the apps the role may open
(``links``: ``(title, url)`` pairs the page frame passes in). Measures and
panels the user cannot see are left out, with a note, instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import panel as pn

from workbench.apps.operations import formatters, kpi_row, line_chart
from workbench.dashboard.coverage import RATES as COVERAGE_MEASURES
from workbench.dashboard.coverage import availability
from workbench.dashboard.figures import breakdown, kpi_cards, top_values, trend
from workbench.dashboard.homes import HomeSpec, home_for
from workbench.dashboard.options import data_span, measure_availability
from workbench.dashboard.periods import preset_period
from workbench.dashboard.sellers import MEASURES as SELLER_MEASURES
from workbench.dashboard.sellers import top_and_slow
from workbench.dashboard.settings import dashboard_settings
from workbench.dashboard.state import DIMENSIONS, GRAINS, DashboardError, DashboardState, metric_label
from workbench.metrics.query import MetricError

PANEL_NEEDS = {"top_and_slow": SELLER_MEASURES, "availability": COVERAGE_MEASURES}
PANEL_TITLES = {"top_and_slow": "Top and slow sellers by region 畅销/滞销",
                "availability": "Out-of-stock and size breaks by store 缺货/断码"}


def view(session: Any, links: Sequence[tuple[str, str]] = ()) -> pn.Column:
    """The home page of the session's role."""
    spec = home_for(session.role.name)
    try:
        body = _figures(session, spec)
    except (DashboardError, MetricError, PermissionError) as err:
        body = [pn.pane.Alert(str(err).split("\n")[0], alert_type="warning")]
    apps = "\n".join(f"- [{title}]({url})" for title, url in links) or "No apps are open to your role."
    return pn.Column(pn.pane.Markdown(f"## {spec.title}"), *body, pn.pane.Markdown(f"### Apps 应用\n{apps}"),
                     sizing_mode="stretch_width")


def _figures(session: Any, spec: HomeSpec) -> list[Any]:
    settings = dashboard_settings()
    hidden = {m: why for m, why in measure_availability(session).items() if why}
    kpis = [m for m in spec.kpis if m not in hidden]
    if not kpis:
        raise DashboardError("None of this page's measures is open to your role: ask IT for the grants.")
    start, end = preset_period(spec.period, data_span(session)[1])
    state = DashboardState.make(kpis, start, end, dimension=None)
    before = state.compared_period
    out: list[Any] = [pn.pane.Markdown(f"{start} – {end}, compared with {before[0]} – {before[1]}"),
                      kpi_row(kpi_cards(session, state), f"{before[0]} – {before[1]}")]
    if spec.trend_measure not in hidden:
        cut = state.with_(measures=[spec.trend_measure], dimension=spec.trend_dimension, grain=spec.trend_grain)
        out.append(_trend(session, cut, settings.trend_lines))
    for panel in spec.panels:
        if any(m in hidden for m in PANEL_NEEDS[panel]):
            continue
        frame = (top_and_slow(session, state, settings.top_n) if panel == "top_and_slow"
                 else availability(session, state))
        out += [pn.pane.Markdown(f"### {PANEL_TITLES[panel]}"),
                pn.widgets.Tabulator(frame, formatters=formatters(frame), disabled=True, show_index=False,
                                     pagination="remote", page_size=10, sizing_mode="stretch_width")]
    if hidden.keys() & set(spec.kpis):
        out.append(pn.pane.Markdown(f"*Not shown (your role cannot read their data): "
                                    f"{', '.join(metric_label(m) for m in spec.kpis if m in hidden)}.*"))
    return out


def _trend(session: Any, state: DashboardState, lines: int) -> Any:
    values = top_values(breakdown(session, state), state, lines)
    frame = trend(session, state, values)
    if frame.empty:
        return pn.pane.Markdown("*No data to draw for this period.*")
    measure, dim = state.measures[0], state.dimension
    title = f"{metric_label(measure)} by {GRAINS[state.grain]}" + (f" and {DIMENSIONS[dim]}" if dim else "")
    return pn.pane.HoloViews(line_chart(frame, state.grain, measure, dim, title), sizing_mode="stretch_width")
