"""Rollups (pre-aggregations, 预聚合): the facts summed once per night, so that dashboards answer in milliseconds.

The pipelines keep a declared set of rollups in ``marts.rollup_<name>``;
:func:`workbench.metrics.rollup.compute` answers from the smallest one that
covers a query (:mod:`workbench.metrics.awareness`), the way Looker's
aggregate awareness or Cube's pre-aggregations do, and from the raw facts
otherwise. Results are the same either way (``tests/metrics/test_preagg*``).

Why the rollups are what they are
---------------------------------
- **One definition per measure.** A rollup is the fact's own aggregation
  (:mod:`.flows`, :mod:`.stock`) run at the rollup's grain: ``location
  (store_id) x a time grain x some product attributes``. Nothing is
  re-defined here; the rollup is a cache of ``fact.aggregate``.
- **Location is always kept** (``store_id``), so a region or store manager's
  session filters a rollup like any table with a location column, and
  region, channel, grade ... are looked up in ``stores`` at query time.
- **Additive measures** (net sales, units, traffic-free sales measures,
  receipts, availability counts) add up across stores, days and products,
  so a coarser query sums a finer rollup.
- **Tickets** (distinct tickets, 成交单数) add up across stores and days (a
  ticket has one store and one day: checked on the large chain), but not
  across products: a ticket with a top and jeans counts once in each
  category. A rollup's tickets are therefore "tickets containing this
  product-attribute combination", valid only for a query that uses exactly
  the rollup's product attributes (grouped, or filtered to one value). The
  rollups without product attributes carry the real ticket count.
- **Stock is semi-additive over time**: a stock rollup keeps units *per
  snapshot day*, never summed over days; the closing snapshot of each
  period is picked at query time by the same code as the raw fact
  (:func:`workbench.metrics.stock.closing`). Sell-through and weeks of
  cover take their sales to date from the *daily* sales rollups
  (:func:`workbench.metrics.stock.units_to_date`).
- **Costs.** The sales rollups keep the cost of goods as ``cost_amount``, the
  name the ``product_cost`` column policy hides from shop-floor roles, so a
  rollup never shows a cost the raw table would hide. Stock at cost is not
  rolled up (its column would need a policy of its own); those metrics are
  answered from the raw facts.
- **Traffic** is already one row per location and day: no rollup.

Freshness (``as_of``)
---------------------
A rollup holds the data up to its ``as_of`` (the build's as-of date; every
row carries it, and ``marts.rollups`` lists each rollup with its as_of and
row count). A query that reaches past it is answered from the rollup for
the days it covers **plus the raw facts for the days after as_of**, built by
the same function at the same grain (a "tail", as in a lambda
architecture): never stale, never double-counted, and cheap because the
facts are stored in date order. Late corrections to days before ``as_of``
are seen at the next build (the daily pipeline rebuilds every rollup). A
warehouse without the rollups (built before them) is answered from the raw
facts, silently.
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.metrics import flows, stock
from workbench.metrics.grain import group, snapshot_dates
from workbench.metrics.query import DateLike, MetricError, Query, to_date

PRODUCT = ("brand", "category", "season")
"""The product attributes the dashboard cuts by (all at style level, so valid for every product fact)."""

STORED: dict[str, tuple[str, ...]] = {
    "sales": ("net_sales", "units", "tickets", "tag_value", "discount", "cost", "gross_sales", "return_value"),
    "stock": ("stock_units",),
    "receipts": ("net_receipts",),
    "core_sizes": ("core_size_checks", "core_size_stockouts"),
    "display": ("skcs_on_display", "skcs_size_broken"),
}
"""Per fact, the measures a rollup of it keeps (the fact's additive ones; see the module doc)."""

PER_PRODUCT = frozenset({"tickets"})
"""Measures that do not add up across products: valid only at exactly the rollup's product attributes."""

COLUMN = {"cost": "cost_amount"}
"""Stored column name of a measure when it differs: the cost policy hides ``cost_amount`` by name."""

CATALOG = "marts.rollups"


@dataclass(frozen=True)
class Rollup:
    """One declared rollup: a fact summed by ``time`` x location x ``product`` attributes."""

    name: str
    fact: str  # a key of workbench.metrics.facts.FACTS
    time: str  # "date" (for stock facts: the snapshot day), "week" or "month"
    product: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return f"marts.rollup_{self.name}"

    @property
    def grain(self) -> tuple[str, ...]:
        return (self.time, "store_id", *self.product)

    @property
    def measures(self) -> tuple[str, ...]:
        return STORED[self.fact]

    def describe(self) -> str:
        return " x ".join(self.grain)


ROLLUPS: tuple[Rollup, ...] = (
    # Sales: the store-day rollup answers any range; week and month ones the aligned periods.
    Rollup("sales_day", "sales", "date"),
    Rollup("sales_week", "sales", "week"),
    Rollup("sales_month", "sales", "month"),
    # Tickets containing a brand / a category: KPI cards filtered by brand, baskets by category.
    Rollup("sales_day_brand", "sales", "date", ("brand",)),
    Rollup("sales_day_category", "sales", "date", ("category",)),
    Rollup("sales_day_product", "sales", "date", PRODUCT),
    Rollup("sales_week_product", "sales", "week", PRODUCT),
    Rollup("sales_month_product", "sales", "month", PRODUCT),
    # Stock per snapshot day (semi-additive: never summed over days). stock_snapshot is also the
    # snapshot calendar: it has a row for every location and day the inventory has one.
    Rollup("stock_snapshot", "stock", "date"),
    Rollup("stock_snapshot_product", "stock", "date", PRODUCT),
    Rollup("receipts_day", "receipts", "date"),
    Rollup("receipts_month_product", "receipts", "month", PRODUCT),
    # Availability checks per snapshot (core sizes out, 断码): counts, additive over everything.
    Rollup("core_sizes_snapshot", "core_sizes", "date"),
    Rollup("core_sizes_snapshot_product", "core_sizes", "date", PRODUCT),
    Rollup("display_snapshot", "display", "date"),
    Rollup("display_snapshot_product", "display", "date", PRODUCT),
)
BY_NAME: dict[str, Rollup] = {r.name: r for r in ROLLUPS}

_AGGREGATE = {
    "sales": flows.sales, "receipts": flows.receipts, "stock": stock.stock,
    "core_sizes": stock.core_sizes, "display": stock.display,
}


def rollup_expr(source: Any, rollup: Rollup, *, start: DateLike = None, end: DateLike = None) -> ir.Table:
    """The rollup's rows for days ``start..end`` (open ends allowed): the fact's own aggregation at its grain.

    Pure: an ibis expression over ``source`` (a governed session), nothing
    runs. Columns: the grain, then the stored measures (cost as ``cost_amount``).
    """
    q = Query.make(by=rollup.grain, start=start, end=end)
    part = _sales(source, q) if rollup.fact == "sales" else _AGGREGATE[rollup.fact](source, q)
    return part.select(*rollup.grain, **{COLUMN.get(m, m): part[m] for m in rollup.measures})


def _sales(source: Any, q: Query) -> ir.Table:
    """:func:`workbench.metrics.flows.sales` at a rollup's grain, with tickets counted in two steps.

    The same measures (:func:`~workbench.metrics.flows.sales_measures`); only
    tickets are counted as distinct (grain, ticket) pairs, then counted per
    grain, because the engine's ``COUNT(DISTINCT)`` per group is several
    times slower over 100 M lines. The two parts are stacked and grouped
    again, as ``compute`` stacks facts (no join on nullable attributes).
    """
    rows = flows.sales_rows(source, q)
    measures = flows.sales_measures(rows)
    measures.pop("tickets")
    summed = group(rows, q, **measures)
    sold = rows.filter(rows.line_type == "sale").select(*q.by, "ticket_id").distinct()
    counted = sold.aggregate(by=list(q.by), tickets=sold.count())
    types = {**{d: summed[d].type().copy(nullable=True) for d in q.by}, **{m: summed[m].type() for m in measures}}
    parts = [
        t.select(**{c: (t[c] if c in t.columns else ibis.null()).cast(types[c]) for c in types},
                 tickets=(t.tickets if "tickets" in t.columns else ibis.null()).cast("int64"))
        for t in (summed, counted)
    ]
    stacked = parts[0].union(parts[1])
    return stacked.aggregate(by=list(q.by), **{m: stacked[m].max() for m in measures},
                             tickets=stacked.tickets.max().coalesce(0))


DERIVED = {"sales_week": "sales_day", "sales_month": "sales_day",
           "sales_week_product": "sales_day_product", "sales_month_product": "sales_day_product"}
"""Rollups the build sums from a finer one it has just computed (every measure adds up over days, tickets
included: a ticket has one day) instead of reading the facts again. :func:`rollup_expr` still gives them
from the facts (tails, tests); ``tests/metrics/test_preagg.py`` checks both ways agree."""


def derive(finer, rollup: Rollup):
    """``rollup`` summed from the Arrow rows of its finer rollup (:data:`DERIVED`), in Arrow."""
    import pyarrow.compute as pc

    source = BY_NAME[DERIVED[rollup.name]]
    period = pc.floor_temporal(finer[source.time], unit=rollup.time, week_starts_monday=True)
    keyed = finer.append_column(f"_{rollup.time}", period)
    measures = [COLUMN.get(m, m) for m in rollup.measures]
    keys = [f"_{rollup.time}", "store_id", *rollup.product]
    out = keyed.group_by(keys, use_threads=False).aggregate([(m, "sum") for m in measures])
    names = {f"{m}_sum": m for m in measures} | {f"_{rollup.time}": rollup.time}
    out = out.rename_columns([names.get(c, c) for c in out.column_names])
    order = stored_columns(rollup)
    return out.select(order).sort_by([(c, "ascending") for c in order[:2]])


def stored_columns(rollup: Rollup) -> list[str]:
    """Columns of ``marts.rollup_<name>`` before ``as_of`` and ``run_id``."""
    return [*rollup.grain, *(COLUMN.get(m, m) for m in rollup.measures)]


# --- the catalog: which rollups exist, up to when, how big ------------------------------------


@dataclass(frozen=True)
class Built:
    """A rollup as the catalog (``marts.rollups``) lists it."""

    rollup: Rollup
    as_of: dt.date
    rows: int


_CATALOGS: "weakref.WeakKeyDictionary[Any, dict[str, Built]]" = weakref.WeakKeyDictionary()


def _may_read(source: Any, name: str) -> bool:
    """Ask a governed session's grants first, so that a role without marts is not audited as refused per query."""
    config, role = getattr(source, "config", None), getattr(source, "role", None)
    return config.can_read(role, name) if config is not None and role is not None else True


def catalog(source: Any) -> dict[str, Built]:
    """The rollups ``source`` can answer from, by name; empty when there are none (or they may not be read).

    Read once per source (a session: per login) and kept while it lives;
    :func:`build_rollups` refreshes it. Any failure to read it (no table in
    an older warehouse, a source without marts) means "no rollups".
    """
    try:
        return _CATALOGS[source]
    except (KeyError, TypeError):
        pass
    found: dict[str, Built] = {}
    if _may_read(source, CATALOG):
        try:
            rows = source.table(CATALOG).select("name", "as_of", "rows").to_pyarrow().to_pylist()
        except Exception:  # noqa: BLE001 - a missing or unreadable catalog means: answer from the raw facts
            rows = []
        for r in rows:
            if r["name"] in BY_NAME and r["as_of"] is not None and _may_read(source, BY_NAME[r["name"]].table):
                found[r["name"]] = Built(BY_NAME[r["name"]], r["as_of"], int(r["rows"] or 0))
    try:
        _CATALOGS[source] = found
    except TypeError:  # a source that cannot be weakly referenced is simply not cached
        pass
    return found


def forget(source: Any) -> None:
    """Drop the cached catalog of ``source`` (after a build in the same session)."""
    try:
        _CATALOGS.pop(source, None)
    except TypeError:
        pass


# --- building them: the pipeline step -------------------------------------------------------


class RollupMismatch(MetricError):
    """A rollup whose totals differ from the raw facts': not written."""


def latest_day(session: Any) -> dt.date:
    """The last sale day in the warehouse: the default as-of date of a build."""
    s = session.table("sales")
    day = s.sale_date.max().to_pyarrow().as_py()
    if day is None:
        raise MetricError("core.sales is empty: nothing to roll up")
    return day


def build_rollups(
    session: Any,
    as_of: DateLike = None,
    names: Iterable[str] | None = None,
    *,
    check: bool = True,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Rebuild the rollups (all, or ``names``) with the data up to ``as_of``; one summary row per rollup.

    Each is computed by :func:`rollup_expr` through ``session`` (a session
    that may write ``marts.*``: the pipeline user) and written with
    ``mode="replace"``; the catalog ``marts.rollups`` is rewritten with them
    in the same transaction, so readers never see a rollup without its
    as_of. With ``check``, each rollup's totals are compared with the raw
    facts' before anything is written (:class:`RollupMismatch`).
    ``progress``: a callable given each summary row as it is built.
    """
    as_of = to_date(as_of, "as_of") or latest_day(session)
    chosen = [BY_NAME[n] if n in BY_NAME else _unknown(n) for n in (names or BY_NAME)]
    totals = _raw_totals(session, as_of) if check else {}
    finer_needed = {BY_NAME[DERIVED[r.name]] for r in chosen if r.name in DERIVED}
    frames, summary = {}, []
    # One transaction: readers see all the new rollups and their catalog lines, or none. Each rollup is
    # written as soon as it is computed, so only the finer ones later rollups are summed from stay in memory.
    with session.transaction():
        for rollup in chosen:
            t0 = time.perf_counter()
            finer = BY_NAME.get(DERIVED.get(rollup.name, ""))
            if finer in frames:
                data = derive(frames[finer], rollup)
            else:
                data = rollup_expr(session, rollup, end=as_of).to_pyarrow()
            if check:
                _reconcile(rollup, data, totals)
            if rollup in finer_needed:
                frames[rollup] = data
            row = {"name": rollup.name, "fact": rollup.fact, "grain": rollup.describe(), "as_of": as_of,
                   "rows": data.num_rows, "build_s": round(time.perf_counter() - t0, 3)}
            session.write(rollup.table, data.append_column("as_of", _constant(as_of, data.num_rows)), mode="replace")
            del data
            summary.append(row)
            if progress:
                progress(row)
        _write_catalog(session, summary, replace_all=names is None)
    forget(session)
    return summary


def _unknown(name: str) -> Rollup:
    raise MetricError(f"unknown rollup {name!r}; declared: {', '.join(BY_NAME)}")


def _constant(day: dt.date, n: int):
    import pyarrow as pa

    return pa.array([day] * n, pa.date32())


def _write_catalog(session: Any, summary: list[dict[str, Any]], *, replace_all: bool) -> None:
    import pyarrow as pa

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [{**r, "built_at": now} for r in summary]
    if not replace_all and session.table_exists(CATALOG):
        # A partial build keeps the other rollups' lines.
        rebuilt = {r["name"] for r in summary}
        kept = session.table(CATALOG).to_pyarrow().to_pylist()
        rows += [{k: r[k] for k in ("name", "fact", "grain", "as_of", "rows", "build_s", "built_at")}
                 for r in kept if r["name"] not in rebuilt]
    from workbench.warehouse.schema import spec

    schema = pa.schema([f for f in spec(CATALOG).arrow_schema() if f.name != "run_id"])
    session.write(CATALOG, pa.Table.from_pylist(rows, schema=schema), mode="replace")


# --- reconciliation: a rollup must add up to the raw facts ---------------------------------------


def _raw_totals(session: Any, as_of: dt.date) -> dict[str, float]:
    """Whole-chain totals of the raw facts up to ``as_of`` that every rollup of them must reproduce.

    Tickets are checked over the as-of month only (a distinct count over the
    whole history costs a minute on the large chain): enough to catch a
    ticket that spans two days or stores, which would break the day rollups.
    """
    s = session.table("sales")
    s = s.filter(s.sale_date <= as_of)
    month = as_of.replace(day=1)
    recent = s.filter((s.sale_date >= month) & (s.line_type == "sale"))
    out = s.aggregate(net_sales=s.net_amount.sum(), units=s.qty.sum()).to_pyarrow().to_pylist()[0]
    out["tickets_month"] = recent.ticket_id.nunique().to_pyarrow().as_py()
    closing_day = snapshot_dates(session, Query.make(end=as_of))._date.max()
    inv = session.table("inventory")
    inv = inv.filter(inv.snapshot_date == closing_day)
    out["stock_units"] = (inv.on_hand.coalesce(0) + inv.in_transit.coalesce(0)).sum().to_pyarrow().as_py()
    return {k: float(v or 0) for k, v in out.items()} | {"month": month}


def _reconcile(rollup: Rollup, data, totals: dict[str, Any]) -> None:
    import pyarrow.compute as pc

    def total(col: str, where=None) -> float:
        values = data[col] if where is None else pc.filter(data[col], where)
        return float(pc.sum(values).as_py() or 0)

    checks: dict[str, float] = {}
    if rollup.fact == "sales":
        checks = {"net_sales": total("net_sales"), "units": total("units")}
        if not rollup.product and rollup.time == "date":  # product rollups count tickets per combination
            checks["tickets_month"] = total("tickets", pc.greater_equal(data["date"], totals["month"]))
    elif rollup.fact == "stock" and data.num_rows:
        last = pc.max(data[rollup.time])
        checks = {"stock_units": total("stock_units", pc.equal(data[rollup.time], last))}
    for measure, value in checks.items():
        expected = totals[measure]
        if abs(value - expected) > 1e-6 * max(1.0, abs(expected)):
            raise RollupMismatch(f"rollup {rollup.name}: {measure} adds up to {value:,.2f}, the raw facts to "
                                 f"{expected:,.2f}; nothing was written")
