"""Aggregate awareness: for each fact of a query, the smallest rollup that covers it, else the raw fact.

:func:`workbench.metrics.rollup.compute` asks :func:`plan` which table each
fact is read from, then :func:`aggregate` brings the chosen rows to the
query's grain with the same code the raw facts use, so a number is the same
from either (``tests/metrics/test_preagg_equivalence.py`` checks it over
randomised queries and users). :func:`explain` shows the choice: the
benchmark prints it as the query plan.

A rollup *covers* a fact of a query when

- it keeps every measure the query's metrics need from that fact (and the
  session shows their columns);
- every product dimension the query groups or filters by is one of its
  product attributes (store dimensions are looked up from ``store_id``);
- its time grain gives the query's time dimensions (a day rollup gives any;
  a week rollup only weeks; a month rollup months, quarters and years) and
  the date range is whole periods of it (a week rollup needs start on a
  Monday and end on a Sunday; open ends are fine);
- for tickets (not additive across products): the query's product
  dimensions are exactly the rollup's, each filtered-only one to one value.

Sell-through and weeks of cover need net units *up to* each period end: they
use a day rollup whatever the query's time grain. Snapshot facts (stock,
availability) use the days of the ``stock_snapshot`` rollup as the stock
calendar (it has a row for every location and day the inventory has), so a
scoped user's calendar is the same as from their inventory rows.

Among the covering rollups the one with the fewest rows (from the catalog)
wins. Days after a rollup's ``as_of`` come from the raw fact (a tail at the
rollup's grain; see :mod:`workbench.metrics.preagg`).
"""

from __future__ import annotations

import calendar as _calendar
import contextvars
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.metrics import preagg
from workbench.metrics.dimensions import DIMENSIONS
from workbench.metrics.facts import Fact
from workbench.metrics.grain import group, prepare, snapshot_dates
from workbench.metrics.preagg import Built, Rollup
from workbench.metrics.query import Query
from workbench.metrics.stock import closing, units_to_date

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("wb_metrics_rollups", default=True)

_TIME_GIVES = {"date": None, "week": {"week"}, "month": {"month", "quarter", "year"}}
"""Time dimensions a rollup's time grain can give (None: all of them)."""

ROLLUP_FACT = {"sales": "sales", "sales_to_date": "sales", "stock": "stock", "receipts": "receipts",
               "core_sizes": "core_sizes", "display": "display"}
"""Which rollups can answer a fact (sales to date: the daily sales rollups)."""


@contextmanager
def rollups_enabled(enabled: bool) -> Iterator[None]:
    """``with rollups_enabled(False): ...``: every ``compute`` inside reads the raw facts (to compare)."""
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def wanted(flag: bool | None) -> bool:
    """The ``rollups=`` argument of compute, defaulting to the context (on unless turned off)."""
    return _ENABLED.get() if flag is None else bool(flag)


@dataclass(frozen=True)
class Choice:
    """Where one fact of a query is read from: a rollup (with or without a raw tail) or the raw fact."""

    fact: Fact
    built: Built | None
    measures: tuple[str, ...]  # the fact's measures the query needs
    reason: str

    @property
    def table(self) -> str:
        return self.built.rollup.table if self.built else f"raw ({self.fact.grain})"

    def tail_from(self, q: Query) -> dt.date | None:
        """First day to read from the raw fact because the rollup does not hold it yet, if any."""
        if self.built is None or (q.end is not None and q.end <= self.built.as_of):
            return None
        day = self.built.as_of + dt.timedelta(days=1)
        return max(day, q.start) if q.start else day


# --- choosing -------------------------------------------------------------------------------


def _aligned(time: str, q: Query) -> bool:
    """Whether the date range is whole periods of a week or month rollup."""
    if time == "week":
        return (q.start is None or q.start.weekday() == 0) and (q.end is None or q.end.weekday() == 6)
    if time == "month":
        last = q.end and _calendar.monthrange(q.end.year, q.end.month)[1]
        return (q.start is None or q.start.day == 1) and (q.end is None or q.end.day == last)
    return True


