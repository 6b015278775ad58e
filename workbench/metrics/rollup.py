"""``compute``: metrics at the grain the caller picks, as one ibis expression.

How it works, and why:

1. The query is validated, and each metric is checked against the grain and
   the filters: conversion by category raises :class:`DimensionError` naming
   the fact that lacks the dimension, before anything runs.
2. Each fact the metrics need is aggregated *to the requested grain* on its
   own (sales by ticket line, traffic by day, stock at the closing snapshot).
3. The facts are stacked (``UNION ALL``) and grouped by the grain once more.
   Stacking instead of outer-joining keeps rows whose dimension is null (the
   DC has no region) together without null-safe join predicates, and every
   grain value any fact has appears once. Each fact gives at most one row
   per grain value, so the sum picks it; a grain value a fact lacks gets 0
   for that fact's measures (a store-day with traffic and no sale has 0
   tickets), except stock in a period without an inventory snapshot, which
   is unknown (null), not 0.
4. Only then are the metric formulas applied: ratios of totals, never
   averages of ratios.

Everything stays an ibis expression; nothing is computed in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.metrics import awareness
from workbench.metrics.definitions import METRICS, Metric
from workbench.metrics.facts import MEASURE_FACT, Fact
from workbench.metrics.grain import periods
from workbench.metrics.query import DateLike, DimensionError, MetricError, Query, Source


def resolve(names: Iterable[str] | str) -> list[Metric]:
    """The registered metrics for ``names`` (a name or a list), or a clear error."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise MetricError("no metric asked for")
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise MetricError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
    return [METRICS[n] for n in dict.fromkeys(names)]


def check_dimensions(metric: Metric, q: Query) -> None:
    """Raise :class:`DimensionError` if ``metric`` cannot be cut or filtered as ``q`` asks."""
    bad = metric.unsupported(q.dimensions_used)
    if bad:
        reasons = "; ".join(
            f"'{dim}' ({'grouped' if dim in q.by else 'filtered'} by): {fact.name} comes from {fact.grain}"
            for dim, fact in bad
        )
        raise DimensionError(
            f"{metric.name} ({metric.label_zh}) cannot be split or filtered by {[d for d, _ in bad]}: "
            f"{reasons}. Valid dimensions for {metric.name}: {', '.join(metric.dimensions)}"
        )


def check_columns(metric: Metric, source: Source) -> None:
    """Refuse a metric whose data the source hides (e.g. costs for store managers), naming the column."""
    for measure in metric.measures:
        needed = MEASURE_FACT[measure].requires.get(measure)
        if needed and needed[1] not in source.table(needed[0]).columns:
            raise MetricError(
                f"{metric.name} ({metric.label_zh}) needs {needed[0]}.{needed[1]}, which this source does not "
                "show (a column policy hides it for this user's role)"
            )


def _has(fact: Fact) -> str:
    return f"_has_{fact.name}"


def _stackable(part: ir.Table, fact: Fact, kept: Mapping[Fact, Mapping[str, str]], q: Query,
               grain_types: Mapping[str, Any]) -> ir.Table:
    """One fact's aggregate with every fact's kept measure columns (nulls for the others), in one column order."""
    cols: dict[str, ir.Value] = {d: part[d].cast(grain_types[d]) for d in q.by}
    for other, measures in kept.items():
        for measure, dtype in measures.items():
            cols[measure] = (part[measure] if other is fact else ibis.null()).cast(dtype)
        cols[_has(other)] = ibis.literal(1 if other is fact else None, "int8")
    return part.select(**cols)


def _with_snapshot_flag(grouped: ir.Table, ends: ir.Table, q: Query) -> ir.Table:
    """Add ``_snapshot``: whether the row's period has an inventory snapshot (so stock is known)."""
    flag = ends.select(*q.time_by, _snapshot=ends.n_snapshots > 0)
    if not q.time_by:
        return grouped.cross_join(flag)
    out = grouped.left_join(flag, list(q.time_by)).drop(*(f"{d}_right" for d in q.time_by))
    return out.mutate(_snapshot=out._snapshot.coalesce(False))


def _fill(grouped: ir.Table, fact: Fact, measure: str, dtype: str) -> ir.Value:
    """A measure, with the value for grain values the fact has no row for.

    Absent means none: 0 sales, 0 stock. But stock in a period without an
    inventory snapshot (a day or a week between snapshots) is unknown: null.
    """
    absent = ibis.literal(0) if not fact.on_snapshots else grouped._snapshot.ifelse(0, ibis.null("int64"))
    return grouped[_has(fact)].isnull().ifelse(absent, grouped[measure]).cast(dtype)


