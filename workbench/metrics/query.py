"""What a caller asks for: the grain (``by``), the date range and the filters.

A :class:`Query` is validated once, up front, so that every fact below can
trust it: dimension names exist, time dimensions are not used as filters
(time is filtered with ``start`` / ``end``, which every fact interprets in its
own way: flows by their date, stock by its snapshots), dates are dates.

A *source* is anything with ``.table(name) -> ibis.Table`` for the bare core
table names (``sales``, ``traffic``, ``inventory``, ``products``, ``stores``,
``transfers``, ``assortment``). The governed session is one, so metrics see
only the rows and columns the user may see; tests pass a tiny class over
memtables or a backend connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import ibis.expr.types as ir

from workbench.metrics.dimensions import DIMENSIONS, TIME_DIMS


class Source(Protocol):
    """Where metrics read their tables: ``source.table("sales")``."""

    def table(self, name: str) -> ir.Table: ...


class MetricError(ValueError):
    """A metric request that cannot be answered as asked (unknown name, bad date ...)."""


class DimensionError(MetricError):
    """A metric asked for at a grain (or with a filter) its data does not have."""


DateLike = dt.date | dt.datetime | str | None


def to_date(value: DateLike, what: str) -> dt.date | None:
    """Accept a date, a datetime or an ISO string; ``None`` stays ``None``."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise MetricError(f"{what} must be a date like 2024-03-31, got {value!r}") from None


@dataclass(frozen=True)
class Binding:
    """Ibis parameters that stand for a query's dates and filter values in its expression.

    With a binding, the expression of a query can be compiled once and run
    again with other values (:mod:`workbench.metrics.prepared`). Decisions
    taken in Python (which rollup answers, whether a range is whole weeks)
    still use the query's real values; only the engine sees the parameters.
    """

    start: ir.Scalar | None = None
    end: ir.Scalar | None = None
    where: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # dimension -> (list parameter, None if asked)


@dataclass(frozen=True)
class Query:
    """A validated request: grain, inclusive date range, dimension filters."""

    by: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    where: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    bound: Binding | None = field(default=None, compare=False)

    @classmethod
    def make(
        cls,
        by: Iterable[str] | str | None = (),
        start: DateLike = None,
        end: DateLike = None,
        where: Mapping[str, Any] | None = None,
    ) -> "Query":
        by = tuple(by.split(",")) if isinstance(by, str) else tuple(by or ())
        by = tuple(b.strip() for b in by if b.strip())
        _check_known(by, "by")
        if len(set(by)) != len(by):
            raise MetricError(f"a dimension is repeated in by={list(by)}")
        where = dict(where or {})
        _check_known(where, "where")
        time_filters = sorted(set(where) & TIME_DIMS)
        if time_filters:
            raise MetricError(f"filter time with start= and end=, not where={time_filters}")
        start_d, end_d = to_date(start, "start"), to_date(end, "end")
        if start_d and end_d and start_d > end_d:
            raise MetricError(f"start {start_d} is after end {end_d}")
        values = {k: tuple(v) if isinstance(v, (list, tuple, set, frozenset)) else (v,) for k, v in where.items()}
        return cls(by=by, start=start_d, end=end_d, where=values)

    @property
    def time_by(self) -> tuple[str, ...]:
        """The time dimensions of the grain, in the caller's order."""
        return tuple(d for d in self.by if d in TIME_DIMS)

    @property
    def other_by(self) -> tuple[str, ...]:
        """The grain without its time dimensions."""
        return tuple(d for d in self.by if d not in TIME_DIMS)

    @property
    def dimensions_used(self) -> tuple[str, ...]:
        """Every dimension the query groups or filters by."""
        return self.by + tuple(k for k in self.where if k not in self.by)

    @property
    def start_value(self) -> Any:
        """The first day as the engine sees it: the bound parameter, else the date."""
        return self.bound.start if self.bound is not None and self.bound.start is not None else self.start

    @property
    def end_value(self) -> Any:
        """The last day as the engine sees it: the bound parameter, else the date."""
        return self.bound.end if self.bound is not None and self.bound.end is not None else self.end

    @property
    def where_values(self) -> Mapping[str, tuple[Any, ...]]:
        """The filters as the engine sees them: bound parameters where there are, else the values."""
        if self.bound is None:
            return self.where
        return {name: self.bound.where.get(name, values) for name, values in self.where.items()}

    def in_range(self, date: ir.DateValue) -> ir.BooleanValue:
        """``start <= date <= end`` with open ends; both ends inclusive."""
        cond = date.notnull()
        if self.start is not None:
            cond &= date >= self.start_value
        if self.end is not None:
            cond &= date <= self.end_value
        return cond


def _check_known(names: Iterable[str], arg: str) -> None:
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise DimensionError(f"unknown dimension(s) {unknown} in {arg}=; known: {', '.join(DIMENSIONS)}")