def _product_dims(q: Query) -> set[str]:
    return {d for d in q.dimensions_used if DIMENSIONS[d].kind == "product"}


def why_not(rollup: Rollup, fact: Fact, q: Query, measures: Iterable[str]) -> str | None:
    """Why ``rollup`` cannot answer ``fact`` for ``q`` (None: it can)."""
    measures = set(measures)
    missing = ({"units"} if fact.name == "sales_to_date" else measures) - set(rollup.measures)
    if missing:
        return f"does not keep {sorted(missing)}"
    product = _product_dims(q)
    if not product <= set(rollup.product):
        return f"has no {sorted(product - set(rollup.product))}"
    if fact.name == "sales_to_date":
        # Net units *up to* each period end: only a day rollup can cut at any snapshot day.
        return None if rollup.time == "date" else "sales to date need days"
    if not fact.on_snapshots:
        gives = _TIME_GIVES[rollup.time]
        if gives is not None and not set(q.time_by) <= gives:
            return f"a {rollup.time} rollup cannot give {sorted(set(q.time_by) - gives)}"
        if not _aligned(rollup.time, q):
            return f"the range {q.start}..{q.end} is not whole {rollup.time}s"
    if measures & preagg.PER_PRODUCT and product != set(rollup.product):
        return "tickets do not add up across products"
    if measures & preagg.PER_PRODUCT and any(len(q.where[d]) != 1 for d in product - set(q.by)):
        return "tickets of several filtered values do not add up"
    return None


def choose(catalog: Mapping[str, Built], fact: Fact, q: Query, measures: tuple[str, ...]) -> Choice:
    """The smallest built rollup that covers ``fact`` for ``q``, or the raw fact with the reason."""
    family = ROLLUP_FACT.get(fact.name)
    if family is None:
        return Choice(fact, None, measures, "no rollup of this fact (it is already per location and day)")
    candidates = [b for b in catalog.values() if b.rollup.fact == family]
    if not candidates:
        return Choice(fact, None, measures, "no rollup of this fact is built")
    covering = [b for b in candidates if why_not(b.rollup, fact, q, measures) is None]
    if not covering:
        reasons = "; ".join(f"{b.rollup.name} {why_not(b.rollup, fact, q, measures)}" for b in candidates)
        return Choice(fact, None, measures, f"no rollup covers the query: {reasons}")
    best = min(covering, key=lambda b: (b.rows, preagg.ROLLUPS.index(b.rollup)))
    return Choice(fact, best, measures, f"smallest covering rollup ({best.rows:,} rows, as of {best.as_of})")


def plan(source: Any, q: Query, facts: list[Fact], needed: set[str], enabled: bool) -> list[Choice]:
    """One :class:`Choice` per fact of the query."""
    cat = preagg.catalog(source) if enabled else {}
    out = []
    for f in facts:
        measures = tuple(m for m in f.measures if m in needed)
        if not enabled:
            out.append(Choice(f, None, measures, "rollups turned off"))
            continue
        choice = choose(cat, f, q, measures)
        if choice.built and not _columns_shown(source, choice):
            choice = Choice(f, None, measures, f"{choice.built.rollup.table} hides a needed column from this user")
        out.append(choice)
    return out


def _columns_shown(source: Any, choice: Choice) -> bool:
    columns = set(source.table(choice.built.rollup.table).columns)
    needed = choice.measures if choice.fact.name != "sales_to_date" else ("units",)
    return all(preagg.COLUMN.get(m, m) in columns for m in needed)


# --- reading the chosen rollup -----------------------------------------------------------------