def plan_request(
    source: Source, metrics: Iterable[str] | str, by: Iterable[str] | str, start: DateLike, end: DateLike,
    where: Mapping[str, Any] | None, rollups: bool | None,
) -> tuple[Query, list[Metric], list[Fact], list[awareness.Choice]]:
    """Validate the request and choose, per fact, the rollup or the raw fact it is read from."""
    q = Query.make(by, start, end, where)
    chosen = resolve(metrics)
    for metric in chosen:
        check_dimensions(metric, q)
        check_columns(metric, source)
    facts = list(dict.fromkeys(f for m in chosen for f in m.facts))
    needed = {measure for m in chosen for measure in m.measures}
    return q, chosen, facts, awareness.plan(source, q, facts, needed, awareness.wanted(rollups))


def compute(
    source: Source,
    metrics: Iterable[str] | str,
    by: Iterable[str] | str = (),
    start: DateLike = None,
    end: DateLike = None,
    where: Mapping[str, Any] | None = None,
    *,
    rollups: bool | None = None,
) -> ir.Table:
    """Metrics by the dimensions in ``by``, for ``start <= date <= end`` and the ``where`` filters.

    ``where`` maps a dimension to a value or a list of values, e.g.
    ``{"region": "East", "category": ["tops", "bottoms"]}`` (``None``
    matches null). Returns a table with the ``by`` columns then one column
    per metric, ordered by ``by``.

    Each fact is read from the smallest rollup that covers the query
    (:mod:`workbench.metrics.awareness`), else from the raw fact; the result
    is the same. ``rollups=False`` (or ``with rollups_enabled(False)``) reads
    the raw facts only; :func:`explain` shows the choice.
    """
    q, chosen, facts, choices = plan_request(source, metrics, by, start, end, where, rollups)
    return build(source, q, chosen, facts, choices, awareness.wanted(rollups))


def build(source: Source, q: Query, chosen: list[Metric], facts: list[Fact], choices: list[awareness.Choice],
          rollups: bool) -> ir.Table:
    """The expression of a prepared request (:func:`_prepared`): steps 2 to 4 of the module's docstring."""
    snapshots = any(f.on_snapshots for f in facts)
    days = awareness.calendar(source, q, rollups) if snapshots else None
    ends = periods(days, q) if snapshots else None
    parts = [awareness.aggregate(source, c, q, days, ends) if c.built else c.fact.aggregate(source, q)
             for c in choices]
    # Only the measures the metrics use travel on: a smaller expression compiles faster.
    kept = {c.fact: {m: c.fact.measures[m] for m in c.measures} for c in choices}
    grain_types = {d: parts[0][d].type().copy(nullable=True) for d in q.by}
    stackable = [_stackable(p, f, kept, q, grain_types) for p, f in zip(parts, facts)]
    stacked = stackable[0].union(*stackable[1:]) if len(stackable) > 1 else stackable[0]

    agg = {m: stacked[m].sum() for f in facts for m in kept[f]}
    agg |= {_has(f): stacked[_has(f)].max() for f in facts}
    grouped = stacked.aggregate(by=list(q.by), **agg)
    if snapshots:
        grouped = _with_snapshot_flag(grouped, ends, q)
    filled = grouped.mutate(**{m: _fill(grouped, f, m, dtype) for f in facts for m, dtype in kept[f].items()})
    result = filled.select(*q.by, **{m.name: m.expr(filled) for m in chosen})
    return result.order_by(list(q.by)) if q.by else result


def explain(
    source: Source,
    metrics: Iterable[str] | str,
    by: Iterable[str] | str = (),
    start: DateLike = None,
    end: DateLike = None,
    where: Mapping[str, Any] | None = None,
    *,
    rollups: bool | None = None,
) -> list[dict[str, Any]]:
    """Which table :func:`compute` reads each fact from for this request, and why (the query plan).

    One row per fact: ``fact``, ``table`` (``marts.rollup_<name>`` or the raw
    fact), ``rollup_rows``, ``as_of``, ``raw_tail_from`` (first day read from
    the raw fact because the rollup does not hold it yet, if any), ``reason``.
    """
    q, _, _, choices = plan_request(source, metrics, by, start, end, where, rollups)
    return awareness.describe(choices, q)
