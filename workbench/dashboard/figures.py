"""The dashboard's main figures: KPI cards, the result table and the trend, from ``compute``.

Every number is a metric of the registry computed by the metrics layer over
the user's governed session, so a card, a table cell and a chart point mean
what the same metric means in a notebook or a report. KPI cards compare the
period with the one before (环比) or a year before (同比): change % is
``(value - previous) / |previous|``, for ratios too (a conversion of 10 % to
11 % is +10 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.dashboard import trace
from workbench.dashboard.state import NONE_LABEL, DashboardState
from workbench.metrics.definitions import METRICS

KPI_COLUMNS = ["measure", "label", "label_zh", "unit", "value", "previous", "change_pct"]


def kpi_requests(state: DashboardState) -> list[dict[str, Any]]:
    """The ``compute`` requests of the KPI cards: the period, then the one it is compared with."""
    before_start, before_end = state.compared_period
    now = _request(state, [], state.start, state.end, state.where)
    return [now, now | {"start": before_start, "end": before_end}]


def table_request(state: DashboardState) -> dict[str, Any]:
    """The ``compute`` request of the result table."""
    return _request(state, state.by, state.start, state.end, state.where)


def trend_request(state: DashboardState, values: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``compute`` request of the trend, restricted to ``values`` of the dimension when given."""
    where = state.where
    if state.dimension and values:
        chosen = [None if v == NONE_LABEL else v for v in values]
        if state.dimension in where:
            chosen = [v for v in chosen if v in where[state.dimension]]
        if chosen:
            where = where | {state.dimension: chosen}
    return _request(state, state.by + [state.grain], state.start, state.end, where)


def _request(state: DashboardState, by: list[str], start: Any, end: Any, where: dict) -> dict[str, Any]:
    return {"metrics": list(state.measures), "by": list(by), "start": start, "end": end, "where": dict(where)}


def kpi_cards(session: Any, state: DashboardState) -> pd.DataFrame:
    """One row per measure: its value in the period, in the comparison period, and the change in %."""
    now, before = (trace.metrics(session, "kpis", **request) for request in kpi_requests(state))
    rows = []
    for name in state.measures:
        value, previous = _scalar(now, name), _scalar(before, name)
        change = None
        if value is not None and previous not in (None, 0):
            change = 100.0 * (value - previous) / abs(previous)
        m = METRICS[name]
        rows.append([name, m.label_en, m.label_zh, m.unit, value, previous, change])
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def breakdown(session: Any, state: DashboardState) -> pd.DataFrame:
    """The result table: the measures by the chosen dimension, largest first measure first."""
    table = trace.metrics(session, "table", **table_request(state))
    if state.dimension:
        table = table.sort_values(state.measures[0], ascending=False, na_position="last", kind="stable")
        table[state.dimension] = table[state.dimension].fillna(NONE_LABEL)
    return table.reset_index(drop=True)


def top_values(table: pd.DataFrame, state: DashboardState, n: int) -> list[str]:
    """The dimension values of the ``n`` largest rows of the result table (the lines a chart draws)."""
    if not state.dimension or table.empty:
        return []
    return [str(v) for v in table[state.dimension].head(n)]


def trend(session: Any, state: DashboardState, values: Sequence[str] | None = None) -> pd.DataFrame:
    """The measures by time grain (and dimension), ``values`` of the dimension only when given.

    Restricting to the values drawn keeps a store trend over a whole chain to
    a readable handful of lines, and the query small.
    """
    out = trace.metrics(session, "trend", **trend_request(state, values))
    if state.dimension:
        out[state.dimension] = out[state.dimension].fillna(NONE_LABEL)
    out[state.grain] = pd.to_datetime(out[state.grain])
    return out


def _scalar(frame: pd.DataFrame, column: str) -> float | None:
    if frame.empty:
        return None
    value = frame[column].iloc[0]
    return None if pd.isna(value) else float(value)