def _rows(source: Any, choice: Choice, q: Query, measures: Iterable[str]) -> ir.Table:
    """The rollup's rows as keyed rows (``_date``, ``store_id``, its product attributes, the measures).

    Days after its as_of are added from the raw fact at the rollup's grain.
    """
    rollup = choice.built.rollup
    t = source.table(rollup.table)
    cols = [*rollup.product, *(preagg.COLUMN.get(m, m) for m in measures)]
    rows = t.select(_date=t[rollup.time], store_id=t.store_id, **{c: t[c] for c in cols})
    tail_start = choice.tail_from(q)
    if tail_start is not None:
        raw = preagg.rollup_expr(source, rollup, start=tail_start, end=q.end)
        tail = raw.select(_date=raw[rollup.time], store_id=raw.store_id, **{c: raw[c] for c in cols})
        types = {n: t.copy(nullable=True) for n, t in rows.schema().items()}
        rows = rows.select(**{n: rows[n].cast(types[n]) for n in types}).union(
            tail.select(**{n: tail[n].cast(types[n]) for n in types}))
    return rows.rename({m: preagg.COLUMN[m] for m in measures if m in preagg.COLUMN})


def calendar(source: Any, q: Query, enabled: bool) -> ir.Table:
    """Inventory snapshot days in the range (``_date``), from the stock_snapshot rollup when it is built.

    That rollup has a row for every location and day the inventory has one,
    so under a row policy it gives the same days as the user's inventory.
    """
    built = preagg.catalog(source).get("stock_snapshot") if enabled else None
    if built is None:
        return snapshot_dates(source, q)
    from workbench.metrics.facts import FACTS

    rows = _rows(source, Choice(FACTS["stock"], built, (), "calendar"), q, ())
    return rows.filter(q.in_range(rows._date)).select("_date").distinct()


def _fill(part: ir.Table, fact: Fact, measures: Iterable[str], q: Query) -> ir.Table:
    """Add the fact's other measures as typed nulls, so that a part has the columns of the raw fact's."""
    have = set(measures)
    return part.select(*q.by, **{m: (part[m] if m in have else ibis.null()).cast(dtype)
                                 for m, dtype in fact.measures.items()})


def aggregate(source: Any, choice: Choice, q: Query, days: ir.Table | None, ends: ir.Table | None) -> ir.Table:
    """The fact's measures at the query's grain, read from the chosen rollup.

    ``days``: the stock calendar (:func:`calendar`) and ``ends`` its periods
    (:func:`workbench.metrics.grain.periods`), for the snapshot facts.
    """
    fact, measures = choice.fact, choice.measures
    if fact.name == "sales_to_date":
        rows = _rows(source, choice, q, ("units",))
        if q.end is not None:
            rows = rows.filter(rows._date <= q.end_value)
        rows = prepare(rows, source, q, product_key=None, time=False)
        daily = rows.aggregate(by=[*q.other_by, "_date"], units=rows.units.sum())
        return _fill(units_to_date(daily, ends, q), fact, fact.measures, q)
    if fact.name == "stock":
        rows = _rows(source, choice, q, ("stock_units",)).rename(units="stock_units")
        rows = prepare(rows.filter(q.in_range(rows._date)), source, q, product_key=None)
        return _fill(closing(rows, ends, q), fact, ("stock_units",), q)
    rows = _rows(source, choice, q, measures)
    rows = rows.filter(q.in_range(rows._date))
    if fact.on_snapshots:  # availability: only the days of this user's stock calendar, as the raw fact
        rows = rows.semi_join(days, "_date")
    rows = prepare(rows, source, q, product_key=None)
    return _fill(group(rows, q, **{m: rows[m].sum() for m in measures}), fact, measures, q)


# --- explaining -------------------------------------------------------------------------------


def describe(choices: list[Choice], q: Query) -> list[dict[str, Any]]:
    """The plan as rows: fact, table read, rows of the rollup, its as_of, the raw tail, why."""
    out = []
    for c in choices:
        tail = c.tail_from(q)
        out.append({
            "fact": c.fact.name, "table": c.table,
            "rollup_rows": c.built.rows if c.built else None,
            "as_of": c.built.as_of if c.built else None,
            "raw_tail_from": tail, "reason": c.reason,
        })
    return out
