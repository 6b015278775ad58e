"""Every query the dashboard runs goes through :func:`run` or :func:`metrics`, so a benchmark can see what ran.

Inside ``with traced() as calls:`` each execution is recorded with its part
of the dashboard (``kpis``, ``trend`` ...), the ``compute`` arguments that
built it (so the metrics layer can say which rollup answers it), the ibis
expression when there is one (so its SQL can be planned) and its time.
Outside a trace, nothing is kept.

Metric requests go through :func:`workbench.metrics.prepared.run`: a shape
of request is compiled once per session, so changing a filter value or the
period only binds new values.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from workbench.metrics import compute
from workbench.metrics import prepared


@dataclass(frozen=True)
class Executed:
    part: str
    expr: ir.Table | None  # None for a metric request: plan it from ``call``
    seconds: float
    rows: int
    call: Mapping[str, Any] | None = None  # compute()'s arguments, when it came from compute


_CALLS: ContextVar[list[Executed] | None] = ContextVar("dashboard_calls", default=None)


@contextmanager
def traced() -> Iterator[list[Executed]]:
    """Record the queries run inside the block (nested blocks record into their own list)."""
    calls: list[Executed] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


def run(expr: ir.Table, part: str, call: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Execute ``expr`` (a governed expression) to pandas, recording it when traced."""
    started = time.perf_counter()
    frame = expr.to_pandas()
    _record(Executed(part, expr, time.perf_counter() - started, len(frame), call))
    return frame


def metrics(source: Any, part: str, metrics: list[str], by: list[str], start: Any = None, end: Any = None,
            where: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``compute(...)``'s values, run and recorded: the one way the dashboard asks for metric values."""
    call = {"metrics": list(metrics), "by": list(by), "start": start, "end": end, "where": dict(where or {})}
    started = time.perf_counter()
    frame = prepared.run(source, **call)
    _record(Executed(part, None, time.perf_counter() - started, len(frame), call))
    return frame


def _record(executed: Executed) -> None:
    calls = _CALLS.get()
    if calls is not None:
        calls.append(executed)


def compute_expr(source: Any, metrics: list[str], by: list[str], start: Any, end: Any,
                 where: Mapping[str, Any] | None = None) -> tuple[ir.Table, dict[str, Any]]:
    """The expression and arguments of a ``compute`` call, for parts that join it with more."""
    call = {"metrics": list(metrics), "by": list(by), "start": start, "end": end, "where": dict(where or {})}
    return compute(source, **call), call
