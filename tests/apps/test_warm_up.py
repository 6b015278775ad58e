"""The dashboard's warm-up: the requests one click away are compiled while the user reads, and clicks reuse them.

On the tiny chain, through the operations page's widgets. A click after the
warm-up must compile no new shape (``prepared.known_shapes`` unchanged) and
still show the values of a plain ``compute``; on the server the warm-up runs
one compile per callback of the event loop until nothing is left.
"""

from __future__ import annotations

import pandas as pd
import pytest

import workbench as wb
from workbench.apps import operations
from workbench.dashboard import warmup
from workbench.dashboard.settings import dashboard_settings
from workbench.dashboard.state import DashboardState
from workbench.metrics import compute, prepared

pytestmark = pytest.mark.slow  # each dashboard compiles a few dozen shapes


@pytest.fixture
def session(tiny_settings):
    with wb.session("u_region_east", settings=tiny_settings, read_only=True, entry_point="app") as s:
        yield s


def test_next_states_are_one_change_away_and_only_those_the_dashboard_accepts():
    state = DashboardState.make(["net_sales", "conversion"], "2025-12-01", "2025-12-28", dimension="region")
    options = {"region": ["East", "(none)"], "store_code": ["S001"], "brand": ["Lumen"], "channel": ["store"]}
    near = list(warmup.next_states(state, options, state.end))
    assert all(sum(getattr(n, f) != getattr(state, f)
                   for f in ("dimension", "grain", "comparison", "filters")) + ((n.start, n.end) != (state.start, state.end)) <= 1
               for n in near)
    assert {n.dimension for n in near} >= {"store_code", "channel", None}
    # conversion comes from traffic, which has no brand: neither a brand dimension nor a brand filter is offered
    assert all(n.dimension != "brand" and "brand" not in n.filters for n in near)
    assert {tuple(n.filters.items()) for n in near if n.filters} == {
        (("region", ("East",)),), (("store_code", ("S001",)),), (("channel", ("store",)),)}


def test_after_the_warm_up_a_click_compiles_nothing_and_shows_the_right_values(session):
    dash = operations.view(session).dashboard
    warmed = dash.warm_up()
    known = prepared.known_shapes(session)
    assert warmed > 5 and dash.warm_up() == 0  # all done: nothing left one click away
    dash.dimension.value = "store_code"
    assert dash.error is None and prepared.known_shapes(session) == known
    assert dash.warm_up() > 0  # the reading time after that click: what is one click from there
    known = prepared.known_shapes(session)
    dash.filters["channel"].value = ["store"]
    assert dash.error is None and prepared.known_shapes(session) == known
    start, end = dash.period.value
    expected = compute(session, list(dash.measures.value), by=["store_code"], start=start, end=end,
                       where={"channel": ["store"]}).to_pandas()
    got = dash.table.frame.sort_values("store_code").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.sort_values("store_code").reset_index(drop=True), check_like=True)


class Doc:
    """The session's Bokeh document as the page sees it: timeout callbacks are collected, run by the test."""

    def __init__(self):
        self.ticks = []

    def add_timeout_callback(self, callback, timeout_ms):
        assert timeout_ms > 0  # a gap for other events between two compiles
        self.ticks.append(callback)


def test_on_the_server_the_warm_up_runs_one_compile_per_callback_until_done(session, monkeypatch):
    doc = Doc()
    monkeypatch.setattr(operations, "server_doc", lambda: doc)
    dash = operations.OperationsDashboard(session)
    assert len(doc.ticks) == 1 and dash._warming
    done = 0
    while doc.ticks:
        doc.ticks.pop(0)()
        done += 1
    assert done > 5 and not dash._warming and dash.warm_up() == 0


def test_the_warm_up_can_be_turned_off(session, monkeypatch):
    doc = Doc()
    monkeypatch.setattr(operations, "server_doc", lambda: doc)
    operations.OperationsDashboard(session, dashboard_settings(raw={"warm_up": False}))
    assert doc.ticks == []
    with pytest.raises(ValueError, match="warm_up must be true or false"):
        dashboard_settings(raw={"warm_up": "yes"})
