"""Metric requests compiled once per shape, then run with their values bound (预编译查询).

On the rollups DuckDB answers a dashboard request in 10 to 30 ms, while
building its ibis expression and compiling that to SQL costs 100 to 600 ms
of Python. A dashboard asks the same *shapes* again and again (the KPI cards
for this period and for the one before; the same view with another store
picked), so :func:`run` compiles each shape once per session and afterwards
only binds the values.

- The **shape** of a request is all of it but its dates and its string filter
  values: the metrics, the grain, the filtered dimensions (and whether
  ``None`` is among a filter's values), which ends of the range are open,
  and where each fact is read from (rollup, as-of, rows, raw tail), as the
  metrics layer chose it *with the real values*. A raw tail is read with
  literal dates, so a shape with a tail keeps its dates too.
- The first request of a shape builds its expression with ibis parameters
  (:class:`~workbench.metrics.query.Binding`) and asks the session to
  prepare it (:meth:`Session.prepare`: compiled once, a ``$name``
  placeholder per parameter). An engine that cannot template it safely says
  so, and that shape is computed the plain way every time: speed never costs
  a wrong number.
- It runs through the session (:meth:`Session.run_prepared`), checked and
  audited as the expression, whose SQL carries the user's row and column
  policies. So each session keeps its own shapes (in ``session.caches``), at
  most :data:`MAX_SHAPES` (least recently used dropped first), and they go
  when the session closes.

Sources that cannot run bound SQL (Spark, the tests' memtable sources) get
``compute(...).to_pandas()``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from workbench.metrics import awareness
from workbench.metrics.definitions import Metric
from workbench.metrics.dimensions import DIMENSIONS
from workbench.metrics.query import Binding, DateLike, MetricError, Query
from workbench.metrics.rollup import build, compute, plan_request

MAX_SHAPES = 256

_CACHE = "metrics.prepared"  # the session's cache that holds the compiled shapes
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Template:
    """A prepared shape, and which value of the request each placeholder takes."""

    prepared: Any | None  # the session's PreparedQuery; None: compute this shape each time
    slots: Mapping[str, str]  # placeholder -> "start", "end" or the dimension whose values it takes


def run(
    source: Any,
    metrics: Iterable[str] | str,
    by: Iterable[str] | str = (),
    start: DateLike = None,
    end: DateLike = None,
    where: Mapping[str, Any] | None = None,
    *,
    rollups: bool | None = None,
) -> pd.DataFrame:
    """``compute(...).to_pandas()``, compiled once per shape of request (see the module's docstring)."""
    if not getattr(source, "runs_bound_sql", False):
        return compute(source, metrics, by, start, end, where, rollups=rollups).to_pandas()
    request = _Planned.of(source, metrics, by, start, end, where, rollups)
    template = _recall(source, request.key) or _compiled(source, request)
    if template.prepared is None:
        return request.expression(source).to_pandas()
    return source.run_prepared(template.prepared, values(request.q, template))


def warm(source: Any, *request: Any, **named: Any) -> bool:
    """Compile the shape of a request (the arguments of :func:`run`) ahead of time, reading no rows.

    True if it was not compiled yet. A request the metrics layer refuses (a
    measure that cannot be cut so) is skipped: warming up never raises for it.
    """
    if not getattr(source, "runs_bound_sql", False):
        return False
    try:
        planned = _Planned.of(source, *_arguments(*request, **named))
    except MetricError:
        return False
    if _recall(source, planned.key) is not None:
        return False
    _compiled(source, planned)
    return True


def _arguments(metrics: Any, by: Any = (), start: DateLike = None, end: DateLike = None, where: Any = None, *,
               rollups: bool | None = None) -> tuple:
    return metrics, by, start, end, where, rollups


@dataclass(frozen=True)
class _Planned:
    """A checked request with the metrics layer's choices, and its shape."""

    q: Query
    chosen: list[Metric]
    facts: list[Any]
    choices: list[awareness.Choice]
    enabled: bool
    key: tuple

    @classmethod
    def of(cls, source: Any, metrics: Any, by: Any, start: DateLike, end: DateLike, where: Any,
           rollups: bool | None) -> "_Planned":
        enabled = awareness.wanted(rollups)
        q, chosen, facts, choices = plan_request(source, metrics, by, start, end, where, rollups)
        return cls(q, chosen, facts, choices, enabled, shape(q, chosen, choices, enabled))

    def expression(self, source: Any, q: Query | None = None) -> Any:
        return build(source, q or self.q, self.chosen, self.facts, self.choices, self.enabled)


def shape(q: Query, chosen: list[Metric], choices: list[awareness.Choice], enabled: bool) -> tuple:
    """Everything about a request that its compiled SQL depends on, except the values it binds."""
    tails = tuple(c.tail_from(q) for c in choices)
    reads = tuple((c.fact.name, c.table, c.built and (c.built.as_of, c.built.rows), tail)
                  for c, tail in zip(choices, tails))
    filters = tuple((name, _filter_shape(name, values)) for name, values in q.where.items())
    dates = (q.start, q.end) if any(tails) else (q.start is None, q.end is None)
    return tuple(m.name for m in chosen), q.by, filters, dates, reads, enabled


def values(q: Query, template: Template) -> dict[str, Any]:
    """The request's values for the template's placeholders."""
    return {name: getattr(q, slot) if slot in ("start", "end") else _present(q.where[slot])
            for name, slot in template.slots.items()}


# --- compiling a shape -------------------------------------------------------------------------


def _bindable(name: str, values: tuple[Any, ...]) -> bool:
    """Filter values that become parameters: strings of a string dimension (others stay in the shape)."""
    return DIMENSIONS[name].dtype == "string" and all(isinstance(v, str) for v in _present(values))


def _present(values: tuple[Any, ...]) -> list[Any]:
    return [v for v in values if v is not None]


def _filter_shape(name: str, values: tuple[Any, ...]) -> tuple:
    if _bindable(name, values):
        return "bound", bool(_present(values)), None in values
    return "literal", values


def _binding(q: Query) -> tuple[Binding, dict[str, Any], dict[str, str]]:
    """Parameters for the request's dates and string filters (a list each), by placeholder, and what each takes."""
    params: dict[str, Any] = {}
    slots: dict[str, str] = {}
    for what in ("start", "end"):
        if getattr(q, what) is not None:
            params[f"p_{what}"], slots[f"p_{what}"] = ibis.param("date"), what
    where = {}
    for name, given in q.where.items():
        if not _bindable(name, given):
            continue
        listed = ()
        if _present(given):
            label = f"p_{len(slots)}"
            params[label], slots[label] = ibis.param("array<string>"), name
            listed = (params[label],)
        where[name] = (*listed, *((None,) if None in given else ()))
    return Binding(params.get("p_start"), params.get("p_end"), where), params, slots


def _compiled(source: Any, request: _Planned) -> Template:
    """Build the request's shape with parameters, have the session prepare it, and remember it."""
    binding, params, slots = _binding(request.q)
    q = request.q
    expr = request.expression(source, Query(q.by, q.start, q.end, q.where, binding))
    template = Template(source.prepare(expr, params), slots)
    _remember(source, request.key, template)
    return template


# --- the per-session store --------------------------------------------------------------------


def _shapes(source: Any) -> OrderedDict:
    # On the session, not in a module-level weak dictionary: a compiled expression refers back to its
    # session (through the backend's gate), so a weak key would never die and every session would leak.
    return source.caches.setdefault(_CACHE, OrderedDict())


def _recall(source: Any, key: tuple) -> Template | None:
    with _LOCK:
        shapes = _shapes(source)
        if key not in shapes:
            return None
        shapes.move_to_end(key)
        return shapes[key]


def _remember(source: Any, key: tuple, template: Template) -> None:
    with _LOCK:
        shapes = _shapes(source)
        shapes[key] = template
        while len(shapes) > MAX_SHAPES:
            shapes.popitem(last=False)


def known_shapes(source: Any) -> int:
    """How many shapes ``source`` has compiled (for tests and the benchmark)."""
    with _LOCK:
        return len(getattr(source, "caches", {}).get(_CACHE, ()))
