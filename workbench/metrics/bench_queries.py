"""The operations dashboard's typical queries, and a timer for them (for ``wb bench dashboard``).

Each query is what one widget asks the metrics layer for; an *interaction*
(pick another period, filter a brand, switch to months) runs a few of them.
:func:`time_queries` runs each through a governed session, with or without
rollups, and reports the median and p95 server-side time per query kind
together with the query plan (:func:`workbench.metrics.rollup.explain`):
which rollup or raw fact each fact was read from.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

KPIS = ("net_sales", "traffic", "conversion", "units_per_ticket", "average_ticket", "sell_through", "weeks_of_cover")
"""The KPI cards (销售额, 客流, 转化率, 连带率, 客单价, 售罄率, 可销周数)."""


@dataclass(frozen=True)
class BenchQuery:
    kind: str  # what the widget shows
    interaction: str  # the user action it belongs to
    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    where: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        return dict(metrics=list(self.metrics), by=list(self.by), start=self.start, end=self.end, where=self.where)


def _month(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def dashboard_queries(as_of: dt.date, brand: str) -> list[BenchQuery]:
    """The query set for a dashboard opened on ``as_of`` (its month, the month before, the last 13 weeks)."""
    start, end = _month(as_of)
    prev_start, prev_end = _month(start - dt.timedelta(days=1))
    week_end = as_of - dt.timedelta(days=(as_of.weekday() + 1) % 7)  # the last Sunday on or before as_of
    weeks_start = week_end - dt.timedelta(weeks=13) + dt.timedelta(days=1)
    year_start = (start - dt.timedelta(days=335)).replace(day=1)
    return [
        BenchQuery("kpi_cards", "period", KPIS, start=start, end=end),
        BenchQuery("kpi_cards_previous", "period", KPIS, start=prev_start, end=prev_end),
        BenchQuery("trend_week_region", "period", ("net_sales", "traffic", "conversion"), ("week", "region"),
                   weeks_start, week_end),
        BenchQuery("top_categories", "dimension", ("net_sales", "units", "sell_through"), ("category",), start, end),
        BenchQuery("by_region", "dimension", ("net_sales", "conversion", "units_per_ticket"), ("region",), start, end),
        # traffic has no product: with a brand filter the cards without traffic and conversion
        BenchQuery("kpi_cards_brand", "filter", tuple(k for k in KPIS if k not in ("traffic", "conversion")),
                   start=start, end=end, where={"brand": brand}),
        BenchQuery("categories_brand", "filter", ("net_sales", "units"), ("category",), start, end, {"brand": brand}),
        BenchQuery("trend_month_region", "month", ("net_sales", "conversion", "average_ticket"), ("month", "region"),
                   year_start, end),
        BenchQuery("availability_by_store", "availability", ("core_size_stockout_rate", "size_break_rate"),
                   ("store_code",), start, end),
    ]


def default_queries(source: Any) -> list[BenchQuery]:
    """The query set on the data ``source`` holds: the last sale day, the first brand."""
    sales = source.table("sales")
    as_of = sales.sale_date.max().to_pyarrow().as_py()
    brand = source.table("products").brand.min().to_pyarrow().as_py()
    return dashboard_queries(as_of, brand)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def time_queries(source: Any, queries: list[BenchQuery] | None = None, *, repeats: int = 10,
                 rollups: bool = True, warmup: int = 1) -> list[dict[str, Any]]:
    """Run each query ``warmup + repeats`` times through ``source``; per kind: median / p95 ms, rows, plan.

    The time is the whole server-side call: building the expression
    (choosing the rollup, reading the catalog once per session), compiling,
    running it in the engine and fetching the result as Arrow.
    """
    from workbench.metrics.rollup import compute, explain

    queries = queries if queries is not None else default_queries(source)
    out = []
    for q in queries:
        times, rows = [], 0
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            rows = compute(source, **q.kwargs(), rollups=rollups).to_pyarrow().num_rows
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
        plan = explain(source, **q.kwargs(), rollups=rollups)
        out.append({"kind": q.kind, "interaction": q.interaction, "rollups": rollups, "rows": rows,
                    "median_ms": round(statistics.median(times), 1), "p95_ms": round(_p95(times), 1),
                    "plan": "; ".join(f"{p['fact']}: {p['table']}" for p in plan)})
    return out


def interactions(timed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per interaction: the sum of its queries' median and p95 times (the queries run one after another)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in timed:
        groups.setdefault(row["interaction"], []).append(row)
    return [{"interaction": name, "queries": len(rows), "median_ms": round(sum(r["median_ms"] for r in rows), 1),
             "p95_ms": round(sum(r["p95_ms"] for r in rows), 1)} for name, rows in groups.items()]
