"""What a user may pick: filter values, measures and days, all read through their governed session.

The values come from the session, so row policies decide them: a store
manager's store filter offers their own store only, a region manager's the
stores of their region. Values a request names that are not among them are
refused with the closest ones (a crafted value is just a value that is not
there). Measures whose data the role may not read (the warehouse role has
no sales) or whose columns a policy hides (costs for store managers) are
left out with the reason, found by building each metric's expression on a
probe that asks the policy file, not the engine: nothing runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import ibis.expr.types as ir

from workbench.dashboard.state import DIMENSIONS, NONE_LABEL, DashboardError, DashboardState, close_matches, metric_label
from workbench.dashboard.trace import run
from workbench.governance.policies import qualify
from workbench.metrics import compute
from workbench.metrics.definitions import METRICS
from workbench.metrics.dimensions import DIMENSIONS as METRIC_DIMENSIONS
from workbench.metrics.dimensions import add_dimensions
from workbench.metrics.query import MetricError


def filter_options(session: Any, dimensions: Iterable[str] = DIMENSIONS) -> dict[str, list[str]]:
    """For each dimension, the values this user may filter by (sorted; ``(none)`` last when rows lack one)."""
    dimensions = list(dimensions)
    store_dims = [d for d in dimensions if METRIC_DIMENSIONS[d].kind == "store"]
    product_dims = [d for d in dimensions if METRIC_DIMENSIONS[d].kind == "product"]
    frames = []
    if store_dims:
        stores = add_dimensions(session.table("stores").select("store_id"), session, store_dims,
                                product_key=None, time=False)
        frames.append(run(stores.select(*store_dims).distinct(), "options"))
    if product_dims:
        frames.append(run(session.table("products").select(*product_dims).distinct(), "options"))
    options = {}
    for frame in frames:
        for dim in frame.columns:
            values = frame[dim]
            options[dim] = sorted(str(v) for v in values.dropna().unique())
            if values.isna().any():
                options[dim].append(NONE_LABEL)
    return {d: options[d] for d in dimensions}


def check_filter_values(state: DashboardState, options: Mapping[str, list[str]]) -> None:
    """Refuse filter values the user cannot pick, naming the closest ones they can."""
    for dim, values in state.filters.items():
        allowed = set(options.get(dim, ()))
        for value in values:
            if value not in allowed:
                hint = close_matches(value, allowed) or " None of your values is close."
                raise DashboardError(
                    f"{DIMENSIONS[dim]} {value!r} is not in the data you can see.{hint} "
                    f"Pick values from the list ({len(allowed)} available).")


def check_measures_visible(measures: Iterable[str], hidden: Mapping[str, str | None]) -> None:
    """Refuse a measure this user cannot see (``hidden``: from :func:`measure_availability`), saying why."""
    for name in measures:
        if hidden.get(name):
            raise DashboardError(f"{metric_label(name)} is not available to you: it {hidden[name]}.")


def style_options(session: Any) -> dict[str, str]:
    """Style codes (款) to pick hero items from, labelled with their names: ``{"TS0012 Linen tee": "TS0012"}``."""
    products = session.table("products")
    styles = run(products.select("style_code", "style_name").distinct().order_by("style_code"), "options")
    return {f"{r.style_code} {r.style_name or ''}".strip(): r.style_code for r in styles.itertuples()}


class _Unreadable(Exception):
    pass


class _Probe:
    """A source that refuses the tables the role may not read, asking the policy file only."""

    def __init__(self, session: Any):
        self._session = session

    def table(self, name: str) -> ir.Table:
        qualified = qualify(name)
        reason = self._session.config.read_decision(self._session.role, qualified)
        if reason:
            raise _Unreadable(f"needs {qualified}, which your role may not read ({reason})")
        return self._session.table(name)


# (access file, its modification time, role) -> availability: grants and column policies are per role, and
# building two dozen metric expressions costs a noticeable part of a first render.
_AVAILABILITY: dict[tuple[str, int, Any], dict[str, str | None]] = {}


def measure_availability(session: Any) -> dict[str, str | None]:
    """Each measure of the registry -> ``None`` when this user can see it, else why not (in words).

    Remembered per role and version of the access file, so that an edited grant counts at the next session.
    """
    path = session.config.path
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0, session.role)
    if key not in _AVAILABILITY:
        _AVAILABILITY[key] = _availability(session)
    return dict(_AVAILABILITY[key])


def _availability(session: Any) -> dict[str, str | None]:
    probe, out = _Probe(session), {}
    for name in METRICS:
        try:
            compute(probe, [name])
            out[name] = None
        except _Unreadable as err:
            out[name] = str(err)
        except MetricError as err:
            text = str(err)
            out[name] = text[text.find("needs"):] if "needs" in text else text
    return out


def data_span(session: Any) -> tuple[dt.date, dt.date]:
    """The first and last business day with data this user can see.

    Read from traffic (one row per store and day, far smaller than sales), or
    from the stock snapshots for a role without sales figures.
    """
    readable = lambda t: session.config.can_read(session.role, qualify(t))  # noqa: E731
    if readable("traffic"):
        t = session.table("traffic")
        col = t.traffic_date
    elif readable("inventory"):
        t = session.table("inventory")
        col = t.snapshot_date
    else:
        raise DashboardError("Your role may read neither traffic nor stock: the dashboard has no period to show.")
    span = run(t.aggregate(first=col.min(), last=col.max()), "options")
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if first is None or last is None or first != first:  # NaT: no rows in scope
        raise DashboardError("There is no data in your scope yet: nothing to show.")
    return _as_date(first), _as_date(last)


def _as_date(value: Any) -> dt.date:
    return value.date() if hasattr(value, "date") else value
