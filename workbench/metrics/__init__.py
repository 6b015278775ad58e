"""The metrics layer: one definition per metric, at any grain (DESIGN invariant 3).

    import workbench as wb
    from workbench.metrics import compute, size_break, METRICS

    s = wb.session("u_region_east")
    compute(s, ["net_sales", "conversion"], by=["store_code", "month"],
            start="2024-03-01", end="2024-05-31", where={"channel": "store"}).to_pandas()
    size_break(s, as_of="2024-05-26").filter(lambda t: t.size_break)

Design
------
- **Metrics are ibis expressions.** :func:`compute` returns an ``ibis.Table``;
  the engine (DuckDB, Spark ...) does all the work. Notebooks, apps and
  reports call the same function, so a number means the same everywhere.
- **A source, not a connection.** Tables come from ``source.table(name)``.
  The governed session is a source, so row policies and column masks apply
  to metrics as to any query; tests use memtables or a backend.
- **Facts → measures → metrics.** A *fact* (:mod:`.facts`: sales lines,
  traffic, transfers, stock snapshots, availability checks) is aggregated to
  the requested grain into additive *measures*; a *metric*
  (:mod:`.definitions`) is a formula over measures applied after that
  aggregation, so ratios are totals over totals, never averages of ratios.
- **Validity comes from the facts.** Conversion uses traffic, which has no
  product, so ``conversion`` by ``category`` raises :class:`DimensionError`
  saying so; the size-break rate is kept per style-colour, so not by size.
- **Time.** Flows (sales, traffic, receipts) are summed over the days of the
  range; stock is semi-additive: it is taken at the last snapshot of each
  period (:mod:`.grain`), averaged over the period's snapshots for GMROI,
  and life-to-date / trailing sales are anchored on that same snapshot.
- **Rollups.** The daily pipeline keeps pre-aggregations of the facts
  (:mod:`.preagg`); ``compute`` answers each fact from the smallest rollup
  that covers the query and from the raw fact otherwise, with the same
  result (``compute(..., rollups=False)`` to compare; ``explain(...)`` shows
  the choice).
- **Prepared requests.** Apps ask through :func:`workbench.metrics.prepared.run`:
  each shape of request (metrics, grain, which filters, the rollups chosen)
  is compiled once per session, and later requests of that shape only bind
  their dates and filter values, checked and audited by the session as the
  expression they were compiled from.

Modules: :mod:`.query` (request, source, errors), :mod:`.dimensions`,
:mod:`.grain`, :mod:`.flows`, :mod:`.stock`, :mod:`.facts`,
:mod:`.definitions` (the registry), :mod:`.rollup` (``compute``, ``explain``), :mod:`.flags`
(size-break and core-size stock-out rows), :mod:`.preagg` (the rollups the pipelines keep) and
:mod:`.awareness` (which rollup answers a query), :mod:`.prepared` (compiled once per shape),
:mod:`.bench_queries` (the dashboard's queries, timed), :mod:`.commands` (``wb metrics``, ``wb rollups``).
"""

from __future__ import annotations

__all__ = [
    "METRICS", "DIMENSIONS", "Metric", "compute", "size_break", "core_size_stockouts",
    "MetricError", "DimensionError", "Source", "explain", "rollups_enabled", "build_rollups", "ROLLUPS",
]

_WHERE = {
    "METRICS": "workbench.metrics.definitions",
    "Metric": "workbench.metrics.definitions",
    "DIMENSIONS": "workbench.metrics.dimensions",
    "compute": "workbench.metrics.rollup",
    "explain": "workbench.metrics.rollup",
    "rollups_enabled": "workbench.metrics.awareness",
    "build_rollups": "workbench.metrics.preagg",
    "ROLLUPS": "workbench.metrics.preagg",
    "size_break": "workbench.metrics.flags",
    "core_size_stockouts": "workbench.metrics.flags",
    "MetricError": "workbench.metrics.query",
    "DimensionError": "workbench.metrics.query",
    "Source": "workbench.metrics.query",
}


def __getattr__(name: str):
    # Lazy, so that `wb --help` does not import ibis.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'workbench.metrics' has no attribute {name!r}")
