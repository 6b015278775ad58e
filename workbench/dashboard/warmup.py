"""Compile the dashboard's likely next requests while its user reads the page (预热).

A request of a shape the session has not seen costs 100 to 150 ms of
building and compiling (:mod:`workbench.metrics.prepared`) on top of the
10 to 50 ms DuckDB takes on the rollups. So after each refresh, while the
person reads, the page compiles the shapes one click away: every other
dimension, time grain, period preset and comparison, and a filter on each
dimension not filtered yet. The click then finds its requests compiled and
only binds values. Warming reads no rows; a request the metrics layer
refuses (conversion by brand) is skipped.

:func:`next_requests` lists the requests; the page runs them one at a time
between events (:meth:`workbench.apps.operations.OperationsDashboard.warm_step`),
and the benchmark runs them all between its clicks, as a person's reading
time would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from workbench.dashboard.figures import kpi_requests, table_request, trend_request
from workbench.dashboard.periods import PRESETS, preset_period
from workbench.dashboard.state import COMPARISONS, DIMENSIONS, GRAINS, DashboardError, DashboardState, NONE_LABEL
from workbench.metrics import prepared


def next_states(state: DashboardState, options: Mapping[str, Sequence[str]], last_day: dt.date
                ) -> Iterator[DashboardState]:
    """The checked states one widget change away from ``state`` (those the dashboard refuses are left out)."""
    changes: list[dict[str, Any]] = [{"dimension": d} for d in (*DIMENSIONS, None) if d != state.dimension]
    changes += [{"filters": dict(state.filters) | {d: (_a_value(options, d),)}}
                for d in DIMENSIONS if d not in state.filters and _a_value(options, d)]
    changes += [dict(zip(("start", "end"), preset_period(p, last_day))) for p in PRESETS]
    changes += [{"grain": g} for g in GRAINS if g != state.grain]
    changes += [{"comparison": c} for c in COMPARISONS if c != state.comparison]
    for change in changes:
        try:
            yield state.with_(**change)
        except DashboardError:
            continue


def requests_of(state: DashboardState, options: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The ``compute`` requests a refresh of ``state`` makes: KPI cards, table, trend (of some drawn values)."""
    drawn = [_a_value(options, state.dimension)] if state.dimension else None
    return [*kpi_requests(state), table_request(state), trend_request(state, drawn)]


def next_requests(state: DashboardState, options: Mapping[str, Sequence[str]], last_day: dt.date
                  ) -> Iterator[dict[str, Any]]:
    """Every request of every state one click away, nearest kinds first (dimensions, filters, periods ...)."""
    for near in next_states(state, options, last_day):
        yield from requests_of(near, options)


def warm(session: Any, requests: Iterator[dict[str, Any]], budget: int | None = None) -> int:
    """Compile the shapes of ``requests`` the session does not know yet; at most ``budget``; how many."""
    compiled = 0
    for request in requests:
        compiled += prepared.warm(session, **request)
        if budget is not None and compiled >= budget:
            break  # before taking the next one: the caller's iterator goes on from there
    return compiled


def _a_value(options: Mapping[str, Sequence[str]], dimension: str | None) -> str | None:
    """A value of the dimension the user may pick (not the 'no value' label: that is another shape)."""
    return next((v for v in options.get(dimension, ()) if v != NONE_LABEL), None)
