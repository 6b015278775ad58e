"""``wb bench finance``: how long the finance report's reads take on a warehouse.

P&L by store × month for a year, by region × brand × channel × month, stock by age, the stock summary
with weeks of cover, the B-goods suggestions, and the whole report as the notebook builds it. Each is
run ``repeats`` times in one session (the first run includes DuckDB's cold reads), materialised to
pandas; the JSON is in the shared benchmark format (bench ``finance-report``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from workbench.bench.report import BenchReport

__all__ = ["measure"]


def measure(warehouse: Path, year: int = 2025, repeats: int = 3, user: str = "u_finance", scale: str | None = None,
            step: Callable[[str], None] = lambda name: None) -> BenchReport:
    """Time each read ``repeats`` times; ``step`` is told each one's name as it finishes (a progress bar)."""
    import workbench as wb
    from workbench.config import load_settings

    settings = load_settings(engine="duckdb", warehouse=warehouse)
    report = BenchReport("finance-report", scale, None)
    with wb.session(user, settings=settings, read_only=True, entry_point="cli") as s:
        for method, run in _cases(s, year).items():
            times, out = _timed(run, repeats)
            report.add(method, "wall_s", round(times[0], 3), "first")
            report.add(method, "wall_s", round(min(times), 3), "best")
            report.add(method, "rows", len(out) if hasattr(out, "__len__") else 1)
            step(method)
    return report


def _cases(s, year: int) -> dict[str, Callable[[], object]]:
    from workbench.finance.b_goods import b_goods_report
    from workbench.finance.pnl import pnl_report
    from workbench.finance.report import build_report
    from workbench.finance.stock_age import stock_age_report, stock_summary_report

    start, end = f"{year}-01-01", f"{year}-12-31"
    return {
        "pnl store x month, one year": lambda: pnl_report(s, start, end, by=["store", "month"]).to_pandas(),
        "pnl region x brand x channel x month": lambda: pnl_report(
            s, start, end, by=["region", "brand", "channel", "month"]).to_pandas(),
        "stock by age, store x season": lambda: stock_age_report(s, end, by=["store", "season"]).to_pandas(),
        "stock summary by store (weeks of cover)": lambda: stock_summary_report(s, end, by=["store"]).to_pandas(),
        "b-goods markdown": lambda: b_goods_report(s, end).to_pandas(),
        "whole report, December by region": lambda: build_report(s, f"{year}-12", "previous", "region").pnl,
    }


def _timed(run: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return times, out
