"""What the dashboard shows: measures, a dimension, a time grain, a period, its comparison, filters.

A :class:`DashboardState` is checked when it is made, before any query runs,
so that every widget combination a user can reach either answers or says in
words what to change: an empty or unknown measure, a dimension or grain the
dashboard does not offer, a period that ends before it starts, or a metric
that cannot be cut by the chosen dimension or filters (conversion by
category: traffic has no product). Filter *values* are checked against what
the user may pick in :mod:`workbench.dashboard.options`, which needs the
session.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.metrics.definitions import METRICS
from workbench.metrics.query import DimensionError, MetricError, to_date

# The dimensions a manager cuts by (metrics-layer name -> label).
DIMENSIONS: dict[str, str] = {
    "region": "Region 大区",
    "store_code": "Store 门店",
    "brand": "Brand 品牌",
    "category": "Category 品类",
    "season": "Season 季节",
    "channel": "Channel 渠道",
}
GRAINS: dict[str, str] = {"date": "Day 日", "week": "Week 周", "month": "Month 月"}
COMPARISONS: dict[str, str] = {"previous": "Previous period 环比", "last_year": "Same period last year 同比"}
# Rows without a value (online and the DC have no region) are picked with this label.
NONE_LABEL = "(none)"


class DashboardError(ValueError):
    """A selection the dashboard cannot answer; the message says what to change."""


class DashboardDimensionError(DashboardError, DimensionError):
    """A measure that cannot be cut or filtered by a chosen dimension."""


class ExportTooLarge(DashboardError):
    """An export beyond the configured row limit."""


def close_matches(value: Any, known: Iterable[Any], n: int = 3) -> str:
    """`` Did you mean: a, b?`` for the known values nearest to ``value``, or nothing."""
    names = [str(k) for k in known]
    found = difflib.get_close_matches(str(value), names, n=n, cutoff=0.5)
    if not found:
        lowered = str(value).lower()
        found = [k for k in names if lowered and (lowered in k.lower() or k.lower() in lowered)][:n]
    return f" Did you mean: {', '.join(found)}?" if found else ""


def metric_label(name: str) -> str:
    metric = METRICS[name]
    return f"{metric.label_en} {metric.label_zh}"


@dataclass(frozen=True)
class DashboardState:
    """One view of the dashboard; make it with :meth:`make` so that it is checked."""

    measures: tuple[str, ...]
    start: dt.date
    end: dt.date
    dimension: str | None = "region"  # None: the total only
    grain: str = "week"
    comparison: str = "previous"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        measures: Iterable[str],
        start: dt.date | str,
        end: dt.date | str,
        dimension: str | None = "region",
        grain: str = "week",
        comparison: str = "previous",
        filters: Mapping[str, Iterable[str]] | None = None,
    ) -> "DashboardState":
        measures = tuple(dict.fromkeys(measures or ()))
        _check_measures(measures)
        _check_choice(dimension, DIMENSIONS, "dimension", allow_none=True)
        _check_choice(grain, GRAINS, "time grain")
        _check_choice(comparison, COMPARISONS, "comparison")
        start_d, end_d = _dates(start, end)
        # An empty filter means "all": a MultiChoice with nothing picked filters nothing.
        kept = {k: tuple(v) for k, v in (filters or {}).items() if v}
        for name in kept:
            _check_choice(name, DIMENSIONS, "filter")
        state = cls(measures, start_d, end_d, dimension, grain, comparison, kept)
        _check_cuts(state)
        return state

    def with_(self, **changes: Any) -> "DashboardState":
        """A checked copy with some fields changed."""
        fields = {k: getattr(self, k) for k in ("measures", "start", "end", "dimension", "grain", "comparison", "filters")}
        return DashboardState.make(**(fields | changes))

    @property
    def where(self) -> dict[str, list[Any]]:
        """The filters as the metrics layer takes them (``(none)`` picks rows without a value)."""
        return {k: [None if v == NONE_LABEL else v for v in values] for k, values in self.filters.items()}

    @property
    def by(self) -> list[str]:
        return [self.dimension] if self.dimension else []

    @property
    def compared_period(self) -> tuple[dt.date, dt.date]:
        return comparison_period(self.start, self.end, self.comparison)


def comparison_period(start: dt.date, end: dt.date, kind: str = "previous") -> tuple[dt.date, dt.date]:
    """The period a KPI is compared with: the same number of days just before (环比), or 52 weeks
    earlier (同比; 364 days, so that weekdays line up as retail compares them)."""
    if kind == "last_year":
        shift = dt.timedelta(days=364)
        return start - shift, end - shift
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def _check_measures(measures: tuple[str, ...]) -> None:
    if not measures:
        raise DashboardError("No measure is selected: pick at least one measure (指标) to show.")
    for name in measures:
        if name not in METRICS:
            raise DashboardError(f"Unknown measure {name!r}.{close_matches(name, METRICS)} "
                                 f"The measures are: {', '.join(METRICS)}.")


def _check_choice(value: str | None, known: Mapping[str, str], what: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value not in known:
        raise DashboardError(f"Unknown {what} {value!r}.{close_matches(value, known)} "
                             f"Choose one of: {', '.join(known)}.")


def _dates(start: dt.date | str, end: dt.date | str) -> tuple[dt.date, dt.date]:
    if start is None or end is None:
        raise DashboardError("Pick a period: both a first and a last day.")
    try:
        start_d, end_d = to_date(start, "the first day"), to_date(end, "the last day")
    except MetricError as err:
        raise DashboardError(str(err)) from None
    if start_d > end_d:
        raise DashboardError(f"The period starts ({start_d}) after it ends ({end_d}): swap the two days.")
    return start_d, end_d


def _check_cuts(state: DashboardState) -> None:
    """Refuse a measure its data cannot cut by the dimension or a filter, before anything runs."""
    used = list(dict.fromkeys(state.by + list(state.filters)))
    problems = []
    for name in state.measures:
        for dim, fact in METRICS[name].unsupported(used):
            how = "split" if dim == state.dimension else "filtered"
            problems.append(f"{metric_label(name)} cannot be {how} by {DIMENSIONS[dim]}: it comes from {fact.grain}")
    if problems:
        raise DashboardDimensionError(
            "; ".join(problems) + ". Remove the measure, or choose another dimension or filter.")
